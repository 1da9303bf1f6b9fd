"""How many trials a run asks Optuna for, and the callback that stops a `trials: auto` study once its front converged.

`trials: N` runs N trials in this invocation, as it always did. `trials: auto` counts the study's own
trials (every process's, stored evaluations taken included): it runs until the study holds
`max_trials`, and from `min_trials` on it stops as soon as `statistics.convergence` shows that the
last trials raised the front's hypervolume by at most `stop_margin` of it (a 95 % upper bound, times
the windows of trials left to `max_trials`) and, in a one-λ space, no λ interval wider than
`COVERAGE` is left untried: the rule judges what the last proposals added, and a sampler content
with one region says nothing of a narrow peak in another (a 0.12-wide peak at λ 0.86 was never tried
by a study that stopped after 9 trials). When the front has converged but such an interval is left,
the callback queues its midpoint instead of stopping. A resumed or joined study that already
converged runs nothing more. Why the stop happened is kept with the study (`STOP_ATTR`) and printed.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from mi_search.search.settings.config import StudyConfig
from mi_search.search.statistics.convergence import Convergence, convergence
from mi_search.search.store import trials

STOP_ATTR = "mi_search_stop"  # why the study's last run stopped, in words
COVERAGE = 0.125  # the widest λ interval a one-λ study leaves untried before it may stop: a 9-point grid's step
COVER_ATTR = "mi_search_coverage"  # user attribute of a trial queued to fill an untried interval


def trials_to_run(config: StudyConfig, study: optuna.Study, taken: int = 0) -> int:
    """Optuna's n_trials for this run; `taken` are the stored evaluations a new study already took as trials."""
    if config.trials != "auto":
        return max(0, config.trials - taken)
    if settled(config, study) is not None:
        return 0  # a resumed or joined study whose front already converged
    return max(0, config.max_trials - len(trials.completed(study)))


def settled(config: StudyConfig, study: optuna.Study) -> Convergence | None:
    """The evidence of a front that converged with no λ interval left untried; None while the study should go on."""
    evidence = judge(config, study)
    return evidence if evidence is not None and evidence.converged and widest_gap(config, study) is None else None


def widest_gap(config: StudyConfig, study: optuna.Study) -> tuple[float, float] | None:
    """The widest interval of λ in [0, 1] that no trial (finished, running or queued) tried, when wider than
    `COVERAGE`; None when there is none or the space searches more than one λ (no grid covers a vector)."""
    names = config.space.lambda_names()
    if len(names) != 1:
        return None
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    tried = set()
    for trial in study.get_trials(deepcopy=False, states=states):
        params = trial.params or trial.system_attrs.get("fixed_params", {})
        if names[0] in params:
            tried.add(float(params[names[0]]))
    edges = sorted({0.0, 1.0} | tried)
    low, high = max(zip(edges, edges[1:]), key=lambda pair: pair[1] - pair[0])
    return (low, high) if high - low > COVERAGE else None


def judge(config: StudyConfig, study: optuna.Study) -> Convergence | None:
    """The convergence evidence of the study's finished trials; None before it holds `min_trials`."""
    done = sorted(trials.completed(study), key=lambda t: t.number)  # in trial order: the front as it grew
    if len(done) < config.min_trials:
        return None
    attrs = study.user_attrs
    records = [trials.read_record(t, attrs, config.objectives.accuracy) for t in done]
    outcomes = [r.outcomes if r.full and r.repeat_of is None and r.outcomes else None for r in records]
    if not any(outcomes):
        return None
    return convergence(
        outcomes,
        config.budget or 1,
        margin=config.stop_margin,
        window=stop_window(config.space.dimension),
        remaining=max(0, config.max_trials - len(done)),
        objective=config.objectives.accuracy,
        seed=config.seed,
    )


def stop_window(dimension: int) -> int:
    """The last fully scored trials judged together: 3 for one or two numbers, then one per number searched (6 to
    16), as each proposal in a space of many λ explores less of it. Why that many: a sampler that settles on one
    end of the front adds nothing for a few trials while the rest of it is unexplored; with a window of half the
    dimension an 8-λ profile study stopped after 20 trials at 95 % of its true front, where a window of 8 ran on
    to 98 % (simulated paper pair, seed 0; seeds 1 and 2 were unchanged)."""
    return 3 if dimension <= 2 else min(16, max(6, dimension))


@dataclass
class StopWhenConverged:
    """An Optuna callback: after each trial of a `trials: auto` study, stop the run if the front converged."""

    config: StudyConfig
    reason: str | None = None

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.config.trials != "auto" or self.reason is not None:
            return
        evidence = judge(self.config, study)
        if evidence is None or not evidence.converged:
            return
        gap = widest_gap(self.config, study)
        if gap is not None:  # converged where it looked: try the widest interval it never looked at first
            room = len(trials.completed(study)) < self.config.max_trials  # else it would wait past the study's end
            if room and not study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                names = self.config.space.lambda_names()
                study.enqueue_trial({names[0]: round((gap[0] + gap[1]) / 2, 4)}, user_attrs={COVER_ATTR: True})
            return
        held = len(trials.completed(study))
        self.reason = f"stopped after {held} trials, the front converged: {evidence.describe()}"
        study.stop()


def stop_reason(config: StudyConfig, study: optuna.Study, callback: StopWhenConverged | None, ran: int) -> str:
    """Why this run ended, for the terminal and the stored study."""
    held = len(trials.completed(study))
    if config.trials != "auto":
        return f"ran the {ran} trials asked for (trials: {config.trials}); the study holds {held}"
    if callback is not None and callback.reason is not None:
        return callback.reason
    done = settled(config, study)
    if done is not None:
        return f"the study holds {held} trials and its front had converged: {done.describe()}"
    if held >= config.max_trials:
        evidence, gap = judge(config, study), widest_gap(config, study)
        detail = f": {evidence.describe()}" if evidence is not None else ""
        untried = f"; λ {gap[0]:g}–{gap[1]:g} was left untried" if gap is not None else ""
        return f"stopped at max_trials {config.max_trials} before the front converged{detail}{untried}"
    return f"stopped with {held} trials, fewer than min_trials {config.min_trials} (a trial failed or was stopped)"


def record_stop(study: optuna.Study, reason: str) -> None:
    study.set_user_attr(STOP_ATTR, reason)
