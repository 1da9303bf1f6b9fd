"""`python -m bench.gpu_check`: one line per GPU figure; its CPU dry run is what runs here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "device",
    "merge_floor_ratio",
    "hf_switch_s",
    "disk_speedup",
    "moe_host_blend_s",
    "moe_device_blend_s",
    "vllm_switch_speedup",
    "study_trial_s",
]


def gpu_check(*args: str, timeout: float) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench.gpu_check", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _name(line: str) -> str:
    return line.split(" ", 1)[0].split("=", 1)[0].removesuffix(":")


@pytest.mark.slow  # four steps, each a child process that loads torch
def test_the_dry_run_prints_one_line_per_figure_and_every_step_runs():
    done = gpu_check("--dry-run", "--limit-s", "480", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [_name(line) for line in lines] == FIGURES, done.stdout
    assert lines[0] == "device=cpu (dry run)"
    measured = [line for line in lines[1:] if "=" in line.split(" ", 1)[0]]
    assert len(measured) == len(FIGURES) - 2  # all but the device and vLLM's skipped switch
    assert all(float(line.split(" ", 1)[0].split("=")[1]) > 0 for line in measured), done.stdout
    assert "skipped (dry run" in lines[FIGURES.index("vllm_switch_speedup")]


def test_a_step_past_its_share_of_the_limit_fails_alone_and_the_check_exits_1():
    done = gpu_check("--dry-run", "--limit-s", "2", timeout=120)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "device=cpu (dry run)"
    ended = {line.split(":")[0]: line for line in lines[1:]}
    steps = list(ended)  # one line for each step, in order (vLLM's skip may or may not beat its second)
    assert len(steps) == 4 and steps[:2] == ["merge", "moe"] and steps[3] == "study", done.stdout
    for step in ("merge", "moe", "study"):  # each loads torch: more than its one second
        assert ended[step].startswith(f"{step}: failed (past its"), done.stdout
