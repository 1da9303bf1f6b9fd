"""The merge core: architecture tables, λ specifications and plans, the in-place interpolator, checkpoints, export."""
