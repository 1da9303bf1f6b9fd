"""The λ-search service: budgets, search spaces, Optuna studies and their Pareto fronts."""
