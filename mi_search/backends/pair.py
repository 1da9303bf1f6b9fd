"""The model pair as a study resolves it, once: both checkpoints found, checked, planned and placed.

A `ResolvedPair` is built by one preflight (`mi_search.service.pair.resolve_pair`) and handed down:
the space check reads its merge plan, the backend loads from its directories and its memory plan,
the tracker tags its sources, a promotion exports from it. Nothing below the service looks a pair up
again from the strings a user typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mi_search.backends.memory import MemoryPlan
    from mi_search.merge.architectures import ArchitectureTable
    from mi_search.merge.pair import PairConfig
    from mi_search.merge.plan import MergePlan
    from mi_search.merge.spec import LambdaSpec


@dataclass(frozen=True)
class Checkpoint:
    """One side of the pair: what the user named, where its files are, and the hub commit they came from."""

    reference: str  # a local directory or a hub id, as given
    directory: Path  # the local directory holding config, tokenizer and safetensors weights
    revision: str | None = None  # the resolved hub commit; None for a local directory


@dataclass(frozen=True)
class ResolvedPair:
    """Both checkpoints with what every layer needs of them, computed once per process."""

    config: PairConfig  # the pair as configured (trust_remote_code, chat template source)
    instruct: Checkpoint
    thinking: Checkpoint
    table: ArchitectureTable  # parameter name → module and layer, for this architecture
    model_config: dict  # the Instruct checkpoint's config.json (both agree on every field that matters)
    plan: MergePlan  # every tensor's size, module and layer, from the safetensors headers
    memory: MemoryPlan | None = None  # where the tensors live on this machine; None when resolved only to export

    @property
    def instruct_dir(self) -> Path:
        return self.instruct.directory

    @property
    def thinking_dir(self) -> Path:
        return self.thinking.directory

    @property
    def template_dir(self) -> Path:
        """The checkpoint whose tokenizer and chat template format every prompt."""
        return self.config.template_dir(self.instruct_dir, self.thinking_dir)

    @property
    def num_layers(self) -> int:
        return self.plan.num_layers

    @property
    def trust_remote_code(self) -> bool:
        return self.config.trust_remote_code

    def export(self, spec: LambdaSpec, out: Path, *, overwrite: bool = False) -> Path:
        """Write the blend `spec` describes as an HF checkpoint, streamed from both checkpoints (no model loaded)."""
        from mi_search.merge.export import export_blend

        return export_blend(
            self.instruct_dir, self.thinking_dir, self.plan, spec, out, template_dir=self.template_dir, overwrite=overwrite
        )
