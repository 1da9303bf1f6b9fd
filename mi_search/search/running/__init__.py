"""Running a trial: the objective with successive halving, and held-out re-scoring of front points."""
