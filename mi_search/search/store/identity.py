"""A study's identity by content: the fingerprints of everything that changes a score, stored with the study.

The configuration stored with a study names its inputs (paths, a task, a dtype setting); the
fingerprints say what those names held when the trials were scored: each model's weights and
tokenizer, the chat template, the engine (backend, library version, resolved dtype), the search and
held-out questions with their golds, the decoding, k and the seed. They are recorded when a study
is created and checked on every resume and worker join before anything runs: a change is one line
naming what changed. A study made before fingerprints existed gets them at its next resume.

A section absent from the current fingerprints (a benchmark's simulated backend has no checkpoints)
is neither checked nor recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna

from mi_search.backends.fingerprint import engine_fingerprint, pair_fingerprint, text_fingerprint
from mi_search.errors import UserError
from mi_search.search.store import trials
from mi_search.tasks.fingerprint import questions_fingerprint

if TYPE_CHECKING:
    from mi_search.backends.pair import ResolvedPair
    from mi_search.search.settings.config import StudyConfig
    from mi_search.search.running.inputs import StudyInputs

FINGERPRINT_ATTR = "mi_search_fingerprints"
UID_ATTR = "mi_search_uid"  # drawn once when the study is stored: a deleted and recreated study of the same name is another
_SIDES = {"instruct": "Instruct", "thinking": "Thinking"}


def study_fingerprint(config: StudyConfig, inputs: StudyInputs, pair: ResolvedPair | None) -> dict[str, Any]:
    """What this run would score with; `pair` None (a given backend) leaves the checkpoints out."""
    found: dict[str, Any] = {
        "engine": engine_fingerprint(config.backend),
        "task": {
            "search": questions_fingerprint(inputs.search.questions),
            "holdout": questions_fingerprint(inputs.holdout.questions),
        },
        "decoding": inputs.decoding.key(),
        "k": config.k,
        "seed": config.seed,
    }
    if pair is not None:
        found["pair"] = pair_fingerprint(pair)
    return found


def measurement_digest(fingerprint: dict[str, Any], section: str = "search") -> str:
    """One hash of what decides a measurement on the `section` questions (search or holdout).

    The engine's library version is left out: a patch release of transformers does not make every
    stored score another measurement; its kind and dtype do.
    """
    engine = {key: value for key, value in fingerprint["engine"].items() if key != "version"}
    return text_fingerprint(
        {
            "pair": fingerprint.get("pair"),
            "engine": engine,
            "questions": fingerprint["task"][section],
            "decoding": fingerprint["decoding"],
            "k": fingerprint["k"],
            "seed": fingerprint["seed"],
        }
    )


def check_fingerprint(study: optuna.Study, current: dict[str, Any]) -> None:
    """Refuse, in one line, a run whose inputs differ from those the study's completed trials were scored with."""
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    scored = [t.number for t in trials.completed(study)]
    if not isinstance(stored, dict) or not scored:  # nothing recorded, or nothing measured yet: recorded anew
        return
    before, after = _flatten(stored), _flatten(current)
    shared = {key for key in before.keys() | after.keys() if key.split(".")[0] in stored and key.split(".")[0] in current}
    for key in sorted(shared):
        if before.get(key) != after.get(key):
            raise UserError(describe_change(key, before.get(key), after.get(key), _span(scored)))


def record_fingerprint(study: optuna.Study, current: dict[str, Any]) -> None:
    """Store the fingerprints (sections the study lacks are added; a study with no trial scored takes them whole)."""
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    if not isinstance(stored, dict) or not trials.completed(study):
        merged = dict(current)
    else:
        merged = {**current, **stored}
    if merged != stored:
        study.set_user_attr(FINGERPRINT_ATTR, merged)


def study_uid(study: optuna.Study) -> str:
    """The study's own id, drawn when it was stored (or, for a study stored before ids, at its next run)."""
    import uuid

    found = study.user_attrs.get(UID_ATTR)
    if not isinstance(found, str):
        found = uuid.uuid4().hex
        study.set_user_attr(UID_ATTR, found)
    return found


def stored_fingerprint(study: optuna.Study) -> dict[str, Any] | None:
    found = study.user_attrs.get(FINGERPRINT_ATTR)
    return found if isinstance(found, dict) else None


def describe_change(key: str, was: Any, now: Any, span: str) -> str:
    """One line: what changed, against what the trials were scored with, and the two ways out."""
    parts = key.split(".")
    way_out = "restore them or start a new study with --study NEW"
    if parts[0] == "pair":
        if parts[1] == "template":
            return f"the chat template differs from the one {span} were scored with; restore it or start a new study with --study NEW"
        side = _SIDES[parts[1]]
        if parts[2] == "weights":
            name = ".".join(parts[3:])
            return f"the {side} model's weights differ from the ones {span} were scored with ({name}); {way_out}"
        if parts[2] == "tokenizer":
            return f"the {side} model's tokenizer files differ from the ones {span} were scored with; {way_out}"
        return f"the {side} model resolves to {now}, {span} were scored with {was}; {way_out}"
    if parts[0] == "engine":
        what = {"dtype": "weights in", "kind": "the backend", "version": "generation by"}[parts[1]]
        fix = f"pass --dtype {was}" if parts[1] == "dtype" else f"use {was}"
        return f"this run would serve {what} {now}, {span} were scored with {was}; {fix} or start a new study with --study NEW"
    if parts[0] == "task":
        which = "search" if parts[1] == "search" else "held-out"
        return (
            f"the task's {which} questions or gold answers differ from the ones {span} were scored on; "
            "restore the task's data or start a new study with --study NEW"
        )
    setting = ".".join(parts)
    return f"{setting} is {now!r} in this run, {span} were scored with {was!r}; drop that change or start a new study with --study NEW"


def _span(numbers: list[int]) -> str:
    """`trials 0–4`, `trials 0, 2 and 7`, or `trial 3`."""
    numbers = sorted(numbers)
    if len(numbers) == 1:
        return f"trial {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"trials {numbers[0]}–{numbers[-1]}"
    shown = ", ".join(map(str, numbers[:5])) + (", …" if len(numbers) > 5 else "")
    return f"trials {shown}"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
