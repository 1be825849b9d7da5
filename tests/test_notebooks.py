"""Notebooks: committed without outputs, and every one runs top to bottom in a fresh kernel (quick mode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_six_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_policy_explorer", "02_policy_comparison", "03_sensitivity",
                                           "04_validation", "05_investor_brief", "06_robustness"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_quick_mode(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SIM_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    if path.stem != "01_policy_explorer":  # the explorer draws into a widget output area
        assert images, f"{path.name} drew no chart"
    shown = "".join(str(o.get("data", {}).get("text/markdown", "")) for c in nb.cells if c.cell_type == "code"
                    for o in c.outputs)
    assert "Quick mode (`SIM_QUICK=1`): indicative only." in shown, f"{path.name} shows no quick-mode banner"
    assert os.environ["SIM_QUICK"] == "1"
