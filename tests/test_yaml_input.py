"""The YAML loader cannot hang or crash: alias bombs and recursive aliases, explicit tags and huge numbers
are refused with an InputError (exit 2 from the command line) before anything is built from them."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.base.errors import InputError
from sim.base.yamlio import MAX_DEPTH, MAX_NODES, parse_yaml
from sim.scenario import Scenario, apply_overrides
from tests.conftest import ROOT
from tests.test_properties import CI


def laughs(levels: int, width: int = 9) -> str:
    """The billion-laughs document: each level a list of ``width`` aliases of the one below."""
    lines = ["a0: &a0 [lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(InputError, match="once its aliases are expanded"):
        parse_yaml(laughs(9), "bomb.yaml")  # 9**9 leaves expanded
    assert time.perf_counter() - started < 1.0  # counted on the graph, not by expanding it


def test_a_few_aliases_are_still_fine():
    assert parse_yaml("base: &b {x: 1}\nother: *b\n", "ok.yaml") == {"base": {"x": 1}, "other": {"x": 1}}
    assert len(str(parse_yaml(laughs(3), "small.yaml"))) > 0  # 9**3 values: under the limit


@pytest.mark.parametrize("text", ["description: &a {y: *a}\n", "x: &a [1, [2, *a]]\n", "&a {k: &b [*a]}\n"])
def test_a_recursive_alias_is_refused(text: str):
    with pytest.raises(InputError, match="inside its own anchor"):
        parse_yaml(text, "r.yaml")


@pytest.mark.parametrize("text", ["seed: !!int abc", "seed: !!float 1", "when: !!timestamp 2001-12-14",
                                  "x: !!python/name:os.system", "x: !custom 1", "x: !!map {a: 1}", "x: !!str 12"])
def test_explicit_tags_are_refused(text: str):
    with pytest.raises(InputError, match="explicit YAML tags"):
        parse_yaml(text, "t.yaml")


def test_numbers_are_bounded_in_length():
    with pytest.raises(InputError, match="a number of 5,000 characters"):
        parse_yaml("seed: " + "9" * 5000, "n.yaml")
    assert parse_yaml("seed: 123456789", "n.yaml") == {"seed": 123456789}


def test_depth_is_bounded():
    with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} levels"):
        parse_yaml("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "d.yaml")


@pytest.mark.parametrize("value, message", [("&a {x: *a}", "inside its own anchor"), ("!!int ", "explicit YAML tags"),
                                            ("9" * 5000, "a number of")])
def test_set_values_get_the_same_checks(value: str, message: str):
    with pytest.raises(InputError, match=message):
        apply_overrides(Scenario(), [f"seed={value}"])


@CI
@given(st.integers(1, 12), st.integers(1, 12), st.booleans())
def test_any_alias_chain_is_answered_quickly(levels: int, width: int, recursive: bool):
    text = laughs(levels, width) + ("loop: &z [*z]\n" if recursive else "")
    started = time.perf_counter()
    try:
        parse_yaml(text, "(chain)")
        assert not recursive and width ** levels <= MAX_NODES
    except InputError:
        pass
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("content, args", [
    ("name: r\ndescription: &a {y: *a}\n", []),
    (None, ["--set", "demand=&a {x: *a}"]),
    ("name: r\nseed: !!int abc\n", []),
    ("name: r\nseed: " + "9" * 5000 + "\n", []),
])
def test_the_command_line_exits_2_without_hanging(tmp_path, content, args):
    path = tmp_path / "r.yaml"
    path.write_text(content if content is not None else "name: r\n")
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(path), "--reps", "1", "--out", str(tmp_path / "out"),
                           *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:"), proc.stderr
    assert not (tmp_path / "out").exists()
