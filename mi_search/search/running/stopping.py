"""How many trials a run asks Optuna for, and the callback that stops a `trials: auto` study once its front converged.

`trials: N` runs N trials in this invocation, as it always did. `trials: auto` counts the study's own
trials (every process's, stored evaluations taken included): it runs until the study holds
`max_trials`, and from `min_trials` on it stops as soon as `statistics.convergence` finds that the
last trials raised the front's hypervolume by no more than its noise. A resumed or joined study
that already converged runs nothing more. Why the stop happened is kept with the study
(`STOP_ATTR`) and printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna

from mi_search.search.settings.config import StudyConfig
from mi_search.search.statistics.convergence import Convergence, convergence
from mi_search.search.store import trials

STOP_ATTR = "mi_search_stop"  # why the study's last run stopped, in words


def trials_to_run(config: StudyConfig, study: optuna.Study, taken: int = 0) -> int:
    """Optuna's n_trials for this run; `taken` are the stored evaluations a new study already took as trials."""
    if config.trials != "auto":
        return max(0, config.trials - taken)
    evidence = judge(config, study)
    if evidence is not None and evidence.converged:
        return 0  # a resumed or joined study whose front already converged
    return max(0, config.max_trials - len(trials.completed(study)))


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
    return convergence(outcomes, config.budget or 1, objective=config.objectives.accuracy, seed=config.seed)


@dataclass
class StopWhenConverged:
    """An Optuna callback: after each trial of a `trials: auto` study, stop the run if the front converged."""

    config: StudyConfig
    on_stop: Callable[[str], None] = lambda reason: None
    reason: str | None = None

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.config.trials != "auto" or self.reason is not None:
            return
        evidence = judge(self.config, study)
        if evidence is not None and evidence.converged:
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
    evidence = judge(config, study)
    if evidence is not None and evidence.converged:
        return f"the study holds {held} trials and its front had converged: {evidence.describe()}"
    if held >= config.max_trials:
        detail = f": {evidence.describe()}" if evidence is not None else ""
        return f"stopped at max_trials {config.max_trials} before the front converged{detail}"
    return f"stopped with {held} trials, fewer than min_trials {config.min_trials} (a trial failed or was stopped)"


def record_stop(study: optuna.Study, reason: str) -> None:
    study.set_user_attr(STOP_ATTR, reason)
