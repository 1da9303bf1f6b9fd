"""The transformers backend: a working model merged in place from two resident sources, decoded by our own loop.

The sources live beside the model on its device when the memory plan finds room, else in (pinned)
host memory, from where each merge streams them one tensor pair at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from mi_search.backends.attention import register as register_attention, supported as attention_supported
from mi_search.backends.devices import pick_device, pick_dtype, probe_machine
from mi_search.backends.hf_generate import HFGenerator
from mi_search.backends.placement import plan_pair
from mi_search.backends.settings import HFSettings
from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.merge.interpolator import Interpolator
from mi_search.backends.pair import ResolvedPair
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec


class HFBackend:
    """The pair loaded with transformers: `merge` rewrites the working model, `generate` decodes from it."""

    def __init__(
        self,
        instruct_dir: Path,
        thinking_dir: Path,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        interpolator: Interpolator,
        *,
        batch_size: int = 256,
    ) -> None:
        self.instruct_dir, self.thinking_dir = instruct_dir, thinking_dir
        self.model, self.tokenizer, self.interpolator = model, tokenizer, interpolator
        self.generator = HFGenerator(model, tokenizer, batch_size=batch_size)

    @property
    def plan(self) -> MergePlan:
        return self.interpolator.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.interpolator.merge(spec)

    def generate(
        self, prompts: list[str], n: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        return self.generator.generate(prompts, n, params, seeds=seeds, first=first)


def load_hf(pair: ResolvedPair, settings: HFSettings = HFSettings()) -> HFBackend:
    """Load each model of a resolved pair once, where its memory plan puts it; the tokenizer is the template source's."""
    instruct_dir, thinking_dir = pair.instruct_dir, pair.thinking_dir
    device = pick_device(settings.device)
    dtype = pick_dtype(settings.dtype, device)
    memory = pair.memory or plan_pair(instruct_dir, settings, probe_machine(device))
    home = device if memory.sources == "device" else torch.device("cpu")
    pin = home.type == "cpu" and device.type == "cuda"  # pinned pages let each merge copy asynchronously

    # On a CPU, attention that reads grouped key/value heads in place (`attention.py`); remote code keeps its own.
    grouped = device.type == "cpu" and not pair.trust_remote_code and attention_supported()
    attention = {"attn_implementation": register_attention()} if grouped else {}

    def load(directory: Path) -> PreTrainedModel:
        model = AutoModelForCausalLM.from_pretrained(
            directory, dtype=dtype, use_safetensors=True, trust_remote_code=pair.trust_remote_code, **attention
        )
        return model.to(home).eval()

    def source(model: PreTrainedModel, *, copy: bool) -> dict[str, torch.Tensor]:
        """Its weights as a source: copied when `model` stays the working model, pinned for host streaming."""
        tensors = {name: p.detach() for name, p in model.named_parameters()}
        if pin:
            return {name: t.pin_memory() for name, t in tensors.items()}
        return {name: t.clone() for name, t in tensors.items()} if copy else tensors

    model = load(instruct_dir)
    instruct_state = source(model, copy=True)
    thinking_state = source(load(thinking_dir), copy=False)
    model.to(device)
    interpolator = Interpolator(model, instruct_state, thinking_state, pair.table, model.config.num_hidden_layers)
    tokenizer = AutoTokenizer.from_pretrained(pair.template_dir, trust_remote_code=pair.trust_remote_code)
    return HFBackend(instruct_dir, thinking_dir, model, tokenizer, interpolator, batch_size=settings.batch_size)
