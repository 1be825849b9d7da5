"""Scenario files and overrides: reading YAML (a file may ``extends:`` another, path relative to itself,
and override only what differs), ``--set key.path=value`` overrides, names and paths of scenarios.

>>> apply_overrides(Scenario(), ["matching.policy=fit"]).matching.policy
'fit'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.base.errors import InputError
from sim.base.yamlio import parse_yaml, read_yaml
from sim.scenario.schema import MAX_EXTENDS, RENAMED, SCENARIO_DIR, Overrides, Scenario, ScenarioError

_NUMBER_TYPES = {"int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"}


def _describe(e: Any) -> str:
    """One validation problem in words a user can act on."""
    value = e.get("input")
    if e["type"] == "extra_forbidden":
        return "unknown key (not a field here; check the spelling)"
    if e["type"] == "finite_number":
        return "not a number (NaN and infinity are not allowed)"
    if e["type"] in _NUMBER_TYPES:
        whole = e["type"].startswith("int")
        wanted = "a whole number" if whole else "a number"
        if isinstance(value, bool):
            return f"expected {wanted}, got {str(value).lower()} (a yes/no value)"
        if isinstance(value, str):
            return f"expected {wanted}, got the text {value[:40]!r}"
        if whole and isinstance(value, float):
            return f"expected a whole number, got {value}"
        return f"expected {wanted}, got {type(value).__name__}"
    if e["type"] == "string_pattern_mismatch" and e["loc"] == ("name",):
        return (f"{value!r} is not a safe name: use letters, digits, '_', '-' and '.' (not first), "
                "at most 100 characters")
    if e["type"] == "string_type":
        return f"expected text, got {value!r}"[:120]
    if e["type"] == "bool_type":
        return f"expected true or false, got {value!r}"[:120]
    if e["type"] == "model_type":
        return f"expected a section (a mapping of keys), got {type(value).__name__}"
    return str(e["msg"]).removeprefix("Value error, ")


def format_validation_error(err: ValidationError, origin: str, what: str = "scenario") -> str:
    """All problems of a pydantic error, each as 'field.path: what is wrong', after the origin."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        parts.append(f"{loc}: {_describe(e)}")
    return f"invalid {what} {origin}: " + "; ".join(parts)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_tree(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    try:
        path = path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError(f"scenario file {str(path)[:200]!r}: cannot be opened ({exc})") from None
    if path in seen:
        raise ScenarioError(f"scenario {path}: 'extends' forms a cycle")
    if len(seen) > MAX_EXTENDS:
        raise ScenarioError(f"scenario {path}: 'extends' chain longer than {MAX_EXTENDS} files")
    try:
        data = read_yaml(path, "scenario")
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {path}: the top level must be a mapping of sections, got {type(data).__name__}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(f"scenario {path}: 'extends' must be the path of another scenario file")
    return _deep_merge(_read_tree(path.parent / parent, (*seen, path)), data)


def validate(tree: dict[str, Any], origin: str = "") -> Scenario:
    """Build a Scenario from a plain dict, turning validation errors into ScenarioError."""
    try:
        return Scenario.model_validate(tree)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, origin)) from None
    except RecursionError:
        raise ScenarioError(f"invalid scenario {origin}: nested too deeply") from None


def load_scenario(path: str | Path, overrides: Overrides | None = None) -> Scenario:
    """Read a YAML scenario (following ``extends``) and apply overrides (see :func:`apply_overrides`)."""
    path = Path(path)
    tree = _read_tree(path)
    tree.setdefault("name", path.stem)
    scenario = validate(tree, str(path))
    return apply_overrides(scenario, overrides or {})


def _field_type(dotted: str) -> Any:
    """The annotation of the scenario field at a dotted path, or None if there is no such field."""
    model: Any = Scenario
    for key in dotted.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
            return None
        model = model.model_fields[key].annotation
    return model


def _number_or_text(raw: str, annotation: Any = None) -> Any:
    """A --set value: text for a text field, ``None``/``null`` for an optional one, else YAML
    (number-like text such as 1e1 read as a number)."""
    if annotation is str:
        return raw
    if raw.strip() in ("None", "none", "null", "~") and type(None) in getattr(annotation, "__args__", ()):
        return None
    value = parse_yaml(raw, f"--set value {raw[:40]!r}") if raw.strip() else ""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if math.isfinite(number) and number.is_integer() else number
    return value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Command-line ``key.path=value`` strings as a mapping of dotted paths to values.

    >>> parse_overrides(["matching.policy=fit", "therapy.session_cap=null", "horizon.measured_weeks=1e1"])
    {'matching.policy': 'fit', 'therapy.session_cap': None, 'horizon.measured_weeks': 10}
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"bad --set {item!r}: expected key.path=value, e.g. matching.policy=fit")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not all(key.split(".")):
            raise ScenarioError(f"bad --set {item!r}: empty key in {key!r}")
        try:
            out[key] = _number_or_text(raw, _field_type(key))
        except InputError as exc:
            raise ScenarioError(f"bad --set {item!r}: {exc}") from None
    return out


def apply_overrides(scenario: Scenario, overrides: Overrides) -> Scenario:
    """Return a new Scenario with overrides, validated like a file.

    ``overrides`` maps dotted paths to values (``{"therapy.session_cap": None}``); a list of
    command-line ``key.path=value`` strings is parsed first. A mapping given for a section is
    merged into it (other fields keep their values).
    """
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(list(overrides))
    if not overrides:
        return scenario
    overrides = {RENAMED.get(k, k.replace("performance.league_table.", "performance.ranking.")): v
                 for k, v in overrides.items()}
    tree = scenario.model_dump()
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        node = tree
        for depth, k in enumerate(keys[:-1]):
            if not isinstance(node.get(k), dict):
                where = ".".join(keys[: depth + 1])
                raise ScenarioError(f"bad override {dotted}: {where} is not a scenario section")
            node = node[k]
        if keys[-1] not in node:
            raise ScenarioError(f"bad override {dotted}: unknown key {dotted}")
        if isinstance(value, dict) and isinstance(node[keys[-1]], dict):
            node[keys[-1]] = _deep_merge(node[keys[-1]], value)
        else:
            node[keys[-1]] = value
    return validate(tree, "(after overrides)")


def value_at(scenario: Scenario, path: str) -> Any:
    """The value of the field at a dotted path, e.g. ``value_at(sc, "capacity.policy")``."""
    node: Any = scenario
    for key in path.split("."):
        node = getattr(node, key)
    return node


def scenario_path(name: str) -> Path:
    """The shipped scenario file called ``name`` (``scenarios/<name>.yaml``)."""
    return SCENARIO_DIR / f"{name}.yaml"


def safe_name(text: str) -> str:
    """``text`` reduced to the characters a scenario name may hold.

    >>> safe_name("my sweep (v2)")
    'my_sweep_v2'
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")
    cleaned = cleaned.lstrip(".") or "unnamed"
    return cleaned[:100]


def overridden_name(name: str, overrides: Mapping[str, Any]) -> str:
    """A readable, safe name for ``name`` with overrides, distinct from the name without them.

    >>> overridden_name("baseline", {"matching.policy": "fit", "capacity.policy": "individual"})
    'baseline__matching.policy-fit__capacity.policy-individual'
    """
    if not overrides:
        return name
    suffix = "__".join(f"{k}-{v}" for k, v in overrides.items())
    full = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}__{suffix}")
    if len(full) <= 60:
        return full
    digest = hashlib.blake2b(json.dumps(overrides, sort_keys=True, default=str).encode(), digest_size=4).hexdigest()
    return f"{safe_name(name)[:60]}__set-{digest}"


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (loads back to an equal Scenario)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
