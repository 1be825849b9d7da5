"""The model: invariants, extreme values, reproducibility and common random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine.model import PlatformModel
from sim.engine.recorder import ENDINGS
from sim.runs.runner import run_scenarios
from tests.conftest import small


@pytest.fixture(scope="module")
def tables():
    return PlatformModel(small(), 0).run()


def test_every_client_is_in_exactly_one_end_state(tables):
    c = tables.clients
    assert c["client_id"].is_unique
    assert set(c["ending"].astype(str)) <= set(ENDINGS)
    assert c["ending"].notna().all()
    open_ = c["ending"].isin(["waiting_at_end", "matched_at_end", "in_treatment_at_end"])
    assert c.loc[open_, "ending_day"].isna().all()
    assert c.loc[~open_, "ending_day"].notna().all()
    # nobody who never attended is 'in treatment'; nobody who attended is 'pretreatment'
    assert (c.loc[c["ending"] == "pretreatment_dropout", "sessions_attended"] == 0).all()
    assert (c.loc[c["ending"].isin(["dropout", "planned", "session_cap"]), "sessions_attended"] >= 1).all()


def test_sessions_delivered_equal_sessions_attended(tables):
    s, t, c = tables.sessions, tables.therapists, tables.clients
    attended = s[s["attended"]]
    assert len(attended) == t["sessions_delivered"].sum()
    assert attended.groupby("therapist_id").size().reindex(t["therapist_id"], fill_value=0).tolist() == \
        t["sessions_delivered"].tolist()
    per_client = attended.groupby("client_id").size().reindex(c["client_id"], fill_value=0)
    assert (per_client.to_numpy() == c["sessions_attended"].to_numpy()).all()
    assert (s.loc[~s["attended"], "severity_observed"].isna()).all()
    # session numbers of a client's attended sessions run 1..n
    first = attended.groupby("client_id")["session_number"].agg(["min", "max", "size"])
    assert (first["min"] == 1).all() and (first["max"] == first["size"]).all()


def test_weekly_sessions_add_up(tables):
    assert tables.weekly["sessions"].sum() == tables.sessions["attended"].sum()
    assert (tables.weekly["waiting"] >= 0).all() and (tables.weekly["active_clients"] >= 0).all()


def test_no_arrivals_means_no_clients_and_no_sessions():
    t = PlatformModel(small("demand.arrivals_per_week=0"), 0).run()
    assert len(t.clients) == 0 and len(t.sessions) == 0
    assert (t.weekly["waiting"] == 0).all()


def test_unlimited_capacity_means_nobody_waits_for_a_therapist():
    t = PlatformModel(small("therapists.count=400", "exhaustion.leave_base_per_year=0",
                            "exhaustion.leave_exhaustion_per_year=0", "exhaustion.sick_base=0",
                            "exhaustion.sick_exhaustion=0"), 0).run()
    assert (t.weekly["waiting"] == 0).all()
    started = t.clients[t.clients["sessions_attended"] > 0]
    # the first appointment is the soonest weekday: at most 3 days away (Friday evening to Monday)
    assert started["wait_first_session_days"].max() <= 3.0


def test_the_wait_splits_into_queueing_and_the_next_free_weekday(tables):
    """Arrival <= first match <= first session for every starter; with spare capacity the queueing part is zero
    and the whole wait is the matched therapist's next free weekday."""
    started = tables.clients[tables.clients["sessions_attended"] > 0]
    assert (started["first_matched_day"] >= started["arrival_day"]).all()
    assert (started["first_session_day"] >= started["first_matched_day"]).all()
    spare = PlatformModel(small("therapists.count=400"), 0).run().clients
    spare = spare[spare["sessions_attended"] > 0]
    assert (spare["first_matched_day"] == spare["arrival_day"]).all()


def test_sessions_are_kept_past_a_planned_ending_only_under_a_gamed_league_table(tables):
    assert tables.clients["sessions_kept"].sum() == 0
    gamed = PlatformModel(small("performance.ranking.enabled=true", "performance.ranking.gaming_extra_sessions=2"),
                          0).run().clients
    assert gamed["sessions_kept"].sum() > 0 and gamed["sessions_kept"].max() <= 2


def test_no_show_probability_one_leaves_only_first_sessions():
    t = PlatformModel(small("therapy.no_show_prob=1", "therapy.no_show_engagement_effect=0"), 0).run()
    c = t.clients
    assert c["sessions_attended"].max() == 1  # first sessions follow the first-attendance rule
    # every client with a session stops coming and is discharged after the consecutive no-show limit,
    # unless they ended after session 1 or the run ended first
    no_show = t.sessions[t.sessions["status"] == "no_show"]
    assert len(no_show) > 0
    assert (no_show.groupby(["client_id", "therapist_id"]).size() <= 3).all()  # per course with a therapist


def test_first_attendance_one_and_no_abandonment_means_no_pretreatment_dropout():
    t = PlatformModel(small("clients.first_attendance_prob=1", "clients.waiting_odds_ratio_per_week=1",
                            "clients.queue_abandon_per_week=0"), 0).run()
    assert (t.clients["ending"] != "pretreatment_dropout").all()


def test_same_seed_identical_tables_other_seed_differs():
    a = run_scenarios([small()], reps=2, seed=5, progress=False)
    b = run_scenarios([small()], reps=2, seed=5, progress=False)
    c = run_scenarios([small()], reps=2, seed=6, progress=False)
    for name in ("clients", "sessions", "therapists", "weekly"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.replications.drop(columns="wall_seconds"), b.replications.drop(columns="wall_seconds"))
    assert not a.tables["clients"]["arrival_day"].equals(c.tables["clients"]["arrival_day"])


def test_parallel_equals_serial():
    serial = run_scenarios([small(), small("matching.policy=fit").model_copy(update={"name": "fit"})], reps=2, seed=3,
                           progress=False)
    parallel = run_scenarios([small(), small("matching.policy=fit").model_copy(update={"name": "fit"})], reps=2,
                             seed=3, jobs=2, progress=False)
    for name in ("clients", "sessions", "therapists", "weekly"):
        pd.testing.assert_frame_equal(serial.tables[name], parallel.tables[name])
    pd.testing.assert_frame_equal(serial.summary, parallel.summary)


ATTRIBUTES = ["client_id", "arrival_day", "domain", "complexity", "engagement", "responsiveness", "has_preference",
              "single_session_need"]


def test_common_random_numbers_same_clients_under_every_policy():
    variants = [small(), small("matching.policy=fit"), small("capacity.policy=individual"),
                small("performance.ranking.enabled=true", "performance.ranking.gaming_extra_sessions=2"),
                small("matching.policy=hybrid", "matching.information=oracle")]
    clients = [PlatformModel(v, 1).run().clients for v in variants]
    n = min(len(c) for c in clients)
    assert n > 500
    for other in clients[1:]:
        assert len(other) == len(clients[0])
        pd.testing.assert_frame_equal(clients[0][ATTRIBUTES].iloc[:n], other[ATTRIBUTES].iloc[:n])
    # ...while what happens to them does differ
    assert not clients[0]["therapist_id"].equals(clients[1]["therapist_id"])


def test_same_pair_same_chemistry():
    """A client matched to the same therapist under two policies has the same true fit."""
    a = PlatformModel(small(), 0).run().clients.set_index("client_id")
    b = PlatformModel(small("matching.policy=fit"), 0).run().clients.set_index("client_id")
    same = (a["therapist_id"] == b["therapist_id"]) & (a["therapists_seen"] == 1) & (b["therapists_seen"] == 1)
    assert same.sum() > 10
    np.testing.assert_allclose(a.loc[same, "true_fit"], b.loc[same, "true_fit"])


def test_one_definition_of_waiting_matched_and_in_treatment():
    """The last weekly record and the clients table agree on who is waiting, matched and in treatment."""
    from sim.engine.model import WEEK_RECORD

    for extra in ([], ["therapy.assessment_wait_weeks=2", "rematch.enabled=true"]):
        sc = small(*extra)
        tables = PlatformModel(sc, 0, 3).run()
        last = tables.weekly.iloc[-1]
        recorded_at = 7 * (last["week"] + 1) - 1 + WEEK_RECORD
        c = tables.clients[tables.clients["arrival_day"] < recorded_at]
        counts = c["ending"].value_counts()
        h = sc.horizon
        assert recorded_at == (h.warmup_weeks + h.measured_weeks + h.follow_up_weeks) * 7 - 1 + WEEK_RECORD
        assert last["waiting"] == counts.get("waiting_at_end", 0), extra
        assert last["matched"] == counts.get("matched_at_end", 0) > 0, extra
        assert last["active_clients"] == counts.get("in_treatment_at_end", 0), extra


def test_free_slot_count_stays_consistent_when_thresholds_are_lowered():
    """Learned thresholds lower capacity under clients already booked; freed slots on an over-full day must
    not count as room (it once sent booking into an endless search for a free weekday)."""
    sc = small("capacity.policy=individual", "capacity.load_estimate=learned", "capacity.self_report_bias=0.3",
               "capacity.learn_weeks=2", "capacity.learn_step=0.1")
    model = PlatformModel(sc, 0, 5)
    model.run()
    for t in model.therapists:
        if t.active:
            assert t.room == sum(max(0, s - o) for s, o in zip(t.slots, t.occupied, strict=True))
