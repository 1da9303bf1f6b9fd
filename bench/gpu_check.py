"""Every GPU figure the bench has, in one command that fits a lent GPU's minutes: one line per figure.

Run from the repository root on a GPU machine:  python -m bench.gpu_check [--limit-s 480]
`--dry-run` runs the same steps at toy shapes on a CPU (what the tests exercise): every step runs and
every figure line prints, but no number means anything there.

Steps, each in a child process with its share of the time left, so a step that fails or hangs costs
only its own lines (`name: failed …`) and the next step still runs:
  merge  random Qwen3-4B shapes (36 layers, hidden 2560, MLP 9728): the in-place blend against its floor
         (bytes moved / measured copy bandwidth), which is the HF backend's whole trial switch, and against
         writing the merged checkpoint and loading it back (the paper's workflow);
  moe    Qwen3-30B-A3B's layer shapes, sources in pinned host memory against sources on the device;
  vllm   the vLLM trial switch against a new engine on a written checkpoint (`bench.trial_switch`);
         skipped where vLLM is not installed, and in the dry run (two engines take minutes on a CPU);
  study  a two-trial study on a random pair of Qwen3-4B's shape (the toy tokenizer and task): what one
         trial costs end to end; skipped where Optuna or MLflow is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ("merge", "moe", "vllm", "study")
QWEN3_4B = {"layers": 36, "hidden": 2560, "intermediate": 9728, "heads": 32, "kv_heads": 8}  # its config.json
DRY = {"layers": 2, "hidden": 256, "intermediate": 512, "heads": 2, "kv_heads": 1}
MOE_DRY = {  # Qwen3-30B-A3B's layer, shrunk (the full shapes are `bench.moe_host_blend.SHAPES`)
    "hidden_size": 128,
    "intermediate_size": 384,
    "moe_intermediate_size": 64,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "vocab_size": 1024,
    "tie_word_embeddings": False,
}


def _device(dry: bool):
    import torch

    return torch.device("cpu" if dry or not torch.cuda.is_available() else "cuda")


def merge_step(dry: bool) -> None:
    import torch

    from bench.merge_speed import disk_roundtrip, merge_against_floor, random_pair

    device, dtype, shape = _device(dry), torch.bfloat16, DRY if dry else QWEN3_4B
    model, engine = random_pair(device, dtype, shape["layers"], shape["hidden"], shape["intermediate"])
    merge_s, floor_s, bandwidth = merge_against_floor(engine, device, dtype, 2 if dry else 5)
    disk_s = disk_roundtrip(model, engine, device, dtype, 1)
    moved = engine.bytes_per_merge() / 2**30
    print(f"merge_floor_ratio={merge_s / floor_s:.2f} (blend {merge_s * 1e3:.1f} ms, floor {floor_s * 1e3:.1f} ms: {moved:.2f} GiB at {bandwidth / 1e9:.0f} GB/s)")
    print(f"hf_switch_s={merge_s:.4f} (the HF backend's trial switch is this in-place blend: nothing reloads)")
    print(f"disk_speedup={disk_s / merge_s:.1f} (write the merged checkpoint and load it back: {disk_s:.2f} s)")


def moe_step(dry: bool) -> None:
    from bench.moe_host_blend import bandwidths, blends_against_floors, moe_model

    device, layers = _device(dry), 1 if dry else 4
    model = moe_model(device, layers, MOE_DRY) if dry else moe_model(device, layers)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    link, copy = bandwidths(device, 2**24 if dry else 2**28)
    (_, host_s, host_floor), (_, device_s, device_floor) = blends_against_floors(
        model, device, layers, 2 if dry else 5, link, copy
    )
    print(f"moe_host_blend_s={host_s:.4f} (sources in host memory, {size / 1e9:.2f} GB a model, floor {host_floor:.4f} s: {host_floor / host_s:.0%} of it)")
    print(f"moe_device_blend_s={device_s:.4f} (sources on the {device.type}, floor {device_floor:.4f} s)")


def vllm_step(dry: bool) -> None:
    if dry:
        print("vllm_switch_speedup: skipped (dry run: two vLLM engines take minutes on a CPU)")
        return
    if importlib.util.find_spec("vllm") is None:
        print("vllm_switch_speedup: skipped (vLLM is not installed here)")
        return
    done = subprocess.run([sys.executable, "-m", "bench.trial_switch", "--repeats", "3"], capture_output=True, text=True)
    figures = [line for line in done.stdout.splitlines() if line.startswith(("switch_speedup=", "floor_ratio="))]
    if done.returncode != 0 or not figures:  # the step fails, and the parent says so in its one line
        raise RuntimeError((done.stderr.strip().splitlines() or ["bench.trial_switch printed no figure"])[-1][:160])
    for line in figures:
        print(f"vllm_{line}")


def study_step(dry: bool) -> None:
    missing = [name for name in ("optuna", "mlflow") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"study_trial_s: skipped ({', '.join(missing)} not installed here)")
        return
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from mi_search import Runtime, StudyRequest, run_study
    from mi_search.toy import toy_pair_dirs

    shape = DRY if dry else QWEN3_4B
    template = toy_pair_dirs()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        for seed, role in enumerate(("instruct", "thinking")):
            torch.manual_seed(seed)
            fields = Qwen3Config.from_pretrained(template).to_dict()  # the toy's vocabulary and special tokens
            fields.pop("layer_types", None)  # one per toy layer; the new depth gets its own
            config = Qwen3Config(
                **fields
                | {
                    "hidden_size": shape["hidden"],
                    "intermediate_size": shape["intermediate"],
                    "num_hidden_layers": shape["layers"],
                    "num_attention_heads": shape["heads"],
                    "num_key_value_heads": shape["kv_heads"],
                    "head_dim": 128,
                    "max_position_embeddings": 4096,
                }
            )
            Qwen3ForCausalLM(config).to(torch.bfloat16).save_pretrained(folder / role)
            for file in template.iterdir():
                if file.name.startswith(("tokenizer", "chat_template", "generation_config")):
                    shutil.copy2(file, folder / role / file.name)
        written = time.perf_counter() - started
        overrides = {
            "name": "gpu-check",
            "budget": "100000tokens",
            "pair": {"instruct": str(folder / "instruct"), "thinking": str(folder / "thinking")},
            "task": {"search_size": 8, "holdout_size": 8},
            "decoding": {"max_new_tokens": 64},
            "trials": 2,
        }
        runtime = Runtime(storage=f"sqlite:///{folder}/s.db", tracking_uri=None, out=folder / "out")
        started = time.perf_counter()
        report = run_study(StudyRequest(overrides=overrides), runtime)
        total = time.perf_counter() - started
        trials = len(report.result.records)
    print(f"study_trial_s={total / max(1, trials):.2f} ({trials} trials of 8 questions × 64 tokens, {total:.1f} s with loading and re-scoring; pair written in {written:.1f} s)")


RUN = {"merge": merge_step, "moe": moe_step, "vllm": vllm_step, "study": study_step}


def run_steps(dry: bool, limit_s: float) -> int:
    """Each step in a child with an equal share of the time left; returns how many steps failed."""
    if dry:
        name = "cpu (dry run)"
    else:
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (no GPU: the figures are a CPU's)"
    print(f"device={name}", flush=True)
    deadline, failed = time.monotonic() + limit_s, 0
    for i, step in enumerate(STEPS):
        share = max(1.0, (deadline - time.monotonic()) / (len(STEPS) - i))
        command = [sys.executable, "-m", "bench.gpu_check", "--step", step, *(["--dry-run"] if dry else [])]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=share)
        except subprocess.TimeoutExpired:
            print(f"{step}: failed (past its {share:.0f} s share of --limit-s)")
            failed += 1
            continue
        lines = [line for line in done.stdout.splitlines() if "=" in line.split(" ", 1)[0] or ": skipped" in line or ": failed" in line]
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
            lines.append(f"{step}: failed ({tail})")
            failed += 1
        for line in lines:
            print(line, flush=True)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="toy shapes on the CPU: every step runs, no figure means anything")
    parser.add_argument("--limit-s", type=float, default=480.0, help="wall-clock seconds for all steps together")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # one step, in the child the parent starts
    args = parser.parse_args()
    if args.step is not None:
        RUN[args.step](args.dry_run)
        return
    sys.exit(1 if run_steps(args.dry_run, args.limit_s) else 0)


if __name__ == "__main__":
    main()
