"""Fifty Minutes: a discrete-event policy simulation of a therapy platform.

Layers, read in one direction: :mod:`sim.scenario` (what we assume), :mod:`sim.policies`
(what is decided), :mod:`sim.model` (when things happen), :mod:`sim.recorder` (tables),
:mod:`sim.metrics` (KPIs), :mod:`sim.runner` (replications), :mod:`sim.plots` and
:mod:`sim.study` (what people see), :mod:`sim.cli` (the command line).
"""

__version__ = "0.1.0"
