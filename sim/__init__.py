"""Fifty Minutes: a discrete-event policy simulation of a therapy platform.

The package's folders are its layers, read in one direction: a module imports only from its own
folder or the folders before it in this list (``tests/test_layers.py`` checks it, inside functions too):

1. :mod:`sim.base`: errors, paths, clinical scales, the KPI vocabulary, the policy registry, random
   streams, safe YAML;
2. :mod:`sim.scenario`: what we assume (the schema, loading and overrides, experiment files);
3. :mod:`sim.engine`: when things happen and what is decided (entities, availability, population,
   rules, recorder, the SimPy model, the policies);
4. :mod:`sim.analysis`: what is measured (KPIs, statistics, verdicts, queueing theory);
5. :mod:`sim.runs`: running it (replications, warm-up, sweeps, robustness, calibration, cache, outputs);
6. :mod:`sim.views`: what people see (charts, the study, calibration, robustness and brief reports);
7. :mod:`sim.apps`: what people use (the command line, the explorer, the assumptions register).

The one exception: the registry (base) loads the policy package by name when a choice is validated.

The names most users need are importable from here (loaded on first use, so ``import sim.scenario``
stays light)::

    from sim import load_scenario, run_scenarios, claims, sentence
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_FACADE = {
    "Scenario": "sim.scenario", "load_scenario": "sim.scenario", "apply_overrides": "sim.scenario",
    "scenario_path": "sim.scenario", "run_scenarios": "sim.runs.runner", "claims": "sim.analysis.verdicts",
    "sentence": "sim.analysis.verdicts", "PlatformModel": "sim.engine.model",
}
__all__ = sorted(_FACADE)


def __getattr__(name: str) -> Any:
    if name not in _FACADE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(import_module(_FACADE[name]), name)
