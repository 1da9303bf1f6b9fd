"""Write a blend as an HF checkpoint, streamed from the two source checkpoints, atomically.

The export never reads the working model: each output shard is the blend of the matching source
tensors by the same merge method and dtype policy as an in-place merge (`merge/methods/`), so a
backend that holds its weights elsewhere (vLLM's workers) exports the same bytes. Only the tensors
the Instruct checkpoint holds are written: a head tied to the embeddings stays tied. Memory is
bounded by one source shard.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mi_search.version import __version__
from mi_search.atomic import as_umask_allows, atomic_directory
from mi_search.errors import UserError
from mi_search.merge.checkpoints import safetensors_files
from mi_search.merge.methods.base import MergeMethod
from mi_search.merge.methods.registry import get_method
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec

# Tokenizer and template files copied from the source whose template the study used, so the export chats alike.
TOKENIZER_FILES = (
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
_INDEX = "model.safetensors.index.json"


def export_blend(
    instruct_dir: Path,
    thinking_dir: Path,
    plan: MergePlan,
    spec: LambdaSpec,
    out: Path,
    *,
    template_dir: Path | None = None,
    provenance: dict | None = None,
    overwrite: bool = False,
    method: MergeMethod | None = None,
) -> Path:
    """Write the blend of every tensor pair at its λ as `out`, shard by shard as the Instruct checkpoint is."""
    lambdas = plan.lambdas(spec)
    method = method or get_method()
    with atomic_directory(out, overwrite=overwrite) as staging:
        with ExitStack() as stack:
            thinking = _tensor_handles(thinking_dir, stack)
            for shard in safetensors_files(instruct_dir):
                with safe_open(shard, framework="pt") as handle:
                    blended = dict(_blend_shard(handle, thinking, lambdas, method))
                save_file(blended, staging / shard.name, metadata={"format": "pt"})
                as_umask_allows(staging / shard.name)  # safetensors writes 0600; a serving user must read it
        if (instruct_dir / _INDEX).is_file():
            shutil.copyfile(instruct_dir / _INDEX, staging / _INDEX)
        shutil.copyfile(instruct_dir / "config.json", staging / "config.json")
        source = template_dir or instruct_dir
        for name in TOKENIZER_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
        record = {"mi_search_version": __version__, "spec": spec.model_dump(mode="json"), **(provenance or {})}
        (staging / "mi_search_merge.json").write_text(json.dumps(record, indent=2) + "\n")
    return out


def _tensor_handles(directory: Path, stack: ExitStack) -> dict[str, object]:
    """Each tensor name of a checkpoint mapped to the open shard that holds it."""
    handles = {}
    for shard in safetensors_files(directory):
        handle = stack.enter_context(safe_open(shard, framework="pt"))
        handles.update(dict.fromkeys(handle.keys(), handle))  # noqa: SIM118 - safe_open handles are not dicts
    return handles


def _blend_shard(
    handle, thinking: dict[str, object], lambdas: dict[str, float], method: MergeMethod
) -> Iterator[tuple[str, torch.Tensor]]:
    for name in handle.keys():  # noqa: SIM118 - safe_open handles are not dicts
        first = handle.get_tensor(name)
        second = thinking[name].get_tensor(name)
        blended = method.blend(first, second, lambdas[name])  # in the Instruct tensor's dtype
        if not bool(torch.isfinite(blended).all()):  # nothing is written: the blend is staged until every shard is done
            side = "instruct" if not bool(torch.isfinite(first).all()) else "thinking"
            raise UserError(
                f"tensor {name} of the {side} checkpoint holds NaN or infinite values; re-download or re-export it"
            )
        yield name, blended

