"""Clinical scales and their thresholds (below both the model, which ends courses at recovery, and the
metrics, which count recovery and reliable change).

Depression: a PHQ-9-like 0-27 scale; anxiety: a GAD-7-like 0-21 scale; thresholds as in the NHS
Talking Therapies definitions.
"""

from __future__ import annotations

CASENESS = 10  # depression scale: at or above is a case
RELIABLE_CHANGE = 6  # depression scale: a reliable change
ANXIETY_CASENESS = 8  # anxiety scale
ANXIETY_RELIABLE_CHANGE = 4
DEPRESSION_MAX = 27.0  # top of the depression scale
ANXIETY_MAX = 21.0  # top of the anxiety scale
