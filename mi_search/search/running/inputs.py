"""What a study reads of its task before any model is loaded: both question sets with their golds, and the decoding."""

from __future__ import annotations

from dataclasses import dataclass

from mi_search.evaluation.decoding import DecodingParams
from mi_search.evaluation.evaluate import gradable
from mi_search.evaluation.grading import Gold
from mi_search.search.settings.config import StudyConfig
from mi_search.evaluation.samples import Question
from mi_search.tasks.registry import load_task
from mi_search.tasks.split import split_questions


@dataclass(frozen=True)
class QuestionSet:
    questions: list[Question]
    golds: list[Gold]


@dataclass(frozen=True)
class StudyInputs:
    search: QuestionSet
    holdout: QuestionSet
    decoding: DecodingParams  # the task's default decoding with the study's overrides


def prepare_inputs(config: StudyConfig) -> StudyInputs:
    """Load and split the task: a missing column or an ungradable file is refused before the pair is looked at."""
    setup = load_task(config.task)
    search, holdout = split_questions(setup.questions, config.task)
    return StudyInputs(
        search=QuestionSet(*gradable(search, setup.grader)),
        holdout=QuestionSet(*gradable(holdout, setup.grader)),
        decoding=config.decoding.apply(setup.decoding),
    )
