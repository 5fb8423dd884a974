"""The one way to replace a state file: all or nothing, durable, and with a last good copy.

A state file (silences, quarantine items, report outputs, JSON state) must never
be seen half-written, must survive power loss once the call returns, and must not
collide with another process writing the same file: two containers sharing a
volume are both PID 1, so a temp name built from the PID is not unique. Hence a
``mkstemp`` name in the same directory, ``fsync`` of the data, ``rename`` over the
target and ``fsync`` of the directory (the rename itself is only durable then).

Files written with ``keep_last_good`` keep the previous version beside them as
``<name>.last-good`` (SQLite databases get one from :func:`backup_sqlite` when
their owner starts): a state file damaged on disk (or emptied by hand) is then
reported by :func:`read_state` / :func:`check_sqlite`, naming both files, and
``zrmon state restore`` puts the last good copy back instead of leaving a wedged
process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from monitor.core.errors import StateError

T = TypeVar("T")
LAST_GOOD = ".last-good"


class StateFileError(StateError):
    """A state file that exists but cannot be used; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        backup = last_good_path(path)
        hint = (f"; a last good copy is at {backup} (zrmon state restore {path})"
                if backup.exists() else "")
        super().__init__(f"{path}: {reason}{hint}")


def last_good_path(path: Path) -> Path:
    return path.with_name(path.name + LAST_GOOD)


def write_bytes_atomic(path: Path, data: bytes, *, keep_last_good: bool = False,
                       mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: unique temp file, fsync, rename, fsync the directory."""
    temp = _durable_temp(path, data, mode)
    try:
        if keep_last_good:
            _keep_previous(path)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_directory(path.parent)


def _durable_temp(path: Path, data: bytes, mode: int) -> str:
    """``data`` on disk in a uniquely named file beside ``path``, ready to be moved there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return temp


def create_exclusive(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Write ``path`` only if it does not exist yet (first writer wins); True if we won.

    Used for values that must never change once chosen (a generated salt): a
    durable temp file hard-linked into place, which fails if another process got
    there first.
    """
    temp = _durable_temp(path, data, mode)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    fsync_directory(path.parent)
    return True


def _keep_previous(path: Path) -> None:
    """Hard-link the current version to ``.last-good`` (atomically replacing the old one)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".prev", dir=path.parent)
    os.close(fd)
    os.unlink(temp)
    try:
        os.link(path, temp)
    except FileNotFoundError:
        return
    os.replace(temp, last_good_path(path))


def read_state(path: Path, parse: Callable[[bytes], T], default: Callable[[], T]) -> T:
    """Parse ``path``; ``default()`` when it does not exist; :class:`StateFileError` if unusable.

    An empty file is an error, not "no state": it is what a crash of a writer that
    did not fsync leaves behind, and treating it as empty would silently forget
    every open alert or silence.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return default()
    except OSError as exc:
        raise StateFileError(path, f"cannot be read ({exc.strerror})") from exc
    if not data.strip():
        raise StateFileError(path, "is empty")
    try:
        return parse(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StateFileError(path, f"is not valid ({exc})") from exc


def restore_last_good(path: Path) -> Path:
    """Put the last good copy of ``path`` back; the damaged file is kept as ``.damaged``."""
    backup = last_good_path(path)
    if not backup.exists():
        raise StateFileError(path, "has no last good copy to restore")
    if path.exists():
        os.replace(path, path.with_name(path.name + ".damaged"))
    write_bytes_atomic(path, backup.read_bytes())
    return backup


def check_sqlite(path: Path) -> None:
    """Raise :class:`StateFileError` unless ``path`` is a usable SQLite database (or absent).

    Cheap enough for every ``/readyz``: it reads the header and the schema, not every
    page. An empty file is an error here too: our databases always hold their schema,
    so zero bytes means the file was lost, and starting over would replay or forget.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        raise StateFileError(path, "is empty")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            if not db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StateFileError(path, "holds no tables")
        finally:
            db.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return            # busy writer: alive, not damaged
        raise StateFileError(path, f"is not a usable SQLite database ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        raise StateFileError(path, f"is not a usable SQLite database ({exc})") from exc


def backup_sqlite(path: Path) -> None:
    """Keep a consistent copy of a healthy database as its last good copy (online backup)."""
    check_sqlite(path)
    if not path.exists():
        return
    backup = last_good_path(path)
    temp = backup.with_name(f".{backup.name}.tmp")
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        target = sqlite3.connect(temp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, backup)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)      # a copy cut short by a full disk must not keep its space
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
