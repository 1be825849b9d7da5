"""Property-based tests (hypothesis): every loader either returns a valid object or raises the
project's own InputError, never anything else, whatever it is given."""

from __future__ import annotations

import contextlib
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.base.errors import InputError
from sim.base.yamlio import parse_yaml
from sim.scenario import Scenario, apply_overrides, load_scenario, parameter_table, validate
from sim.scenario.experiments import validate_sweep

PATHS = [row["path"] for row in parameter_table()]
SECTIONS = sorted({p.split(".")[0] for p in PATHS})
KEYS = [*sorted({k for p in PATHS for k in p.split(".")}), "extends", "nonsense", ""]
CI = settings(max_examples=150, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["earliest", "fit", "individual", "team_quota", "1e1", "nan"]))
trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)), max_leaves=25)


def _assert_valid(sc: Scenario) -> None:
    assert isinstance(sc, Scenario)
    for row in parameter_table():
        value: Any = sc
        for key in row["path"].split("."):
            value = getattr(value, key)
        if isinstance(value, float):
            assert math.isfinite(value), row["path"]


@CI
@given(st.dictionaries(st.sampled_from([*SECTIONS, "name", "seed", "replications", "junk"]), trees, max_size=6))
def test_random_scenario_trees_validate_or_raise_input_error(tree: dict[str, Any]):
    try:
        sc = validate(tree, "(random)")
    except InputError:
        return
    _assert_valid(sc)


@CI
@given(st.binary(max_size=300))
def test_random_bytes_as_a_scenario_file(tmp_path_factory, data: bytes):
    path = tmp_path_factory.mktemp("bytes") / "s.yaml"
    path.write_bytes(data)
    try:
        sc = load_scenario(path)
    except InputError:
        return
    _assert_valid(sc)


@CI
@given(st.text(max_size=200))
def test_random_text_as_yaml(text: str):
    with contextlib.suppress(InputError):
        parse_yaml(text, "(random)")


@CI
@given(st.lists(st.tuples(st.sampled_from(PATHS) | st.text(max_size=10),
                          st.text(max_size=10) | st.sampled_from(["true", "1e1", "nan", "-1", "{a: 1}", "[1", "None"])),
                max_size=5))
def test_random_set_lists(pairs: list[tuple[str, str]]):
    items = [f"{k}={v}" for k, v in pairs]
    try:
        sc = apply_overrides(Scenario(), items)
    except InputError:
        return
    _assert_valid(sc)


@CI
@given(st.dictionaries(st.sampled_from(["scenario", "reps", "seed", "set", "grid", "one_way", "two_way", "x"]),
                       trees, max_size=5))
def test_random_experiment_files(spec: dict[str, Any]):
    with contextlib.suppress(InputError):
        validate_sweep(spec, "(random)")


@CI
@given(st.lists(st.tuples(st.sampled_from(PATHS), scalars), min_size=1, max_size=3))
def test_mutated_valid_scenarios(changes: list[tuple[str, Any]]):
    """A valid scenario with a few leaves replaced: accepted with those values, or refused naming one of them."""
    tree = Scenario().model_dump()
    for path, value in changes:
        node = tree
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    try:
        sc = validate(tree, "(mutated)")
    except InputError as exc:
        assert any(path in str(exc) for path, _ in changes), str(exc)
        return
    _assert_valid(sc)


@CI
@given(st.dictionaries(st.sampled_from(["setting", "scenario", "reps", "seed", "passes", "params", "start", "x"]),
                       trees, max_size=6))
def test_random_search_specs(spec: dict[str, Any]):
    from sim.scenario.experiments import SearchSpec, _validate

    with contextlib.suppress(InputError):
        _validate(SearchSpec, spec, "(random)", "search spec")


@CI
@given(st.dictionaries(st.sampled_from(["contrasts", "parameters", "ranges", "sampler", "n", "reps", "seed", "kpis",
                                        "platform", "x"]), trees, max_size=6))
def test_random_robustness_experiments(spec: dict[str, Any]):
    from sim.runs.robustness import RobustnessExperiment
    from sim.scenario.experiments import _validate

    with contextlib.suppress(InputError):
        _validate(RobustnessExperiment, spec, "(random)", "experiment")


@CI
@given(st.text(alphabet="&*ab:[]{}, \n-!", max_size=120))
def test_random_anchor_and_alias_soup_never_hangs_or_crashes(text: str):
    """Anchors, aliases, tags and flow collections in any arrangement: a value or an InputError, at once."""
    with contextlib.suppress(InputError):
        parse_yaml(text, "(soup)")
