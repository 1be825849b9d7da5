"""The back-test: short seeded runs of several scenarios reproduce the committed golden tables.

Floating-point columns agree to a relative 1e-9 (machines differ in the last bits of libm and numpy),
everything else exactly. A failure names the case, table, column and first differing row. If the change
is deliberate, regenerate with ``python -m tests.golden`` and give the reason in the commit message.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.golden import CASES, TABLES, case_tables, differences, golden_path, read_golden


@pytest.mark.parametrize("case", list(CASES))
def test_results_are_unchanged(case: str):
    now = case_tables(case)
    missing = [t for t in now if not golden_path(case, t).exists()]
    assert not missing, f"{case}: no golden {missing}: run python -m tests.golden {case}"
    found = [d for t, frame in now.items() for d in differences(read_golden(case, t), frame, f"{case}.{t}")]
    assert not found, "results changed:\n" + "\n".join(found)


def test_golden_cases_differ_from_each_other():
    """Each case exercises something: no two cases have the same clients or therapists tables."""
    for table in ("clients", "therapists"):
        frames = {case: read_golden(case, table) for case in CASES}
        names = list(frames)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                assert not frames[first].equals(frames[second]), f"{first} and {second} give the same {table}"


def test_a_moved_value_is_named_by_table_column_and_row():
    golden = read_golden("baseline", "clients")
    moved = golden.copy()
    moved.loc[17, "severity_last"] = moved.loc[17, "severity_last"] * (1 + 1e-6)
    moved.loc[3, "sessions_attended"] += 1
    found = differences(golden, moved, "baseline.clients")
    assert found == [
        f"baseline.clients.severity_last: 1 rows differ, first at row 17 (client_id {golden.loc[17, 'client_id']}): "
        f"golden {float(golden.loc[17, 'severity_last'])!r}, now {float(moved.loc[17, 'severity_last'])!r}",
        f"baseline.clients.sessions_attended: 1 rows differ, first at row 3 (client_id {golden.loc[3, 'client_id']}): "
        f"golden {int(golden.loc[3, 'sessions_attended'])}, now {int(moved.loc[3, 'sessions_attended'])}",
    ]


def test_last_bit_differences_pass_and_a_changed_category_or_length_fails():
    golden = read_golden("baseline", "clients")
    jittered = golden.copy()
    floats = [c for c in golden.columns if golden[c].dtype.kind == "f"]
    jittered[floats] = jittered[floats] * (1 + 4e-16)
    assert differences(golden, jittered, "c") == []
    relabelled = golden.copy()
    relabelled.loc[0, "ending"] = "dropout" if golden.loc[0, "ending"] != "dropout" else "planned"
    assert [d.split(":")[0] for d in differences(golden, relabelled, "c")] == ["c.ending"]
    shorter = differences(golden, golden.iloc[:-1], "c")
    assert shorter and shorter[0] == f"c: {len(golden)} rows in the golden table, {len(golden) - 1} now"


def test_every_golden_table_is_stored():
    assert {p.parent.name for p in golden_path("baseline", "x").parent.parent.glob("*/*.parquet")} == set(CASES)
    for case in CASES:
        for table in (*TABLES, "kpis"):
            assert isinstance(read_golden(case, table), pd.DataFrame)
