"""Samplers of our own, where Optuna has none for the job (each module says why)."""
