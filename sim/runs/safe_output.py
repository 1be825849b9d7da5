"""Output folders that never lose a user's files.

The tool deletes or replaces only files it wrote itself. Each folder it writes holds a
manifest (``MANIFEST``) listing those files with their size and modification time; a file
that is not listed, or that changed since (a user edited it), is *foreign* and never touched.

A target folder is accepted if it is new, empty, or holds only the tool's own files and
folders. A folder with foreign files is refused (``OutputError`` naming them) unless
``force`` is given; then the new files are written beside the foreign ones, and a foreign
file with the name of a file the tool writes is still refused.

Writing is all-or-nothing:

- *swap* (a folder with only the tool's files, or none yet): everything is written into a
  temporary folder beside the target, which then takes the target's place in one atomic
  exchange (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, and an old run
  left aside by a kill between them is put back on the next run). A kill at any moment leaves
  the complete old run or the complete new one.
- *merge* (a folder that also holds other tool folders, such as ``results/``, or foreign files
  under ``force``): the files are written into a temporary folder inside the target; a journal
  (``JOURNAL``), written atomically once they are all complete, is the commit point; then they
  are moved in one by one. Killed before the journal, the old set stands; after it, the next
  write into the folder (or the rest of this one) moves the remaining files in first, so the
  folder holds the complete old set or the complete new one. The manifest accepts the old or
  the new version of each file meanwhile, so no file looks foreign.

Temporary folders of the tool left by a kill are removed on the next write beside them.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> write_folder(out, lambda tmp: (tmp / "a.csv").write_text("x\\n"))
['a.csv']
>>> (out / "my_notes.md").write_text("mine")
4
>>> foreign_entries(out)
['my_notes.md']
>>> write_folder(out, lambda tmp: (tmp / "a.csv").write_text("y\\n"))
Traceback (most recent call last):
sim.runs.safe_output.OutputError: --out ...run holds 1 file the tool did not write: my_notes.md; choose a new ...
>>> write_folder(out, lambda tmp: (tmp / "a.csv").write_text("y\\n"), force=True)
['a.csv']
>>> sorted(p.name for p in out.iterdir()), (out / "my_notes.md").read_text()
(['.fifty-minutes-manifest.json', 'a.csv', 'my_notes.md'], 'mine')
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sim.base.errors import InputError

MANIFEST = ".fifty-minutes-manifest.json"
JOURNAL = ".fifty-minutes-journal.json"  # a merge being committed: which staged files go in, and the manifest after
PARTIAL = ".fifty-minutes-partial"
STORE_MARKER = ".fifty-minutes-store"  # a results store the tool appends to (robustness draws)
CACHE_MARKER = ".fifty-minutes-cache"  # the dashboards' cache of runs (sim/runs/cache.py): files run-*.pkl
TMP_TAG = ".fm-tmp-"
OLD_TAG = ".fm-old-"
TRASH_TAG = ".fm-trash-"  # a run being deleted after a swap: renamed first (atomic), so a kill never strands it
LOCK_TAG = ".fm-lock"  # an empty file beside an output folder, locked while a run of the tool writes there
RESULTS = Path("results")
SHOW = 8


class OutputError(InputError):
    """The output folder cannot be used; the message says why and what to do."""


# ---------------------------------------------------------------------------------------
# What belongs to the tool


def _signature(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def read_manifest(folder: Path) -> dict[str, list[list[int]]]:
    """File name -> accepted [size, mtime_ns] signatures; empty if there is no valid manifest."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): [list(map(int, s)) for s in v] for k, v in files.items()} if data.get("tool") == "fifty-minutes" else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def atomic_write(path: Path, data: bytes | Callable[[Path], Any]) -> None:
    """Put ``data`` (bytes, or a function writing to the path it is given) at ``path`` all at once.

    The temporary file is created exclusively with a fresh random name beside ``path`` (``O_EXCL``: it never
    opens an existing file or follows a link planted there), then renamed over ``path`` (a link of that name
    is replaced, not followed). A failure removes the temporary file."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}{TMP_TAG}", dir=path.parent)
    tmp = Path(name)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        _follow_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _write_manifest(folder: Path, files: dict[str, list[list[int]]]) -> None:
    text = json.dumps({"tool": "fifty-minutes", "note": "files this tool wrote here; it touches no other file",
                       "files": files}, indent=1, sort_keys=True)
    atomic_write(folder / MANIFEST, text.encode("utf-8"))


def _is_tool_temp(entry: Path) -> bool:
    """A temporary entry of the tool's (never counted as the user's; deleted only when proven the tool's)."""
    name = entry.name
    if not name.startswith(".") or entry.is_symlink():
        return False
    if name.endswith(LOCK_TAG):
        return entry.is_file()
    return any(tag in name for tag in (TMP_TAG, OLD_TAG, TRASH_TAG)) and (entry.is_dir() or entry.is_file())


def _is_own_file(entry: Path, manifest: dict[str, list[list[int]]]) -> bool:
    if entry.name not in manifest or entry.is_symlink() or not entry.is_file():
        return False
    return _signature(entry) in manifest[entry.name]


def is_tool_tree(folder: Path) -> bool:
    """True if every entry below ``folder`` was written by the tool (a run folder, or a container of them)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    for marker, prefix in ((STORE_MARKER, "draw-"), (CACHE_MARKER, "run-")):
        if (folder / marker).is_file():
            return all(e.name == marker or _is_tool_temp(e) or (e.is_file() and not e.is_symlink()
                                                                and e.name.startswith(prefix)) for e in folder.iterdir())
    entries = [e for e in folder.iterdir() if e.name != MANIFEST]
    has_manifest = (folder / MANIFEST).is_file()
    return (has_manifest or bool(entries)) and not foreign_entries(folder)


def foreign_entries(folder: Path) -> list[str]:
    """Names of the entries in ``folder`` that the tool did not write (or that changed since)."""
    if not folder.is_dir():
        return []
    manifest = read_manifest(folder)
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.name in (MANIFEST, MANIFEST + ".tmp", JOURNAL) or _is_tool_temp(entry):
            continue
        if _is_own_file(entry, manifest) or (entry.is_dir() and not entry.is_symlink() and is_tool_tree(entry)):
            continue
        foreign.append(entry.name + ("/" if entry.is_dir() else ""))
    return foreign


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOW])
    return shown + (f" and {len(names) - SHOW} more" if len(names) > SHOW else "")


# ---------------------------------------------------------------------------------------
# Checks before any work


def default_folder(*parts: str) -> Path:
    """A default output folder under ``results/``; refuses any path that would leave it."""
    path = RESULTS.joinpath(*parts)
    if any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts) or not path.resolve().is_relative_to(
            RESULTS.resolve()):
        raise OutputError(f"default output folder {path} would leave {RESULTS}/; set --out or a safe scenario name")
    return path


def prepare(out: Path, force: bool = False, writes: Iterable[str] = ()) -> None:
    """Check, before any simulation, that ``out`` can be written without touching a user's file.

    ``writes`` names files the command will write (a foreign file of that name is refused even with ``force``).
    """
    label = f"--out {str(out)[:200]}"
    try:
        if out.resolve() == Path(out.resolve().anchor) or out.resolve() == Path.home().resolve():
            raise OutputError(f"{label}: is the {'root' if out.resolve() == Path(out.resolve().anchor) else 'home'} "
                              "folder; choose a folder of its own for the run")
        if (out.exists() or out.is_symlink()) and (out.is_symlink() or not out.is_dir()):
            raise OutputError(f"{label}: exists and is not a folder; choose a folder path")
        ancestor = out
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputError(f"{label}: {ancestor} is a file, so the folder cannot be created there")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputError(f"{label}: {ancestor} is not writable")
        with tempfile.TemporaryDirectory(prefix=".fm-probe-", dir=ancestor):
            pass
    except OutputError:
        raise
    except (OSError, ValueError) as exc:
        raise OutputError(f"{label}: cannot be written ({getattr(exc, 'strerror', None) or exc})") from None
    if not out.is_dir():
        lock(out)
        return
    try:
        foreign = foreign_entries(out)
    except (OSError, RecursionError) as exc:
        raise OutputError(f"{label}: cannot be read ({getattr(exc, 'strerror', None) or 'nested too deep'}); choose "
                          "a new or empty folder") from None
    if foreign and not force:
        raise OutputError(f"{label} holds {len(foreign)} file{'s' if len(foreign) != 1 else ''} the tool did not write: "
                          f"{_listing(foreign)}; choose a new or empty folder, move them, or pass --force to write "
                          "beside them")
    clash = sorted(set(foreign) & set(writes))
    if clash:
        raise OutputError(f"{label}: would replace {_listing(clash)}, which the tool did not write; move "
                          f"{'them' if len(clash) > 1 else 'it'} or choose another folder (--force never replaces a "
                          "file the tool did not write)")
    lock(out)  # held until the run has written (or the process ends)


# ---------------------------------------------------------------------------------------
# One run at a time per folder

_LOCKS: dict[Path, int] = {}  # output folder -> descriptor of its locked lock file, held until the process ends


def lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}{LOCK_TAG}"


def lock(out: Path) -> None:
    """Hold the lock of ``out`` for the rest of this process, or refuse: another run of the tool writes there.

    The lock is an empty file beside ``out`` (created exclusively, links not followed), locked with ``flock``;
    the system releases it when the process ends, however it ends."""
    key = out.resolve()
    if key in _LOCKS:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(out)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise OutputError(f"--out {out}: its lock file {path.name} cannot be opened ({exc.strerror}); is it a link?") \
            from None
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:  # removed by its holder meanwhile
            raise OSError("lock file replaced")
    except ImportError:  # no flock (Windows): no lock, as before
        pass
    except OSError:
        os.close(fd)
        raise OutputError(f"--out {out}: in use by another run of the tool writing there now; wait for it to finish or "
                          "choose another folder") from None
    if not _LOCKS:
        atexit.register(unlock_all)
    _LOCKS[key] = fd


def unlock_all() -> None:
    """Release every lock this process holds (at exit, however the command ended)."""
    for key in list(_LOCKS):
        unlock(key)


def unlock(out: Path) -> None:
    """Release the lock of ``out`` taken by :func:`lock` and remove its file (removed while still locked; a run
    that opened it meanwhile sees it replaced and refuses, so two runs never both hold a lock)."""
    fd = _LOCKS.pop(out.resolve(), None)
    if fd is not None:
        with contextlib.suppress(OSError):
            lock_path(out).unlink()
        os.close(fd)


# ---------------------------------------------------------------------------------------
# Writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _follow_umask(path: Path) -> None:
    mode = (0o777 if path.is_dir() else 0o666) & ~_umask()
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def clean_stale(out: Path) -> None:
    """Finish a merge into ``out`` that a kill interrupted after its commit point; remove the tool's temporary
    folders left beside or inside ``out`` by a killed run; restore an old run folder that a kill left aside when
    ``out`` itself is missing."""
    if (out / JOURNAL).is_file():
        _complete_merge(out)
    places = [(out.parent, f".{out.name}{OLD_TAG}"), (out.parent, f".{out.name}{TMP_TAG}"),
              (out.parent, f".{out.name}{TRASH_TAG}"), (out, TMP_TAG)]  # an old run is restored before tmp is judged
    for parent, prefix in places:
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            if not (entry.name.startswith(prefix) or entry.name.startswith("." + prefix)) or not entry.is_dir():
                continue
            if entry.is_symlink():
                continue
            if (entry / PARTIAL).is_file() or not any(entry.iterdir()) or (
                    TRASH_TAG in entry.name and (entry / MANIFEST).is_file() and not foreign_entries(entry)):
                shutil.rmtree(entry, ignore_errors=True)  # half-written, just created, or a run of ours being deleted
            elif TMP_TAG in entry.name and out.exists() and (entry / MANIFEST).exists() and not foreign_entries(entry):
                shutil.rmtree(entry, ignore_errors=True)  # a complete run that a kill left beside the swapped-in one
            elif OLD_TAG in entry.name and not foreign_entries(entry) and (entry / MANIFEST).exists():
                if not out.exists():
                    os.replace(entry, out)
                else:
                    shutil.rmtree(entry, ignore_errors=True)


def _only_own_files(out: Path) -> bool:
    manifest = read_manifest(out)
    return all(e.name in (MANIFEST,) or _is_own_file(e, manifest) for e in out.iterdir())


def write_folder(out: Path, fill: Callable[[Path], Any], force: bool = False) -> list[str]:
    """Let ``fill`` write files into a fresh folder, then put them at ``out`` all at once; return their names."""
    lock(out)
    try:
        return _write_folder(out, fill, force)
    finally:
        unlock(out)


def _write_folder(out: Path, fill: Callable[[Path], Any], force: bool) -> list[str]:
    clean_stale(out)
    swap = not out.exists() or _only_own_files(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if swap:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_TAG}", dir=out.parent))
    else:
        tmp = Path(tempfile.mkdtemp(prefix=TMP_TAG, dir=out))
    try:
        (tmp / PARTIAL).write_text("a run of the tool is writing here; removed on the next run if left behind\n")
        fill(tmp)
        names = sorted(e.name for e in tmp.iterdir() if e.name != PARTIAL)
        if any((tmp / n).is_dir() for n in names):
            raise RuntimeError("write_folder: fill() may write files only")  # a programming error, not input
        prepare(out, force=force, writes=names)  # the folder may have changed while we simulated
        for name in names:
            _follow_umask(tmp / name)
        if swap:
            _swap_in(tmp, out, names)
        else:
            _merge_in(tmp, out, names)
    except BaseException:
        if not swap and (out / JOURNAL).is_file():
            _complete_merge(out)  # past the commit point: the new set goes in whole
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return names


def _swap_in(tmp: Path, out: Path, names: list[str]) -> None:
    _write_manifest(tmp, {n: [_signature(tmp / n)] for n in names})
    (tmp / PARTIAL).unlink()
    _follow_umask(tmp)
    _follow_umask(tmp / MANIFEST)
    if not out.exists():
        os.replace(tmp, out)
        return
    if _exchange(tmp, out):
        _discard(tmp)  # now the old run: only the tool's own files
        return
    old = tmp.with_name(tmp.name.replace(TMP_TAG, OLD_TAG))
    os.replace(out, old)
    os.replace(tmp, out)
    _discard(old)


def _discard(run: Path) -> None:
    """Delete a run folder of the tool's: renamed aside first, its manifest last, so a kill mid-way leaves a
    folder the next run can still prove is its own (or an empty one)."""
    trash = run.with_name(run.name.replace(TMP_TAG, TRASH_TAG).replace(OLD_TAG, TRASH_TAG))
    os.replace(run, trash)
    for entry in trash.iterdir():
        if entry.name != MANIFEST:
            entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        (trash / MANIFEST).unlink()
    trash.rmdir()


def _merge_in(tmp: Path, out: Path, names: list[str]) -> None:
    """Move the staged files in as one set: a journal, written atomically once every new file is complete in
    ``tmp``, is the commit point. Killed before it, the old set stands (the staged folder is removed on the next
    run); killed after it, the next run of the tool (or the rest of this one) moves the remaining files in."""
    old = read_manifest(out)
    kept = {n: sigs for n, sigs in old.items() if n not in names and (out / n).is_file()
            and _is_own_file(out / n, old)}
    fresh = {n: [_signature(tmp / n)] for n in names}
    during = {**kept, **{n: fresh[n] + [s for s in old.get(n, []) if (out / n).is_file()
                                        and _signature(out / n) == s] for n in names}}
    _write_manifest(out, during)  # accepts old or new version of each file while they move
    journal = {"tool": "fifty-minutes", "staged": tmp.name, "names": names, "manifest": {**kept, **fresh}}
    atomic_write(out / JOURNAL, json.dumps(journal, indent=1).encode("utf-8"))
    _complete_merge(out)


def _complete_merge(out: Path) -> None:
    """Finish a merge whose journal was written: move in every staged file still there, then the manifest."""
    try:
        journal = json.loads((out / JOURNAL).read_text(encoding="utf-8"))
        staged = out / str(journal["staged"])
        names = [str(n) for n in journal["names"]]
        manifest = {str(k): [list(map(int, sig)) for sig in v] for k, v in journal["manifest"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return  # no journal (or not one of ours): nothing to finish
    if journal.get("tool") != "fifty-minutes" or "/" in journal["staged"] or not staged.name.startswith(TMP_TAG):
        return
    for name in names:
        if "/" not in name and (staged / name).is_file() and not (staged / name).is_symlink():
            os.replace(staged / name, out / name)
    _write_manifest(out, manifest)
    _follow_umask(out / MANIFEST)
    (out / JOURNAL).unlink()
    if staged.is_dir():
        shutil.rmtree(staged)


def written_size(out: Path, names: Iterable[str]) -> int:
    """Total bytes of the named files in ``out``."""
    return sum((out / n).stat().st_size for n in names if (out / n).is_file())


def human_size(n: float) -> str:
    """Bytes in words: ``1.5 MB``."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


__all__ = ["MANIFEST", "OutputError", "atomic_write", "clean_stale", "default_folder", "foreign_entries", "human_size",
           "is_tool_tree", "lock", "prepare", "read_manifest", "unlock", "write_folder", "written_size"]
