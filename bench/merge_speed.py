"""In-place merge against the memory-bandwidth floor and against the paper's write-and-reload workflow.

Run from the repository root: python -m bench.merge_speed [--device cpu|cuda] [--layers N] [--hidden H]
Builds a random Qwen3 pair of the given shapes (Qwen3-4B is --layers 36 --hidden 2560 --intermediate 9728),
then times side by side in one run:
  (a) `Interpolator.merge` into the resident model,
  (b) the floor: bytes a merge must move / measured device copy bandwidth,
  (c) the paper's workflow: write the merged checkpoint to disk and load it back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM

from mi_search.merge.architectures import table_for
from mi_search.merge.interpolator import Interpolator
from mi_search.merge.spec import LambdaSpec

MERGE_SPEC = LambdaSpec(lam=0.5, modules={"attention": 0.3})


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_of(fn, device: torch.device, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def copy_bandwidth(device: torch.device, dtype: torch.dtype, numel: int) -> float:
    """Bytes per second of a plain device-to-device copy (read + write)."""
    src = torch.randn(numel, device=device).to(dtype)
    dst = torch.empty_like(src)
    seconds = best_of(lambda: dst.copy_(src), device, 5)
    return 2 * src.numel() * src.element_size() / seconds


def random_pair(device: torch.device, dtype: torch.dtype, layers: int, hidden: int, intermediate: int):
    """A random Qwen3 of the given shapes and a perturbed copy, as a resident pair: (model, engine)."""
    config = Qwen3Config(
        vocab_size=151936,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 128,
        num_key_value_heads=max(1, hidden // 512),
        head_dim=128,
        tie_word_embeddings=True,
    )
    with torch.device(device):
        model = Qwen3ForCausalLM(config).to(dtype)
    instruct = {n: p.detach().clone() for n, p in model.named_parameters()}
    thinking = {n: (p.detach() + 0.01 * torch.randn_like(p)) for n, p in model.named_parameters()}
    return model, Interpolator(model, instruct, thinking, table_for("Qwen3ForCausalLM"), layers)


def merge_against_floor(engine: Interpolator, device: torch.device, dtype: torch.dtype, repeats: int):
    """(merge seconds, floor seconds, copy bandwidth B/s) for one in-place merge of `engine`'s pair."""
    merge_s = best_of(lambda: engine.merge(MERGE_SPEC), device, repeats)
    bandwidth = copy_bandwidth(device, dtype, 64 * 2**20)
    return merge_s, engine.bytes_per_merge() / bandwidth, bandwidth


def disk_roundtrip(model, engine: Interpolator, device: torch.device, dtype: torch.dtype, repeats: int) -> float:
    """Seconds of the paper's workflow per λ: merge, write the merged checkpoint, load it back onto the device."""
    with tempfile.TemporaryDirectory() as tmp:

        def write_and_reload() -> None:
            engine.merge(MERGE_SPEC)
            model.save_pretrained(Path(tmp) / "merged")
            AutoModelForCausalLM.from_pretrained(Path(tmp) / "merged", dtype=dtype).to(device)

        return best_of(write_and_reload, device, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--intermediate", type=int, default=3072)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    model, engine = random_pair(device, dtype, args.layers, args.hidden, args.intermediate)
    moved = engine.bytes_per_merge()
    merge_s, floor_s, bandwidth = merge_against_floor(engine, device, dtype, args.repeats)
    disk_s = disk_roundtrip(model, engine, device, dtype, 2)
    params = sum(p.numel() for p in model.parameters())
    print(f"device={device} dtype={args.dtype} params={params / 1e6:.1f}M bytes_moved={moved / 2**30:.2f}GiB")
    print(
        f"merge_s={merge_s:.4f} floor_s={floor_s:.4f} copy_bandwidth={bandwidth / 1e9:.1f}GB/s disk_roundtrip_s={disk_s:.3f}"
    )
    print(f"floor_ratio={merge_s / floor_s:.2f} disk_speedup={disk_s / merge_s:.1f}")


if __name__ == "__main__":
    main()
