"""Questions asked of the model: sensitivity, reach, consistency, discovery, calibration, checks, loops."""
