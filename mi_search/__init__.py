"""mi-search: search the interpolation between an Instruct and a Thinking model."""

import os

# Idle OpenMP threads that spin starve every other process on a small CPU machine (5-8x slower
# steps were measured on 2 cores); this must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
