"""Policies: what the platform decides. Small objects registered by name, testable without SimPy.

Lever kinds: ``matching``, ``information``, ``capacity``, ``load_estimate``, ``revenue``; the
league table ranking lives in :mod:`sim.policies.league`.
"""

from sim.policies import capacity, information, league, load_estimate, matching, revenue  # noqa: F401
