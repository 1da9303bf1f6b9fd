"""A scripted stand-in for a model, for halving tests: at each λ it answers chosen questions right at a chosen length.

No model can be made to answer exactly so; everything the tests run around it is real (Optuna storage,
TrialRunner, grading, trials.py).
"""

from __future__ import annotations

from pathlib import Path

from mi_search.evaluation.decoding import Completion
from mi_search.evaluation.samples import Question
from mi_search.merge.architectures import table_for
from mi_search.merge.plan import MergePlan

N = 80
QUESTIONS = [Question(id=f"q{i:02d}", prompt=f"question {i}", answer=str(i)) for i in range(N)]


class ScriptedBackend:
    """λ → (which questions are answered right, tokens per answer); stands in for a model."""

    def __init__(self, script: dict[float, tuple[set[int], int]]) -> None:
        self.script, self.lam, self.generated = script, None, 0
        sizes = {"model.layers.0.self_attn.q_proj.weight": 4, "model.layers.0.mlp.up_proj.weight": 4}
        self.plan = MergePlan(sizes, table_for("Qwen3ForCausalLM"), 1)
        self.instruct_dir = self.thinking_dir = Path("scripted")

    def merge(self, spec) -> None:
        self.lam = spec.lam

    def generate(self, prompts, n, params, *, seeds=None, first=0):
        right, tokens = self.script[self.lam]
        out = []
        for prompt in prompts:
            i = int(prompt.split()[1])
            answer = i if i in right else i + 1
            out.append([Completion(f"\\boxed{{{answer}}}", tokens, "stop")] * n)
        return out


class Silent:
    def trial_started(self, *args) -> None: ...

    def rung_scored(self, *args) -> None: ...

    def trial_finished(self, *args) -> None: ...

    def trial_failed(self, *args) -> None: ...
