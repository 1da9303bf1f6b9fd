"""Tests mirror the package; `import mi_search` here sets OMP_WAIT_POLICY before any test loads torch."""

import mi_search  # noqa: F401
