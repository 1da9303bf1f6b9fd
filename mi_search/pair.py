"""Load an Instruct/Thinking pair once: a working model to merge into, both sources kept resident."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from mi_search.backends.settings import TemplateSource
from mi_search.checkpoints import resolve_pair
from mi_search.engine import Interpolator
from mi_search.errors import UserError
from mi_search.plan import MergePlan
from mi_search.spec import LambdaSpec


@dataclass
class ModelPair:
    """The working model (merged in place by `engine`) and what it was built from."""

    instruct_dir: Path
    thinking_dir: Path
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    engine: Interpolator
    template_dir: Path  # the source whose tokenizer and chat template format prompts

    @property
    def plan(self) -> MergePlan:
        return self.engine.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.engine.merge(spec)


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA is not available on this machine; use --device cpu")
    return chosen


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on accelerators; fp32 on CPUs, where bf16 matmuls are slow without AVX-512."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    chosen = getattr(torch, dtype, None)
    if not isinstance(chosen, torch.dtype) or not chosen.is_floating_point:
        raise UserError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return chosen


def load_pair(
    instruct: str | Path,
    thinking: str | Path,
    *,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
    chat_template: TemplateSource = "instruct",
) -> ModelPair:
    """Check the pair, then load each model once onto `device`; the tokenizer is `chat_template`'s source's."""
    instruct_dir, thinking_dir, table = resolve_pair(instruct, thinking)
    transformers.utils.logging.disable_progress_bar()  # our own progress display owns the terminal
    target_device = pick_device(device)
    target_dtype = pick_dtype(dtype, target_device)

    def load(directory: Path) -> PreTrainedModel:
        model = AutoModelForCausalLM.from_pretrained(
            directory, dtype=target_dtype, use_safetensors=True, trust_remote_code=trust_remote_code
        )
        return model.to(target_device).eval()

    model = load(instruct_dir)
    instruct_state = {name: p.detach().clone() for name, p in model.named_parameters()}
    thinking_state = {name: p.detach() for name, p in load(thinking_dir).named_parameters()}
    engine = Interpolator(model, instruct_state, thinking_state, table, model.config.num_hidden_layers)
    template_dir = thinking_dir if chat_template == "thinking" else instruct_dir
    tokenizer = AutoTokenizer.from_pretrained(template_dir, trust_remote_code=trust_remote_code)
    return ModelPair(instruct_dir, thinking_dir, model, tokenizer, engine, template_dir)
