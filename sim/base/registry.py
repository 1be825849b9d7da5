"""Registry of policy objects, chosen by name in a scenario.

>>> from sim.base.registry import register, names
>>> @register("demo", "noop")
... class Noop:
...     pass
>>> names("demo")
['noop']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}


def register(kind: str, name: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` selectable as ``name`` for lever ``kind``."""

    def decorate(cls: T) -> T:
        _REGISTRY.setdefault(kind, {})[name] = cls
        return cls

    return decorate


def _load_policies() -> None:
    """Import the policy package once, so that its classes register themselves (the schema below it needs
    only the names, and importing the schema imports no policy)."""
    import sim.engine.policies  # noqa: F401


def names(kind: str) -> list[str]:
    """Registered names for a lever kind, in registration order."""
    if kind not in _REGISTRY:
        _load_policies()
    return list(_REGISTRY.get(kind, {}))


def lookup(kind: str, name: str) -> Any:
    """The object registered as ``name`` for ``kind``; KeyError names the allowed values."""
    if kind not in _REGISTRY:
        _load_policies()
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r}; allowed: {', '.join(names(kind))}") from None


def describe(kind: str, name: str) -> str:
    """The first sentence of the registered object's docstring: the help text of that choice.

    >>> describe("capacity", "team_quota")
    'Everyone is booked to the same sessions per day, whatever their own load.'
    """
    doc = (lookup(kind, name).__doc__ or "").strip()
    first = " ".join(doc.split("\n\n")[0].split())
    return first.split(". ")[0].rstrip(".") + "." if first else name
