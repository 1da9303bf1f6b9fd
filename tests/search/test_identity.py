"""A study's fingerprints: each change to what a score measures is refused on resume or worker join, nothing stored."""

from __future__ import annotations

import json
import shutil

import optuna
import pytest

from mi_search.backends.fingerprint import CacheWarning, HashCache, file_hash
from mi_search.errors import UserError
from mi_search.search.settings.request import StudyRequest
from mi_search.search.store.identity import FINGERPRINT_ATTR
from mi_search.service.runtime import Runtime
from mi_search.service.study import run_study, run_worker
from mi_search.tasks.toy import toy_questions
from tests.conftest import copy_pair

pytestmark = pytest.mark.slow  # every test here runs whole toy studies

QUICK = {"task": {"search_size": 4, "holdout_size": 4}, "budget": "4k", "backend": {"device": "cpu"}, "holdout_points": 1}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_SEARCH_CACHE", str(tmp_path / "cache"))


def runtime(tmp_path) -> Runtime:
    return Runtime(storage=f"sqlite:///{tmp_path}/studies.db", tracking_uri=None, heartbeat=5, out=tmp_path / "out")


def study(tmp_path, pair, name="ident", trials=1, **changes):
    instruct, thinking = pair
    overrides = {**QUICK, "name": name, "trials": trials, "pair": {"instruct": str(instruct), "thinking": str(thinking)}}
    return run_study(StudyRequest(overrides={**overrides, **changes}), runtime(tmp_path))


def stored(tmp_path, name="ident") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/studies.db")


def scored(tmp_path, name="ident") -> int:
    return len(stored(tmp_path, name).get_trials(states=(optuna.trial.TrialState.COMPLETE,)))


def everything(tmp_path, name="ident") -> tuple:
    """Every trial and study attribute stored: a refused run leaves it as it was."""
    study = stored(tmp_path, name)
    return [(t.number, t.state, sorted(t.user_attrs)) for t in study.get_trials()], sorted(study.user_attrs)


def test_a_new_study_stores_its_fingerprints_and_resumes_with_them(tmp_path):
    pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    prints = stored(tmp_path).user_attrs[FINGERPRINT_ATTR]
    assert set(prints["pair"]["thinking"]["weights"]) == {"model.safetensors"}
    assert prints["engine"]["dtype"] == "float32" and prints["engine"]["kind"] == "hf"
    assert prints["task"]["search"] != prints["task"]["holdout"]
    study(tmp_path, pair)  # unchanged: continues
    assert scored(tmp_path) == 2


def test_weights_replaced_at_the_same_path_are_refused_before_anything_is_stored(tmp_path):
    instruct, thinking = pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    before = everything(tmp_path)
    shutil.copyfile(instruct / "model.safetensors", thinking / "model.safetensors")
    with pytest.raises(UserError, match=r"the Thinking model's weights differ from the ones trial 0 were scored with \(model.safetensors\)"):
        study(tmp_path, pair)
    assert everything(tmp_path) == before


def test_a_changed_tokenizer_is_refused(tmp_path):
    instruct, thinking = pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    before = everything(tmp_path)
    config = json.loads((instruct / "tokenizer_config.json").read_text())
    (instruct / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": 77}))
    with pytest.raises(UserError, match="the Instruct model's tokenizer files differ"):
        study(tmp_path, pair)
    assert everything(tmp_path) == before


def test_gold_answers_edited_in_a_data_file_are_refused(tmp_path):
    pair = copy_pair(tmp_path)
    data = tmp_path / "gsm8k.jsonl"
    rows = [{"question": q.prompt, "answer": f"... #### {q.answer}"} for q in toy_questions(16)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    task = {"name": "gsm8k", "data_files": str(data), "prompt_suffix": "", "pool": None, "search_size": 4, "holdout_size": 4}
    study(tmp_path, pair, task=task)
    before = everything(tmp_path)
    rows = [{**row, "answer": "... #### 999999"} for row in rows]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match="the task's (search|held-out) questions or gold answers differ"):
        study(tmp_path, pair, task=task)
    assert everything(tmp_path) == before


def test_a_worker_in_another_dtype_is_refused(tmp_path):
    pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    before = everything(tmp_path)
    with pytest.raises(UserError, match="this run would serve weights in bfloat16, trial 0 were scored with float32; pass --dtype float32"):
        run_worker("ident", {"backend": {"dtype": "bfloat16"}, "trials": 1}, runtime(tmp_path))
    assert everything(tmp_path) == before
    run_worker("ident", {"trials": 1}, runtime(tmp_path))  # the same inputs join
    assert scored(tmp_path) == 2


def test_a_changed_decoding_is_refused(tmp_path):
    pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    before = everything(tmp_path)
    with pytest.raises(UserError, match="max_new_tokens"):
        study(tmp_path, pair, decoding={"max_new_tokens": 64})
    assert everything(tmp_path) == before


def test_a_study_made_before_fingerprints_gets_them_at_its_next_resume(tmp_path):
    pair = copy_pair(tmp_path)
    study(tmp_path, pair)
    stored(tmp_path).set_user_attr(FINGERPRINT_ATTR, None)  # as a study stored before this change reads
    study(tmp_path, pair)
    assert stored(tmp_path).user_attrs[FINGERPRINT_ATTR]["pair"]["instruct"]["weights"]


def test_the_hash_cache_rereads_only_a_changed_file_and_survives_damage(tmp_path):
    file = tmp_path / "w.safetensors"
    file.write_bytes(b"a" * 1000)
    cache = HashCache(tmp_path / "c.json")
    first = cache.hash(file)
    cache.save()
    again = HashCache(tmp_path / "c.json")
    assert again.hash(file) == first and not again.changed  # a stat, no read
    file.write_bytes(b"b" * 1000)  # same size, same path
    assert again.hash(file) == file_hash(file) != first
    (tmp_path / "c.json").write_text("{not json")
    with pytest.warns(CacheWarning, match="damaged fingerprint cache"):
        damaged = HashCache(tmp_path / "c.json")
    assert damaged.hash(file) == file_hash(file)
