"""What people see: every chart, and the study, calibration, robustness and investor-brief reports."""
