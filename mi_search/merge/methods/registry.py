"""The merge methods a blend may use, by name; `linear` is the paper's and the default."""

from __future__ import annotations

from mi_search.merge.methods.base import MergeMethod
from mi_search.merge.methods.linear import Linear

# Another method (task arithmetic, TIES) is one MergeMethod subclass and one entry here.
METHODS: dict[str, MergeMethod] = {method.name: method for method in (Linear(),)}
DEFAULT_METHOD = "linear"


def get_method(name: str = DEFAULT_METHOD) -> MergeMethod:
    """The method registered as `name`; an unknown name is an error listing the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown merge method {name!r}; use one of {', '.join(sorted(METHODS))}") from None
