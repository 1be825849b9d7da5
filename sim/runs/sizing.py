"""How big a run is: a cheap upper estimate of the appointments a scenario simulates.

Used to refuse, before anything runs, settings that could not finish in reasonable time
(``--force`` overrides). The bound is documented in the README.

>>> from sim.scenario import Scenario
>>> expected_appointments(Scenario()) < 1_000_000
True
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.base.errors import InputError
from sim.scenario import Scenario

#: Above this many appointments in one command (all scenarios and replications), ask for --force.
#: At roughly 60,000 appointments a second per core this is about a quarter of an hour on two cores.
MAX_APPOINTMENTS = 50_000_000
#: A robustness design is many runs by intent: its bound is about six hours on two cores (the shipped two-wave
#: design estimates about 0.8 billion and takes about an hour); a cluster design passes it with --force.
MAX_DESIGN_APPOINTMENTS = 5_000_000_000
#: Upper estimate of appointments booked per arriving client (courses average 5-8 sessions).
APPOINTMENTS_PER_CLIENT = 12
WORKING_DAYS_PER_WEEK = 5


def expected_appointments(sc: Scenario) -> float:
    """Appointments in one replication: the larger of demand-driven and capacity-driven bookings."""
    weeks = sc.horizon.warmup_weeks + sc.horizon.measured_weeks
    growth = (1 + sc.demand.growth_per_year) ** (weeks / 52)
    demand = sc.demand.arrivals_per_week * max(growth, 1.0) * APPOINTMENTS_PER_CLIENT
    capacity = sc.therapists.count * sc.capacity.quota_per_day * WORKING_DAYS_PER_WEEK
    return weeks * max(demand, capacity)


def check_size(runs: Iterable[tuple[Scenario, int]], force: bool, what: str = "this",
               bound: int = MAX_APPOINTMENTS) -> float:
    """Refuse (unless ``force``) work whose expected appointments exceed MAX_APPOINTMENTS; return the estimate.

    ``runs``: each scenario the command will simulate with its number of replications. Every command that runs the
    model calls this before the first run, so one estimate and one bound govern them all."""
    runs = list(runs)
    total = sum(expected_appointments(sc) * reps for sc, reps in runs)
    largest = max((expected_appointments(sc) for sc, _ in runs), default=0.0)
    if force:
        return total
    if largest > MAX_APPOINTMENTS:
        raise InputError(f"{what} would simulate about {largest:,.0f} appointments in a single run (therapists.count, "
                         "demand.arrivals_per_week and horizon weeks), more than the plausibility bound of "
                         f"{MAX_APPOINTMENTS:,}; check the values, or pass --force to run it anyway")
    if total > bound:
        hours = "a quarter of an hour" if bound == MAX_APPOINTMENTS else "six hours"
        raise InputError(f"{what} would simulate about {total:,.0f} appointments (therapists.count, "
                         "demand.arrivals_per_week, horizon weeks, replications and the number of runs), more than "
                         f"the plausibility bound of {bound:,} (about {hours} on two cores); check the values, or "
                         "pass --force to run it anyway")
    return total
