"""The one preflight of a model pair: find both checkpoints, check them, plan their memory, once per command.

Checks run cheapest first, so a pair that cannot work is refused before its weights are fetched:
configs and tokenizer files (hub ids: metadata only), then the memory plan, then the weights'
headers (names, shapes, dtypes), and, for a study about to be stored, every weight's values.
"""

from __future__ import annotations

from pathlib import Path

from mi_search.atomic import check_out_folder
from mi_search.backends.base import Backend
from mi_search.backends.fingerprint import check_weight_values
from mi_search.backends.load import check_runnable, load_backend
from mi_search.backends.pair import Checkpoint, ResolvedPair
from mi_search.backends.placement import plan_pair
from mi_search.backends.settings import BackendSettings, HFSettings
from mi_search.merge.checkpoints import (
    check_metadata,
    check_tensors,
    checkpoint_plan,
    hub_revision,
    preflight_metadata,
    read_config,
    resolve_checkpoint,
)
from mi_search.merge.pair import PairConfig
from mi_search.merge.spec import LambdaSpec


def resolve_pair(
    config: PairConfig, settings: BackendSettings | None = HFSettings(), *, read_values: bool = False
) -> ResolvedPair:
    """The pair checked and resolved; `settings` plans its memory on this machine (None: only to export).

    `read_values` reads every weight once to refuse NaN or infinite values: a new study does, so it is
    never stored around weights that cannot load. That read also hashes the files for the study's
    fingerprint (cached), so a new study reads its weights twice in all: this check and the load.
    """
    instruct_ref, thinking_ref = config.references()
    instruct_meta, thinking_meta, table = check_metadata(instruct_ref, thinking_ref)
    preflight_metadata(instruct_meta, thinking_meta)
    model_config = read_config(instruct_meta)  # the weights' folder holds this same file: read once
    if settings is not None:
        check_runnable(model_config, settings)
    memory = plan_pair(instruct_meta, settings) if settings is not None else None  # before any weight is fetched
    instruct_dir, thinking_dir = resolve_checkpoint(instruct_ref), resolve_checkpoint(thinking_ref)
    check_tensors(instruct_dir, thinking_dir)
    if read_values:
        check_weight_values((instruct_dir, thinking_dir))
    return ResolvedPair(
        config=config,
        instruct=_checkpoint(instruct_ref, instruct_dir),
        thinking=_checkpoint(thinking_ref, thinking_dir),
        table=table,
        model_config=model_config,
        plan=checkpoint_plan(instruct_dir, table),
        memory=memory,
    )


def open_pair(config: PairConfig, settings: BackendSettings = HFSettings()) -> Backend:
    """Resolve the pair and load it on the backend `settings` name: what a notebook or a benchmark calls."""
    return load_backend(resolve_pair(config, settings), settings)


def export_merge(config: PairConfig, spec: LambdaSpec, out: Path, *, overwrite: bool = False) -> Path:
    """`mi-search merge`: check `out` (before a weight is read) and the pair, then write the blend there."""
    check_out_folder(out, overwrite=overwrite)
    return resolve_pair(config, None).export(spec, out, overwrite=overwrite)


def _checkpoint(reference: str, directory: Path) -> Checkpoint:
    return Checkpoint(reference=reference, directory=directory, revision=hub_revision(directory))
