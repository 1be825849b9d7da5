"""Writing a run folder: the chosen tables, scenario.yaml and metadata.json, all at once or nothing.

Folder safety (what may be replaced, what is never touched) lives in :mod:`sim.runs.safe_output`.
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.base.paths import PACKAGE_DIR
from sim.runs.runner import StudyResult
from sim.runs.safe_output import OutputError, human_size, write_folder, written_size
from sim.scenario import dump_scenario

MARKER = "metadata.json"
TABLE_CHOICES = ("clients", "sessions", "therapists", "weekly")
DEFAULT_TABLES = ("clients", "therapists", "weekly")
FORMATS = ("csv", "parquet")

__all__ = ["DEFAULT_TABLES", "FORMATS", "MARKER", "TABLE_CHOICES", "OutputError", "git_commit", "metadata_for",
           "parse_tables", "table_files", "versions", "write_run", "write_table"]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("fifty-minutes", "simpy", "numpy", "pandas", "pydantic", "scipy", "matplotlib", "pyarrow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the code this process runs, read once (at the first call, which the command line makes as
    it starts: a run that outlives a commit still names the code it ran), with ``+dirty`` when tracked files had
    uncommitted changes; '' outside a git checkout."""
    try:
        here = str(PACKAGE_DIR)
        head = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if head and dirty else "")


def metadata_for(command: Sequence[str] | None, *, seed: Any, replications: Any, wall_seconds: float | None,
                 **extra: Any) -> dict[str, Any]:
    """The top-level metadata every command writes: seed, replications, command, versions, wall time."""
    return {"seed": seed, "replications": replications, "wall_seconds": wall_seconds,
            "command": list(command) if command is not None else sys.argv,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **extra, "versions": versions(), "git_commit": git_commit()}


def parse_tables(text: str) -> tuple[str, ...]:
    """``--tables`` value: ``default``, ``all``, ``none`` or a comma list of table names."""
    text = text.strip()
    if text == "default":
        return DEFAULT_TABLES
    if text == "all":
        return TABLE_CHOICES
    if text == "none":
        return ()
    chosen = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in chosen if t not in TABLE_CHOICES]
    if unknown or not chosen:
        raise OutputError(f"--tables {text!r}: unknown table {', '.join(unknown) or '(empty)'}; allowed: "
                          f"{', '.join(TABLE_CHOICES)} (comma-separated), or default, all, none")
    return tuple(dict.fromkeys(chosen))


def table_files(tables: Sequence[str], fmt: str) -> list[str]:
    return [f"{t}.{fmt}" for t in tables]


def write_table(table: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        table.to_parquet(path, index=False, compression="zstd")
    else:
        table.to_csv(path, index=False)


def write_run(result: StudyResult, out: Path, command: list[str] | None = None,
              comparison_baseline: str | None = None, tables: Sequence[str] | None = None, fmt: str = "csv",
              force: bool = False) -> str:
    """Write replications, summary, (comparison), the chosen tables, scenario.yaml and metadata.json to ``out``.

    Returns the size written, in words.
    """
    chosen = tuple(result.tables) if tables is None else tuple(tables)

    def fill(tmp: Path) -> None:
        result.replications.to_csv(tmp / "replications.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.groups.to_csv(tmp / "groups.csv", index=False)
        if comparison_baseline is not None:
            result.compare(comparison_baseline).to_csv(tmp / "comparison.csv", index=False)
            result.compare_groups(comparison_baseline).to_csv(tmp / "group_comparison.csv", index=False)
        for name in chosen:
            write_table(result.tables[name], tmp / f"{name}.{fmt}", fmt)
        (tmp / "scenario.yaml").write_text("\n---\n".join(dump_scenario(s) for s in result.scenarios))
        meta = metadata_for(command, seed=result.meta.get("seed"), replications=result.meta.get("replications"),
                            wall_seconds=result.meta.get("wall_seconds"), scenarios=[s.name for s in result.scenarios],
                            jobs=result.meta.get("jobs"), tables=list(chosen), format=fmt,
                            warmup=result.meta.get("warmup"))
        (tmp / MARKER).write_text(json.dumps(meta, indent=2, default=str))

    names = write_folder(out, fill, force=force)
    return human_size(written_size(out, names))
