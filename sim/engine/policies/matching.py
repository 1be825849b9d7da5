"""Matching policies: which therapist a new client gets, and which waiting client a freed slot gets.

Two decisions, both made on the index structures of :mod:`sim.engine.availability` (no SimPy):

- ``for_client``: a client arrives (or needs a new therapist) and someone has room;
- ``for_slot``: a therapist gains room while clients wait (the longest-waiting client of
  each problem domain is a candidate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register
from sim.engine.availability import RoomIndex, WaitingQueue
from sim.engine.entities import WEEKDAYS, Client, Therapist

if TYPE_CHECKING:
    from sim.scenario import Matching


class MatchingPolicy(Protocol):
    uses_fit: bool

    def for_client(self, client: Client, rooms: RoomIndex, today: int) -> Therapist | None: ...

    def for_slot(self, t: Therapist, queue: WaitingQueue, rooms: RoomIndex, now: float) -> Client | None: ...

    def on_hold_expired(self, client: Client, rooms: RoomIndex) -> Therapist | None:
        """A client this policy held (``client.hold_until``) is free to take anyone: whom, now (None: keep waiting)."""
        ...


@register("matching", "earliest")
class Earliest:
    """First come, first served: the soonest free slot with anyone; freed slots go to the longest wait."""

    uses_fit = False

    def __init__(self, cfg: Matching):
        pass

    def for_client(self, client: Client, rooms: RoomIndex, today: int) -> Therapist | None:
        return rooms.soonest(today, client)

    def for_slot(self, t: Therapist, queue: WaitingQueue, rooms: RoomIndex, now: float) -> Client | None:
        return queue.oldest_accepted(t)

    def on_hold_expired(self, client: Client, rooms: RoomIndex) -> Therapist | None:
        return None  # holds no one


@register("matching", "fit")
class Fit:
    """Best estimated fit among therapists with room. A new client may instead be *held* for up to
    ``hold_weeks`` when the best therapist overall is estimated at least ``hold_min_gain`` better than
    the best with room; while held they accept only a therapist within that of the best. A freed slot
    goes to the waiting client it fits best, unless someone has waited ``max_wait_weeks``, who then
    goes first."""

    uses_fit = True

    def __init__(self, cfg: Matching):
        self.max_wait_days = cfg.max_wait_weeks * 7
        self.hold_days = cfg.hold_weeks * 7
        self.min_gain = cfg.hold_min_gain

    def for_client(self, client: Client, rooms: RoomIndex, today: int) -> Therapist | None:
        best, score = rooms.best_fit(client)
        if self.hold_days > 0 and client.therapists_seen == 0 and client.hold_until < 0:
            top = rooms.best_any[client.domain]
            if best is None or top - score >= self.min_gain:
                client.hold_until = today + self.hold_days
                client.hold_threshold = top - self.min_gain
                return None
        return best

    def for_slot(self, t: Therapist, queue: WaitingQueue, rooms: RoomIndex, now: float) -> Client | None:
        heads = queue.heads_for(t, now, *rooms.fits(t))
        if not heads:
            return None
        oldest = min(heads, key=lambda c: (c.queued_day, c.id))
        if now - oldest.queued_day >= self.max_wait_days:
            return oldest
        return max(heads, key=lambda c: (rooms.estimated_fit(t, c), -c.queued_day, -c.id))

    def on_hold_expired(self, client: Client, rooms: RoomIndex) -> Therapist | None:
        """The best estimated fit with room, if anyone has room."""
        return rooms.best_fit(client)[0]


@register("matching", "hybrid")
class Hybrid:
    """Score = weight x estimated fit - (1 - weight) x wait in weeks.

    For a new client the candidates are the best-fit and the soonest-slot therapist; for a freed
    slot, the longest-waiting client of each domain (longer waits raise the score).
    """

    uses_fit = True

    def __init__(self, cfg: Matching):
        self.w = cfg.fit_weight

    def for_client(self, client: Client, rooms: RoomIndex, today: int) -> Therapist | None:
        fit_t = rooms.best_fit(client)[0]
        soon_t = rooms.soonest(today, client)
        if fit_t is None or soon_t is None or fit_t is soon_t:
            return fit_t or soon_t

        def score(t: Therapist) -> float:
            wait_weeks = _days_to_free_slot(t, today) / 7
            return self.w * rooms.estimated_fit(t, client) - (1 - self.w) * wait_weeks

        return max((fit_t, soon_t), key=score)

    def for_slot(self, t: Therapist, queue: WaitingQueue, rooms: RoomIndex, now: float) -> Client | None:
        heads = [c for c in queue.heads() if t.accepts(c)]
        if not heads:
            return None
        return max(heads, key=lambda c: (self.w * rooms.estimated_fit(t, c) + (1 - self.w) * (now - c.queued_day) / 7,
                                         -c.queued_day, -c.id))

    def on_hold_expired(self, client: Client, rooms: RoomIndex) -> Therapist | None:
        return None  # holds no one


def _days_to_free_slot(t: Therapist, today: int) -> int:
    """Days from ``today`` to ``t``'s next weekday with a free slot (8 if none)."""
    for offset in range(1, 8):
        wd = (today + offset) % 7
        if wd < WEEKDAYS and t.free(wd):
            return offset
    return 8
