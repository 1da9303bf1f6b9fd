"""Which λ each tensor gets: a λ specification resolved against one model's tensor names."""

from __future__ import annotations

from collections.abc import Mapping

from mi_search.merge.architectures import ArchitectureTable, Module, ParamRole
from mi_search.errors import UserError
from mi_search.merge.spec import LambdaSpec


class MergePlan:
    """The tensors of a model (names in the HF checkpoint's form, sizes) and the λ a specification gives each."""

    def __init__(self, sizes: Mapping[str, int], table: ArchitectureTable, num_layers: int) -> None:
        self.table = table
        self.num_layers = num_layers
        self.tied_lm_head = "lm_head.weight" not in sizes
        self.sizes = dict(sizes)
        self.roles: dict[str, ParamRole] = {name: table.role(name) for name in sizes}

    def lambdas(self, spec: LambdaSpec) -> dict[str, float]:
        """The λ each tensor gets under `spec`; a spec the model cannot express is a UserError."""
        if self.tied_lm_head and Module.LM_HEAD in spec.modules:
            embedding = spec.modules.get(Module.EMBEDDING, spec.lam)
            if spec.modules[Module.LM_HEAD] != embedding:
                raise UserError(
                    "this model ties lm_head to the embeddings; give lm_head the embedding λ or leave it out"
                )
        unknown = set(spec.modules) - self.table.modules - {Module.EMBEDDING, Module.NORM, Module.LM_HEAD}
        if unknown:
            names = ", ".join(sorted(m.value for m in unknown))
            raise UserError(
                f"{self.table.name} has no {names} weights; use modules among {sorted(m.value for m in self.table.modules)}"
            )
        return {name: spec.resolve(role, self.num_layers) for name, role in self.roles.items()}

    def mean_lambda(self, spec: LambdaSpec) -> float:
        """λ averaged over every weight (parameter-count weighted): where a λ vector sits between the models."""
        lambdas = self.lambdas(spec)
        total = sum(self.sizes.values())
        return sum(lambdas[name] * size for name, size in self.sizes.items()) / total
