"""Study definitions: typed, validated (unknown keys rejected), combined from YAML pieces and CLI flags.

Precedence, lowest first: embedded defaults, the configuration stored with an existing study,
the study file, CLI flags. A study file may name a reusable piece by path instead of writing it
inline (`pair: ../configs/pairs/toy.yaml`), relative to the study file.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mi_search.backends.base import DecodingParams
from mi_search.backends.settings import BackendName, TemplateSource, VLLMSettings
from mi_search.errors import UserError
from mi_search.search.budget import parse_budget
from mi_search.search.space import SearchSpace
from mi_search.yaml_config import read_yaml, validate

# Pieces a study file may give as a path to a YAML file under configs/.
REFERABLE_PIECES = ("pair", "task", "space", "decoding", "halving", "vllm")
# What makes two runs the same study: changing any of these on resume would mix incomparable trials.
IDENTITY_FIELDS = ("pair", "task", "space", "decoding", "k", "objectives", "budget", "halving")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PairConfig(_Strict):
    """The Instruct and Thinking checkpoints (local directories or hub ids); neither means the bundled toy pair."""

    instruct: str | None = None
    thinking: str | None = None
    trust_remote_code: bool = False
    chat_template: TemplateSource = Field(
        "instruct", description="whose chat template formats every prompt: the instruct or the thinking model's"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> PairConfig:
        if (self.instruct is None) != (self.thinking is None):
            raise ValueError("give both instruct and thinking, or neither for the bundled toy pair")
        return self

    @property
    def label(self) -> str:
        return "toy" if self.thinking is None else Path(self.thinking).name

    def references(self) -> tuple[str, str]:
        if self.instruct is None or self.thinking is None:
            from mi_search.toy import toy_pair_dirs

            return tuple(str(d) for d in toy_pair_dirs())
        return self.instruct, self.thinking


class TaskConfig(_Strict):
    """Where questions come from and how they split into a search part and a held-out part."""

    name: str = Field("toy", description="toy, aime25, math500, gsm8k, gpqa-diamond or ifeval")
    data_files: str | None = Field(None, description="a local file in the named task's published schema")
    prompt_suffix: str | None = Field(None, description="replaces the instruction after each question")
    data: str | None = Field(None, description="a question/answer file or `datasets` id instead of a named task")
    question_column: str = "question"
    answer_column: str = "answer"
    split: str = "test"
    pool: int | None = Field(1000, ge=2, description="questions read before splitting; null reads them all")
    holdout_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    search_size: int | None = Field(200, ge=1, description="questions each trial is scored on")
    holdout_size: int | None = Field(200, ge=1, description="questions each front point is re-scored on")


class DecodingOverrides(_Strict):
    """Changes to the task's default decoding; a missing key keeps the task's value."""

    temperature: float | None = Field(None, ge=0.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    max_new_tokens: int | None = Field(None, ge=1)
    seed: int | None = None

    def apply(self, base: DecodingParams) -> DecodingParams:
        return base.model_copy(update=self.model_dump(exclude_none=True))


class ObjectivesConfig(_Strict):
    """Accuracy is maximized, mean response tokens minimized; this picks which accuracy."""

    accuracy: Literal["accuracy", "pass_at_k", "vote_at_k"] = Field(
        "accuracy", description="`accuracy` is Mean@k; Pass@k and Vote@k need k > 1 to differ from it"
    )


class HalvingConfig(_Strict):
    """Successive halving over questions: a trial stops at a rung once it cannot reach the front.

    `rungs` are fractions of the search subset, increasing, ending at 1. `z` widens the optimism:
    a trial goes on while accuracy + z·SE and tokens − z·SE are not dominated by the front.
    """

    rungs: tuple[float, ...] = (0.25, 1.0)
    z: float = Field(0.5, ge=0.0)

    @field_validator("rungs")
    @classmethod
    def _increasing_to_one(cls, rungs: tuple[float, ...]) -> tuple[float, ...]:
        if not rungs or rungs[-1] != 1.0 or any(a >= b for a, b in zip((0.0, *rungs), rungs)):
            raise ValueError("rungs must increase within (0, 1] and end at 1, e.g. [0.25, 1.0]")
        return rungs


class SamplerName(str, Enum):
    GP = "gp"
    TPE = "tpe"
    NSGA2 = "nsga2"


class StudyConfig(_Strict):
    name: str | None = Field(None, description="default: <pair>-<space>-<budget>")
    pair: PairConfig = PairConfig()
    task: TaskConfig = TaskConfig()
    space: SearchSpace = SearchSpace()
    decoding: DecodingOverrides = DecodingOverrides()
    k: int = Field(1, ge=1, description="samples per question")
    objectives: ObjectivesConfig = ObjectivesConfig()
    sampler: SamplerName = SamplerName.GP
    seed: int = 0
    trials: int = Field(16, ge=0, description="trials per invocation, as Optuna's n_trials")
    seed_lambdas: tuple[Annotated[float, Field(ge=0.0, le=1.0)], ...] = Field(
        (0.0, 0.5, 1.0),
        description="uniform λ tried first, in order, before the sampler proposes; a list of them is a grid study",
    )
    budget: int | None = Field(None, description="mean response tokens a point may spend")
    halving: HalvingConfig = HalvingConfig()
    backend: BackendName = Field("hf", description="hf (transformers) or vllm (one engine per study)")
    vllm: VLLMSettings = VLLMSettings()

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


def read_study_file(path: Path) -> dict[str, Any]:
    """A study file's keys, with pieces given by path read from their files."""
    raw = read_yaml(path, "study file")
    if not isinstance(raw, dict):
        raise UserError(f"study file {path} is not a mapping; write keys such as `budget: 4000tokens`")
    for piece in REFERABLE_PIECES:
        if isinstance(raw.get(piece), str):
            raw[piece] = read_yaml(Path(path).parent / raw[piece], f"{piece} piece")
    raw.setdefault("name", Path(path).stem)
    return raw


def merge_settings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` laid over it, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(settings: dict[str, Any], *, source: str) -> StudyConfig:
    return validate(StudyConfig, settings, source=source, hint="see studies/README.md for the keys")


def resume_config(stored: StudyConfig, requested: dict[str, Any], *, source: str) -> StudyConfig:
    """The stored study's configuration with `requested` changes, refused if they change what the study is."""
    config = build_config(merge_settings(stored.model_dump(mode="json"), requested), source=source)
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
