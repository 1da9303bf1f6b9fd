"""Journal records Optuna replays but that break the next ask, tell or report: refused when the journal opens."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.distributions import FloatDistribution, distribution_to_json
from optuna.trial import TrialState, create_trial

from mi_search.errors import UserError
from mi_search.search.store.storage import open_storage

LAM = distribution_to_json(FloatDistribution(0.0, 1.0))
START, END = "2026-01-01T00:00:00", "2026-01-01T00:01:00"
SCORED = {
    "scores": {"k": 1, "accuracy": 0.5, "pass_at_k": 0.5, "vote_at_k": 0.5, "mean_tokens": 100.0,
               "think_ratio": 0.0, "truncation_rate": 0.0},
    "questions": 4, "full": True, "generated_tokens": 400, "mean_lambda": 0.3,
}


@pytest.fixture
def journal(tmp_path):
    """A real journal of a study as mi-search stores one: its configuration, a scored trial, a queued seed λ."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    path = tmp_path / "s.log"
    study = optuna.create_study(study_name="s", storage=open_storage(f"journal:{path}"), directions=["maximize", "minimize"])
    study.set_user_attr("mi_search_config", {"name": "s"})
    study.add_trial(create_trial(
        state=TrialState.COMPLETE, values=[0.5, 100.0], params={"lam": 0.3},
        distributions={"lam": FloatDistribution(0.0, 1.0)}, user_attrs=SCORED,
    ))
    study.enqueue_trial({"lam": 0.5})
    return path


def created(**fields) -> dict:
    """A CREATE_TRIAL record of study 0, as Optuna writes one, with `fields` laid over it."""
    return {"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": START, "datetime_complete": END,
            "state": 1, "values": [0.6, 90.0], "params": {"lam": 0.4}, "distributions": {"lam": LAM},
            "user_attrs": SCORED, **fields}


def queued(lam) -> dict:
    """A CREATE_TRIAL record of a queued trial (what `enqueue_trial` writes) with a fixed λ."""
    return {"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": None, "state": 4,
            "system_attrs": {"fixed_params": {"lam": lam}}}


@pytest.mark.parametrize(
    "record, says",
    [
        (created(values=None), "values should be set for a complete trial"),
        (created(values=[0.6]), "1 values for 2 objectives"),
        (created(values=[float("nan"), 90.0]), "should not contain NaN"),
        (created(values=["a", "b"]), "not numbers"),
        (created(params={"lam": 5.0}), "isn't contained in the distribution"),
        (created(params={}), "Inconsistent parameters"),
        (created(datetime_start=None), "`datetime_start` is supposed to be set"),
        (created(state=3), "values should be None for a failed trial"),
        (created(distributions={"lam": json.dumps({"name": "CategoricalDistribution", "attributes": {"choices": ["a"]}})},
                 params={"lam": 0}), "where the study's trials have FloatDistribution"),
        (created(user_attrs={}), "lacks 'scores'"),
        (created(user_attrs={**SCORED, "scores": {"x": 1}}), "not the score columns"),
        (created(user_attrs={**SCORED, "questions": "four"}), "has questions 'four'"),
        (queued(7.0), "queued with lam=7.0"),  # Optuna would run it, outside the space, with a warning
        (queued("abc"), "queued with lam='abc'"),
    ],
)
def test_a_record_that_replays_but_breaks_later_is_refused_naming_the_file_and_the_fix(journal, record, says):
    journal.write_bytes(journal.read_bytes() + json.dumps(record).encode() + b"\n")
    before = journal.read_bytes()
    with pytest.raises(UserError) as refused:
        open_storage(f"journal:{journal}")
    message = str(refused.value)
    assert message.startswith(f"{journal}: trial 2 of study 's'") and says in message, message
    assert "restore the journal from a backup or delete the record that made trial 2" in message
    assert "\n" not in message
    assert journal.read_bytes() == before  # nothing changed


def test_a_journal_optuna_and_mi_search_wrote_opens_and_runs_its_queued_trial(journal):
    study = optuna.load_study(study_name="s", storage=open_storage(f"journal:{journal}"))
    trial = study.ask()
    assert trial.suggest_float("lam", 0.0, 1.0) == 0.5
    for key, value in SCORED.items():  # what mi-search records on every scored trial
        trial.set_user_attr(key, value)
    study.tell(trial, [0.7, 80.0])
    assert [t.state for t in optuna.load_study(study_name="s", storage=open_storage(f"journal:{journal}")).trials] == [
        TrialState.COMPLETE, TrialState.COMPLETE
    ]


def test_a_study_another_tool_made_is_not_held_to_mi_search_records(tmp_path):
    path = tmp_path / "other.log"
    other = optuna.create_study(study_name="other", storage=open_storage(f"journal:{path}"))
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="other", storage=open_storage(f"journal:{path}")).trials) == 2
