"""Reading YAML input files safely: regular UTF-8 files of bounded size and nesting, safe tags only,
no duplicate keys. Every failure is an :class:`~sim.base.errors.InputError` naming the file.

>>> parse_yaml("a: 1\\nb: [2, 3]", "s.yaml")
{'a': 1, 'b': [2, 3]}
>>> parse_yaml("a: 1\\na: 2", "s.yaml")
Traceback (most recent call last):
sim.base.errors.InputError: s.yaml: not valid YAML: duplicate key 'a' (line 2); each key may appear once
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from sim.base.errors import InputError

MAX_BYTES = 1_000_000
MAX_DEPTH = 24


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let the base class report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1}); each key may appear once",
                    None)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def check_input_file(path: Path, what: str) -> None:
    """Raise InputError unless ``path`` names an existing regular file of at most MAX_BYTES."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {path}") from None
    except (OSError, ValueError) as exc:  # name too long, NUL byte, permission, loop
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{what} file {str(path)[:200]!r}: cannot be opened ({reason})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} {path}: is a folder, expected a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path}: is not a regular file (a pipe or device?), expected a YAML file")
    if info.st_size > MAX_BYTES:
        raise InputError(f"{what} {path}: {info.st_size:,} bytes, larger than the {MAX_BYTES:,} allowed for an input file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} {path}: not readable (check its permissions)")


def _depth(data: Any) -> int:
    """Nesting depth of lists and mappings, without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text with the strict safe loader; ``where`` prefixes every message."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        problem = "not valid YAML: " + (getattr(exc, "problem", None) or "cannot be parsed")
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise InputError(f"{where}: {problem}{at}") from None
    except RecursionError:
        raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    if _depth(data) > MAX_DEPTH:
        raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    return data


def read_yaml(path: Path, what: str) -> Any:
    """Read a YAML input file; ``what`` ("scenario", "experiment", ...) names it in messages."""
    check_input_file(path, what)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise InputError(f"{what} {path}: contains a NUL byte; not a text file")
    return parse_yaml(text, f"{what} {path}")
