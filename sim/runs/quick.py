"""Quick mode for notebooks and CI: ``SIM_QUICK=1`` shrinks horizons, therapists and replications.

>>> import os; os.environ.pop("SIM_QUICK", None) and None
>>> is_quick()
False
"""

from __future__ import annotations

import os

from sim.scenario import Scenario, apply_overrides


def is_quick() -> bool:
    return os.environ.get("SIM_QUICK", "").strip() not in ("", "0", "false", "no")


def reps(normal: int, quick: int = 2) -> int:
    """Replications to run: ``normal``, or ``quick`` in quick mode."""
    return quick if is_quick() else normal


def shrink(sc: Scenario) -> Scenario:
    """In quick mode: 30 therapists (demand in proportion), 8 warm-up, 26 measured and 13 follow-up weeks (the
    explorer's follow-up)."""
    if not is_quick():
        return sc
    scale = 30 / max(sc.therapists.count, 1)
    return apply_overrides(sc, ["therapists.count=30", f"demand.arrivals_per_week={sc.demand.arrivals_per_week * scale}",
                                "horizon.warmup_weeks=8", "horizon.measured_weeks=26",
                                "horizon.follow_up_weeks=13"])


BANNER = ("**Quick mode (`SIM_QUICK=1`): indicative only.** A 30-therapist platform, a short horizon and two "
          "replications, so intervals are wide and verdicts often unclear; unset `SIM_QUICK` for the real numbers.")


def banner() -> None:
    """In quick mode, show the quick-mode banner in a notebook (nothing otherwise)."""
    if is_quick():
        from IPython.display import Markdown, display

        display(Markdown(f"> {BANNER}"))
