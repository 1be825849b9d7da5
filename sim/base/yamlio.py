"""Reading YAML input files safely: regular UTF-8 files of bounded size, plain YAML only.

The document is composed into YAML's node graph and checked there, before anything is built from
it, so no input can hang or exhaust the loader: no explicit tags (``!!int``, ``!!timestamp``, ...),
no alias (``*name``) inside its own anchor, at most MAX_NODES values once aliases are expanded
(counted on the graph, not by expanding it), at most MAX_DEPTH levels of nesting, numbers of at
most MAX_NUMBER_CHARS characters, and no duplicate keys. Every failure is an
:class:`~sim.base.errors.InputError` naming the file.

>>> parse_yaml("a: 1\\nb: [2, 3]", "s.yaml")
{'a': 1, 'b': [2, 3]}
>>> parse_yaml("a: 1\\na: 2", "s.yaml")
Traceback (most recent call last):
sim.base.errors.InputError: s.yaml: not valid YAML: duplicate key 'a' (line 2); each key may appear once
>>> parse_yaml("seed: !!int 12", "s.yaml")
Traceback (most recent call last):
sim.base.errors.InputError: s.yaml: explicit YAML tags such as '!!int' are not allowed (line 1); write the plain value
>>> parse_yaml("description: &a {y: *a}", "s.yaml")
Traceback (most recent call last):
sim.base.errors.InputError: s.yaml: the alias *a stands inside its own anchor &a (line 1); a recursive value cannot be read
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.base.errors import InputError

MAX_BYTES = 1_000_000
MAX_DEPTH = 24
#: values in the document once every alias is expanded (a scenario file has a few hundred)
MAX_NODES = 100_000
MAX_NUMBER_CHARS = 64
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _Refused(Exception):
    """A reason to refuse the document, raised while composing or checking it."""


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses explicit tags, recursive aliases and a mapping with the same key twice."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent) and event.anchor in self._open_anchors:
            raise _Refused(f"the alias *{event.anchor} stands inside its own anchor &{event.anchor} (line {line}); "
                           "a recursive value cannot be read")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise _Refused(f"explicit YAML tags such as {_short(tag)!r} are not allowed (line {line}); write the plain value")
        anchor = getattr(event, "anchor", None) if not isinstance(event, AliasEvent) else None
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call,no-any-return]
        finally:
            if anchor is not None:
                self._open_anchors.discard(anchor)

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


def _short(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag.removeprefix(prefix) if tag.startswith(prefix) else tag


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_graph(root: Node) -> None:
    """Refuse a composed document too large once its aliases are expanded, too deep, or holding a huge number.

    Each node's expanded size and depth are computed once (aliases share nodes), so the check takes time
    linear in the text however often an alias is used. The graph has no cycle: the loader refused those."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if not children_done:
            if key in size:
                continue
            if isinstance(node, ScalarNode) and node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
                raise _Refused(f"a number of {len(node.value):,} characters (line {node.start_mark.line + 1}); "
                               f"at most {MAX_NUMBER_CHARS} are allowed")
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in size)
            continue
        kids = _children(node)
        size[key] = 1 + sum(size[id(k)] for k in kids)
        depth[key] = 1 + max((depth[id(k)] for k in kids), default=0) if isinstance(node, SequenceNode | MappingNode) else 0
        if size[key] > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES:,} values once its aliases are expanded; write the values out")
        if depth[key] > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")


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


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text with the strict safe loader; ``where`` prefixes every message."""
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()  # type: ignore[no-untyped-call]
        if node is None:
            return None
        check_graph(node)
        return loader.construct_document(node)  # type: ignore[no-untyped-call]
    except _Refused as exc:
        raise InputError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        problem = "not valid YAML: " + (getattr(exc, "problem", None) or "cannot be parsed")
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise InputError(f"{where}: {problem}{at}") from None
    except RecursionError:
        raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    finally:
        if loader is not None:
            loader.dispose()  # type: ignore[no-untyped-call]


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
