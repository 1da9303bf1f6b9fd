"""The toy reasoning task: multi-digit addition in an Instruct and a Thinking style.

Instruct writes brief *untagged* column sums without the carries and applies them silently in
its answer line: short, and wrong whenever a carry chain trips it. Thinking writes tagged
column-by-column working with explicit carries and, far more often than the shared base learned
to, a check pass that reads its own column lines back from the top. A problem's held-out
membership depends only on its operands, so training never sees one.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

MIN_DIGITS = 2
MAX_DIGITS = 5
HELDOUT_MODULUS = 10  # one problem in ten is held out

BASE_CHECK_SHARE = 0.2  # how often the shared base saw the check pass
THINKING_CHECK_SHARE = 0.9  # the Thinking specialist checks far more often


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


def instruct_response(problem: Problem) -> str:
    """Untagged column sums without carries, then the answer (which must apply the carries silently)."""
    sums = ", ".join(f"{x}+{y}={x + y}" for x, y, _, _ in _columns(problem.a, problem.b) if x or y)
    return f"{sums}. {final_line(problem.answer)}"


def thinking_response(problem: Problem, *, check: bool) -> str:
    """Tagged working with explicit carries; the check reads the column lines back from the top."""
    lines = [f"{x}+{y}+{c}={t}" for x, y, c, t in _columns(problem.a, problem.b)]
    trace = "\n".join(lines) + f"\nso {problem.answer}\n"
    if check:
        trace += "check\n" + "\n".join(reversed(lines)) + f"\nso {problem.answer}\n"
    return f"<think>\n{trace}</think>\n\n{final_line(problem.answer)}"


def instruct_example(problem: Problem, rng: random.Random) -> str:
    return instruct_response(problem)


def thinking_example(problem: Problem, rng: random.Random) -> str:
    return thinking_response(problem, check=rng.random() < THINKING_CHECK_SHARE)


def base_example(problem: Problem, rng: random.Random) -> str:
    """The base sees both styles half the time each, and checks less often than Thinking will."""
    if rng.random() < 0.5:
        return instruct_response(problem)
    return thinking_response(problem, check=rng.random() < BASE_CHECK_SHARE)
