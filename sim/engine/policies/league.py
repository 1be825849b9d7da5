"""League table: rank therapists by client return rate; those below the median feel the pressure.

>>> below_median({1: (10, 9), 2: (10, 5), 3: (10, 7), 4: (2, 0)}, min_cases=5)
{2}
>>> from sim.scenario import Ranking
>>> gaming = RankingResponse(Ranking(enabled=True, gaming_extra_sessions=1))
>>> gaming.keeps_longer(True, True, 0), gaming.keeps_longer(True, True, 1), gaming.keeps_longer(True, False, 0)
(True, False, False)
"""

from __future__ import annotations

import random
import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.scenario import Ranking


def below_median(records: dict[int, tuple[float, float]], min_cases: float) -> set[int]:
    """Ids whose return rate (returns / first sessions) is below the median of ranked therapists.

    ``records`` maps therapist id to (first sessions, returns); therapists with fewer than
    ``min_cases`` first sessions are not ranked.
    """
    rates = {tid: r / f for tid, (f, r) in records.items() if f >= min_cases}
    if len(rates) < 2:
        return set()
    median = statistics.median(rates.values())
    return {tid for tid, rate in rates.items() if rate < median}


class RankingResponse:
    """How a therapist ranked below the median responds: effort (more session quality), learning from peers
    (effectiveness gained at each review), strain, gaming (improved clients kept longer) and selection (declining
    complex referrals). All zero when the ranking is off."""

    def __init__(self, cfg: Ranking):
        on = cfg.enabled
        self.effort = cfg.motivation_quality if on else 0.0
        self.learning = cfg.peer_learning_per_year * cfg.review_weeks / 52.0 if on else 0.0  # per review
        self.stress = cfg.stress if on else 0.0
        self.gaming_extra = cfg.gaming_extra_sessions if on else 0
        self.selection_share = cfg.selection_share

    def keeps_longer(self, improved: bool, pressured: bool, kept_extra: int) -> bool:
        """Gaming: an improved client of a pressured therapist is kept for another session."""
        return improved and pressured and kept_extra < self.gaming_extra

    def declines_complex(self, pressured: bool, rng: random.Random | None) -> bool:
        """Selection: a pressured therapist declines complex referrals (drawn at each review)."""
        return pressured and rng is not None and rng.random() < self.selection_share
