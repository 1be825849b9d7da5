"""League table: rank therapists by client return rate; those below the median feel the pressure.

>>> below_median({1: (10, 9), 2: (10, 5), 3: (10, 7), 4: (2, 0)}, min_cases=5)
{2}
"""

from __future__ import annotations

import statistics


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
