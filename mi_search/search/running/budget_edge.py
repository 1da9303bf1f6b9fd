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
from mi_search.search.statistics.choice import not_significantly_below
from mi_search.search.statistics.outcomes import carries
from mi_search.search.statistics.paired import without_decisive_question
from mi_search.search.store import trials
from mi_search.search.store.trials import TrialRecord

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


# --- the edge seen on held-out questions ------------------------------------------------------------

HOLDOUT_EDGE_ATTR = "mi_search_holdout_edge"  # user attribute of a trial run to sharpen the edge on held-out questions
HOLDOUT_MOST = 3  # held-out re-scorings (and as many new trials) per run
# On the paper's curve tokens reach 16k where accuracy climbs 0.5 points per 0.01 λ: a bracket 0.05 wide
# could leave 2.4 points on the table, one 0.02 wide about 1.
HOLDOUT_RESOLUTION = 0.02
# An interval beside the choice is searched for a peak only if it could hold half a point more: on a plateau
# (the toy's λ 0.6-0.9, all near 1.0) nothing steeper than its neighbours leaves room for one.
PEAK_ROOM = 0.005


@dataclass(frozen=True)
class EdgeStep:
    """One step toward where the answer lies (the budget's edge, or a peak inside it): re-score a trial, or run a λ."""

    rescore: int | None = None  # a fully scored trial inside the bracket, not yet re-scored
    lam: float | None = None  # else the bracket's midpoint, to run (all of it) and then re-score


def holdout_step(records: list[TrialRecord], names: list[str], budget: int) -> EdgeStep | None:
    """The next step that narrows the budget's edge once held-out questions are scored; None once it is resolved.

    Why: the choice is the most accurate point within the budget, and at the edge the search questions
    alone misjudge it both ways. A point that fits on 23 search questions can spend 5 % more on 30
    held-out ones (and truly be past the budget), and the next point down the front may lie 0.13 λ
    lower (1.5 points of accuracy on a GPQA-shaped curve). So the bracket is judged here as the choice
    judges feasibility, on every question a point was scored on (`TrialRecord.within`): the largest
    uniform λ within the budget among re-scored points (a) and the smallest above it past the budget
    (b; on the search questions for a point not re-scored). While b − a is wider than
    `HOLDOUT_RESOLUTION`, unless b is shown less accurate than a on the same search questions (where
    accuracy falls toward the budget the answer lies below it), a fully scored trial inside it is re-scored (the
    one nearest the middle; it may be off the search front, tied there with a cheaper point), else the
    middle is run. Only uniform-λ trials of a one-λ space take part, as in `bracket`.
    """
    uniform = _uniform(records, names)
    within = [lam for lam, r in uniform.items() if r.full and r.holdout and r.within(budget)]
    if not within:
        return None
    low = max(within)
    past = [lam for lam, r in uniform.items() if lam > low and not _fits(r, budget)]
    if not past or _falls(uniform[low], uniform[min(past)]):
        return None  # nothing past, or accuracy falls toward the edge: nothing better lies inside (`peak_step`)
    return _narrow(uniform, low, min(past))


def _falls(lower: TrialRecord, upper: TrialRecord) -> bool:
    """Whether `upper` is shown less accurate than `lower`, paired on the search questions both scored at 95 %,
    and still so without the question that most favours `lower` (`paired.without_decisive_question`, as early
    stops ask): leaving the edge alone is a decision against `upper`, so one question's answers must not make it."""
    objective = lower.objective
    if not (carries(lower.outcomes, objective) and carries(upper.outcomes, objective)):
        return False
    if not_significantly_below(upper.outcomes, lower.outcomes, objective=objective):
        return False
    rest = without_decisive_question(upper.outcomes, lower.outcomes, objective)
    return not not_significantly_below(rest, lower.outcomes, objective=objective)


def peak_step(records: list[TrialRecord], names: list[str], budget: int, chosen: int | None) -> EdgeStep | None:
    """The next step toward the most accurate blend when it lies inside the budget, not at its edge.

    Why: on a curve whose accuracy peaks below the budget (a narrow peak late, an overthinking dip),
    the best blend lies between the chosen point and a neighbour, and a sampler that stopped, or a
    `max_trials` that ended it, can leave that interval 0.16 λ wide: on one such curve the choice gave
    up 2.5 points to the peak it stepped over. Each of the chosen point's two uniform-λ neighbours
    within the budget bounds an interval that may hold the peak. When the one above is past the budget
    the choice sits at the edge (which `holdout_step` narrows), and the one below is taken only if it
    scored at least as well on the search questions: on a rising curve nothing better lies below the
    edge. An interval is left alone if, rising no more steeply than the chosen point's slope to either
    neighbour, it could not hold `PEAK_ROOM` more accuracy (a plateau). Of the intervals wider than
    `HOLDOUT_RESOLUTION`, the one whose neighbour scored better on the search questions (paired: the
    same questions) is narrowed as `holdout_step` narrows the edge: a fully scored trial inside is
    re-scored, else its middle is run. A neighbour not yet re-scored that scored at least as well as the
    chosen point on the search questions (the middle run last time, say) is re-scored first: the choice
    may move to it.
    """
    uniform = _uniform(records, names)
    point = next((r for r in uniform.values() if r.number == chosen), None)
    if point is None:
        return None
    at = float(point.params[names[0]])
    below = [lam for lam in uniform if lam < at]
    above = [lam for lam in uniform if lam > at]
    sides = []
    if above and _fits(uniform[min(above)], budget):
        sides.append(min(above))
    if below and (sides or uniform[max(below)].accuracy >= point.accuracy) and _fits(uniform[max(below)], budget):
        sides.append(max(below))
    better = [uniform[lam] for lam in sides if uniform[lam].full and not uniform[lam].holdout]
    better = [r for r in better if r.accuracy >= point.accuracy]
    if better:  # a neighbour run here that scored at least as well: re-scored, the choice may move to it
        return EdgeStep(rescore=max(better, key=lambda r: (r.accuracy, -r.number)).number)
    neighbours = [lam for lam in (max(below, default=None), min(above, default=None)) if lam is not None]
    slope = max((abs(uniform[lam].accuracy - point.accuracy) / abs(lam - at) for lam in neighbours), default=0.0)

    def room(lam: float) -> float:  # the most (lam, at) could hold above the choice, were accuracy no steeper inside
        return (uniform[lam].accuracy - point.accuracy) / 2 + slope * abs(lam - at) / 2

    sides = [lam for lam in sides if abs(lam - at) > HOLDOUT_RESOLUTION + 1e-9 and room(lam) > PEAK_ROOM]
    if not sides:
        return None
    neighbour = max(sides, key=lambda lam: (uniform[lam].accuracy, abs(lam - at)))
    return _narrow(uniform, min(at, neighbour), max(at, neighbour))


def _uniform(records: list[TrialRecord], names: list[str]) -> dict[float, TrialRecord]:
    """The trials with every λ of a one-λ space at one value, by that value (the first trial at each)."""
    found: dict[float, TrialRecord] = {}
    for record in records:
        values = {float(record.params[name]) for name in names} if set(record.params) == set(names) else set()
        if record.repeat_of is None and len(values) == 1:
            found.setdefault(values.pop(), record)
    return found


def _fits(record: TrialRecord, budget: int) -> bool:
    """Within the budget on every question scored once re-scored, else on the search questions."""
    return record.within(budget) if record.holdout else record.feasible


def _narrow(uniform: dict[float, TrialRecord], low: float, high: float) -> EdgeStep | None:
    """Re-score the fully scored trial nearest the middle of (low, high), else run the middle; None when
    the interval is `HOLDOUT_RESOLUTION` narrow (0.40 − 0.38 is 0.020000000000000018, hence the slack)."""
    if high - low <= HOLDOUT_RESOLUTION + 1e-9:
        return None
    middle = (low + high) / 2
    inside = [(lam, r) for lam, r in uniform.items() if r.full and r.feasible and not r.holdout and low < lam < high]
    if inside:
        return EdgeStep(rescore=min(inside, key=lambda item: (abs(item[0] - middle), item[1].number))[1].number)
    if any(abs(lam - middle) < 1e-4 for lam in uniform):  # tried there and stopped early: running it again reuses that
        return None
    return EdgeStep(lam=round(middle, 4))
