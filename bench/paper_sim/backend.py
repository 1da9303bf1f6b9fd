"""The simulated pair as mi-search's `Blender` and `Backend`: how the real study machinery drives the model.

Kept apart because it is the only part that speaks mi-search's interfaces: merges set the two effective λ,
and generation turns the model's draws into completions the real math grader scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mi_search.evaluation.decoding import Completion, DecodingParams
from mi_search.merge.plan import MergePlan
from mi_search.merge.spec import LambdaSpec
from mi_search.evaluation.samples import Question

from .curve import PAPER_TABLE, TableRow
from .model import PaperModel
from .surface import Effective

class SimulatedPair:
    """A `Blender`: the real Qwen3-4B merge plan, with merging reduced to the response surface's two λ."""

    def __init__(self, model: PaperModel | None = None) -> None:
        self.model = model or PaperModel()
        self.instruct_dir = Path("simulated/Qwen3-4B-Instruct-2507")
        self.thinking_dir = Path("simulated/Qwen3-4B-Thinking-2507")
        self.state = Effective(0.0, 0.0)
        self.merges = 0

    @property
    def plan(self) -> MergePlan:
        return self.model.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.state = self.model.effective(self.plan.lambdas(spec))
        self.merges += 1


class SimulatedBackend:
    """A `Backend` answering the simulated questions as the pair's current blend would, graded by the real grader."""

    def __init__(self, pair: SimulatedPair) -> None:
        self.pair = pair
        self.instruct_dir, self.thinking_dir = pair.instruct_dir, pair.thinking_dir
        # What the simulation stands for, as a pair's fingerprint would: studies on it share the evaluation store
        self.fingerprint = {"simulated": "paper_sim Qwen3-4B AIME'25", "questions": len(pair.model.questions)}

    @property
    def plan(self) -> MergePlan:
        return self.pair.plan

    def merge(self, spec: LambdaSpec) -> None:
        self.pair.merge(spec)

    def generate(
        self, prompts: list[str], k: int, params: DecodingParams, *, seeds: Sequence[int] | None = None, first: int = 0
    ) -> list[list[Completion]]:
        """k completions per prompt (samples first..first+k-1); prompt i's draw from `seeds[i]`, else the decoding seed."""
        model, state = self.pair.model, self.pair.state
        out = []
        for i, prompt in enumerate(prompts):
            index = model.question_for(prompt)
            seed = seeds[i] if seeds is not None else params.seed
            d = model.draws(state, index, first + k, seed, params.thinking_budget)  # sample j is j's, whatever k
            answer = model.questions[index].answer
            row = []
            for j in range(first, first + k):
                given = answer if d.correct[j] else str(int(d.wrong_answers[j]))
                tokens, forced = int(d.tokens[j]), bool(d.forced[j])
                row.append(_completion(bool(d.thinks[j]), given, tokens, params.max_new_tokens, forced))
            out.append(row)
        return out


def _completion(thinks: bool, answer: str, tokens: int, limit: int, forced: bool = False) -> Completion:
    if tokens > limit:  # cut off: no closing tag, no answer
        text = "<think>\nsimulated reasoning, cut off" if thinks else "simulated solution, cut off"
        return Completion(text, limit, "length", forced)
    head = "<think>\nsimulated reasoning\n</think>\n\n" if thinks else "simulated solution. "
    return Completion(f"{head}The answer is \\boxed{{{answer}}}.", tokens, "stop", forced)


def simulated_pair(
    n_questions: int = 30, table: Sequence[TableRow] = PAPER_TABLE
) -> tuple[SimulatedPair, SimulatedBackend, list[Question]]:
    """The pair, its backend and its questions, ready for a Workbench; `table` is the global curve it is calibrated to."""
    pair = SimulatedPair(PaperModel(n_questions, table=table))
    return pair, SimulatedBackend(pair), list(pair.model.questions)
