"""Write the current merge as an HF checkpoint, atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from mi_search import __version__
from mi_search.atomic import atomic_directory
from mi_search.checkpoints import read_config
from mi_search.pair import ModelPair
from mi_search.spec import LambdaSpec

# Tokenizer and template files copied from the source whose template the study used, so the export chats alike.
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "added_tokens.json",
    "generation_config.json",
)


def export_merge(pair: ModelPair, spec: LambdaSpec, out: Path, *, overwrite: bool = False) -> Path:
    """Merge `spec` into the working model and save it in the sources' dtype with the prompts' tokenizer."""
    pair.merge(spec)
    source_config = read_config(pair.instruct_dir)
    dtype_name = source_config.get("dtype") or source_config.get("torch_dtype")
    dtype = getattr(torch, dtype_name) if dtype_name else pair.model.dtype
    # Cast a copy of the state, never the model: the engine holds references to its parameter tensors.
    state = {name: tensor.to(dtype) for name, tensor in pair.model.state_dict().items()}
    with atomic_directory(out, overwrite=overwrite) as staging:
        pair.model.save_pretrained(staging, state_dict=state, safe_serialization=True)
        config_path = staging / "config.json"
        config = json.loads(config_path.read_text())
        config["dtype"] = str(dtype).removeprefix("torch.")
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        for name in _TOKENIZER_FILES:
            if (pair.template_dir / name).exists():
                shutil.copy2(pair.template_dir / name, staging / name)
        provenance = {
            "mi_search_version": __version__,
            "instruct": str(pair.instruct_dir),
            "thinking": str(pair.thinking_dir),
            "spec": spec.model_dump(mode="json"),
        }
        (staging / "mi_search_merge.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return out
