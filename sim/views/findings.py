"""The default study's findings in plain words, generated (never written by hand) for ``docs/plain_language.md``.

``python -m sim.views.findings [RESULTS]`` copies a finished default study's verdict tables (``claims.csv`` and
``busy_claims.csv``, small files) from ``RESULTS`` (default ``results/``) to ``docs/study/`` and rewrites the
section between the markers of ``docs/plain_language.md`` from them; a test checks that the section is what the
shipped tables say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from sim.analysis.verdicts import CLEAR, GAMED, sentence
from sim.base.paths import PROJECT_DIR
from sim.runs.safe_output import atomic_write

SHIPPED = PROJECT_DIR / "docs" / "study"
PLAIN_LANGUAGE = PROJECT_DIR / "docs" / "plain_language.md"
FILES = ("claims.csv", "busy_claims.csv", "metadata.json")
START, END = "<!-- study-findings:start -->", "<!-- study-findings:end -->"
POLICY_WORDS = {
    "fit_quota": "Matching by fit instead of earliest availability",
    "earliest_individual": "Individual thresholds instead of a team quota",
    "fit_individual": "Quality first (fit matching and individual thresholds)",
    "feedback_only": "Outcome feedback without ranking",
    "league_table": "A league table of return rates (feedback plus ranking)",
    "productivity_push": "The productivity push (a quota of 6 sessions a day)",
}
ORDER = ("better", "worse", GAMED, "changed", "negligible", "no clear difference", "not estimable")


def _policy(scenario: str) -> str:
    name = scenario.rsplit(":", 1)[-1]
    return POLICY_WORDS.get(name, name)


def _lines(claims: pd.DataFrame, currency: str) -> list[str]:
    lines = []
    for scenario, group in claims.groupby("scenario", sort=False):
        group = group.assign(rank=group["verdict"].map({v: i for i, v in enumerate(ORDER)})).sort_values(
            "rank", kind="stable")
        clear = group[group["verdict"].isin(CLEAR)]
        rest = group[~group.index.isin(clear.index)]
        lines.append(f"- **{_policy(str(scenario))}**: "
                     + "; ".join(sentence(row, currency) for _, row in clear.iterrows())
                     + ("." if len(clear) else "no clear difference in any headline measure.")
                     + (" Otherwise: " + "; ".join(sentence(row, currency) for _, row in rest.iterrows()) + "."
                        if len(clear) and len(rest) else ""))
    return lines


def findings_block(claims: pd.DataFrame, busy_claims: pd.DataFrame, meta: dict) -> str:
    """The generated section: each policy's headline verdicts on the spare platform, then on the busy one."""
    currency = meta.get("currency", "USD")
    reps = meta.get("replications")
    lines = [START, "", "## The default study's answers, as it computes them", "",
             f"Generated from the default study (`python -m sim`, {reps} replications, seed {meta.get('seed')}, "
             f"commit {str(meta.get('git_commit', ''))[:10]}) by `python -m sim.views.findings` from "
             "`docs/study/claims.csv` and `docs/study/busy_claims.csv`. Each policy against the status quo on the "
             "same clients; intervals are Holm-adjusted over the nine headline measures; *negligible* means the "
             "whole interval lies within the smallest difference that matters.", "",
             "On the spare platform (the status quo leaves slots free every week):", "",
             *_lines(claims, currency), "",
             "On the busy platform (`scenarios/busy_platform.yaml`: a waiting list that is there):", "",
             *_lines(busy_claims, currency), "", END]
    return "\n".join(lines)


def shipped() -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """The shipped verdict tables and their run's metadata (None when not shipped)."""
    if not all((SHIPPED / f).is_file() for f in FILES):
        return None
    return (pd.read_csv(SHIPPED / "claims.csv"), pd.read_csv(SHIPPED / "busy_claims.csv"),
            json.loads((SHIPPED / "metadata.json").read_text()))


def update_plain_language(doc: Path = PLAIN_LANGUAGE) -> bool:
    """Rewrite the generated section of ``doc`` from the shipped tables; True if it changed."""
    found = shipped()
    if found is None:
        return False
    return replace_section(doc, START, END, findings_block(*found))


def replace_section(doc: Path, start: str, end: str, block: str) -> bool:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) in place of the section between those
    markers in ``doc``, or at its end when there is none; True if the file changed."""
    text = doc.read_text()
    new = (text[:text.index(start)] + block + text[text.index(end) + len(end):]) if start in text \
        else text.rstrip() + "\n\n" + block + "\n"
    if new != text:
        atomic_write(doc, new.encode())  # whole or not at all
    return new != text


def ship(results: Path) -> None:
    """Copy a finished default study's verdict tables and metadata to ``docs/study/``."""
    missing = [f for f in FILES if not (results / f).is_file()]
    if missing:
        raise SystemExit(f"{results}: not a finished default study (missing {', '.join(missing)}); run python -m sim")
    SHIPPED.mkdir(parents=True, exist_ok=True)
    for f in FILES:  # each file whole or not at all
        atomic_write(SHIPPED / f, (results / f).read_bytes())


if __name__ == "__main__":
    ship(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_DIR / "results")
    print("updated" if update_plain_language() else "unchanged", PLAIN_LANGUAGE)
