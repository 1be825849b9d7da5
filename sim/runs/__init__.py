"""Running the model: replications, warm-up, sweeps, robustness designs, calibration, the run cache,
output folders written safely, size guards and quick mode."""
