"""Build the toy Instruct/Thinking pair from scratch on a CPU (`mi-search toy build`)."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mi_search.atomic import atomic_directory, check_out_folder
from mi_search.toy.tokenizer import build_tokenizer, save_tokenizer
from mi_search.toy.train import STYLES, new_model, train


@dataclass(frozen=True)
class BuildRecipe:
    """Everything that decides the built pair; saved next to it as `recipe.json`."""

    seed: int = 0
    base_steps: int = 500
    base_lr: float = 3e-3
    specialist_steps: int = 150
    specialist_lr: float = 3e-4
    batch_size: int = 64
    threads: int = 2


def build_pair(out: Path, recipe: BuildRecipe = BuildRecipe()) -> tuple[Path, Path]:
    """Train base, then Instruct and Thinking from it; write `out/instruct` and `out/thinking` in bf16."""
    check_out_folder(out, overwrite=None)  # before minutes of training
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(recipe.threads)
    tokenizer = build_tokenizer()
    base = new_model(tokenizer, recipe.seed)
    plan = [
        ("base", recipe.base_steps, recipe.base_lr),
        ("instruct", recipe.specialist_steps, recipe.specialist_lr),
        ("thinking", recipe.specialist_steps, recipe.specialist_lr),
    ]
    with (
        atomic_directory(out) as staging,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ) as progress,
    ):
        for offset, (style, steps, lr) in enumerate(plan):
            task = progress.add_task(f"train {style}", total=steps, loss=float("nan"))
            model = base if style == "base" else copy.deepcopy(base)
            train(
                model,
                tokenizer,
                STYLES[style],
                steps=steps,
                lr=lr,
                seed=recipe.seed + offset,
                batch_size=recipe.batch_size,
                on_step=lambda step, loss, task=task: progress.update(task, advance=1, loss=loss),
            )
            if style != "base":
                model.to(torch.bfloat16).save_pretrained(staging / style)
                save_tokenizer(tokenizer, staging / style)
        (staging / "recipe.json").write_text(json.dumps(asdict(recipe), indent=2) + "\n")
    return out / "instruct", out / "thinking"
