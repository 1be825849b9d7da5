"""Policies on tiny hand-made inputs, without SimPy."""

from __future__ import annotations

import random

import pytest

from sim.engine.availability import RoomIndex, WaitingQueue
from sim.engine.entities import WAITING, Client, Therapist
from sim.engine.policies.capacity import IndividualThreshold, TeamQuota
from sim.engine.policies.information import Declared, Measured, Oracle
from sim.engine.policies.league import below_median
from sim.engine.policies.matching import Earliest, Fit, Hybrid
from sim.engine.policies.revenue import Activity, PerSession, Subscription, ValueBased
from sim.engine.population import draw_therapist
from sim.scenario import Capacity, Matching, Money, Scenario

# therapists here have a hand-made number of domains, so their declared specialties are not tilted toward the
# six real domains' prevalence (specialty_prevalence_weight 0: a self-view alone)
SC = Scenario().model_copy(update={"therapists": Scenario().therapists.model_copy(
    update={"specialty_prevalence_weight": 0.0})})


def therapist(tid: int, domain_true: list[float], slots_per_week: int = 5, style: int = 0) -> Therapist:
    rng = random.Random(tid)
    t = Therapist(tid, 0.0, rng, draw_therapist(rng, SC, len(domain_true)), len(domain_true))
    t.domain_true = list(domain_true)
    t.style = style
    t.set_capacity(slots_per_week)
    return t


def client(cid: int, domain: int = 0, complexity: int = 1, preference: int = -1, queued: float = 0.0) -> Client:
    c = Client(cid, queued, (domain, complexity, 15.0, 0.0, 0.1, False, 0.0, preference, False, 0.5, 0.0, 1e9, 15.0, 0.8, 12.0))
    c.queued_day = queued
    return c


def index(ts: list[Therapist], track_fit: bool = True, bonus: float = 0.0) -> RoomIndex:
    rooms = RoomIndex(2, 3, Oracle().estimate, bonus, track_fit)
    for t in ts:
        rooms.update(t)
    return rooms


def test_team_quota_books_everyone_alike_and_individual_follows_own_load():
    assert TeamQuota(Capacity(quota_per_day=5)).weekly_slots(3.0) == 25
    assert TeamQuota(Capacity(quota_per_day=6)).weekly_slots(8.0) == 30
    ind = IndividualThreshold(Capacity(policy="individual"))
    assert [ind.weekly_slots(x) for x in (3.0, 4.99, 5.0, 7.45, 7.5)] == [15, 25, 25, 37, 38]  # to the nearest
    margin = IndividualThreshold(Capacity(policy="individual", safety_margin=0.2))
    assert margin.weekly_slots(5.0) == 20
    assert TeamQuota(Capacity(quota_per_day=5, admin_share=0.2)).weekly_slots(5.0) == 20


def test_information_models_see_different_things():
    t = therapist(0, [0.4, -0.3])
    t.declared, t.legible = [0.0, 1.0], True
    assert Oracle().estimate(t, 0) == 0.4
    assert Declared().estimate(t, 1) == 1.0 and Declared().estimate(t, 0) == 0.0
    t.legible = False
    assert Declared().estimate(t, 1) == 0.0
    m = Measured(prior_cases=2.0)
    assert m.estimate(t, 0) == 0.0
    for signal in (1.0, 1.0):
        assert m.observe(t, 0, signal)
    assert m.estimate(t, 0) == pytest.approx(2.0 / 4.0)
    assert m.estimate(t, 1) == 0.0


def test_earliest_picks_the_soonest_free_weekday():
    a, b = therapist(0, [0.0, 0.0]), therapist(1, [1.0, 1.0])
    a.set_capacity(1)  # one slot, on Monday (weekday 0)
    b.slots = [0, 0, 1, 0, 0]  # one slot on Wednesday
    b.room = 1
    rooms = index([a, b])
    # day 0 is a Monday: tomorrow is Tuesday, so Wednesday (b) comes before next Monday (a)
    assert Earliest(Matching()).for_client(client(0), rooms, today=0) is b
    # on a Sunday (day 6), Monday (a) is next
    assert Earliest(Matching()).for_client(client(0), rooms, today=6) is a


def test_fit_picks_best_estimated_fit_among_therapists_with_room():
    ts = [therapist(0, [0.1, 0.9]), therapist(1, [0.8, 0.0]), therapist(2, [0.95, 0.0], slots_per_week=0)]
    rooms = index(ts)
    fit = Fit(Matching(policy="fit"))
    assert fit.for_client(client(0, domain=0), rooms, 0) is ts[1]  # t2 is better but full
    assert fit.for_client(client(1, domain=1), rooms, 0) is ts[0]
    ts[1].occupied = list(ts[1].slots)
    ts[1].room = 0
    rooms.update(ts[1])
    assert fit.for_client(client(2, domain=0), rooms, 0) is ts[0]


def test_fit_counts_a_stated_preference():
    ts = [therapist(0, [0.3, 0.0], style=0), therapist(1, [0.2, 0.0], style=2)]
    rooms = index(ts, bonus=0.25)
    fit = Fit(Matching(policy="fit"))
    assert fit.for_client(client(0, preference=-1), rooms, 0) is ts[0]
    assert fit.for_client(client(1, preference=2), rooms, 0) is ts[1]


def test_gaming_therapists_decline_complex_clients_and_rematch_excludes_previous():
    ts = [therapist(0, [0.9, 0.0]), therapist(1, [0.1, 0.0])]
    rooms = index(ts)
    ts[0].declines_complex = True
    fit = Fit(Matching(policy="fit"))
    assert fit.for_client(client(0, complexity=3), rooms, 0) is ts[1]
    assert fit.for_client(client(1, complexity=1), rooms, 0) is ts[0]
    c = client(2)
    c.previous_therapist = ts[0]
    assert Earliest(Matching()).for_client(c, rooms, 0) is ts[1]


def test_freed_slot_goes_to_oldest_under_earliest_and_best_fit_under_fit():
    t = therapist(0, [0.0, 1.0])
    rooms = index([t])
    q = WaitingQueue(2)
    old, new = client(0, domain=0, queued=0.0), client(1, domain=1, queued=10.0)
    q.push(old)
    q.push(new)
    assert Earliest(Matching()).for_slot(t, q, rooms, now=12.0) is old
    assert Fit(Matching(policy="fit", max_wait_weeks=4)).for_slot(t, q, rooms, now=12.0) is new
    # once someone has waited max_wait_weeks they go first
    assert Fit(Matching(policy="fit", max_wait_weeks=1)).for_slot(t, q, rooms, now=12.0) is old
    hybrid_fit = Hybrid(Matching(policy="hybrid", fit_weight=1.0))
    hybrid_wait = Hybrid(Matching(policy="hybrid", fit_weight=0.0))
    assert hybrid_fit.for_slot(t, q, rooms, 12.0) is new
    assert hybrid_wait.for_slot(t, q, rooms, 12.0) is old


def test_a_freed_slot_passes_over_held_clients_out_of_its_reach():
    """Fit with holds: held clients wait for a therapist whose estimated fit reaches their threshold; the
    preference bonus counts for those who prefer the therapist's style; a hold that has run out is no hold."""
    t = therapist(0, [0.5, 0.5], style=1)
    rooms = index([t], bonus=0.3)
    q = WaitingQueue(2)
    held_far = client(0, domain=0, queued=1.0)
    held_near = client(1, domain=0, queued=2.0)
    held_pref = client(2, domain=1, queued=3.0, preference=1)
    for c, threshold in ((held_far, 0.9), (held_near, 0.5), (held_pref, 0.7)):
        c.hold_until, c.hold_threshold = 10.0, threshold
        q.push(c)
    fit = Fit(Matching(policy="fit", max_wait_weeks=4))
    assert {c.id for c in q.heads_for(t, 5.0, [0.5, 0.5], [0.8, 0.8])} == {1, 2}  # 0 out of reach
    assert fit.for_slot(t, q, rooms, now=5.0) is held_pref  # fit 0.5 + 0.3 for the preferred style
    assert [c.id for c in q.heads_for(t, 10.0, [0.5, 0.5], [0.8, 0.8])] == [0, 2]  # holds over: oldest per domain
    held_far.previous_therapist = t  # (a therapist never takes back a client rematched away from them)
    assert [c.id for c in q.heads_for(t, 10.0, [0.5, 0.5], [0.8, 0.8])] == [1, 2]


def test_waiting_queue_skips_clients_who_left():
    q = WaitingQueue(1)
    a, b = client(0), client(1, queued=1.0)
    q.push(a)
    q.push(b)
    a.state = 99  # left
    q.take(a)
    assert q.oldest() is b and len(q) == 1
    assert b.state == WAITING


def test_room_index_heaps_stay_bounded_under_churn():
    ts = [therapist(i, [i / 10, 0.0], slots_per_week=1) for i in range(10)]
    rooms = index(ts)
    for step in range(5000):
        t = ts[step % 10]
        t.occupied = [1, 0, 0, 0, 0] if t.room else [0, 0, 0, 0, 0]
        t.room = 1 - t.room
        rooms.update(t)
        rooms.refresh(t, step % 2)
    assert rooms._members < 30_000
    best = rooms.best_fit(client(0))[0]
    with_room = [t for t in ts if t.room]
    assert best is max(with_room, key=lambda t: t.domain_true[0])


def test_a_changed_estimate_moves_a_therapist_in_that_domain_only():
    """Oracle estimates read domain_true: lower one therapist's domain-0 effectiveness and refresh that domain."""
    a, b = therapist(1, [0.9, 0.9]), therapist(2, [0.5, 0.5])
    rooms = index([a, b])
    assert rooms.best_fit(client(0, domain=0))[0] is a and rooms.best_fit(client(1, domain=1))[0] is a
    a.domain_true[0] = 0.1
    rooms.refresh(a, 0)
    assert rooms.best_fit(client(2, domain=0)) == (b, 0.5)  # the stale entry of a is skipped
    assert rooms.best_fit(client(3, domain=1))[0] is a  # domain 1 untouched
    a.domain_true[0] = 0.95
    rooms.refresh(a, 0)
    assert rooms.best_fit(client(4, domain=0)) == (a, 0.95)


def test_a_therapists_fits_for_a_free_slot_follow_a_changed_estimate():
    """Oracle estimates read domain_true; the kept fits change only when the estimate is refreshed (as the model
    does after every observation that changes one)."""
    a = therapist(1, [0.9, 0.4])
    rooms = index([a], bonus=0.3)
    assert rooms.fits(a) == ([0.9, 0.4], [0.9 + 0.3, 0.4 + 0.3])
    a.domain_true[1] = 0.7
    rooms.refresh(a, 1)
    assert rooms.fits(a) == ([0.9, 0.7], [0.9 + 0.3, 0.7 + 0.3])


def test_league_table_ranks_only_therapists_with_enough_cases():
    assert below_median({1: (10, 9), 2: (10, 5), 3: (10, 7), 4: (2, 0)}, min_cases=5) == {2}
    assert below_median({1: (10, 9)}, min_cases=5) == set()
    assert below_median({1: (10, 5), 2: (10, 5)}, min_cases=5) == set()


def test_revenue_models():
    a = Activity(sessions=100, subscription_months=20, improved=5)
    money = Money(price_per_session=100, subscription_per_month=300, value_based_session_share=0.5,
                  value_based_bonus=1000)
    assert PerSession(money).revenue(a) == 10_000
    assert Subscription(money).revenue(a) == 6_000
    assert ValueBased(money).revenue(a) == 5_000 + 5_000


def test_every_registered_policy_follows_its_protocol():
    """What mypy cannot see through the registry: each plug-in has every member of its lever's Protocol, with
    the same parameters."""
    import inspect

    from sim.base.registry import lookup, names
    from sim.engine.policies.capacity import CapacityPolicy
    from sim.engine.policies.hiring import HiringPolicy
    from sim.engine.policies.information import Information
    from sim.engine.policies.load_estimate import LoadEstimate
    from sim.engine.policies.matching import MatchingPolicy
    from sim.engine.policies.rematch import RematchPolicy
    from sim.engine.policies.revenue import RevenueModel

    protocols = {"matching": MatchingPolicy, "information": Information, "capacity": CapacityPolicy,
                 "load_estimate": LoadEstimate, "hiring": HiringPolicy, "rematch": RematchPolicy,
                 "revenue": RevenueModel}
    checked = 0
    for kind, protocol in protocols.items():
        members = {n for n in dir(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))
        assert members, kind
        for name in names(kind):
            cls = lookup(kind, name)
            for member in members:
                assert hasattr(cls, member) or member in getattr(cls, "__annotations__", {}) or member in inspect.getsource(
                    cls), f"{kind} {name} lacks {member}"
                wanted = getattr(protocol, member, None)
                if callable(wanted):
                    have = list(inspect.signature(getattr(cls, member)).parameters)
                    assert have == list(inspect.signature(wanted).parameters), f"{kind} {name}.{member}: {have}"
            checked += 1
    assert checked >= 18


def test_a_hold_that_runs_out_is_decided_by_the_matching_policy_not_the_model():
    """on_hold_expired: fit gives the held client the best fit with room; policies that never hold give no one."""
    good, poor = therapist(0, [0.9, 0.0]), therapist(1, [0.1, 0.0])
    rooms = index([good, poor])
    held = client(5)
    held.hold_until = 14.0
    assert Fit(Matching(policy="fit")).on_hold_expired(held, rooms) is good
    good.set_capacity(0)  # no room with the best any more: the best with room
    rooms.update(good)
    assert Fit(Matching(policy="fit")).on_hold_expired(held, rooms) is poor
    assert Earliest(Matching()).on_hold_expired(held, rooms) is None
    assert Hybrid(Matching(policy="hybrid")).on_hold_expired(held, rooms) is None


class Watcher:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def update(self, t: Therapist, weekday: int | None = None) -> None:
        self.calls.append((t.id, weekday))


def test_a_therapists_free_slots_change_only_through_its_methods_and_keep_the_invariant():
    rng = random.Random(3)
    t = therapist(7, [0.0, 0.0])
    watcher = Watcher()
    t.availability = watcher
    for _ in range(400):
        move = rng.random()
        if move < 0.1:
            t.set_capacity(rng.randint(0, 30))
            assert watcher.calls[-1] == (7, None)
        elif move < 0.6:
            free = [wd for wd in range(5) if t.free(wd)]
            if free:
                wd = rng.choice(free)
                t.book(wd)
                assert watcher.calls[-1] == (7, wd)
        else:
            busy = [wd for wd in range(5) if t.occupied[wd] > 0]
            if busy:
                wd = rng.choice(busy)
                t.unbook(wd)
                assert watcher.calls[-1] == (7, wd)
        assert t.room == sum(max(0, s - o) for s, o in zip(t.slots, t.occupied, strict=True))
    t.leave(100.0)
    assert (t.active, t.room, t.left_day, watcher.calls[-1]) == (False, 0, 100.0, (7, None))


def test_a_therapist_full_when_the_fit_heaps_are_rebuilt_is_listed_again_when_a_slot_frees():
    """The heaps drop stale entries now and then (a rebuild); a therapist with no free slot at that moment is not
    in them, and must be listed again when a slot frees, or matching by fit never sees them again."""
    good, other = therapist(0, [0.9, 0.0], slots_per_week=1), therapist(1, [0.1, 0.0])
    rooms = index([good, other])
    for t in (good, other):
        t.availability = rooms
    weekday = good.slots.index(1)
    good.book(weekday)  # full: its heap entries stay until they surface
    rooms._rebuild()
    fit = Fit(Matching(policy="fit"))
    assert fit.for_client(client(0), rooms, 0) is other
    good.unbook(weekday)
    assert fit.for_client(client(1), rooms, 0) is good
