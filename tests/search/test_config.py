"""Study definitions: validation, pieces by path, precedence, and what a resumed study may not change."""

from __future__ import annotations

from pathlib import Path

import pytest

from mi_search.errors import UserError
from mi_search.search.settings.config import StudyConfig, build_config, read_study_file, resume_config
from mi_search.search.settings.space import SpaceKind

STUDIES = sorted((Path(__file__).parents[2] / "studies").glob("*.yaml"))


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_every_shipped_study_validates(path):
    config = build_config(read_study_file(path), source=str(path))
    assert config.budget and config.budget > 0


def test_defaults_name_the_study_after_pair_space_and_budget():
    config = build_config({"budget": "4k"}, source="flags")
    assert config.study_name == "toy-global-4000"
    assert config.pair.instruct is None and config.sampler.value == "gp"


def test_trials_default_to_auto_between_min_and_max_and_a_number_still_counts():
    config = build_config({"budget": "4k"}, source="flags")
    assert (config.trials, config.min_trials, config.max_trials, config.stop_margin) == ("auto", 6, 16, 0.01)
    wider = build_config({"budget": "4k", "space": {"kind": "blocks", "blocks": 4}}, source="flags")
    assert wider.max_trials > 16  # the cap grows with the dimension, as the fixed default did
    assert wider.min_trials == wider.max_trials // 2  # and so does the floor: a few trials say little of many λ
    capped = build_config({"budget": "4k", "space": {"kind": "blocks", "blocks": 4}, "max_trials": 8}, source="flags")
    assert (capped.min_trials, capped.max_trials) == (8, 8)  # a max_trials given lowers the default floor
    assert build_config({"budget": "4k", "trials": "8"}, source="flags").trials == 8  # a flag's text
    assert build_config({"budget": "4k", "trials": 0}, source="flags").trials == 0


def test_pieces_load_relative_to_the_study_file(tmp_path):
    (tmp_path / "pieces").mkdir()
    (tmp_path / "pieces" / "space.yaml").write_text("kind: blocks\nblocks: 2\n")
    study = tmp_path / "studies" / "mine.yaml"
    study.parent.mkdir()
    study.write_text("space: ../pieces/space.yaml\nbudget: 300 tokens\n")
    config = build_config(read_study_file(study), source=str(study))
    assert config.name == "mine" and config.space.kind is SpaceKind.BLOCKS and config.space.blocks == 2
    assert config.budget == 300


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"budget": "4k", "trails": 3}, "unknown key `trails`; remove it or fix its spelling; known keys there: name,"),
        ({"budget": "4k", "space": {"kind": "layer"}}, "`space.kind`: input should be"),
        ({"budget": "4k", "space": {"kind": "profile", "knots": 1}}, "`space.knots`: a profile needs at least 2 knots (the first layer and the last), got 1; use 2 up to"),
        ({"budget": "4k", "halving": {"level": 1.0}}, "level must be a confidence in (0, 1)"),
        ({"budget": "4k", "halving": {"level": 0}}, "level must be a confidence in (0, 1)"),
        ({"budget": "4k", "halving": {"rungs": [0.25, 0.25, 1.0]}}, "rungs must increase"),
        ({"budget": "4k", "choose": "cheapest"}, "`choose.rule`: input should be 'best', 'cheapest-within' or 'cheapest-tied'"),
        ({"budget": "4k", "choose": {"rule": "cheapest-within", "margin": 1.5}}, "`choose.margin`: margin must be an accuracy difference in (0, 1)"),
        ({"budget": "4k", "sampler": "cmaes"}, "`sampler`: input should be 'gp', 'tpe', 'botorch', 'nsga2', 'random' or 'trust'"),
        ({"budget": "4k", "trials": "many"}, "`trials`: input should be a valid integer"),
        ({"budget": "4k", "space": {"kinds": "global"}}, "unknown key `space.kinds`; remove it or fix its spelling; known keys there: kind,"),
        ({"budget": "4k", "backend": {"kind": "vllm", "device": "cuda"}}, "`backend.device` does not apply to backend vllm; remove it; known keys there: dtype, kind, sources"),
        ({"budget": "4k", "halving": {"rungs": [0.5, 0.25, 1.0]}}, "rungs must increase"),
        ({"budget": "4k", "pair": {"instruct": "a"}}, "give both instruct and thinking"),
        ({"budget": "-5"}, "cannot read budget"),
        ({"budget": "4k", "trials": -1}, "`trials`: input should be a valid integer from 0, or auto"),
        ({"budget": "4k", "min_trials": 8, "max_trials": 5}, "`max_trials`: max_trials 5 is below min_trials 8; give a max_trials of at least 8"),
        ({"budget": "4k", "min_trials": 20}, "`max_trials`: max_trials 16 is below min_trials 20"),
        ({"budget": "4k", "min_trials": 0}, "`min_trials`: input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_fail_in_one_line_naming_the_key(settings, expected):
    with pytest.raises(UserError) as error:
        build_config(settings, source="study.yaml")
    message = str(error.value)
    assert expected in message and "\n" not in message and message.startswith("study.yaml")


def test_budget_must_be_positive():
    with pytest.raises(UserError, match="positive"):
        build_config({"budget": "0tokens"}, source="flags")


def test_a_study_file_that_is_not_a_mapping_is_refused(tmp_path):
    study = tmp_path / "list.yaml"
    study.write_text("- budget: 4k\n")
    with pytest.raises(UserError, match="not a mapping"):
        read_study_file(study)


def test_resume_keeps_the_stored_study_and_accepts_run_settings():
    stored = build_config({"budget": "4k", "space": {"kind": "modules"}}, source="flags")
    resumed = resume_config(stored, {"name": "toy-modules-4000", "trials": 3, "sampler": "tpe"}, source="flags")
    assert resumed.space.kind is SpaceKind.MODULES and resumed.trials == 3 and resumed.sampler.value == "tpe"


@pytest.mark.parametrize(
    ("change", "key"),
    [({"budget": "2k"}, "budget"), ({"space": {"kind": "blocks"}}, "space.kind"), ({"k": 4}, "k")],
)
def test_resume_refuses_changes_that_redefine_the_study(change, key):
    stored = build_config({"budget": "4k"}, source="flags")
    with pytest.raises(UserError, match=f"created with {key}="):
        resume_config(stored, change, source="flags")


def test_the_knots_flag_lands_in_the_space_and_in_the_studys_identity():
    from mi_search.search.settings.config import flatten
    from mi_search.cli.options import Overrides
    from mi_search.cli.study import STUDY_OPTIONS
    from mi_search.search.settings.request import StudyRequest

    def request_of(**flags) -> StudyRequest:
        given = Overrides.of((STUDY_OPTIONS,), flags)
        return StudyRequest(overrides=given.settings, names=given.names)

    request = request_of(budget="4k", space="profile", knots=3)
    config = build_config(request.settings(), source=request.source, names=request.names)
    assert config.space.knots == 3 and request.names["space.knots"] == "--knots"
    assert flatten(config.identity())["space.knots"] == 3
    with pytest.raises(UserError, match="created with space.knots=3, this run asks for 5; drop that setting"):
        resume_config(config, request_of(knots=5).overrides, source="the command line")
    with pytest.raises(UserError, match="^the command line: --knots: a profile needs at least 2 knots"):
        bad = request_of(budget="4k", space="profile", knots=0)
        build_config(bad.settings(), source=bad.source, names=bad.names)


def test_stored_configuration_round_trips_through_json():
    config = build_config({"budget": "4k", "space": {"kind": "blocks", "blocks": 2}}, source="flags")
    assert StudyConfig.model_validate_json(config.model_dump_json()) == config
