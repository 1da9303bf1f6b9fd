"""What a study stores: the Optuna storage, its journal, trial records and which process runs a trial."""
