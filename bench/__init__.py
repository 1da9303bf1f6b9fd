"""Benchmarks of mi-search, run from the repo root; a package so that `bench.paper_sim` imports by name."""
