"""Load estimates: what the platform believes each therapist's sustainable load to be.

Individual thresholds book each therapist to this estimate, not to the truth. Pure objects
(no SimPy): ``initial`` gives the estimate at hiring, ``update`` revises it from the
therapist's recent exhaustion (or keeps it).

>>> import random
>>> from sim.scenario import Capacity
>>> Exact(Capacity()).initial(4.0, random.Random(1))
4.0
>>> r = SelfReport(Capacity(self_report_bias=0.1, self_report_sd=0.0))
>>> round(r.initial(4.0, random.Random(1)), 3)
4.421
>>> learned = Learned(Capacity(load_estimate="learned", learn_step=0.1, learn_target_exhaustion=0.4))
>>> learned.update(5.0, recent_exhaustion=0.6), learned.update(5.0, recent_exhaustion=0.1), learned.update(5.0, 0.41)
(4.5, 5.5, None)
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Protocol

from sim.base.registry import register

if TYPE_CHECKING:
    from sim.scenario import Capacity

#: Learned estimates stay within this factor of the first one (a platform would not book 1 or 20 a day).
BAND = 0.05  # no change while recent exhaustion is within this of the target


class LoadEstimate(Protocol):
    learns: bool

    def initial(self, true_load: float, rng: random.Random) -> float: ...

    def update(self, estimate: float, recent_exhaustion: float) -> float | None: ...


@register("load_estimate", "exact")
class Exact:
    """The platform knows each therapist's true sustainable load (an upper bound)."""

    learns = False

    def __init__(self, cfg: Capacity):
        pass

    def initial(self, true_load: float, rng: random.Random) -> float:
        return true_load

    def update(self, estimate: float, recent_exhaustion: float) -> float | None:
        return None


@register("load_estimate", "self_report")
class SelfReport:
    """Therapists state their load: the truth times a log-normal error with a bias (over-confidence)."""

    learns = False

    def __init__(self, cfg: Capacity):
        self.bias, self.sd = cfg.self_report_bias, cfg.self_report_sd

    def initial(self, true_load: float, rng: random.Random) -> float:
        return true_load * math.exp(self.bias + self.sd * rng.gauss(0.0, 1.0))

    def update(self, estimate: float, recent_exhaustion: float) -> float | None:
        return None


@register("load_estimate", "learned")
class Learned(SelfReport):
    """Start from self-report; every ``learn_weeks`` move the estimate a step toward the load at which the
    therapist's recent mean exhaustion sits at the target (down when above it, up when below)."""

    learns = True

    def __init__(self, cfg: Capacity):
        super().__init__(cfg)
        self.step, self.target = cfg.learn_step, cfg.learn_target_exhaustion

    def update(self, estimate: float, recent_exhaustion: float) -> float | None:
        if recent_exhaustion > self.target + BAND:
            return round(estimate * (1 - self.step), 9)
        if recent_exhaustion < self.target - BAND:
            return round(estimate * (1 + self.step), 9)
        return None
