"""Promotion to a real MLflow Model Registry (SQLite): the registered model loads back and generates like the export."""

from __future__ import annotations

import json

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient
from transformers import AutoModelForCausalLM, AutoTokenizer

from mi_search.backends.hf_generate import HFGenerator
from mi_search.errors import UserError
from mi_search.evaluation.decoding import DecodingParams
from mi_search import export_merge, resolve_pair
from mi_search.search.running.inputs import prepare_inputs
from mi_search.search.settings.request import StudyRequest
from mi_search.search.store.storage import open_storage
from mi_search.search.store.study import join_study
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study
from mi_search.tracking.promote import promote

from tests.conftest import assert_user_error, run

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

SETTINGS = {"budget": "4k", "task": {"search_size": 16, "holdout_size": 16}, "name": "promoted"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished toy study with a chosen point, and an empty MLflow registry beside it."""
    root = tmp_path_factory.mktemp("promote")
    runtime = Runtime(storage=f"sqlite:///{root}/s.db", tracking_uri=None, out=root / "out")
    run_study(StudyRequest(overrides={**SETTINGS, "trials": 4}), runtime)
    study, config = join_study(open_storage(runtime.storage), "promoted")
    return root, prepare_inputs(config), study, config, f"sqlite:///{root}/mlflow.db"


def test_the_promoted_model_loads_from_the_registry_and_generates_like_the_export(finished):
    root, inputs, study, config, uri = finished
    promotion = promote(study, config, resolve_pair(config.pair, None), name="toy-merge", alias="champion", tracking_uri=uri)
    assert promotion.version.version == "1" and promotion.version.uri == "models:/toy-merge@champion"

    mlflow.set_registry_uri(uri)
    loaded = mlflow.pyfunc.load_model("models:/toy-merge@champion")
    prompts = [q.prompt for q in inputs.holdout.questions[:4]]
    registered = loaded.predict(prompts)

    chosen = next(t for t in study.get_trials() if t.number == promotion.trial)
    spec, decoding = config.space.setting(chosen.params, inputs.decoding)
    directory = export_merge(config.pair, spec, root / "direct")
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    direct = HFGenerator(model, AutoTokenizer.from_pretrained(directory)).generate(prompts, 1, decoding)
    assert registered == [outs[0].text for outs in direct]
    assert decoding == DecodingParams(temperature=0.0, max_new_tokens=384)

    client = MlflowClient(uri, registry_uri=uri)
    version = client.get_model_version_by_alias("toy-merge", "champion")
    assert version.tags["mi_search.trial"] == str(promotion.trial) and version.tags["mi_search.study"] == "promoted"
    scores = json.loads(version.tags["mi_search.scores"])
    assert scores["accuracy"] == pytest.approx(chosen.values[0], abs=1e-3) and "trial" in version.description
    assert len(version.tags) <= 12 and all(len(key) <= 22 for key in version.tags)  # the model page shows them uncut

    # Linked both ways: the version's source run is the study's parent run, which lists it; the model was
    # logged (from code, no pickle) in a FINISHED promote run nested under that parent.
    parent = study.user_attrs["mlflow_parent_run_id"]
    assert version.run_id == parent and version.tags["mi_search.registration"] == "registered"
    assert [str(v.version) for v in client.search_model_versions(f"run_id = '{parent}'")] == ["1"]
    promote_run = client.get_run(promotion.run_id)
    assert promote_run.info.status == "FINISHED" and promote_run.data.tags["mlflow.parentRunId"] == parent
    (logged,) = client.search_logged_models(
        experiment_ids=[promote_run.info.experiment_id], filter_string=f"source_run_id = '{promotion.run_id}'"
    )
    assert version.source == f"models:/{logged.model_id}" and str(logged.status) == "READY"
    assert not any(v.startswith("/") for v in version.tags.values()) and "/tmp" not in version.description
    assert version.tags["mi_search.instruct"] == "mi-search toy pair: instruct"

    again = promote(study, config, resolve_pair(config.pair, None), name="toy-merge", alias="champion", tracking_uri=uri, trial=0)
    assert again.version.version == "2"
    assert str(client.get_model_version_by_alias("toy-merge", "champion").version) == "2"


@pytest.mark.parametrize("name", ["a.b", "a/b", "a:b", " ", "a\nb", "a\tb"])
def test_a_bad_model_name_registers_nothing(finished, name):
    _, _, study, config, uri = finished
    with pytest.raises(UserError, match="choose a name like"):
        promote(study, config, resolve_pair(config.pair, None), name=name, alias="champion", tracking_uri=uri)
    names = {m.name for m in MlflowClient(uri, registry_uri=uri).search_registered_models()}
    assert name not in names


@pytest.mark.parametrize("alias", ["v3", "V12", "latest", "bad alias!", ""])
def test_a_reserved_or_invalid_alias_registers_nothing(finished, alias):
    _, _, study, config, uri = finished
    with pytest.raises(UserError, match="pass --alias with a name like champion"):
        promote(study, config, resolve_pair(config.pair, None), name="aliased", alias=alias, tracking_uri=uri)
    assert "aliased" not in {m.name for m in MlflowClient(uri, registry_uri=uri).search_registered_models()}


def test_a_version_left_pending_by_a_killed_promotion_is_deleted_by_the_next(finished, tmp_path):
    from mi_search.tracking.registry import STATE_TAG, clean_incomplete

    _, _, study, config, uri = finished
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("half")  # what a promotion killed after creating the version leaves
    client.create_model_version("half", source=tmp_path.as_uri(), tags={STATE_TAG: "pending"})
    assert clean_incomplete(client, "half") == ["1"]
    assert client.search_model_versions("name = 'half'") == []


def test_a_missing_trial_or_one_over_budget_is_refused_unless_forced(finished, tmp_path):
    _, _, study, config, uri = finished
    with pytest.raises(UserError, match="no finished trial 99"):
        promote(study, config, resolve_pair(config.pair, None), name="toy-merge", alias="champion", tracking_uri=uri, trial=99)
    tight = config.model_copy(update={"budget": 90})  # λ=1 answers in ~127 tokens
    thinking = next(t.number for t in study.get_trials() if t.params["lam"] == 1.0)
    with pytest.raises(UserError, match="pass --force"):
        promote(study, tight, resolve_pair(tight.pair, None), name="tight", alias="champion", tracking_uri=uri, trial=thinking)
    assert "tight" not in {m.name for m in MlflowClient(uri, registry_uri=uri).search_registered_models()}


def test_promote_command_bad_input_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_user_error(run("promote", "--study", "nobody", "--name", "a.b"), "may not contain")
    assert_user_error(run("promote", "--study", "nobody", "--name", "ok"), "no study named 'nobody'")
