"""The budget's edge: once uniform-λ trials bracket the budget, the study queues the bracket's midpoint, one at a time."""

from __future__ import annotations

from dataclasses import replace

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from mi_search.search.running.budget_edge import EDGE_ATTR, MOST, BudgetEdge, EdgeStep, bracket, holdout_step, peak_step
from mi_search.search.running.stopping import StopWhenConverged
from mi_search.search.settings.config import build_config
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.search.store.trials import TrialRecord

BUDGET = 4000
LAM = FloatDistribution(0.0, 1.0)


def add(study: optuna.Study, lam: float, tokens: float, params: dict[str, float] | None = None) -> None:
    """A finished trial at uniform λ (or at `params`), feasible when its tokens are within the budget."""
    chosen = params or {"lam": lam}
    study.add_trial(
        optuna.trial.create_trial(
            params=chosen,
            distributions={name: LAM for name in chosen},
            values=[0.5, tokens],
            system_attrs={"constraints": [tokens - BUDGET]},
        )
    )


def new_study() -> optuna.Study:
    return optuna.create_study(directions=["maximize", "minimize"])


def waiting(study: optuna.Study) -> list[float]:
    return [t.params.get("lam", t.system_attrs.get("fixed_params", {}).get("lam")) for t in study.get_trials(states=(TrialState.WAITING,))]


def edge(study: optuna.Study, remaining: int = 10, **settings) -> BudgetEdge:
    config = build_config({"budget": BUDGET, **settings}, source="test")
    callback = BudgetEdge(config, remaining, StopWhenConverged(config))
    return callback


def test_the_bracket_is_the_dearest_blend_within_and_the_next_past_the_budget():
    study = new_study()
    for lam, tokens in [(0.0, 900), (0.5, 4400), (1.0, 7100), (0.25, 2000)]:
        add(study, lam, tokens)
    assert bracket(study.get_trials(), ["lam"]) == (0.25, 0.5)
    add(study, 0.0, 0.0, {"lam": 0.4, "other": 0.2})  # not uniform: left out
    assert bracket(study.get_trials(), ["lam"]) == (0.25, 0.5)
    within = new_study()
    for lam, tokens in [(0.0, 900), (0.5, 1400), (1.0, 3900)]:
        add(within, lam, tokens)
    assert bracket(within.get_trials(), ["lam"]) is None  # the budget does not bind
    past = new_study()
    add(past, 0.0, 5000)
    assert bracket(past.get_trials(), ["lam"]) is None  # nothing within it


def test_midpoints_are_queued_one_at_a_time_up_to_the_most():
    study = new_study()
    for lam, tokens in [(0.0, 900), (0.5, 4400), (1.0, 7100)]:
        add(study, lam, tokens)
    callback = edge(study)
    callback(study, study.trials[-1])
    assert waiting(study) == [0.25]
    callback(study, study.trials[-1])
    assert waiting(study) == [0.25], "a queued edge point waits to run before the next one"
    for lam, tokens in [(0.25, 2000), (0.375, 3100), (0.4375, 4100)]:
        queued = study.get_trials(states=(TrialState.WAITING,))[0]
        study._storage.set_trial_state_values(queued._trial_id, TrialState.RUNNING)
        study._storage.set_trial_param(queued._trial_id, "lam", lam, LAM)
        study._storage.set_trial_system_attr(queued._trial_id, "constraints", [tokens - BUDGET])
        study._storage.set_trial_state_values(queued._trial_id, TrialState.COMPLETE, [0.5, tokens])
        callback(study, study.trials[-1])
        if len([t for t in study.trials if EDGE_ATTR in t.user_attrs]) < MOST:
            assert waiting(study) == [(bracket(study.get_trials(), ["lam"])[0] + bracket(study.get_trials(), ["lam"])[1]) / 2]
    assert waiting(study) == [], f"at most {MOST} edge points"
    assert sorted(t.params["lam"] for t in study.trials if EDGE_ATTR in t.user_attrs) == [0.25, 0.375, 0.4375]


@pytest.mark.parametrize("case", ["last trial of the run", "run stopped", "no budget", "decoding searched", "narrow", "vector"])
def test_nothing_is_queued_when_it_could_not_run_or_would_not_help(case):
    study = new_study()
    points = [(0.0, 900), (0.5, 4400)] if case != "narrow" else [(0.0, 900), (0.48, 3900), (0.5, 4400)]
    for lam, tokens in points:
        add(study, lam, tokens)
    settings = {"space": {"decoding": {"temperature": [0.2, 1.0]}}} if case == "decoding searched" else {}
    settings = {"space": {"kind": "modules"}} if case == "vector" else settings
    callback = edge(study, remaining=1 if case == "last trial of the run" else 10, **settings)
    if case == "run stopped":
        callback.stopper.reason = "stopped after 6 trials, the front converged"
    if case == "no budget":
        callback.config = build_config({}, source="test")
    if case in ("decoding searched", "vector"):
        study = new_study()
        names = ["lam", "temperature"] if case == "decoding searched" else callback.config.space.lambda_names()
        for lam, tokens in points:
            add(study, lam, tokens, {name: 0.5 if name == "temperature" else lam for name in names})
    callback(study, study.trials[-1])
    assert waiting(study) == []


def test_the_widest_untried_interval_of_a_one_lambda_space():
    from mi_search.search.running.stopping import COVERAGE, widest_gap

    config = build_config({"budget": BUDGET}, source="test")
    study = new_study()
    for lam in (0.0, 0.5, 1.0, 0.3, 0.4, 0.45, 0.6, 0.7):
        add(study, lam, 1000)
    assert widest_gap(config, study) == (0.7, 1.0)
    study.enqueue_trial({"lam": 0.85})  # a queued point counts as tried
    assert widest_gap(config, study) == (0.0, 0.3)
    for lam in (0.15, 0.1, 0.2):
        add(study, lam, 1000)
    assert widest_gap(config, study) == (0.7, 0.85)
    for lam in (0.78, 0.92):
        add(study, lam, 1000)
    assert widest_gap(config, study) is None, f"every interval is at most {COVERAGE} wide"
    vector = build_config({"budget": BUDGET, "space": {"kind": "modules"}}, source="test")
    assert widest_gap(vector, new_study()) is None  # no grid covers a vector space


# --- the edge on held-out questions ---------------------------------------------------------------------


def point(number: int, lam: float, tokens: float, holdout: float | None = None, *, full: bool = True) -> TrialRecord:
    """A uniform-λ trial's record: search mean tokens, and held-out mean tokens once re-scored."""
    scores = None if holdout is None else {"accuracy": 0.5, "objective": 0.5, "mean_tokens": holdout}
    return TrialRecord(number, {"lam": lam}, {}, 0.5, tokens, 23, full, tokens <= BUDGET, lam, 0, None, scores, None)


def test_the_held_out_edge_re_scores_the_trial_nearest_the_middle_then_runs_the_middle():
    # λ 0.44 fits on the search questions but not on the held-out ones; λ 0.31 fits on both
    records = [point(0, 0.0, 900, 950), point(1, 0.31, 3300, 3400), point(2, 0.44, 3800, 4200), point(3, 1.0, 9000)]
    assert holdout_step(records, ["lam"], BUDGET) == EdgeStep(lam=0.375)
    # a fully scored trial inside the bracket (off the search front, say) is re-scored rather than a new one run
    inside = [*records, point(4, 0.36, 3500), point(5, 0.40, 3700), point(6, 0.33, 3350, full=False)]
    assert holdout_step(inside, ["lam"], BUDGET) == EdgeStep(rescore=4)
    # re-scored within: the bracket moves up to (0.36, 0.44), and 0.40 is inside it
    inside[4] = point(4, 0.36, 3500, 3600)
    assert holdout_step(inside, ["lam"], BUDGET) == EdgeStep(rescore=5)
    inside[5] = point(5, 0.40, 3700, 4050)  # past on held-out questions: (0.36, 0.40) is still 0.04 wide
    assert holdout_step(inside, ["lam"], BUDGET) == EdgeStep(lam=0.38)
    inside.append(point(7, 0.38, 3750, 3900))
    assert holdout_step(inside, ["lam"], BUDGET) is None  # (0.38, 0.40): resolved


def test_the_held_out_edge_judges_a_point_on_search_and_held_out_questions_together():
    # 3,700 tokens on 23 search questions and 4,100 on 30 held-out ones: 3,926 on all 53, within 4,000
    pooled = replace(point(1, 0.40, 3700, 4100), holdout_outcomes=tuple(QuestionOutcome(f"h{i}", 1, 1, 4100) for i in range(30)))
    assert pooled.pooled_tokens == pytest.approx((3700 * 23 + 4100 * 30) / 53) and pooled.within(BUDGET)
    records = [point(0, 0.0, 900, 950), pooled, point(2, 0.5, 4500)]
    assert holdout_step(records, ["lam"], BUDGET) == EdgeStep(lam=0.45)  # bracket (0.40, 0.50), not (0.0, 0.40)


@pytest.mark.parametrize(
    "records",
    [
        [point(0, 0.0, 900, 950), point(1, 0.33, 3300, 3400), point(2, 0.345, 3800, 4200)],  # a bracket 0.015 wide
        [point(0, 0.0, 900, 4100), point(1, 0.5, 5000)],  # nothing within the budget on held-out questions
        [point(0, 0.0, 900, 950), point(1, 0.5, 2000, 2100)],  # nothing past the budget above
        [point(0, 0.0, 900, 950), point(1, 0.5, 5000, full=False)],  # a trial stopped over the budget is past it
    ],
    ids=["resolved", "none within", "none past", "stopped past"],
)
def test_the_held_out_edge_steps_only_while_a_bracket_wider_than_the_resolution_is_open(records):
    expected = EdgeStep(lam=0.25) if records[-1].full is False else None
    assert holdout_step(records, ["lam"], BUDGET) == expected


def test_the_held_out_edge_leaves_vector_points_alone():
    records = [point(0, 0.0, 900, 950), point(2, 0.44, 3800, 4200)]
    vector = TrialRecord(1, {"lam_attention": 0.2, "lam_mlp": 0.3}, {}, 0.5, 3000, 23, True, True, 0.25, 0, None, None, None)
    assert holdout_step([*records, vector], ["lam_attention", "lam_mlp"], BUDGET) is None


def scored(number: int, lam: float, accuracy: float, tokens: float, holdout: bool = True) -> TrialRecord:
    """A uniform-λ trial with its search accuracy; re-scored (at the same tokens) unless `holdout` is False."""
    scores = {"accuracy": accuracy, "objective": accuracy, "mean_tokens": tokens} if holdout else None
    return TrialRecord(number, {"lam": lam}, {}, accuracy, tokens, 23, True, tokens <= BUDGET, lam, 0, None, scores, None)


def test_a_peak_inside_the_budget_is_narrowed_toward_the_better_neighbour():
    # a narrow peak late: the choice at λ 0.84; λ 1.0 is within the budget and 0.16 away, λ 0.82 only 0.02
    records = [scored(0, 0.82, 0.73, 3000), scored(1, 0.84, 0.76, 3100), scored(2, 1.0, 0.71, 3900, holdout=False)]
    assert peak_step(records, ["lam"], BUDGET, chosen=1) == EdgeStep(lam=0.92)
    records.append(scored(3, 0.92, 0.70, 3500, holdout=False))  # run, and below the choice: not re-scored
    assert peak_step(records, ["lam"], BUDGET, chosen=1) == EdgeStep(lam=0.88)
    records.append(scored(4, 0.88, 0.79, 3300, holdout=False))  # run, and above the choice: re-scored
    assert peak_step(records, ["lam"], BUDGET, chosen=1) == EdgeStep(rescore=4)
    records[4] = scored(4, 0.88, 0.79, 3300)  # chosen now; its neighbours 0.84 and 0.92 are 0.04 away
    assert peak_step(records, ["lam"], BUDGET, chosen=4) == EdgeStep(lam=0.86)
    # a plateau: nothing as steep as the chosen point's slopes to its neighbours leaves half a point of room
    plateau = [scored(0, 0.6, 0.99, 2000), scored(1, 0.7, 0.99, 2500), scored(2, 0.8, 0.985, 3000)]
    assert peak_step(plateau, ["lam"], BUDGET, chosen=1) is None
    # both neighbours wide: toward the one that scored better on the search questions
    wide = [scored(0, 0.5, 0.70, 2000), scored(1, 0.7, 0.75, 3000), scored(2, 0.9, 0.72, 3800)]
    assert peak_step(wide, ["lam"], BUDGET, chosen=1) == EdgeStep(lam=0.8)
    wide[0] = scored(0, 0.5, 0.74, 2000)
    assert peak_step(wide, ["lam"], BUDGET, chosen=1) == EdgeStep(lam=0.6)


def test_at_the_budgets_edge_a_peak_is_sought_below_only_where_the_search_questions_point_there():
    rising = [scored(0, 0.5, 0.60, 2500), scored(1, 0.6, 0.70, 3600), scored(2, 0.7, 0.78, 4400, holdout=False)]
    assert peak_step(rising, ["lam"], BUDGET, chosen=1) is None  # λ 0.7 is past the budget: the edge's job
    flat = [scored(0, 0.5, 0.71, 2500), *rising[1:]]
    assert peak_step(flat, ["lam"], BUDGET, chosen=1) == EdgeStep(lam=0.55)
    narrow = [scored(0, 0.59, 0.75, 3500), *rising[1:]]
    assert peak_step(narrow, ["lam"], BUDGET, chosen=1) is None  # 0.01 wide: resolved
    assert peak_step(rising, ["lam"], BUDGET, chosen=None) is None


def test_the_edge_is_left_alone_where_accuracy_falls_toward_it_or_its_middle_was_stopped_early():
    # past the peak: λ 1.0 is past the budget and, on the same 23 search questions, one sample in 8 below the
    # chosen λ 0.875 on each: shown less accurate, paired
    def answers(record: TrialRecord, correct: list[int]) -> TrialRecord:
        outcomes = tuple(QuestionOutcome(f"q{i}", c, 8, record.mean_tokens) for i, c in enumerate(correct))
        return replace(record, outcomes=outcomes, accuracy=sum(correct) / (8 * len(correct)))

    chosen = answers(scored(1, 0.875, 0.75, 3500), [6] * 23)
    falling = [scored(0, 0.5, 0.64, 2000), chosen, answers(scored(2, 1.0, 0, 4100, holdout=False), [5] * 23)]
    assert holdout_step(falling, ["lam"], BUDGET) is None
    # one question's answers lower is no evidence of a fall: the edge is narrowed
    one_lower = answers(scored(2, 1.0, 0, 4100, holdout=False), [6] * 22 + [2])
    assert holdout_step([*falling[:2], one_lower], ["lam"], BUDGET) == EdgeStep(lam=0.9375)
    # nor is a fall shown on 5 questions that is no longer shown without the one most in its favour
    five_lower = answers(scored(2, 1.0, 0, 4100, holdout=False), [3] * 5 + [6] * 18)
    assert holdout_step([*falling[:2], five_lower], ["lam"], BUDGET) == EdgeStep(lam=0.9375)
    rising = [*falling[:2], answers(scored(2, 1.0, 0, 4100, holdout=False), [7] * 23)]
    assert holdout_step(rising, ["lam"], BUDGET) == EdgeStep(lam=0.9375)
    stopped = replace(scored(3, 0.9375, 0.70, 3800, holdout=False), full=False)  # halving stopped it there
    assert holdout_step([*rising, stopped], ["lam"], BUDGET) is None  # a second run would reuse its scores
