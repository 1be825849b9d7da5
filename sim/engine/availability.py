"""Who has room, and who is waiting: the data structures matching policies query.

Neither structure scans all therapists: free slots are kept per weekday (for the soonest
slot) and, when a policy needs fit, in lazy max-heaps per problem domain and per
(domain, therapist style) (for the best estimated fit). Plain Python, no SimPy.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from sim.engine.entities import WAITING, WEEKDAYS, Client, Therapist

Estimate = Callable[[Therapist, int], float]


class RoomIndex:
    """Therapists with a free new-client slot, by weekday and (optionally) by estimated fit."""

    def __init__(self, n_domains: int, n_styles: int, estimate: Estimate, preference_bonus: float,
                 track_fit: bool):
        self.by_weekday: list[dict[int, Therapist]] = [{} for _ in range(WEEKDAYS)]
        self.estimate = estimate
        self.preference_bonus = preference_bonus
        self.track_fit = track_fit
        self.n_domains = n_domains
        self.n_styles = n_styles
        # heap key (domain, style) with style -1 for the all-styles heap
        self.heaps: dict[tuple[int, int], list[tuple[float, int, int, Therapist]]] = {
            (d, s): [] for d in range(n_domains) for s in range(-1, n_styles)
        }
        self._members = 0
        self._rebuild_at = 20_000
        #: per therapist style: each domain with its two heap keys (all styles; this style)
        self.keys = [[(d, (d, -1), (d, style)) for d in range(n_domains)] for style in range(n_styles)]
        self.listings = 2 * n_domains  # heap entries of a fully listed therapist: all styles and their own
        self.best_any = [0.0] * n_domains  # best estimate per domain over all therapists, with room or not
        self._fits: dict[int, tuple[int, list[float], list[float]]] = {}  # therapist id -> (versions' sum, fits)

    def refresh_best(self, therapists: list[Therapist]) -> None:
        """Recompute the best estimate per domain over ``therapists`` (a weekly O(therapists) pass)."""
        self.best_any = [max((self.estimate(t, d) for t in therapists), default=0.0) for d in range(self.n_domains)]

    # -- maintenance ---------------------------------------------------------------
    def update(self, t: Therapist, weekday: int | None = None) -> None:
        """Bring the index in line with ``t``'s free slots (call after any change; ``weekday``: only that day's
        slots changed)."""
        tid, active, occupied, slots = t.id, t.active, t.occupied, t.slots
        days = enumerate(self.by_weekday) if weekday is None else ((weekday, self.by_weekday[weekday]),)
        for wd, bucket in days:
            if active and occupied[wd] < slots[wd]:
                if tid not in bucket:
                    bucket[tid] = t
            elif tid in bucket:
                del bucket[tid]
        if self.track_fit and active and t.room > 0 and len(t.listed) < self.listings:  # (usually listed already)
            self._push(t)

    def refresh(self, t: Therapist, domain: int) -> None:
        """``t``'s estimate for ``domain`` changed: invalidate its entries in that domain's heaps and list it afresh."""
        t.versions[domain] += 1
        t.listed.discard((domain, -1))
        t.listed.discard((domain, t.style))
        if self.track_fit and t.active and t.room > 0:
            self._push(t)

    def _push(self, t: Therapist) -> None:
        """List ``t`` in every heap it is missing from (its estimate read once per domain that needs it)."""
        listed, heaps = t.listed, self.heaps
        for d, both, own in self.keys[t.style]:
            if both in listed and own in listed:
                continue
            entry = (-self.estimate(t, d), t.id, t.versions[d], t)
            for key in (both, own):
                if key not in listed:
                    heapq.heappush(heaps[key], entry)
                    listed.add(key)
                    self._members += 1
        if self._members > self._rebuild_at:
            self._rebuild()

    def _distinct(self) -> dict[int, Therapist]:
        out: dict[int, Therapist] = {}
        for bucket in self.by_weekday:
            out.update(bucket)
        return out

    def _rebuild(self) -> None:
        """Drop stale heap entries (amortised; keeps heaps proportional to therapists with room). Everyone listed
        is unlisted first, those without room too, so that a free slot later lists them again."""
        listed = {entry[3].id: entry[3] for heap in self.heaps.values() for entry in heap}
        live = self._distinct()
        for key in self.heaps:
            self.heaps[key] = []
        self._members = 0
        for t in (*listed.values(), *live.values()):
            t.listed.clear()
        self._rebuild_at = 1 << 62
        for t in live.values():
            if t.room > 0:
                self._push(t)
        self._rebuild_at = max(20_000, 4 * self._members)

    # -- queries -------------------------------------------------------------------
    def soonest(self, today: int, client: Client) -> Therapist | None:
        """The therapist (accepting ``client``) with the soonest free weekday slot after ``today``."""
        for offset in range(1, 8):
            wd = (today + offset) % 7
            if wd >= WEEKDAYS:
                continue
            for t in self.by_weekday[wd].values():
                if t.accepts(client):
                    return t
        return None

    def _top(self, key: tuple[int, int], client: Client) -> tuple[float, Therapist | None]:
        heap = self.heaps[key]
        held = []
        found: tuple[float, Therapist | None] = (float("inf"), None)
        while heap:
            neg, _, version, t = heap[0]
            current = t.versions[key[0]]
            if version != current or not t.active or t.room <= 0:
                heapq.heappop(heap)
                self._members -= 1
                if version == current:
                    t.listed.discard(key)
                continue
            if not t.accepts(client):
                held.append(heapq.heappop(heap))
                continue
            found = (neg, t)
            break
        for item in held:
            heapq.heappush(heap, item)
        return found

    def best_fit(self, client: Client) -> tuple[Therapist | None, float]:
        """The therapist with room and the best estimated fit for ``client``, and that estimate."""
        neg, best = self._top((client.domain, -1), client)
        score = -neg
        if client.preference >= 0:
            neg_p, t_p = self._top((client.domain, client.preference), client)
            if t_p is not None and -neg_p + self.preference_bonus > score:
                best, score = t_p, -neg_p + self.preference_bonus
        return best, score

    def fits(self, t: Therapist) -> tuple[list[float], list[float]]:
        """``t``'s estimated fit per domain, plain and for a client who prefers ``t``'s style; kept until one of
        ``t``'s estimates changes (versions only grow, so their sum changes whenever one does)."""
        changed = sum(t.versions)
        kept = self._fits.get(t.id)
        if kept is not None and kept[0] == changed:
            return kept[1], kept[2]
        fit = [self.estimate(t, d) for d in range(self.n_domains)]
        preferred = [f + self.preference_bonus for f in fit]
        self._fits[t.id] = (changed, fit, preferred)
        return fit, preferred

    def estimated_fit(self, t: Therapist, client: Client) -> float:
        bonus = self.preference_bonus if client.preference >= 0 and client.preference == t.style else 0.0
        return self.estimate(t, client.domain) + bonus


class WaitingQueue:
    """Clients waiting for a therapist: one line per problem domain, ordered by the day each client
    first joined the list; stale entries are skipped lazily.

    >>> q = WaitingQueue(2)
    >>> len(q), q.oldest()
    (0, None)
    """

    def __init__(self, n_domains: int):
        self.lines: list[deque[Client]] = [deque() for _ in range(n_domains)]
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def push(self, client: Client) -> None:
        """Put ``client`` in their domain's line by (queued_day, id): first come, first served.

        A new arrival goes to the back; a client who comes back to the list (therapist left,
        rematch, after assessment) keeps their original place (usually at the front).
        """
        client.state = WAITING
        line = self.lines[client.domain]
        key = (client.queued_day, client.id)
        if not line or (line[-1].queued_day, line[-1].id) <= key:
            line.append(client)
        else:
            i = 0
            while i < len(line) and (line[i].queued_day, line[i].id) <= key:
                i += 1
            line.insert(i, client)
        self.count += 1

    def take(self, client: Client) -> None:
        """Mark ``client`` as no longer waiting (matched or gone); removal from the line is lazy."""
        self.count -= 1
        line = self.lines[client.domain]
        if line and line[0] is client:
            line.popleft()

    def heads(self) -> Iterator[Client]:
        """The longest-waiting client of each domain line."""
        for line in self.lines:
            while line and line[0].state != WAITING:
                line.popleft()
            if line:
                yield line[0]

    def oldest(self) -> Client | None:
        return min(self.heads(), key=lambda c: (c.queued_day, c.id), default=None)

    def heads_for(self, t: Therapist, now: float, fit: Sequence[float], preferred_fit: Sequence[float]) -> list[Client]:
        """Per domain, the longest-waiting client ``t`` may take: one ``t`` accepts who is not held, or who is held
        (fit with holds) and whose threshold ``t``'s estimated fit reaches: ``fit[domain]``, or
        ``preferred_fit[domain]`` for a client who prefers ``t``'s style. Held clients out of reach are passed
        over; on a long waiting list that is the hot loop, so it makes no call per client passed over."""
        style, heads = t.style, []
        for d, line in enumerate(self.lines):
            while line and line[0].state != WAITING:
                line.popleft()
            plain, preferred = fit[d], preferred_fit[d]
            for c in line:
                if c.state != WAITING or (now < c.hold_until and (
                        preferred if c.preference == style else plain) < c.hold_threshold):
                    continue
                if t.accepts(c):
                    heads.append(c)
                    break
        return heads

    def oldest_accepted(self, t: Therapist) -> Client | None:
        """The longest-waiting client, among the domain heads, whom ``t`` accepts."""
        best: Client | None = None
        for line in self.lines:
            while line and line[0].state != WAITING:
                line.popleft()
            if line:
                c = line[0]
                if (best is None or (c.queued_day, c.id) < (best.queued_day, best.id)) and t.accepts(c):
                    best = c
        return best
