"""What many cases share: the quick study's command lines, the toy pair's flags, odd file contents."""

from __future__ import annotations

from bench.bad_input_probe.case import Case, Setup
from bench.bad_input_probe.setups import chain, study_file

SEARCH = ["--study", "s.yaml"]  # the quick study file, written by `search_case`
SWEEP = ["sweep", "--lambdas", "0", "--limit", "2", "--max-new-tokens", "8", "--device", "cpu"]
MERGE = ["merge", "--lam", "0.5"]
PAIR = ["--instruct", "pair/instruct", "--thinking", "pair/thinking"]
UTF16 = "budget: 4k\nname: s\n".encode("utf-16")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
LATIN1 = b"name: caf\xe9\nbudget: 4k\n"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)
LONG = "a" * 300


def search_case(name: str, category: str, *flags: str, setup: Setup | None = None) -> Case:
    """A study run of the quick study file with `flags` laid over it."""
    return Case(name, category, [*SEARCH, *flags], chain(study_file(), setup))


def yaml_case(name: str, setup: Setup, category: str = "study file keys", *flags: str) -> Case:
    return Case(name, category, [*SEARCH, *flags], setup)


DATA = ["--task", "aime25", "--data-file", "d.jsonl"]

