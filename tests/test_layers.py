"""Imports run one way: the package's folders are its layers (sim/__init__.py lists them in order), and a
module imports only from its own folder or folders before it, at module level and inside functions alike;
importing the schema loads no policy, model or chart module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SIM = ROOT / "sim"
#: the layers, bottom first (the order sim/__init__.py documents)
ORDER = ("base", "scenario", "engine", "analysis", "runs", "views", "apps")
#: the one documented exception: the registry loads the policy package by name when a choice is validated
ALLOWED = {("base.registry", "engine.policies")}


def layer_of(module: str) -> int:
    """The rank of a dotted module name below sim (``runs.cache`` -> 4); the package's own files rank above all."""
    top = module.split(".")[0]
    return ORDER.index(top) if top in ORDER else len(ORDER)


def module_name(path: Path) -> str:
    return path.relative_to(SIM).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")


def imported_modules(node: ast.AST) -> set[str]:
    """The sim modules an import statement names, below sim (nothing for other statements)."""
    if isinstance(node, ast.ImportFrom) and node.module and (node.module == "sim" or node.module.startswith("sim.")):
        base = node.module.removeprefix("sim").lstrip(".")
        return {f"{base}.{a.name}".lstrip(".") if not base or base in ORDER else base for a in node.names}
    if isinstance(node, ast.Import):
        return {a.name.removeprefix("sim.") for a in node.names if a.name.startswith("sim.")}
    return set()


def imports_in(path: Path, module_level_only: bool) -> set[str]:
    """sim modules a file imports (TYPE_CHECKING blocks excepted), at module level or anywhere."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    return set().union(*(imported_modules(n) for n in nodes if id(n) not in skipped), set())


def upward_imports(module_level_only: bool) -> list[str]:
    wrong = []
    for path in sorted(SIM.rglob("*.py")):
        name = module_name(path)
        if layer_of(name) == len(ORDER):  # sim/__init__ (the lazy façade) and sim/__main__
            continue
        for imported in imports_in(path, module_level_only):
            if layer_of(imported) > layer_of(name) and (name, imported) not in ALLOWED:
                wrong.append(f"{name} ({ORDER[layer_of(name)]}) imports {imported}")
    return wrong


def test_every_module_lives_in_a_layer_folder():
    loose = [module_name(p) for p in SIM.glob("*.py") if p.stem not in ("__init__", "__main__")]
    folders = sorted(p.name for p in SIM.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert not loose, f"modules outside the layer folders: {loose}"
    assert folders == sorted(ORDER), folders


def test_the_package_docstring_lists_the_layers_in_order():
    import sim

    positions = [sim.__doc__.index(f":mod:`sim.{layer}`") for layer in ORDER]
    assert positions == sorted(positions)


def test_imports_point_down_the_layers():
    wrong = upward_imports(module_level_only=True)
    assert not wrong, wrong


def test_no_module_imports_upward_even_inside_a_function():
    """Lazy imports may save start-up time, never turn the layers around."""
    wrong = upward_imports(module_level_only=False)
    assert not wrong, wrong


def test_the_check_sees_an_upward_import(tmp_path):
    bad = ast.parse("from sim.views.charts import colours\nfrom sim.base import kpis\n")
    found = set().union(*(imported_modules(n) for n in bad.body))
    assert found == {"views.charts", "base.kpis"}
    assert layer_of("views.charts") > layer_of("engine.model") > layer_of("base.kpis")


def test_importing_the_schema_loads_no_policy_model_or_chart_module():
    code = "import sys, sim.scenario; print(sorted(m for m in sys.modules if m.startswith('sim')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "policies" not in loaded and "sim.engine" not in loaded and "sim.views" not in loaded, loaded


def test_the_facade_names_resolve():
    import sim

    for name in sim.__all__:
        assert getattr(sim, name) is not None


def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Using it from Python")
    block = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    return block


def test_the_readme_python_example_uses_the_facade():
    code = readme_python_example()
    assert code.startswith("from sim import ") and "run_scenarios" in code and "claims" in code


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path):
    """The README's Python example, as written, from the project folder: it prints the paired difference and the
    verdicts in words."""
    proc = subprocess.run([sys.executable, "-c", readme_python_example()], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**__import__("os").environ, "SIM_NO_PROGRESS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "burnout_share" in proc.stdout and ("better" in proc.stdout or "no clear difference" in proc.stdout
                                               or "worse" in proc.stdout or "negligible" in proc.stdout)
