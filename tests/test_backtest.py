"""The back-test: short seeded runs of several scenarios reproduce the committed golden table exactly.

A failure means model results changed. If the change is deliberate, regenerate with
``python -m tests.golden`` and give the reason in the commit message.
"""

from __future__ import annotations

import json

import pytest

from tests.golden import CASES, GOLDEN, fingerprint

GOLD = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("case", list(CASES))
def test_results_are_unchanged(case: str):
    assert case in GOLD, f"no golden entry for {case}: run python -m tests.golden"
    now = fingerprint(case)
    moved = [t for t in now["tables"] if now["tables"][t] != GOLD[case]["tables"][t]]
    kpis = {k: (GOLD[case]["kpis"].get(k), v) for k, v in now["kpis"].items() if GOLD[case]["kpis"].get(k) != v}
    assert not moved and not kpis, f"{case}: tables changed: {moved}; KPIs (golden, now): {kpis}"


def test_golden_cases_differ_from_each_other():
    """Each case exercises something: no two cases give the same tables."""
    digests = [json.dumps(GOLD[c]["tables"], sort_keys=True) for c in CASES]
    assert len(set(digests)) == len(digests)
