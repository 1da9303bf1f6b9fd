"""A study's view of the evaluation store: take what is measured, keep what it measures.

Three ways a study takes a stored evaluation, none of which generates a token:
- a study is warm-started with every stored evaluation that is a point of its space (a new study with
  all, a resumed one with those stored since), added as completed trials through Optuna's own
  `create_trial`/`add_trials`, their budget constraint recomputed for this study's budget (a budget
  is a view of the same measurements);
- a trial whose blend the store holds (a worker's, another study's, a sweep's) takes it as it runs;
- a front point re-scored on the held-out questions takes the stored held-out evaluation.

A point of another space maps in when its blend does: a point of the same space by its parameters,
a uniform blend (every tensor at one λ) into any space by `space.uniform`, a `modules` point into the
depth-resolved spaces by `space.from_modules` (every attention λ at its attention λ, and so on). The
mapped point's key is recomputed from this pair's merge plan and must equal the stored one;
otherwise it is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from mi_search.evaluation.decoding import DecodingParams
from mi_search.search.store import trials
from mi_search.search.store.evaluations import EvaluationStore, StoredEvaluation, blend_key, uniform_lambda
from mi_search.search.store.identity import measurement_digest

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from mi_search.evaluation.scores import Scores
    from mi_search.merge.plan import MergePlan
    from mi_search.merge.spec import LambdaSpec
    from mi_search.search.settings.config import StudyConfig
    from mi_search.search.settings.space import SearchSpace


class Reuse:
    """The evaluation store as one study sees it: its measurement, its pair's plan, its space and budget."""

    def __init__(
        self, storage: BaseStorage, fingerprint: dict[str, Any], plan: MergePlan, config: StudyConfig, study_name: str
    ) -> None:
        self.store = EvaluationStore(storage)
        self.search, self.holdout = measurement_digest(fingerprint, "search"), measurement_digest(fingerprint, "holdout")
        self.plan, self.config, self.study_name = plan, config, study_name
        self.space: SearchSpace = config.space.bound(plan.num_layers) if config.space.layers is None else config.space

    def key(self, spec: LambdaSpec, params: DecodingParams, *, holdout: bool = False) -> str:
        return blend_key(self.holdout if holdout else self.search, self.plan.lambdas(spec), params)

    def lookup(self, spec: LambdaSpec, params: DecodingParams, *, holdout: bool = False) -> StoredEvaluation | None:
        found = self.store.get(self.key(spec, params, holdout=holdout))
        return found if found is not None and found.serves(self.config.budget) else None

    def record(self, entry: StoredEvaluation) -> tuple[dict[str, Any], dict[str, float]]:
        """A trial's attributes and constraints for a stored evaluation, at this study's budget."""
        return trials.reused_record(
            entry.scores,
            entry.outcomes,
            questions=entry.questions,
            mean_lambda=entry.mean_lambda,
            origin=entry.origin,
            budget=self.config.budget,
            stop=entry.stop,
        )

    def keep(
        self,
        spec: LambdaSpec,
        params: DecodingParams,
        measured: dict[str, Any],
        *,
        origin: str,
        point: dict[str, Any] | None = None,
        holdout: bool = False,
    ) -> None:
        """Store one measurement (a trial's, or a front point's held-out one) under its blend's key."""
        lambdas = self.plan.lambdas(spec)
        self.store.put(
            StoredEvaluation(
                key=blend_key(self.holdout if holdout else self.search, lambdas, params),
                measurement=self.holdout if holdout else self.search,
                scores=measured["scores"],
                outcomes=measured["outcomes"],
                questions=measured["questions"],
                mean_lambda=measured["mean_lambda"],
                generated_tokens=measured["generated_tokens"],
                origin=origin,
                uniform=uniform_lambda(lambdas),
                space=self.space.model_dump(mode="json"),
                params=point,
                stop=measured.get("stop"),
                over_budget_at=self.config.budget if measured.get("stop") else None,
            )
        )

    def keep_trial(self, trial: optuna.Trial, spec: LambdaSpec, params: DecodingParams) -> None:
        measured = trials.measured(self._frozen(trial))
        if measured is not None:
            self.keep(spec, params, measured, origin=f"{self.study_name}#{trial.number}", point=dict(trial.params))

    def keep_holdout(
        self, number: int, spec: LambdaSpec, params: DecodingParams, scores: Scores, outcomes: dict[str, list], generated: int
    ) -> None:
        measured = {
            "scores": scores.as_dict(),
            "outcomes": outcomes,
            "questions": len(outcomes["ids"]),
            "mean_lambda": self.plan.mean_lambda(spec),
            "generated_tokens": generated,
        }
        self.keep(spec, params, measured, origin=f"{self.study_name}#holdout:{number}", holdout=True)

    def warm_start(self, study: optuna.Study, decoding: DecodingParams) -> int:
        """Add every stored evaluation that is a point of this study's space, and not one of its trials yet,
        as a completed trial; how many were added. A new study takes them all; a resumed one what was
        stored since (a sweep of it, another study with the same measurement)."""
        distributions = space_distributions(self.space)
        have = {
            self.key(*self.space.setting(t.params, decoding))
            for t in study.get_trials(deepcopy=False)
            if set(t.params) == set(distributions)
        }
        added = []
        for entry in self.store.entries(self.search):
            if not entry.serves(self.config.budget) or entry.key in have:
                continue
            point = self._point_of(entry, decoding)
            if point is None or not all(distributions[n]._contains(distributions[n].to_internal_repr(v)) for n, v in point.items()):
                continue
            attrs, constraints = self.record(entry)
            values = [entry.scores[self.config.objectives.accuracy], entry.scores["mean_tokens"]]
            added.append(
                optuna.trial.create_trial(
                    params=point, distributions=distributions, values=values, user_attrs=attrs, constraints=constraints
                )
            )
        if added:
            study.add_trials(added)
        return len(added)

    def _point_of(self, entry: StoredEvaluation, decoding: DecodingParams) -> dict[str, Any] | None:
        """This space's parameters for the stored blend, or None when the space has no point for it."""
        names = set(space_distributions(self.space))
        if entry.space == self.space.model_dump(mode="json") and entry.params is not None and set(entry.params) == names:
            point = dict(entry.params)
        elif entry.uniform is not None and set(self.space.uniform(0.0)) == names:  # the space searches λ only
            point = self.space.uniform(float(entry.uniform))
        else:  # a modules point is a point of the depth-resolved spaces' modules plane
            mapped = self.space.from_modules(entry.params) if entry.params is not None else None
            if mapped is None or set(mapped) != names:  # the space searches λ only
                return None
            point = mapped
        spec, params = self.space.setting(point, decoding)
        return point if self.key(spec, params) == entry.key else None

    @staticmethod
    def _frozen(trial: optuna.Trial) -> optuna.trial.FrozenTrial:
        return trial.study._storage.get_trial(trial._trial_id)


def space_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """The Optuna distribution of every parameter the space suggests, as `SearchSpace.suggest` asks for them."""
    found: dict[str, BaseDistribution] = {name: FloatDistribution(0.0, 1.0) for name in space.lambda_names()}
    decoding = space.decoding
    if decoding.temperature is not None:
        found["temperature"] = FloatDistribution(*decoding.temperature)
    if decoding.top_p is not None:
        found["top_p"] = FloatDistribution(*decoding.top_p)
    if decoding.max_new_tokens is not None:
        found["max_new_tokens"] = CategoricalDistribution(list(decoding.max_new_tokens))
    if decoding.thinking_budget is not None:
        found["thinking_budget"] = IntDistribution(*decoding.thinking_budget, log=True)
    return found
