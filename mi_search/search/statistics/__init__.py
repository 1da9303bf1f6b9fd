"""Paired statistics over per-question outcomes and the Pareto front."""
