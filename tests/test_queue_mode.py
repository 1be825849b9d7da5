"""Queue mode: the model reduced to M/M/c must match Erlang C and Little's law."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.metrics import measured_clients
from sim.analysis.queueing import mmc_mean_wait
from sim.runs.runner import run_scenarios
from sim.scenario import apply_overrides, load_scenario
from tests.conftest import SCENARIOS

SERVERS, SERVICE_DAYS = 10, 7.0


def queue_run(rho: float, reps: int = 8):
    """Eight replications of 40 simulated years: about 60,000-90,000 served clients, so sampling error
    of the mean wait is a few percent even at utilisation 0.9."""
    arrivals_per_week = rho * SERVERS / SERVICE_DAYS * 7
    sc = apply_overrides(load_scenario(SCENARIOS / "verification" / "queue_mode.yaml"),
                         [f"demand.arrivals_per_week={arrivals_per_week}", "horizon.measured_weeks=2080"])
    assert sc.therapists.count == SERVERS and sc.queue_mode.service_days_mean == SERVICE_DAYS
    return sc, run_scenarios([sc], reps=reps, seed=2024, jobs=2, keep=("clients", "weekly"), progress=False)


@pytest.mark.parametrize("rho", [0.5, 0.7, 0.9])
def test_mean_wait_matches_erlang_c(rho: float):
    sc, res = queue_run(rho)
    c = measured_clients(res.tables["clients"])
    c = c[c["sessions_attended"] > 0]
    simulated = c["wait_first_session_days"].mean()
    lam = sc.demand.arrivals_per_week / 7
    theory = mmc_mean_wait(lam, 1 / SERVICE_DAYS, SERVERS)
    assert simulated == pytest.approx(theory, rel=0.10), (simulated, theory)
    # utilisation: busy servers = lambda / mu
    active = res.tables["weekly"]
    busy = active[active["week"] >= sc.horizon.warmup_weeks]["active_clients"].mean()
    assert busy == pytest.approx(rho * SERVERS, rel=0.05)


def test_littles_law_queue_length_equals_arrival_rate_times_wait():
    sc, res = queue_run(0.9)
    weekly = res.tables["weekly"]
    lq = weekly[weekly["week"] >= sc.horizon.warmup_weeks]["waiting"].mean()
    c = measured_clients(res.tables["clients"])
    wq = c.loc[c["sessions_attended"] > 0, "wait_first_session_days"].mean()
    lam = sc.demand.arrivals_per_week / 7
    assert lq == pytest.approx(lam * wq, rel=0.10), (lq, lam * wq)
    assert np.isfinite(wq) and wq > 0


def test_queue_mode_keeps_therapists_days_when_they_can_change_who_serves():
    """The evening round is skipped in queue mode only when nothing in it can change service: with sickness on,
    therapists still fall sick (and their absences are counted)."""
    base = apply_overrides(load_scenario(SCENARIOS / "verification" / "queue_mode.yaml"),
                           ["horizon.warmup_weeks=4", "horizon.measured_weeks=52"])
    quiet = run_scenarios([base], reps=1, seed=3, keep=("therapists",), progress=False)
    sick = apply_overrides(base, ["exhaustion.sick_base=0.05"])
    ill = run_scenarios([sick], reps=1, seed=3, keep=("therapists",), progress=False)
    assert quiet.tables["therapists"]["sick_days"].sum() == 0
    assert ill.tables["therapists"]["sick_days"].sum() > 0.02 * 52 * 5 * SERVERS
