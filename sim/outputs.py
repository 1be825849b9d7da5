"""Writing a run folder: all tables at once, or nothing (written aside, then moved into place)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from sim.runner import StudyResult
from sim.scenario import dump_scenario

MARKER = "metadata.json"


class OutputError(ValueError):
    """The output folder cannot be used; the message says why."""


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("fifty-minutes", "simpy", "numpy", "pandas", "pydantic", "scipy", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit() -> str:
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def check_target(out: Path) -> None:
    """Refuse a folder that exists and is not an earlier run folder (we never clobber other files)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise OutputError(f"--out {out}: exists and is not an earlier run folder (no {MARKER}); "
                          "choose a new or empty folder")


def write_atomically(out: Path, fill: Callable[[Path], None], merge: bool = False) -> None:
    """Let ``fill`` write into a fresh folder beside ``out``, then move it into place.

    With ``merge`` the files are moved into ``out`` one by one (other files there are kept),
    so a shared folder such as ``results/`` can hold several outputs.
    """
    if not merge:
        check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(tmp)
        if merge:
            out.mkdir(exist_ok=True)
            for item in tmp.iterdir():
                os.replace(item, out / item.name)
            tmp.rmdir()
            return
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_run(result: StudyResult, out: Path, command: list[str] | None = None,
              comparison_baseline: str | None = None) -> None:
    """Write replications, summary, (comparison), the tables, scenario.yaml and metadata.json to ``out``."""

    def fill(tmp: Path) -> None:
        result.replications.to_csv(tmp / "replications.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        if comparison_baseline is not None:
            result.compare(comparison_baseline).to_csv(tmp / "comparison.csv", index=False)
        for name, table in result.tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        if len(result.scenarios) == 1:
            (tmp / "scenario.yaml").write_text(dump_scenario(result.scenarios[0]))
        else:
            (tmp / "scenario.yaml").write_text("\n---\n".join(dump_scenario(s) for s in result.scenarios))
        meta = {
            **result.meta,
            "scenarios": [s.name for s in result.scenarios],
            "seeds": {s.name: result.meta.get("seed") or s.seed for s in result.scenarios},
            "command": command if command is not None else sys.argv,
            "versions": versions(),
            "git_commit": git_commit(),
        }
        (tmp / MARKER).write_text(json.dumps(meta, indent=2, default=str))

    write_atomically(out, fill)
