"""Results cached by what they simulate: the scenario's settings (not its display name), replications, seed and
the model's code. The dashboards use it so that nothing unchanged is simulated twice and a page opens on results
computed earlier. Files are written whole or not at all, only under ``results/cache/``; each starts with the
cache's own header, and only files with that header are ever read or removed (the oldest, past about 1 GiB).

>>> cache = RunCache(None)
>>> cache.get("k") is None
True
>>> cache.put("k", [1, 2]); cache.get("k")
[1, 2]
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sim.base.paths import PACKAGE_DIR, PROJECT_DIR
from sim.runs.safe_output import CACHE_MARKER, atomic_write
from sim.scenario import Scenario

ROOT = PROJECT_DIR
CACHE_DIR = ROOT / "results" / "cache"
SIM_DIR = PACKAGE_DIR


@functools.cache
def code_fingerprint() -> str:
    """A hash of the model's code: cached runs from other code are never reused."""
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(SIM_DIR.rglob("*.py")):
        h.update(path.relative_to(SIM_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def run_key(sc: Scenario, reps: int) -> str:
    """What a run simulates: the scenario's settings (not its display name), replications, seed, code."""
    settings = sc.model_copy(update={"name": "run", "description": ""}).model_dump_json()
    return hashlib.blake2b(f"{settings}|{reps}|{sc.seed}|{code_fingerprint()}".encode(), digest_size=12).hexdigest()


MAX_BYTES = 1 << 30  # the disk cache keeps its newest files within about 1 GiB
#: Results kept in memory, the most recently used (an explorer run is about 12 MB): a long dashboard session stays
#: within a few hundred MB, and older results are read from disk again when needed.
MEMORY_ENTRIES = 24
HEADER = b"fifty-minutes run cache v1\n"  # the first bytes of every file the cache writes


class RunCache:
    """One result per run key, in memory (the ``memory_entries`` most recently used) and (by default) on disk;
    files are written whole or not at all, and the oldest of the cache's own files (those starting with
    ``HEADER``) go once they pass ``max_bytes``."""

    def __init__(self, folder: Path | None = CACHE_DIR, max_bytes: int = MAX_BYTES,
                 memory_entries: int = MEMORY_ENTRIES):
        self.folder = folder
        self.max_bytes = max_bytes
        self.memory_entries = memory_entries
        self.memory: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        if key in self.memory:
            self.memory.move_to_end(key)
            return self.memory[key]
        path = self._path(key)
        if path is not None and path.is_file():
            try:
                with path.open("rb") as f:
                    if f.read(len(HEADER)) != HEADER:  # not the cache's own file: left alone
                        return None
                    found = pickle.load(f)
            except Exception:  # a damaged cache file is ignored (and rewritten by the next run)
                return None
            self._remember(key, found)
            return found
        return None

    def _remember(self, key: str, result: Any) -> None:
        self.memory[key] = result
        self.memory.move_to_end(key)
        while len(self.memory) > self.memory_entries:
            self.memory.popitem(last=False)

    def put(self, key: str, result: Any) -> None:
        self._remember(key, result)
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            marker = path.parent / CACHE_MARKER
            if not marker.exists():  # says the folder is the tool's: other commands leave it alone, never refuse
                atomic_write(marker, b"the dashboards' cache of runs (python -m sim explorer); safe to delete\n")
            if (path.exists() or path.is_symlink()) and (path.is_symlink() or not _ours(path)):
                return  # a file (or link) the cache did not write: never replaced
            atomic_write(path, HEADER + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            self._trim(path.parent)
        except OSError:  # a read-only checkout: the memory cache still works
            pass

    def _trim(self, folder: Path) -> None:
        """Remove the oldest of the cache's own files (named by a key, starting with ``HEADER``) over the limit;
        files are opened (to read their header) only when the folder is over it."""
        sizes = {}
        for f in folder.glob("run-*.pkl"):
            try:
                stat = f.stat()
            except OSError:  # removed meanwhile (another page trimming)
                continue
            sizes[f] = (stat.st_mtime, stat.st_size)
        if sum(size for _, size in sizes.values()) <= self.max_bytes:
            return
        total = 0
        for f in sorted(sizes, key=lambda f: sizes[f][0], reverse=True):
            if not _ours(f):
                continue
            total += sizes[f][1]
            if total > self.max_bytes:
                f.unlink(missing_ok=True)

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"run-{key}.pkl"


def _ours(path: Path) -> bool:
    """Whether ``path`` is a file the cache wrote (it starts with the cache's header)."""
    try:
        with path.open("rb") as f:
            return f.read(len(HEADER)) == HEADER
    except OSError:
        return False
