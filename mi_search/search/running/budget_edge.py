"""Find where the budget binds: bisect uniform λ between the dearest blend within it and the cheapest past it.

The answer a user asks for with `--budget N` is the most accurate blend spending at most N tokens.
Along the paper's curve tokens grow with λ and accuracy mostly with them, so that blend sits where
tokens reach the budget. A model-based sampler reaches that edge slowly or not at all: with the
seeds λ 0, 0.5, 1 and a budget that only λ < 0.43 meets, GP spent nine trials on λ < 0.14 (each a
small, real gain on the cheap end) and never tried 0.2–0.43, where the best feasible blend lay 7
points higher. Optuna has no bisection of a constraint boundary (its constrained samplers weight
proposals by a feasibility model), so this callback queues one: after each trial, when the study's
uniform-λ trials bracket the budget (feasible at λ a, past it at the next λ b above), it queues
λ = (a + b) / 2, one at a time, until the bracket is `RESOLUTION` wide or `MOST` points were queued.
The sampler's own proposals go on between them; trials stopped early count, judged by the tokens they
were stopped at. Only a one-λ space is bisected: a vector space starts from the uniform points a
coarser study scored (the evaluation store) and refines around its front, and a space that searches
decoding parameters beside λ has tokens that do not follow λ alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from mi_search.search.running.stopping import StopWhenConverged
from mi_search.search.settings.config import StudyConfig
from mi_search.search.store import trials

EDGE_ATTR = "mi_search_budget_edge"  # user attribute of a queued edge trial
MOST = 3  # edge points per study: a 0.5 bracket narrows to 0.0625
RESOLUTION = 0.05  # a bracket this narrow is resolved


def bracket(study_trials: list[FrozenTrial], names: list[str]) -> tuple[float, float] | None:
    """(a, b): the largest uniform λ within the budget and the smallest above it past the budget; None when the
    budget does not bind between two uniform-λ trials."""
    judged: dict[float, bool] = {}
    for trial in study_trials:
        if trial.state is not TrialState.COMPLETE or set(trial.params) != set(names):
            continue
        values = {float(trial.params[name]) for name in names}
        if len(values) == 1:
            lam = values.pop()
            judged[lam] = judged.get(lam, True) and trials.is_feasible(trial)
    within = [lam for lam, feasible in judged.items() if feasible]
    if not within:
        return None
    low = max(within)
    past = [lam for lam, feasible in judged.items() if not feasible and lam > low]
    return (low, min(past)) if past else None


@dataclass
class BudgetEdge:
    """An Optuna callback that queues the next bisection point of the budget's edge while this run has trials left."""

    config: StudyConfig
    remaining: int  # trials this run still asks for (Optuna's n_trials): a point queued past them would wait
    stopper: StopWhenConverged  # once it stops the run, nothing more is queued

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.remaining -= 1
        if self.remaining <= 0 or self.stopper.reason is not None or self.config.budget is None:
            return
        every = study.get_trials(deepcopy=False)
        if any(t.state in (TrialState.WAITING, TrialState.RUNNING) for t in every):  # `trial` has finished
            return  # seeds, a grid or the last edge point still to run: one proposal at a time
        if sum(EDGE_ATTR in t.user_attrs for t in every) >= MOST:
            return
        names = self.config.space.lambda_names()
        if len(names) != 1:
            return
        edge = bracket(every, names)
        if edge is None or edge[1] - edge[0] <= RESOLUTION:
            return
        study.enqueue_trial(self.config.space.uniform(round((edge[0] + edge[1]) / 2, 4)), user_attrs={EDGE_ATTR: True})
