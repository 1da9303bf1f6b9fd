"""Reading a study back (results) and writing its folder (pareto.json, trials.csv, plots)."""
