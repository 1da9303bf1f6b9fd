"""The calibrated model: questions, their difficulties and the hashed draws that give common random numbers.

Kept apart because it is the simulation's core: every sample's correctness, thinking and length comes from
here, the same uniforms for every λ, whether a benchmark asks for outcomes directly or through the backend.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from mi_search.evaluation.metrics import vote_correct
from mi_search.evaluation.seeds import question_seed
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec
from mi_search.search.statistics.outcomes import QuestionOutcome
from mi_search.evaluation.samples import Question
from mi_search.tasks.base import MATH_PROMPT_SUFFIX

from .budget import NO_THOUGHT_ACCURACY, forced, forced_p
from .curve import PAPER_TABLE, Pchip, TableRow
from .surface import Effective, Surface, qwen3_4b_plan

_STREAM_CORRECT, _STREAM_THINK, _STREAM_LEN_A, _STREAM_LEN_B, _STREAM_WRONG = range(5)
_MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_uniforms(seed: int, question_key: int, k: int, stream: int) -> np.ndarray:
    """Uniforms in (0, 1) for samples 0..k-1 of one question: a pure function of (seed, question, j, stream)."""
    with np.errstate(over="ignore"):
        h = _mix(np.array([seed & _MASK64], dtype=np.uint64))
        h = _mix(h ^ np.uint64(question_key & _MASK64))
        h = _mix(h ^ np.arange(k, dtype=np.uint64))
        h = _mix(h ^ np.uint64(stream))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def question_key(question_id: str) -> int:
    return zlib.crc32(question_id.encode())


@dataclass(frozen=True)
class Draws:
    """One question's k samples: correctness, thinking, length before truncation, the wrong answer offered."""

    correct: np.ndarray
    thinks: np.ndarray
    tokens: np.ndarray
    wrong_answers: np.ndarray
    forced: np.ndarray | None = None  # thoughts closed at the thinking budget (`budget.forced`)


class PaperModel:
    """The calibrated curve, the questions and the response surface; everything but text."""

    def __init__(
        self,
        n_questions: int = 30,
        *,
        table: Sequence[TableRow] = PAPER_TABLE,
        difficulty_sd: float = 6.0,
        length_by_difficulty: float = 0.25,
        length_sd: float = 0.35,
        surface: Surface = Surface(),
        plan: MergePlan | None = None,
    ) -> None:
        lams = [row.lam for row in table]
        self.accuracy_curve = Pchip(lams, [row.accuracy for row in table])
        self.tokens_curve = Pchip(lams, [row.mean_tokens for row in table])
        self.think_curve = Pchip(lams, [row.think_ratio for row in table])
        self.surface, self.length_sd = surface, length_sd
        self.plan = plan or qwen3_4b_plan()
        self.think_coef, self.quality_coef = surface.coefficients(self.plan)
        quantiles = [NormalDist(0.0, difficulty_sd).inv_cdf((i + 0.5) / n_questions) for i in range(n_questions)]
        order = np.random.default_rng(2510_10977).permutation(n_questions)  # fixed, not sorted by difficulty
        self.difficulty = np.asarray(quantiles)[order]
        z = self.difficulty / difficulty_sd
        scale = np.exp(length_by_difficulty * z)
        self.length_scale = scale / scale.mean()
        self.questions = [_question(i) for i in range(n_questions)]
        self._index = {q.prompt: i for i, q in enumerate(self.questions)}
        self._p_cache: dict[Effective, np.ndarray] = {}
        self.p_no_thought = _sigmoid(self.ability(NO_THOUGHT_ACCURACY) - self.difficulty)  # `budget`'s anchor

    # the global curve and the ability that reproduces it
    def ability(self, accuracy: np.ndarray | float) -> np.ndarray:
        """The logit offset a with mean_q sigmoid(a − d_q) = accuracy (vectorised bisection)."""
        target = np.clip(np.asarray(accuracy, float), 1e-9, 1 - 1e-9)
        lo, hi = np.full(target.shape, -60.0), np.full(target.shape, 60.0)
        for _ in range(90):
            mid = (lo + hi) / 2
            mean = _sigmoid(mid[..., None] - self.difficulty).mean(axis=-1)
            lo, hi = np.where(mean < target, mid, lo), np.where(mean < target, hi, mid)
        return (lo + hi) / 2

    def effective(self, lambdas: Mapping[str, float]) -> Effective:
        """λ_T and λ_Q of a per-tensor λ dict (`plan.lambdas(spec)`), clamped to [0, 1]."""
        think = sum(w * lambdas[name] for name, w in self.think_coef.items())
        quality = sum(w * lambdas[name] for name, w in self.quality_coef.items())
        return Effective(min(1.0, max(0.0, think)), min(1.0, max(0.0, quality)))

    def effective_of(self, spec: LambdaSpec) -> Effective:
        return self.effective(self.plan.lambdas(spec))

    def logits(self, think: np.ndarray | float, quality: np.ndarray | float) -> np.ndarray:
        """Per-question logit of a correct sample, shape (..., questions)."""
        think, quality = np.asarray(think, float), np.asarray(quality, float)
        gap = quality - think
        lam_a = np.clip(think + self.surface.quality_pull * gap, 0.0, 1.0)
        offset = self.ability(self.accuracy_curve(lam_a)) - self.surface.mismatch_penalty * gap**2
        return offset[..., None] - self.difficulty

    def p_correct(self, state: Effective) -> np.ndarray:
        """P(correct) per question; cached, since every generate call of one merge asks again."""
        if state not in self._p_cache:
            if len(self._p_cache) > 256:
                self._p_cache.clear()
            self._p_cache[state] = _sigmoid(self.logits(state.think, state.quality))
        return self._p_cache[state]

    def expected(self, state: Effective) -> tuple[float, float, float]:
        """Noise-free (Mean@k, mean tokens, Think #R) of a blend, before any truncation."""
        return (
            float(self.p_correct(state).mean()),
            float(self.tokens_curve(state.think)),
            float(np.clip(self.think_curve(state.think), 0.0, 1.0)),
        )

    # sampling
    def question_for(self, prompt: str) -> int:
        if prompt not in self._index:
            raise ValueError("the simulated pair only answers its own questions; pass PaperModel.questions' prompts")
        return self._index[prompt]

    def draws(self, state: Effective, index: int, k: int, seed: int, thinking_budget: int | None = None) -> Draws:
        """The k samples of question `index` under `state`: common random numbers across every λ and budget.

        `thinking_budget`: thoughts longer than it are closed by force (the assumption in `budget`).
        """
        key = question_key(self.questions[index].id)
        u = [hashed_uniforms(seed, key, k, s) for s in range(5)]
        p = float(self.p_correct(state)[index])
        think_rate = float(np.clip(self.think_curve(state.think), 0.0, 1.0))
        normal = np.sqrt(-2.0 * np.log(u[_STREAM_LEN_A])) * np.cos(2.0 * np.pi * u[_STREAM_LEN_B])
        noise = np.exp(self.length_sd * normal - self.length_sd**2 / 2)
        tokens = np.maximum(1, np.rint(float(self.tokens_curve(state.think)) * self.length_scale[index] * noise))
        answer = int(self.questions[index].answer)
        wrong = (answer + 1 + np.floor(u[_STREAM_WRONG] * 998).astype(int)) % 1000
        thinks = u[_STREAM_THINK] < think_rate
        cut, tokens, share = forced(thinks, tokens.astype(int), thinking_budget)
        p_cut = forced_p(p, float(self.p_no_thought[index]), share)
        correct = np.where(cut, u[_STREAM_CORRECT] < p_cut, u[_STREAM_CORRECT] < p)
        return Draws(correct, thinks, tokens.astype(int), wrong, cut)

    def outcomes(
        self,
        state: Effective,
        *,
        k: int,
        seed: int,
        max_new_tokens: int | None = None,
        study_seed: int = 0,
        thinking_budget: int | None = None,
    ) -> list[QuestionOutcome]:
        """Per-question outcomes without text or grading: the fast path a benchmark can use.

        Seeded per question as `evaluation.evaluate` seeds a backend, so both paths give the same samples.
        """
        result = []
        for index, question in enumerate(self.questions):
            d = self.draws(state, index, k, question_seed(study_seed, seed, question.id), thinking_budget)
            truncated = d.tokens > max_new_tokens if max_new_tokens is not None else np.zeros(k, bool)
            tokens = np.minimum(d.tokens, max_new_tokens) if max_new_tokens is not None else d.tokens
            correct = d.correct & ~truncated
            thinks = d.thinks & ~truncated & ~d.forced  # a forced close is not the model closing its thought
            answers = [  # what the grader would extract: the gold, a wrong number, or nothing when cut off
                None if cut else (question.answer if right else str(int(wrong)))
                for cut, right, wrong in zip(truncated, d.correct, d.wrong_answers)
            ]
            result.append(
                QuestionOutcome(
                    question.id,
                    int(correct.sum()),
                    k,
                    float(tokens.mean()),
                    float(thinks.mean()),
                    vote_correct(answers, [bool(c) for c in correct]),
                )
            )
        return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _question(index: int) -> Question:
    answer = (137 * index + 71) % 1000  # AIME answers are integers 0-999
    number = index + 1
    prompt = f"[simulated AIME'25 problem {number}] Find the integer answer of problem {number}." + MATH_PROMPT_SUFFIX
    return Question(id=f"sim-aime25-{index + 1:02d}", prompt=prompt, answer=str(answer))
