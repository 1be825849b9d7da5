"""Fifty Minutes: a discrete-event policy simulation of a therapy platform.

Layers, read in one direction (a module imports, at module level, only from layers below it;
``tests/test_layers.py`` checks it):

0-1. bottom helpers: :mod:`sim.errors`, :mod:`sim.scales` (clinical thresholds), :mod:`sim.kpis`
     (the KPI registry and formatter), :mod:`sim.registry`, :mod:`sim.streams`, :mod:`sim.yamlio`,
     :mod:`sim.safe_output`, :mod:`sim.rules` (the behaviour rules of an appointment and a therapist day);
2-3. what we assume: :mod:`sim.scenario` (schema, loading, overrides; it imports no policy: the
     registry loads them when a choice is validated), :mod:`sim.experiments`, :mod:`sim.entities`;
4-5. what is decided: :mod:`sim.index`, :mod:`sim.population`, :mod:`sim.recorder`, :mod:`sim.policies`;
6.   when things happen and what is measured: :mod:`sim.model`, :mod:`sim.metrics`, :mod:`sim.stats`,
     :mod:`sim.claims`;
7-9. runs: :mod:`sim.runner`, :mod:`sim.warmup`, :mod:`sim.outputs`, :mod:`sim.sweep`, :mod:`sim.cache`,
     :mod:`sim.calibration`, :mod:`sim.robustness`;
10-12. what people see: :mod:`sim.plots`, :mod:`sim.calibration_report`, :mod:`sim.robustness_report`,
     :mod:`sim.study`, :mod:`sim.brief`, :mod:`sim.explore`, :mod:`sim.explorer_app`, :mod:`sim.cli`.

No module imports upward, not even inside a function (the test checks both); the one exception is
the registry, which loads the policy package by name when a choice is first validated.
"""

__version__ = "0.1.0"
