"""Study settings: the typed configuration, how a request layers onto it, budgets and search spaces."""
