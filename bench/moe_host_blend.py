"""A blend with host-resident sources against its floor: Qwen3-30B-A3B's layer shapes, a few layers.

Run from the repository root: python -m bench.moe_host_blend [--layers 4] [--device cuda] [--repeats 5]
Builds a random Qwen3-MoE with 30B-A3B's per-layer shapes (hidden 2048, 128 experts of 768, 32/4 heads
of 128, vocab 151936) and times side by side in one run:
  (a) `Interpolator.merge` with both sources in pinned host memory (streamed one tensor pair at a time),
  (b) `Interpolator.merge` with both sources on the device,
  (c) the floors: 2 model sizes over the measured pinned host→device bandwidth plus 3 through the measured
      device copy bandwidth for (a); 3 through device memory for (b).
On a CPU the host is the device, so (a) and (b) coincide: the bench is only meaningful on a GPU.
The memory plan (`mi-search plan`) states the same costs at assumed bandwidths; this measures them.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

from mi_search.merge.architectures import Module, table_for
from mi_search.merge.interpolator import Interpolator
from mi_search.merge.spec import LambdaSpec

SPEC = LambdaSpec(lam=0.5, modules={Module.EXPERTS: 0.7, Module.ROUTER: 0.2})
SHAPES = {  # Qwen3-30B-A3B's config.json
    "hidden_size": 2048,
    "intermediate_size": 6144,
    "moe_intermediate_size": 768,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "head_dim": 128,
    "vocab_size": 151936,
    "tie_word_embeddings": False,
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(action, device: torch.device, repeats: int) -> float:
    """Best of `repeats` wall times, after one warm-up run."""
    action()
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        action()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def bandwidths(device: torch.device, size: int = 2**28) -> tuple[float, float]:
    """Measured bytes/s of a pinned host→device copy and of a device-to-device copy."""
    host = torch.empty(size, dtype=torch.uint8, pin_memory=device.type == "cuda")
    on_device = torch.empty(size, dtype=torch.uint8, device=device)
    other = torch.empty_like(on_device)
    link = size / timed(lambda: on_device.copy_(host, non_blocking=True), device, 5)
    copy = 2 * size / timed(lambda: other.copy_(on_device), device, 5)  # a copy reads and writes
    return link, copy


def sources(model: torch.nn.Module, home: torch.device, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    pin = home.type == "cpu" and torch.cuda.is_available()
    out = {}
    for name, p in model.named_parameters():
        tensor = torch.randn_like(p, device="cpu").to(home)
        out[name] = tensor.pin_memory() if pin else tensor
    return out


def moe_model(device: torch.device, layers: int, shapes: dict = SHAPES) -> Qwen3MoeForCausalLM:
    """A Qwen3-MoE of `shapes` and `layers` layers in bf16 on `device`, its memory left uninitialised (timing only)."""
    with torch.device("meta"):
        skeleton = Qwen3MoeForCausalLM(Qwen3MoeConfig(num_hidden_layers=layers, **shapes))
    return skeleton.to_empty(device=device).to(torch.bfloat16)


def blends_against_floors(
    model: torch.nn.Module, device: torch.device, layers: int, repeats: int, link: float, copy: float
) -> list[tuple[torch.device, float, float]]:
    """(where the sources live, seconds a blend, its floor in seconds): sources in host memory, then on `device`."""
    table, size = table_for("Qwen3MoeForCausalLM"), sum(p.numel() * p.element_size() for p in model.parameters())
    found = []
    for home in (torch.device("cpu"), device):
        engine = Interpolator(model, sources(model, home, 1), sources(model, home, 2), table, layers)
        seconds = timed(lambda engine=engine: engine.merge(SPEC), device, repeats)
        found.append((home, seconds, 3 * size / copy + (2 * size / link if home != device else 0.0)))
        del engine
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    model = moe_model(device, args.layers)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    link, copy = bandwidths(device)
    print(f"device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; model {size / 1e9:.2f} GB")
    print(f"measured: host→device {link / 1e9:.1f} GB/s, device copy {copy / 1e9:.1f} GB/s")
    for home, seconds, floor in blends_against_floors(model, device, args.layers, args.repeats, link, copy):
        print(
            f"sources on {home.type:>4}: {seconds * 1e3:8.1f} ms a blend, floor {floor * 1e3:8.1f} ms ({floor / seconds:.0%})"
        )


if __name__ == "__main__":
    main()
