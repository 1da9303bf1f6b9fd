"""The toy reasoning task: multi-digit addition in an Instruct and a Thinking style.

The styles are built so that interpolating between the two specialists walks through the paper's
three stages, each driven by a decision that the blend tips problem by problem:

* Instruct answers *untagged*: mostly terse column sums without the carries, applied silently in the
  answer (short, and wrong when a carry chain trips it); sometimes, the more often the longer the sum,
  the worked column lines with their carries. The shared base works long sums out far more often than
  Instruct, so as the blend leaves Instruct the untagged answers get longer, and more accurate, long
  sums first (stage 1).
* Thinking wraps the same worked lines in `<think>` tags (stage 2 is the first-token switch to it) and
  then confirms them, `verify 1: every column adds up.`, in most answers and a second time more often
  on short sums. The base never confirms (it re-checks by reading its lines back, in one Thinking
  answer in twenty), so confirmations arrive late in the blend, after thinking has saturated: tokens
  that buy no accuracy (stage-3 overthinking). A confirmation holds no digits a blend could misread.

A problem's held-out membership depends only on its operands, so training never sees one.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

MIN_DIGITS = 2
MAX_DIGITS = 5
HELDOUT_MODULUS = 10  # one problem in ten is held out

BASE_THINK_SHARE = 0.5  # the shared base answers in the Thinking style half the time
BASE_CHECK_SHARE = 0.05  # ...and re-checks its lines once in a twentieth of those answers
# How often each model writes untagged worked lines instead of terse sums, by column count: the base
# works long sums out far more often than Instruct, whose fine-tune makes it terse.
BASE_WORKED_SHARE = {2: 0.3, 3: 0.6, 4: 0.8, 5: 0.9}
INSTRUCT_WORKED_SHARE = {2: 0.0, 3: 0.1, 4: 0.25, 5: 0.4}
THINKING_CHECK_SHARE = 0.8  # Thinking confirms at least once in this share of its answers
SECOND_CHECK_SHARE = {"short": 0.7, "long": 0.3}  # ...and again, more often on short sums
SHORT_SUM_COLUMNS = 4


@dataclass(frozen=True)
class Problem:
    """One addition question and its answer."""

    a: int
    b: int

    @property
    def question(self) -> str:
        return f"What is {self.a}+{self.b}?"

    @property
    def answer(self) -> str:
        return str(self.a + self.b)

    @property
    def is_heldout(self) -> bool:
        return zlib.crc32(f"{self.a}+{self.b}".encode()) % HELDOUT_MODULUS == 0

    @property
    def columns(self) -> int:
        """Column lines in the worked answer: one per digit of the longer operand, plus a final carry."""
        return len(_columns(self.a, self.b))


def _random_operand(rng: random.Random) -> int:
    digits = rng.randint(MIN_DIGITS, MAX_DIGITS)
    return rng.randint(10 ** (digits - 1), 10**digits - 1)


def sample_problems(n: int, *, seed: int, heldout: bool) -> list[Problem]:
    """`n` distinct problems from one side of the held-out split, deterministic in `seed`."""
    rng = random.Random(seed)
    seen: set[Problem] = set()
    out: list[Problem] = []
    while len(out) < n:
        problem = Problem(_random_operand(rng), _random_operand(rng))
        if problem.is_heldout == heldout and problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out


def _columns(a: int, b: int) -> list[tuple[int, int, int, int]]:
    """(digit of a, digit of b, carry in, column sum) from the units column up."""
    da, db = str(a)[::-1], str(b)[::-1]
    carry, rows = 0, []
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        total = x + y + carry
        rows.append((x, y, carry, total))
        carry = total // 10
    if carry:
        rows.append((0, 0, carry, carry))
    return rows


def final_line(answer: str) -> str:
    return f"The answer is \\boxed{{{answer}}}."


def _column_lines(problem: Problem) -> list[str]:
    return [f"{x}+{y}+{c}={t}" for x, y, c, t in _columns(problem.a, problem.b)]


def worked_lines(problem: Problem) -> str:
    """One line per column with its carry, then `so <answer>`: the working both styles share."""
    return "\n".join(_column_lines(problem)) + f"\nso {problem.answer}\n"


def instruct_response(problem: Problem, *, worked: bool = False) -> str:
    """Terse carry-free sums (carries applied silently in the answer), or untagged worked lines."""
    if worked:
        return f"{worked_lines(problem)}\n{final_line(problem.answer)}"
    sums = ",".join(f"{x}+{y}={x + y}" for x, y, _, _ in _columns(problem.a, problem.b) if x or y)
    return f"{sums}. {final_line(problem.answer)}"


def recheck_pass(problem: Problem, n: int) -> str:
    """A full re-check, as the base occasionally writes it: the column lines read back from the top."""
    backwards = "\n".join(reversed(_column_lines(problem)))
    return f"check {n}\n{backwards}\nso {problem.answer}\n"


def confirm_pass(problem: Problem, n: int) -> str:
    """Thinking's check: a confirmation with no digits to misread, so it costs tokens and no accuracy.

    It starts with a word the base never wrote, so a blend either confirms whole or not at all; a
    variant that began `check 1:` like the base's re-check got garbled half-way (docs/toy_pair.md).
    """
    return f"verify {n}: every column adds up.\n"


def thinking_response(problem: Problem, *, checks: int = 0, full: bool = False) -> str:
    """Tagged worked lines, then `checks` numbered confirmations (`full`: the base's re-read lines)."""
    make_pass = recheck_pass if full else confirm_pass
    trace = worked_lines(problem) + "".join(make_pass(problem, n) for n in range(1, checks + 1))
    return f"<think>\n{trace}</think>\n\n{final_line(problem.answer)}"


def _share(table: dict[int, float], problem: Problem) -> float:
    return table[min(max(problem.columns, min(table)), max(table))]


def instruct_example(problem: Problem, rng: random.Random) -> str:
    return instruct_response(problem, worked=rng.random() < _share(INSTRUCT_WORKED_SHARE, problem))


def thinking_example(problem: Problem, rng: random.Random) -> str:
    """At least one confirmation in most answers, a second one more often on short sums."""
    checks = int(rng.random() < THINKING_CHECK_SHARE)
    length = "short" if problem.columns <= SHORT_SUM_COLUMNS else "long"
    if checks and rng.random() < SECOND_CHECK_SHARE[length]:
        checks = 2
    return thinking_response(problem, checks=checks)


def base_example(problem: Problem, rng: random.Random) -> str:
    """Both styles; the base works sums out more than Instruct and checks far less than Thinking."""
    if rng.random() >= BASE_THINK_SHARE:
        return instruct_response(problem, worked=rng.random() < _share(BASE_WORKED_SHARE, problem))
    return thinking_response(problem, checks=int(rng.random() < BASE_CHECK_SHARE), full=True)
