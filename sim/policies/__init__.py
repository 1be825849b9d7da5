"""Policies: what the platform decides. Small objects registered by name, testable without SimPy.

Lever kinds: ``matching``, ``information``, ``capacity``, ``revenue``; the league table
ranking lives in :mod:`sim.policies.league`.
"""

from sim.policies import capacity, information, league, matching, revenue  # noqa: F401
