"""Find checkpoints and check a pair before any weight is loaded: configs, tensor names and shapes."""

from __future__ import annotations

import json
import math
from pathlib import Path

from safetensors import SafetensorError, safe_open

from mi_search.merge.architectures import ArchitectureTable, table_for
from mi_search.errors import UserError
from mi_search.filekind import kind_of
from mi_search.yaml_config import read_json
from mi_search.merge.plan import MergePlan

# Config fields that must agree for two checkpoints to be interpolated weight by weight.
_MUST_AGREE = (
    "model_type",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
    "num_experts",
    "moe_intermediate_size",
    "tie_word_embeddings",
)
_METADATA_FILES = ["*.json", "*.jinja", "*.model", "*.txt", "*.tiktoken"]  # configs and tokenizer, no weights


def resolve_checkpoint(reference: str | Path, *, weights: bool = True) -> Path:
    """A local model directory as it is, or a hub id (`org/name`) downloaded to the local cache.

    With `weights=False` only configs and tokenizer files are fetched, so a pair can be checked first.
    """
    path = Path(reference).expanduser()
    if path.is_dir():
        check_model_files(path)
        return path
    text = str(reference)
    if path.exists() or text.count("/") != 1 or text.startswith((".", "/", "~")):
        raise UserError(
            f"{reference} is not a model directory; pass a directory with config.json or a hub id like Qwen/Qwen3-4B"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        patterns = [*_METADATA_FILES, "*.safetensors"] if weights else _METADATA_FILES
        return Path(snapshot_download(repo_id=text, allow_patterns=patterns))
    except (OSError, HFValidationError) as exc:  # offline, gated, missing or malformed: the Hub's errors are OSErrors
        raise UserError(
            f"cannot fetch {text} from the Hugging Face Hub ({type(exc).__name__}); pass a local model directory instead"
        ) from None


def check_model_files(directory: Path) -> None:
    """Every file of a model directory is a regular file (links followed): a FIFO would hang the library that reads
    it, a link to /dev/zero would fill memory, and the library reads tokenizer and weight files we never open."""
    for entry in sorted(directory.iterdir()):
        kind = None if entry.is_dir() else kind_of(entry)
        if kind is not None:
            raise UserError(
                f"{entry} is {kind}, not a regular file; a model directory holds the checkpoint's files themselves "
                "(re-download or re-export it)"
            )


def read_config(directory: Path) -> dict:
    path = directory / "config.json"
    config = read_json(path, "model config", "point to an HF model directory")
    if not isinstance(config, dict):
        raise UserError(f"{path} holds a {type(config).__name__}, not a model config; point to an HF model directory")
    return config


def architecture_of(config: dict, directory: Path) -> str:
    architectures = config.get("architectures") or []
    if len(architectures) != 1:
        raise UserError(f"{directory}/config.json names architectures {architectures}; expected exactly one")
    return architectures[0]


def safetensors_files(directory: Path) -> list[Path]:
    """A checkpoint's safetensors shards, in name order; refused when there are none."""
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise UserError(
            f"{directory} has no .safetensors weights; mi-search reads safetensors only (convert the .bin files first)"
        )
    return files


def tensor_shapes(directory: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of every tensor in a (possibly sharded) safetensors checkpoint, read from headers only."""
    return {name: shape for name, (shape, _) in tensor_entries(directory).items()}


def tensor_entries(directory: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every tensor's shape and safetensors dtype ("BF16", "I64", …), read from headers only."""
    entries: dict[str, tuple[tuple[int, ...], str]] = {}
    for file in safetensors_files(directory):
        try:
            with safe_open(file, framework="pt") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open handles are not dicts
                    entry = handle.get_slice(name)
                    entries[name] = (tuple(entry.get_shape()), entry.get_dtype())
        except SafetensorError as exc:
            raise UserError(
                f"{file} is not a readable safetensors file ({exc}); re-download or re-export that checkpoint"
            ) from None
    return entries


def checkpoint_plan(directory: Path, table: ArchitectureTable) -> MergePlan:
    """The merge plan of a checkpoint from its config and safetensors headers: no weight is read."""
    sizes = {name: math.prod(shape) for name, shape in tensor_shapes(directory).items()}
    return MergePlan(sizes, table, read_config(directory)["num_hidden_layers"])


def has_chat_template(directory: Path) -> bool:
    """Whether the tokenizer files define a chat template (inline, or in transformers 5's own file)."""
    if (directory / "chat_template.jinja").is_file() or (directory / "chat_template.json").is_file():
        return True
    try:
        tokenizer_config = json.loads((directory / "tokenizer_config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(tokenizer_config.get("chat_template"))


def check_configs(instruct: Path, thinking: Path) -> str:
    """Refuse a pair whose configs disagree; return the shared architecture name."""
    configs = {"instruct": read_config(instruct), "thinking": read_config(thinking)}
    archs = {side: architecture_of(cfg, d) for (side, cfg), d in zip(configs.items(), (instruct, thinking))}
    if archs["instruct"] != archs["thinking"]:
        raise UserError(
            f"architectures differ: instruct is {archs['instruct']}, thinking is {archs['thinking']}; pick two checkpoints of one architecture"
        )
    for key in _MUST_AGREE:
        a, b = configs["instruct"].get(key), configs["thinking"].get(key)
        if a != b:
            raise UserError(
                f"configs differ in {key}: instruct {a}, thinking {b}; the two models must share one architecture"
            )
    return archs["instruct"]


def check_tensors(instruct: Path, thinking: Path) -> None:
    """Refuse two checkpoints whose tensor names or shapes differ, or where one side stores a weight as integers."""
    entries_i, entries_t = tensor_entries(instruct), tensor_entries(thinking)
    for name in sorted(entries_i.keys() ^ entries_t.keys()):
        side, other = ("instruct", "thinking") if name in entries_i else ("thinking", "instruct")
        raise UserError(
            f"tensor {name} is in the {side} checkpoint but missing from the {other} one; the checkpoints must have the same tensors"
        )
    for name in sorted(entries_i):
        (shape_i, dtype_i), (shape_t, dtype_t) = entries_i[name], entries_t[name]
        if shape_i != shape_t:
            raise UserError(
                f"tensor {name} has shape {shape_i} in instruct but {shape_t} in thinking; the models must have the same shapes"
            )
        if _is_float(dtype_i) != _is_float(dtype_t):  # a blend of floats with integers is not a weight
            raise UserError(
                f"tensor {name} is {dtype_i} in instruct but {dtype_t} in thinking; "
                "the models must store it in the same kind of type"
            )


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("F", "BF"))


def check_metadata(instruct: str | Path, thinking: str | Path) -> tuple[Path, Path, ArchitectureTable]:
    """Fetch the pair's configs and tokenizer files only; refuse configs that disagree or an unknown architecture."""
    instruct_dir, thinking_dir = resolve_checkpoint(instruct, weights=False), resolve_checkpoint(thinking, weights=False)
    return instruct_dir, thinking_dir, table_for(check_configs(instruct_dir, thinking_dir))


def preflight_metadata(instruct_dir: Path, thinking_dir: Path) -> None:
    """Check a pair for generation from its metadata alone: tokenizer files that parse, a chat template on each side."""
    for side, directory in (("instruct", instruct_dir), ("thinking", thinking_dir)):
        check_tokenizer_files(directory)
        if not has_chat_template(directory):
            raise UserError(
                f"the {side} model {directory} has no chat template; prompts go through the model's chat template, "
                "so give a chat model (chat_template.jinja, or chat_template in tokenizer_config.json)"
            )


def hub_revision(directory: Path) -> str | None:
    """The hub commit a checkpoint was fetched at (the HF cache's `…/snapshots/<commit>`); None for a local directory."""
    parts = directory.resolve().parts
    return parts[-1] if len(parts) > 1 and parts[-2] == "snapshots" else None


TOKENIZER_VOCABULARIES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def check_tokenizer_files(directory: Path) -> None:
    """A tokenizer is there and its JSON files parse: found now, not when the model loads after the study is stored."""
    found = any((directory / name).is_file() for name in TOKENIZER_VOCABULARIES) or any(directory.glob("*.tiktoken"))
    if not found:
        names = ", ".join(TOKENIZER_VOCABULARIES)
        raise UserError(f"{directory} has no tokenizer ({names}); give a full HF model directory")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if (directory / name).is_file():
            read_json(directory / name, "tokenizer file", "re-download that checkpoint's tokenizer")


# --- sizes from headers and indexes, for the memory plan: no weight is read -------------------------

_INDEX = "model.safetensors.index.json"


def read_header(file: Path) -> dict[str, dict]:
    """A safetensors file's header (name → dtype, shape, offsets) from its first bytes; the data is never read."""
    try:
        with file.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= file.stat().st_size - 8:  # garbage bytes promise a header larger than the file
                raise ValueError(f"a header of {length} bytes in a file of {file.stat().st_size}")
            header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("the header is not a table of tensors")
        header.pop("__metadata__", None)
        if not all(isinstance(entry, dict) and isinstance(entry.get("shape"), list) for entry in header.values()):
            raise ValueError("a tensor entry has no shape")
    except (OSError, ValueError) as exc:
        raise UserError(f"{file} has no readable safetensors header ({exc}); re-download that checkpoint") from None
    return header


def parameter_count(directory: Path) -> int | None:
    """Parameters of a checkpoint from its safetensors headers, else its index's total size; None when neither is here."""
    files = sorted(directory.glob("*.safetensors"))
    if files:
        return sum(math.prod(entry["shape"]) for file in files for entry in read_header(file).values())
    index = directory / _INDEX
    if not index.is_file():
        return None
    try:
        total = json.loads(index.read_text())["metadata"]["total_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    config = read_config(directory)
    stored = config.get("dtype") or config.get("torch_dtype") or "bfloat16"
    itemsize = {"float32": 4, "float16": 2, "bfloat16": 2}.get(str(stored).removeprefix("torch."), 2)
    return int(total) // itemsize
