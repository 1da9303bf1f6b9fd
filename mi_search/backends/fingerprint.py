"""What a checkpoint and an engine are, by content: the part of a study's identity that lives on disk and in the process.

A path says where weights were, not what they are: a `model.safetensors` replaced at the same path
scores differently under the same name. So each weights file is known by a content hash (SHA-256,
read in 8 MiB chunks), computed once and cached by (path, size, mtime, inode): a later check of an
unchanged file costs a `stat`. Hub checkpoints are known by repo id and resolved commit as well.
The cache is a small JSON file (`$MI_SEARCH_CACHE/fingerprints.json`, default ~/.cache/mi-search),
written atomically; a damaged one is ignored with one warning and rebuilt.

hashlib and os.stat do the work; no library keeps a content-hash cache keyed by inode and mtime.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mi_search.atomic import atomic_write_text
from mi_search.cache_dir import cache_dir
from mi_search.merge.checkpoints import safetensors_files
from mi_search.merge.finite import FiniteScan

if TYPE_CHECKING:
    from mi_search.backends.pair import Checkpoint, ResolvedPair
    from mi_search.backends.settings import BackendSettings

CHUNK = 8 * 1024 * 1024
# Files that decide how a prompt becomes tokens and a response becomes text.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
)


class CacheWarning(UserWarning):
    """The fingerprint cache could not be read; it is rebuilt."""


def cache_file() -> Path:
    return cache_dir() / "fingerprints.json"


def file_hash(path: Path, scan: FiniteScan | None = None) -> str:
    """SHA-256 of a file's bytes, streamed; `scan` sees the same bytes, so checking values costs no second read."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            if scan is not None:
                scan.feed(view[:read])
    if scan is not None:
        scan.close()
    return digest.hexdigest()


class HashCache:
    """Content hashes by (resolved path, size, mtime_ns, inode); a changed file misses and is read again."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_file()
        self.entries = self._read()
        self.changed = False

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            entries = json.loads(self.path.read_text())
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise ValueError("not a mapping of files")
            return entries
        except (OSError, ValueError) as exc:
            warnings.warn(f"ignoring the damaged fingerprint cache {self.path} ({exc}); it is rebuilt", CacheWarning, 2)
            return {}

    def hash(self, path: Path, *, check_values: bool = False) -> str:
        """The file's hash; with `check_values` (safetensors files) its floating tensors are also shown finite,
        in the same read, and an unchanged file once shown finite is not read again."""
        real = Path(path).resolve()
        stat = real.stat()
        key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}
        entry = self.entries.get(str(real))
        fresh = entry is not None and all(entry.get(k) == v for k, v in key.items())
        if fresh and isinstance(entry.get("sha256"), str) and (entry.get("finite") is True or not check_values):
            return entry["sha256"]
        value = file_hash(real, FiniteScan(real) if check_values else None)
        known_finite = check_values or (fresh and entry.get("finite") is True)
        self.entries[str(real)] = {**key, "sha256": value, **({"finite": True} if known_finite else {})}
        self.changed = True
        return value

    def save(self) -> None:
        """Write the cache if it learnt something; a cache that cannot be written only costs the next check time."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.entries, indent=0, sort_keys=True))
            self.changed = False
        except OSError:
            pass


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_weight_values(directories: tuple[Path, ...], cache: HashCache | None = None) -> None:
    """Every weight of these checkpoints finite, read once: the read also fills the hash cache the
    study's fingerprint reads next, and a file already shown finite and unchanged is not read at all."""
    cache = cache or HashCache()
    try:
        for directory in directories:
            for file in safetensors_files(directory):
                cache.hash(file, check_values=True)
    finally:
        cache.save()


def weights_fingerprint(directory: Path, cache: HashCache) -> dict[str, str]:
    """Each safetensors file of a checkpoint by name, with its content hash."""
    return {file.name: cache.hash(file) for file in sorted(Path(directory).glob("*.safetensors"))}


def tokenizer_fingerprint(directory: Path) -> str:
    """One hash of the tokenizer files and chat template present (names included, so a removed file counts)."""
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        file = Path(directory) / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def checkpoint_fingerprint(checkpoint: Checkpoint, cache: HashCache) -> dict[str, Any]:
    """A checkpoint by content: weights per file, tokenizer, and hub commit when it came from the hub."""
    found: dict[str, Any] = {
        "weights": weights_fingerprint(checkpoint.directory, cache),
        "tokenizer": tokenizer_fingerprint(checkpoint.directory),
    }
    if checkpoint.revision is not None:
        found["hub"] = f"{checkpoint.reference}@{checkpoint.revision}"
    return found


def resolved_dtype(settings: BackendSettings) -> str:
    """The torch dtype the backend will load weights in (`auto` resolved as the backend resolves it)."""
    from mi_search.backends.devices import pick_device, pick_dtype

    device = pick_device(getattr(settings, "device", "auto"))
    return str(pick_dtype(settings.dtype, device)).removeprefix("torch.")


def engine_fingerprint(settings: BackendSettings) -> dict[str, str]:
    """Backend kind, the version of the library that generates, and the dtype weights are served in."""
    from importlib.metadata import PackageNotFoundError, version

    library = "transformers" if settings.kind == "hf" else "vllm"
    try:
        release = version(library)
    except PackageNotFoundError:
        release = "missing"
    return {"kind": settings.kind, "version": f"{library} {release}", "dtype": resolved_dtype(settings)}


def pair_fingerprint(pair: ResolvedPair, cache: HashCache | None = None) -> dict[str, Any]:
    """Both checkpoints and the chat template that formats every prompt."""
    cache = cache or HashCache()
    try:
        found = {
            "instruct": checkpoint_fingerprint(pair.instruct, cache),
            "thinking": checkpoint_fingerprint(pair.thinking, cache),
            "template": tokenizer_fingerprint(pair.template_dir),
        }
    finally:
        cache.save()
    return found


def text_fingerprint(value: Any) -> str:
    """A hash of any JSON-able value, keys sorted: the same value always gives the same hash."""
    return _text_hash(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))
