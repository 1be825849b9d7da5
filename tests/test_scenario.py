"""Scenario files: loading, extends, validation and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import Scenario, ScenarioError, apply_overrides, dump_scenario, load_scenario, parameter_table
from tests.conftest import SCENARIOS

SHIPPED = sorted(SCENARIOS.rglob("*.yaml"))


def test_all_required_scenarios_ship():
    names = {p.relative_to(SCENARIOS).as_posix() for p in SHIPPED}
    required = {"baseline.yaml", "fit_quota.yaml", "earliest_individual.yaml", "fit_individual.yaml",
                "league_table.yaml", "productivity_push.yaml", "talking_therapies_like.yaml",
                "verification/queue_mode.yaml"}
    assert required <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_round_trip(path: Path):
    sc = load_scenario(path)
    assert Scenario.model_validate(__import__("yaml").safe_load(dump_scenario(sc))) == sc


def test_extends_overrides_only_what_differs():
    base, fit = load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(SCENARIOS / "fit_individual.yaml")
    assert (fit.matching.policy, fit.capacity.policy) == ("fit", "individual")
    assert fit.demand == base.demand and fit.therapists == base.therapists
    push = load_scenario(SCENARIOS / "productivity_push.yaml")
    assert push.capacity.quota_per_day > base.therapists.sustainable_load_mean


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, fragments", [
    ("matching:\n  polcy: fit\n", ["matching.polcy", "unknown key"]),
    ("matching:\n  policy: nearest\n", ["matching.policy", "earliest", "fit", "hybrid"]),
    ("capacity:\n  policy: quota\n", ["capacity.policy", "team_quota", "individual"]),
    ("demand:\n  arrivals_per_week: lots\n", ["demand.arrivals_per_week", "number"]),
    ("demand:\n  arrivals_per_week: -3\n", ["demand.arrivals_per_week", "greater than or equal to 0"]),
    ("therapy:\n  no_show_prob: 1.5\n", ["therapy.no_show_prob", "less than or equal to 1"]),
    ("money:\n  revenue_model: freemium\n", ["money.revenue_model", "per_session", "subscription", "value_based"]),
    ("clients:\n  goal_improvement_min: 0.9\n  goal_improvement_max: 0.5\n", ["goal_improvement_min"]),
    ("- just\n- a list\n", ["top level must be a mapping"]),
    ("a: [unclosed\n", ["not valid YAML"]),
    ("extends: missing.yaml\n", ["not found", "missing.yaml"]),
])
def test_bad_files_name_the_field_and_what_is_allowed(tmp_path: Path, text: str, fragments: list[str]):
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, text))
    for fragment in fragments:
        assert fragment in str(err.value)


def test_extends_cycle_is_reported(tmp_path: Path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


@pytest.mark.parametrize("item, fragment", [
    ("matching.policy", "expected key.path=value"),
    ("matching.nope=1", "unknown key matching.nope"),
    ("nosection.x=1", "nosection"),
    ("demand.arrivals_per_week=abc", "demand.arrivals_per_week"),
    ("capacity.policy=best", "allowed: team_quota, individual"),
    ("horizon=3", "horizon"),
])
def test_bad_overrides(item: str, fragment: str):
    with pytest.raises(ScenarioError) as err:
        apply_overrides(Scenario(), [item])
    assert fragment in str(err.value)


def test_overrides_are_typed_and_validated():
    sc = apply_overrides(Scenario(), ["demand.arrivals_per_week=12.5", "performance.ranking.enabled=true",
                                      "therapy.session_cap=null", "therapy.session_cap=8"])
    assert sc.demand.arrivals_per_week == 12.5
    assert sc.performance.ranking.enabled is True
    assert sc.therapy.session_cap == 8


def test_every_parameter_has_unit_description_source_and_evidence():
    rows = parameter_table()
    assert len(rows) > 80
    for row in rows:
        if row["path"] in ("name", "description", "seed", "replications"):
            continue
        assert row["unit"] and row["description"] and row["source"] and row["evidence"], row["path"]


def test_every_registered_choice_field_refuses_an_unknown_name_and_names_the_allowed():
    """Choice fields are declared once (``registry=`` in the schema); one validator reads that metadata."""
    from sim.base.registry import names

    rows = [r for r in parameter_table() if r["registry"]]
    assert len(rows) >= 7
    for row in rows:
        with pytest.raises(ScenarioError, match=f"{row['path']}: unknown {row['registry']} 'nope'; allowed: "
                                                f"{', '.join(names(row['registry']))}"):
            apply_overrides(Scenario(), [f"{row['path']}=nope"])
        for name in names(row["registry"]):
            assert apply_overrides(Scenario(), [f"{row['path']}={name}"]) is not None
