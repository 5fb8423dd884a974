"""One owner per state: an exclusive lock per role on the data directory.

Two writers draining one spool would write every event twice and fight over the
offsets; two evaluators on one rule state would send every alert twice. Each
role therefore holds ``flock`` on ``<state>/<role>.lock`` for as long as it
runs. The kernel drops the lock when the process dies, however it dies, so a
SIGKILL never leaves a stale lock behind. The file says who holds it (pid,
host, command, since when): two containers sharing a volume are both PID 1,
so the host name is what tells them apart in the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO

from monitor.core.errors import StateError

LOCK_FD_ENV = "ZRMON_WRITER_LOCK_FD"


class AlreadyRunningError(StateError):
    """Another process holds the role; the message says which and where."""


class RoleLock:
    def __init__(self, state_dir: Path, role: str) -> None:
        self.path = state_dir / f"{role}.lock"
        self.role = role
        self._handle: IO[str] | None = None

    def acquire(self) -> RoleLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise AlreadyRunningError(
                f"another {self.role} already runs on {self.path.parent}: {holder} "
                f"(lock {self.path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"role": self.role, "pid": os.getpid(),
                                 "host": socket.gethostname(), "since": _now(),
                                 "command": " ".join(sys.argv)}))
        handle.flush()
        self._handle = handle
        return self

    def fileno(self) -> int:
        """For a child that shares this lock (the writer under ``zrmon serve``)."""
        assert self._handle is not None
        return self._handle.fileno()

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def inherited(fd_text: str | None) -> bool:
    """Whether the parent passed us its lock (an open descriptor of the same lock file)."""
    if not fd_text:
        return False
    try:
        os.fstat(int(fd_text))
    except (ValueError, OSError):
        return False
    return True


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        return "a process that left no details"
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since "
            f"{info.get('since', '?')} ({info.get('command', '?')})")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
