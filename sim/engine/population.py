"""Drawing clients: attributes in vectorised blocks, each client tied to its own row.

Client ``n`` is row ``n % BLOCK`` of block ``n // BLOCK``, drawn from the stream
("clients", block) whatever the policy, so the same people arrive with the same needs and the
same in-therapy luck in every scenario that shares the client parameters. Appointment ``a``
of client ``n`` reads ``DRAWS`` numbers from chunk ``a // APPOINTMENTS`` of that client's row,
in the order of ``APPOINTMENT_DRAWS``. Each named draw of chunk ``j`` of block ``b`` comes from its
own stream ("luck:NAME", b, j), so adding a draw (appended to the layout) never changes the
others: the same client keeps the same luck. Chunk 0 is drawn with the block, later chunks when a
client of the block first needs them (kept in a small cache).
"""

from __future__ import annotations

import math
import random
from array import array
from collections import OrderedDict

import numpy as np

from sim.base.scales import ANXIETY_MAX, DEPRESSION_MAX
from sim.base.streams import generator_state, stream_seed
from sim.engine.entities import Client, TherapistTraits
from sim.scenario import Scenario

BLOCK = 256
APPOINTMENTS = 8
CACHED_CHUNKS = 64
#: The random numbers of one appointment, by name and kind, in the order the model reads them.
APPOINTMENT_DRAWS: tuple[tuple[str, str], ...] = (
    ("no_show", "uniform"),  # missing the appointment
    ("planned_end", "uniform"),  # agreeing to stop
    ("dropout", "uniform"),  # dropping out
    ("friction", "uniform"),  # the next appointment a fortnight away
    ("alternative", "uniform"),  # rematch accepted, or lost when the therapist leaves
    ("quality", "normal"),  # session quality noise
    ("alliance_rating", "normal"),  # alliance measurement noise
    ("symptom", "normal"),  # symptom change noise
    ("depression_measure", "normal"),  # depression questionnaire noise
    ("anxiety_measure", "normal"),  # anxiety questionnaire noise
)
DRAWS = len(APPOINTMENT_DRAWS)


class ClientFactory:
    """Makes client ``n`` (attributes and luck) for one scenario, seed and replication."""

    def __init__(self, sc: Scenario, seed: int, replication: int, domain_cum: list[float],
                 layout: tuple[tuple[str, str], ...] = APPOINTMENT_DRAWS):
        self.sc = sc
        self.layout = layout
        self.seed = seed
        self.rep = replication
        self.domain_cum = np.asarray(domain_cum)
        self._block = -1
        self._rows: list[tuple] = []
        self._chunks: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._first_chunk = np.empty((0, APPOINTMENTS * len(layout)), dtype=np.float32)
        self._rng = np.random.Generator(np.random.PCG64())  # its state is set per named draw
        # later chunks are needed by clients who arrived over the last months: cache about a quarter of blocks
        self._cache_size = max(CACHED_CHUNKS, int(sc.demand.arrivals_per_week * 13 / BLOCK))

    def _draw_block(self, block: int) -> None:
        cl, n = self.sc.clients, BLOCK
        rng = np.random.Generator(np.random.PCG64(stream_seed(self.seed, self.rep, "clients", block)))
        u = rng.random((12, n))
        z = rng.standard_normal((6, n))
        complexity = np.where(u[1] < cl.complexity_3_share, 3,
                              np.where(u[1] < cl.complexity_3_share + cl.complexity_2_share, 2, 1))
        severity = np.clip(cl.severity_mean + cl.severity_sd * z[0], 0.0, DEPRESSION_MAX)
        responsiveness = (cl.responsiveness_median * np.exp(cl.responsiveness_log_sd * z[1])
                          * cl.complexity_responsiveness_factor ** (complexity - 1))
        anxiety_ratio = cl.anxiety_ratio_mean * np.exp(cl.anxiety_ratio_log_sd * z[4])
        styles = self.sc.therapists.style_categories
        preference = np.where(u[4] < cl.preference_share, np.floor(u[5] * styles).astype(int), -1)
        hazard = cl.queue_abandon_per_week
        with np.errstate(divide="ignore"):
            abandon = -7.0 * np.log1p(-u[9]) / hazard if hazard > 0 else np.full(n, math.inf)
            first_logit = np.log(u[8]) - np.log1p(-u[8])
        attrs = {
            "domain": np.minimum(np.searchsorted(self.domain_cum, u[0], side="right"),
                                 len(self.domain_cum) - 1).tolist(),
            "complexity": complexity.tolist(),
            "severity": (severity * (1 - cl.transient_share)).tolist(),
            "transient": (severity * cl.transient_share).tolist(),
            "responsiveness": responsiveness.tolist(),
            "deterioration_prone": (u[2] < cl.deterioration_prone_share).tolist(),
            "engagement": (cl.engagement_sd * z[2]).tolist(),
            "preference": preference.tolist(),
            "single_need": (u[6] < cl.single_session_need_share).tolist(),
            "goal": (cl.goal_improvement_min + (cl.goal_improvement_max - cl.goal_improvement_min) * u[7]).tolist(),
            "first_attendance_logit": first_logit.tolist(),
            "abandon_after": abandon.tolist(),
            "obs_intake": np.clip(np.round(severity + cl.measurement_sd * z[3]), 0, DEPRESSION_MAX).tolist(),
            "anxiety_ratio": anxiety_ratio.tolist(),
            "anx_intake": np.clip(np.round(anxiety_ratio * severity + cl.anxiety_measurement_sd * z[5]), 0, ANXIETY_MAX).tolist(),
        }
        assert tuple(attrs) == Client.DRAWN
        self._rows = list(zip(*attrs.values(), strict=True))
        self._block = block

    def make(self, cid: int, arrival: float) -> Client:
        block, row = divmod(cid, BLOCK)
        if block != self._block:
            self._draw_block(block)
            self._first_chunk = self._draw_chunk(block, 0)
        c = Client(cid, arrival, self._rows[row])
        c.luck = array("f", self._first_chunk[row].tobytes())
        return c

    def _draw_chunk(self, block: int, chunk: int) -> np.ndarray:
        """Chunk ``chunk`` of block ``block``, drawn in single precision (plenty for decisions and noise); one
        bit generator is switched to each named draw's stream in turn."""
        layout, rng = self.layout, self._rng
        by_draw = np.empty((len(layout), BLOCK * APPOINTMENTS), dtype=np.float32)  # one contiguous row per draw
        for column, (name, kind) in enumerate(layout):
            rng.bit_generator.state = generator_state(self.seed, self.rep, f"luck:{name}", (block << 16) | chunk)
            if kind == "uniform":
                rng.random(dtype=np.float32, out=by_draw[column])
            else:
                rng.standard_normal(dtype=np.float32, out=by_draw[column])
        # to (client, appointment, draw) in one copy
        return np.ascontiguousarray(by_draw.reshape(len(layout), BLOCK, APPOINTMENTS).transpose(1, 2, 0)).reshape(
            BLOCK, APPOINTMENTS * len(layout))

    def _chunk(self, block: int, chunk: int) -> np.ndarray:
        key = (block, chunk)
        table = self._chunks.get(key)
        if table is None:
            table = self._chunks[key] = self._draw_chunk(block, chunk)
            if len(self._chunks) > self._cache_size:
                self._chunks.popitem(last=False)
        else:
            self._chunks.move_to_end(key)
        return table

    def luck(self, c: Client) -> array:
        """Random numbers for ``c``'s next ``APPOINTMENTS`` appointments, ``DRAWS`` each (in the order of
        ``APPOINTMENT_DRAWS``), as a compact typed array."""
        block, row = divmod(c.id, BLOCK)
        chunk = c.luck_used // APPOINTMENTS
        return array("f", self._chunk(block, chunk)[row].tobytes())


def draw_therapist(rng: random.Random, sc: Scenario, n_domains: int) -> TherapistTraits:
    """A new therapist's traits, drawn in a fixed order from their own stream (the same person under every
    policy): general and domain effectiveness, declared specialties, legibility, style, sustainable load,
    susceptibility to strain."""
    th = sc.therapists
    g = rng.gauss
    general = th.general_effectiveness_sd * g(0.0, 1.0)
    specific = [th.domain_effectiveness_sd * g(0.0, 1.0) for _ in range(n_domains)]
    # Declared specialties: the top few of a self-view whose correlation with true domain-specific skill is
    # the profile validity, tilted toward common problems by the specialty prevalence weight.
    acc = sc.matching.profile_validity
    sd = th.domain_effectiveness_sd or 1.0
    self_view = [acc * s / sd + math.sqrt(1 - acc * acc) * g(0.0, 1.0) for s in specific]
    tilt = th.specialty_prevalence_weight
    if tilt:
        shares = sc.clients.domain_prevalence.weights()
        total = sum(shares)
        self_view = [v + tilt * math.log(max(n_domains * w / total, 1e-9))
                     for v, w in zip(self_view, shares, strict=True)]
    top = sorted(range(n_domains), key=lambda d: -self_view[d])[: th.declared_specialties]
    legible = rng.random() < sc.matching.profile_clarity
    style = int(rng.random() * th.style_categories)
    load = th.sustainable_load_mean + th.sustainable_load_sd * g(0.0, 1.0)
    spread = sc.exhaustion.susceptibility_sd  # lognormal with mean 1: the same day strains some more than others
    susceptibility = math.exp(spread * g(0.0, 1.0) - spread * spread / 2.0)
    return TherapistTraits(general=general, domain_true=[general + s for s in specific],
                           declared=[1.0 if d in top else 0.0 for d in range(n_domains)], legible=legible,
                           style=style, load=min(th.sustainable_load_max, max(th.sustainable_load_min, load)),
                           susceptibility=susceptibility)
