"""Imports run one way: each module imports (at module level) only modules of lower layers, as
documented in sim/__init__.py; importing the schema loads no policy, model or plot module."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT

LAYERS = {
    # what we assume (and the bottom helpers)
    "errors": 0, "scales": 0, "kpis": 0, "registry": 0, "streams": 0, "queueing": 0,
    "yamlio": 1, "safe_output": 1,
    "scenario": 2,
    "sizing": 3, "quick": 3, "register": 3, "experiments": 3, "entities": 3,
    # what is decided
    "rules": 1, "index": 4, "population": 4, "recorder": 4,
    "policies": 5, "policies.capacity": 5, "policies.information": 5, "policies.league": 5,
    "policies.load_estimate": 5, "policies.matching": 5, "policies.revenue": 5, "policies.hiring": 5,
    "policies.rematch": 5,
    # when things happen, recorded tables, measures
    "model": 6, "metrics": 6, "stats": 6, "claims": 6,
    "runner": 7, "warmup": 7,
    "outputs": 8, "sweep": 8, "calibration": 8, "calibration_search": 9, "robustness": 9,
    "calibration_report": 11, "robustness_report": 11,
    # what people see
    "cache": 8, "plots": 10, "study": 11, "brief": 11, "explore": 11,
    "explorer_app": 12, "cli": 12, "__main__": 13, "__init__": 0,
}


def module_level_imports(path) -> set[str]:
    """sim modules imported at module level (not under TYPE_CHECKING, not inside functions)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
            found |= sim_modules(node)
    return found


def sim_modules(node: ast.AST) -> set[str]:
    """The sim modules an import statement names (nothing for other statements)."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
        parts = node.module.split(".")[1:]
        if node.module == "sim":
            return {alias.name for alias in node.names}
        if parts[0] == "policies" and len(parts) == 1:
            return {f"policies.{alias.name}" for alias in node.names}
        return {".".join(parts)}
    if isinstance(node, ast.Import):
        return {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("sim.")}
    return set()


def module_name(path: Path) -> str:
    """The dotted name of a module under sim/ (a package by its own name)."""
    return path.relative_to(ROOT / "sim").with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")


def upward_imports(imports_of: Callable[[Path], set[str]], same_layer_allowed: bool,
                   allowed: Callable[[str, str], bool] = lambda name, imported: False) -> list[str]:
    """Every import (as ``imports_of`` finds them) of a module from its own layer or above (from above only,
    with ``same_layer_allowed``), except itself, a package's own modules, and the pairs ``allowed`` accepts."""
    wrong = []
    for path in (ROOT / "sim").rglob("*.py"):
        name = module_name(path)
        for imported in imports_of(path):
            if imported == name or (name == "policies" and imported.startswith("policies.")) or allowed(name, imported):
                continue
            if LAYERS[imported] > LAYERS[name] or (LAYERS[imported] == LAYERS[name] and not same_layer_allowed):
                wrong.append(f"{name} (layer {LAYERS[name]}) imports {imported} (layer {LAYERS[imported]})")
    return wrong


def test_every_module_has_a_layer():
    modules = {module_name(p) for p in (ROOT / "sim").rglob("*.py")}
    assert modules <= set(LAYERS), sorted(modules - set(LAYERS))


def test_imports_point_down_the_layers():
    wrong = upward_imports(module_level_imports, same_layer_allowed=False)
    assert not wrong, wrong


def test_importing_the_schema_loads_no_policy_model_or_plot_module():
    code = ("import sys, sim.scenario; print(sorted(m for m in sys.modules if m.startswith('sim')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "policies" not in loaded and "sim.model" not in loaded and "sim.plots" not in loaded, loaded


def all_imports(path) -> set[str]:
    """sim modules imported anywhere in the file, inside functions too (TYPE_CHECKING blocks excepted)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    return set().union(*(sim_modules(node) for node in ast.walk(tree) if id(node) not in skipped))


def test_no_module_imports_upward_even_inside_a_function():
    """Lazy imports may save start-up time, never turn the layers around (the policies' registry loader is the
    one documented exception: the registry loads the policy package by name when a choice is validated)."""
    wrong = upward_imports(all_imports, same_layer_allowed=True,
                           allowed=lambda name, imported: name == "registry" and imported == "policies")
    assert not wrong, wrong
