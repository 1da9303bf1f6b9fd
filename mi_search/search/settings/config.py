"""Study definitions: typed, validated (unknown keys rejected), combined from YAML pieces and CLI flags.

Precedence, lowest first: embedded defaults, the configuration stored with an existing study,
the study file, CLI flags. A study file may name a reusable piece by path instead of writing it
inline (`pair: ../configs/pairs/toy.yaml`), relative to the study file.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mi_search.backends.settings import BACKEND_KINDS, BackendSettings, HFSettings, read_shorthand
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingOverrides, SampleCount
from mi_search.evaluation.scores import AccuracyObjective
from mi_search.merge.pair import PairConfig
from mi_search.tasks.config import TaskConfig
from mi_search.search.settings.budget import parse_budget
from mi_search.search.settings.space import SearchSpace
from mi_search.yaml_config import read_yaml, validate

# Pieces a study file may give as a path to a YAML file under configs/.
REFERABLE_PIECES = ("pair", "task", "space", "decoding", "halving", "backend")
# What makes two runs the same study: changing any of these on resume would mix incomparable trials.
# `seed` included: it fixes the question order and every sample's seed, which pairs the trials.
# Seed points are queued one storage write each: 1,000 take seconds, and are more full evaluations than a
# study runs (each costs the whole search subset); a longer list is refused rather than queued for minutes.
MAX_SEED_POINTS = 1000
IDENTITY_FIELDS = ("pair", "task", "space", "decoding", "k", "objectives", "budget", "halving", "seed")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectivesConfig(_Strict):
    """Accuracy is maximized, mean response tokens minimized; this picks which accuracy."""

    accuracy: AccuracyObjective = Field(
        "accuracy", description="`accuracy` is Mean@k; Pass@k and Vote@k need k > 1 to differ from it"
    )


# A stopped trial gives up at most this share of the front's hypervolume (`statistics.gain`); chosen by
# bench/fidelity.py on the simulated paper pair, where it saves tokens at the hypervolume of no halving.
MIN_GAIN = 0.01


class HalvingConfig(_Strict):
    """Paired successive halving: a trial stops at a rung only when it confidently cannot add to the front.

    `rungs` are fractions, increasing, ending at 1: of the k samples of every question (`over: samples`) or of the
    search questions (`over: questions`; always under greedy decoding or a Pass@k or Vote@k objective). At each
    rung before the last the trial stops when its mean tokens are over the budget with one-sided confidence
    `level`, when a front point beats it in both objectives on the same questions, paired, at that level, or when its
    optimistic point (paired bounds at `level`) adds at most `min_gain` of the front's hypervolume; and
    only when the stop still holds without the question most in its favour. A trial at least
    as good as a front point in both objectives on the same questions never stops.
    """

    rungs: tuple[float, ...] = (0.25, 0.5, 1.0)
    over: Literal["samples", "questions"] = Field(
        "samples",
        description="what a rung is a fraction of: the k samples of every question, or the search questions (each "
        "with all k samples); greedy decoding (one sample repeated) and Pass@k or Vote@k objectives (which fewer "
        "samples bias) always take questions",
    )
    level: float = Field(0.95, description="one-sided confidence of a stop, in (0, 1)")
    min_gain: float = Field(
        MIN_GAIN,
        description="stop a trial whose optimistic point adds at most this share of the front's hypervolume, in [0, 1)",
    )

    @field_validator("rungs")
    @classmethod
    def _increasing_to_one(cls, rungs: tuple[float, ...]) -> tuple[float, ...]:
        if not rungs or rungs[-1] != 1.0 or any(a >= b for a, b in zip((0.0, *rungs), rungs)):
            raise ValueError("rungs must increase within (0, 1] and end at 1, e.g. [0.25, 1.0]")
        return rungs

    @field_validator("level")
    @classmethod
    def _a_confidence(cls, level: float) -> float:
        if not 0.0 < level < 1.0:
            raise ValueError("level must be a confidence in (0, 1), e.g. 0.95")
        return level

    @field_validator("min_gain")
    @classmethod
    def _a_share_of_hypervolume(cls, share: float) -> float:
        if not 0.0 <= share < 1.0:
            raise ValueError("min_gain must be a share of the front's hypervolume in [0, 1), e.g. 0.01; 0 stops only dominated trials")
        return share


class ChoiceRule(str, Enum):
    """How the chosen point is picked among the feasible front points re-scored on held-out questions."""

    BEST = "best"  # the best held-out accuracy within the budget (ties: fewer tokens)
    CHEAPEST_WITHIN = "cheapest-within"  # fewest tokens among those shown to give up less than `margin`
    CHEAPEST_TIED = "cheapest-tied"  # fewest tokens among those not significantly below the best (weaker: absence of evidence)


class ChoiceConfig(_Strict):
    """Which front point a study hands back. `choose: best` and `choose: {rule: cheapest-within, margin: 0.01}`."""

    rule: ChoiceRule = Field(ChoiceRule.BEST, description="best, cheapest-within or cheapest-tied")
    margin: float = Field(
        0.01, description="cheapest-within: the held-out accuracy a cheaper point may give up, in (0, 1)"
    )

    @field_validator("margin")
    @classmethod
    def _a_share(cls, margin: float) -> float:
        if not 0.0 < margin < 1.0:
            raise ValueError("margin must be an accuracy difference in (0, 1), e.g. 0.01")
        return margin


MAX_NAME = 100
STUDY_NAME = re.compile(rf"[^\W_][\w.+@-]{{0,{MAX_NAME - 1}}}")


class SamplerName(str, Enum):
    GP = "gp"
    TPE = "tpe"
    BOTORCH = "botorch"  # optuna-integration's BoTorchSampler with qLogNEHVI: the `botorch` extra
    NSGA2 = "nsga2"
    RANDOM = "random"  # a baseline for benchmarks
    TRUST = "trust"  # vector spaces: global λ first, then steps around the front (sampling.trust_region)


class StudyConfig(_Strict):
    name: str | None = Field(None, description="default: <pair>-<space>-<budget>")
    pair: PairConfig = PairConfig()
    task: TaskConfig = TaskConfig()
    space: SearchSpace = SearchSpace()
    decoding: DecodingOverrides = DecodingOverrides()
    k: SampleCount = 1
    objectives: ObjectivesConfig = ObjectivesConfig()
    sampler: SamplerName = Field(SamplerName.GP, description="gp, tpe, trust, botorch, nsga2 or random; default: by the space's dimension")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="the samplers' seed and every sample's, 0 to 2**32 - 1")
    trials: int | Literal["auto"] = Field(
        "auto",
        description="auto: run until the front converges (between min_trials and max_trials trials in the study); "
        "a number: that many trials this run, as Optuna's n_trials",
    )
    min_trials: int = Field(
        6, ge=1, description="auto: trials the study holds before it may stop; 6 for one λ, half of max_trials for more"
    )
    max_trials: int = Field(
        16, ge=1, description="auto: the most trials the study holds; its default grows with the dimension"
    )
    stop_margin: float = Field(
        0.01,
        gt=0.0,
        lt=1.0,
        description="auto: stop once the last 3 trials' gain in hypervolume is shown (95 % upper bound) to be at most "
        "this share of it",
    )
    seed_lambdas: tuple[Annotated[float, Field(ge=0.0, le=1.0)], ...] = Field(
        (0.5, 0.0, 1.0),
        max_length=MAX_SEED_POINTS,
        description=f"uniform λ tried first, in order, before the sampler proposes (the middle first: the first "
        f"trial has no front to be stopped against, the ends then have one); a list of them is a grid study "
        f"(at most {MAX_SEED_POINTS})",
    )
    budget: int | None = Field(None, description="mean response tokens a point may spend")
    halving: HalvingConfig = HalvingConfig()
    choose: ChoiceConfig = Field(ChoiceConfig(), description="best (default), or {rule: cheapest-within, margin: 0.01}")
    holdout_points: int = Field(
        6, ge=1, description="front points re-scored on the held-out questions, those that keep the front's shape"
    )
    backend: BackendSettings = Field(HFSettings(), description="hf (transformers) or vllm, with their settings")

    @model_validator(mode="before")
    @classmethod
    def _defaults_by_dimension(cls, data: Any) -> Any:
        """Trials and sampler the study leaves out, from the number of values its space searches."""
        keys = ("max_trials", "min_trials", "sampler")
        if not isinstance(data, dict) or all(data.get(key) is not None for key in keys):
            return data
        try:
            dimension = SearchSpace.model_validate(data.get("space") or {}).dimension
        except (ValueError, TypeError):  # an invalid space is reported by its own field; a layer count is pending
            return data
        most = data.get("max_trials") if isinstance(data.get("max_trials"), int) else default_trials(dimension)
        defaults = {
            "max_trials": default_trials(dimension),
            "min_trials": min(default_min_trials(dimension), most),  # a max_trials given lowers it
            "sampler": default_sampler(dimension).value,
        }
        return {**data, **{key: value for key, value in defaults.items() if data.get(key) is None}}

    @field_validator("trials", mode="before")
    @classmethod
    def _a_count_or_auto(cls, value: Any) -> Any:
        """`auto`, or a whole number of trials from 0 (a flag's text included), in one message whatever is wrong."""
        if value == "auto":
            return value
        try:
            count = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        except ValueError:
            count = None
        if count is None or count < 0:
            raise ValueError(f"input should be a valid integer from 0, or auto (stop when the front converges); got {value!r}")
        return count

    @field_validator("max_trials")
    @classmethod
    def _not_below_min(cls, max_trials: int, info: Any) -> int:
        least = info.data.get("min_trials")
        if least is not None and max_trials < least:
            raise ValueError(
                f"max_trials {max_trials} is below min_trials {least}; give a max_trials of at least {least} or a "
                "lower min_trials"
            )
        return max_trials

    @field_validator("name", mode="before")
    @classmethod
    def _composed(cls, name: Any) -> Any:
        """One spelling per name: "café" typed with a combining accent (as macOS file names store it) is "café"."""
        return unicodedata.normalize("NFC", name) if isinstance(name, str) else name

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, name: str | None) -> str | None:
        """The name becomes runs/<name>/ and an MLflow experiment: it must not reach outside runs/."""
        if name is not None and not STUDY_NAME.fullmatch(name):
            raise ValueError(
                f"study name {name[:40]!r}{'…' if len(name) > 40 else ''} is not a name: use at most "
                f"{MAX_NAME} letters, digits, '_', '-', '+', '@' or '.', starting with a letter or digit (no '/')"
            )
        return name

    @field_validator("backend", mode="before")
    @classmethod
    def _read_backend(cls, value: Any) -> Any:
        return read_shorthand(value)

    @field_validator("choose", mode="before")
    @classmethod
    def _read_choice(cls, value: Any) -> Any:
        """A rule alone (`choose: best`, as studies stored before margins were) stands for its mapping."""
        return {"rule": value} if isinstance(value, (str, ChoiceRule)) else value

    @field_validator("budget", mode="before")
    @classmethod
    def _read_budget(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse_budget(str(value))
        except UserError as exc:
            raise ValueError(str(exc)) from None

    @property
    def study_name(self) -> str:
        return self.name or f"{self.pair.label}-{self.space.kind.value}-{self.budget}"

    def identity(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(IDENTITY_FIELDS))


MAX_DEFAULT_TRIALS = 64  # a 72-λ space is not searched exhaustively: each trial costs a full evaluation


def default_trials(dimension: int) -> int:
    """16 for up to 2 numbers, then 4 more per number searched (a 12-λ space gets 56), at most 64."""
    return min(16 + 4 * max(0, dimension - 2), MAX_DEFAULT_TRIALS)


def default_min_trials(dimension: int) -> int:
    """6 for up to 2 numbers, then half the default `max_trials`: in a space of many λ a few trials that add
    little say less about what the next ones will find (a profile study stopped after 9 fully scored trials
    at 94 % of its true front, where 40 trials reached 98 %)."""
    return 6 if dimension <= 2 else max(6, default_trials(dimension) // 2)


# Above this many searched numbers the default sampler is trust (global λ first, then steps around the
# front): GP fits slow down with the dimension, and on the simulated paper pair's 72 per-layer λ trust
# found 96.7 % of the true front where TPE found 94.6 % (bench/vector_spaces.py, the README's table).
GP_MAX_DIMENSION = 16


def default_sampler(dimension: int) -> SamplerName:
    return SamplerName.GP if dimension <= GP_MAX_DIMENSION else SamplerName.TRUST


def read_study_file(path: Path) -> dict[str, Any]:
    """A study file's keys, with pieces given by path read from their files."""
    raw = read_yaml(path, "study file")
    if not isinstance(raw, dict):
        raise UserError(f"study file {path} is not a mapping; write keys such as `budget: 4000tokens`")
    for piece in REFERABLE_PIECES:
        if piece == "backend" and raw.get(piece) in BACKEND_KINDS:
            continue  # `backend: vllm` is the shorthand for `{kind: vllm}`, not a file named vllm
        if isinstance(raw.get(piece), str):
            raw[piece] = read_yaml(Path(path).parent / raw[piece], f"{piece} piece")
    raw.setdefault("name", Path(path).stem)
    return raw


def merge_settings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` laid over it, nested mappings merged key by key.

    A mapping that names another `kind` (another backend) replaces the old one whole: the old
    backend's settings mean nothing to the new one.
    """
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and value.get("kind", old.get("kind")) == old.get("kind"):
            merged[key] = merge_settings(old, value)
        else:
            merged[key] = value
    return merged


def build_config(settings: dict[str, Any], *, source: str, names: dict[str, str] | None = None) -> StudyConfig:
    """The study's typed configuration; `names` says which keys the user set by flag (errors name the flag)."""
    return validate(StudyConfig, settings, source=source, names=names)


def resume_config(
    stored: StudyConfig, requested: dict[str, Any], *, source: str, names: dict[str, str] | None = None
) -> StudyConfig:
    """The stored study's configuration with `requested` changes, refused if they change what the study is."""
    config = build_config(merge_settings(stored.model_dump(mode="json"), requested), source=source, names=names)
    before, after = flatten(stored.identity()), flatten(config.identity())
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            raise UserError(
                f"study {stored.study_name!r} was created with {key}={before.get(key)!r}, this run asks for "
                f"{after.get(key)!r}; drop that setting to continue the study, or start another with --study NEW"
            )
    return config


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: `{'space': {'kind': 'global'}}` → `{'space.kind': 'global'}`."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
