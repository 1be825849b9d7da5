"""Policies: what the platform decides. Small objects registered by name, testable without SimPy.

Lever kinds: ``matching``, ``information``, ``capacity``, ``load_estimate``, ``revenue``, ``hiring``,
``rematch``; the league table's ranking and the responses to it live in :mod:`sim.engine.policies.league`.
"""

from sim.engine.policies import (  # noqa: F401
    capacity,
    hiring,
    information,
    league,
    load_estimate,
    matching,
    rematch,
    revenue,
)
