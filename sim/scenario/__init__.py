"""What we assume: the scenario schema (:mod:`sim.scenario.schema`), reading and overriding scenario
files (:mod:`sim.scenario.loading`) and the experiment files of sweeps, searches and robustness runs
(:mod:`sim.scenario.experiments`). The names most callers need are importable from here."""

from sim.scenario.loading import (
                                  apply_overrides,
                                  dump_scenario,
                                  format_validation_error,
                                  load_scenario,
                                  overridden_name,
                                  parse_overrides,
                                  safe_name,
                                  scenario_path,
                                  validate,
                                  value_at,
)
from sim.scenario.schema import (
                                  DOMAINS,
                                  SCENARIO_DIR,
                                  Capacity,
                                  Hiring,
                                  Matching,
                                  Money,
                                  Ranking,
                                  Rematch,
                                  Scenario,
                                  ScenarioError,
                                  parameter_table,
)

__all__ = ["DOMAINS", "SCENARIO_DIR", "Capacity", "Hiring", "Matching", "Money", "Ranking", "Rematch", "Scenario",
           "ScenarioError", "apply_overrides", "dump_scenario", "format_validation_error", "load_scenario",
           "overridden_name", "parameter_table", "parse_overrides", "safe_name", "scenario_path", "validate", "value_at"]
