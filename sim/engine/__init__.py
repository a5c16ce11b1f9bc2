"""Running the model: one run, ensembles of runs in chunks, result folders and their identity."""
