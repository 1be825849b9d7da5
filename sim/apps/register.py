"""The assumptions register, generated from the scenario schema so it cannot drift.

``python -m sim register`` rewrites ``docs/assumptions.md`` (``--check`` only says whether it is current, exit 1
if not); a test fails when the file is stale or a parameter lacks a unit, range, source or evidence grade.
"""

from __future__ import annotations

import sys

from sim.base.paths import PROJECT_DIR
from sim.scenario import parameter_table

DOC = PROJECT_DIR / "docs" / "assumptions.md"
LEVER_SECTIONS = ("matching.", "capacity.", "performance.", "rematch.", "hiring.", "platform.", "money.",
                  "queue_mode.", "horizon.")


def _cell(value: object) -> str:
    text = "none" if value is None else str(value)
    return text.replace("|", "\\|")


def _bounds(b: dict) -> str:
    sym = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return ", ".join(f"{sym.get(k, k)} {v}" for k, v in b.items() if k in sym)


def render() -> str:
    rows = [r for r in parameter_table() if "." in r["path"]]
    assumed = [r for r in rows if not r["path"].startswith(LEVER_SECTIONS)]
    levers = [r for r in rows if r["path"].startswith(LEVER_SECTIONS)]
    head = ("| parameter | default | unit | sensitivity range | valid values | evidence | source or reasoning | meaning |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- |")

    def table(rs: list[dict]) -> str:
        return "\n".join([head] + [
            f"| `{r['path']}` | {_cell(r['default'])} | {_cell(r['unit'])} | "
            f"{_cell(r['range']) if r['range'] else 'n/a (lever or fixed)'} | {_bounds(r['bounds'])} | "
            f"{r['evidence']} | {_cell(r['source'])} | {_cell(r['description'])} |" for r in rs])

    counts = {g: sum(r["evidence"] == g for r in assumed) for g in ("strong", "moderate", "weak", "assumption")}
    return "\n".join([
        "# Assumptions register",
        "",
        "Generated from the scenario schema (`sim/scenario/schema.py`) by `python -m sim register`; do not edit by hand.",
        "Every default carries its unit, a plausible range for sensitivity analysis, a source or a stated",
        "assumption, and an evidence grade: *strong* (meta-analysis or large routine dataset), *moderate*",
        "(published figure), *weak* (direction supported, size assumed), *assumption* (our reasoning only).",
        "*Calibrated* means the value was set so the default scenarios reproduce the published targets in",
        "`calibration/targets.yaml` (see `docs/model.md` and `calibration/`).",
        "",
        f"Model parameters by evidence grade: {', '.join(f'{k} {v}' for k, v in counts.items())}.",
        "",
        "## What we assume about clients, therapy and therapists",
        "",
        table(assumed),
        "",
        "## Levers and settings (what a platform decides; defaults are the status quo)",
        "",
        table(levers),
        "",
    ])


def main(check: bool = False) -> int:
    text = render()
    if check:
        current = DOC.is_file() and DOC.read_text() == text
        print(f"{DOC} is {'current' if current else 'stale: run python -m sim register'}")
        return 0 if current else 1
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
