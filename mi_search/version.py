"""The package version, apart from `mi_search/__init__.py` so that lower layers can stamp it without importing upward."""

from __future__ import annotations

__version__ = "0.1.0"
