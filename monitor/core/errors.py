"""One family of errors, each kind knowing how a ``zrmon`` command ends on it.

Every error the monitor raises on purpose derives from :class:`MonitorError`,
through one of four kinds that say who can fix it: the operator (a usage or
configuration mistake, exit 2), a service the monitor needs (InfluxDB, Zoom,
a mail server, the spool's disk: try again later, exit 1), a state file or
database only the operator can mend (exit 2), or data from outside that is
refused and never retried as is. ``zrmon``'s entry point turns any of them
into its message and ``exit_code``, so commands raise instead of choosing codes.
"""

from __future__ import annotations

from typing import ClassVar

from monitor.core.exitcodes import EXIT_FAILURE, EXIT_USAGE


class MonitorError(Exception):
    """Any error raised on purpose; ``exit_code`` is how a command ends on it."""

    exit_code: ClassVar[int] = EXIT_FAILURE
    subject: ClassVar[str] = ""      # what failed, when the message alone does not say


class UsageError(MonitorError, ValueError):
    """The operator's input is wrong: a setting, a config file, an argument, a time, a zone."""

    exit_code = EXIT_USAGE


class ServiceError(MonitorError):
    """A service the monitor needs failed or refused; the same call may work later."""

    exit_code = EXIT_FAILURE


class StateError(MonitorError):
    """A state file or database is damaged or owned by another process: the operator decides."""

    exit_code = EXIT_USAGE


class RejectedError(MonitorError):
    """Data from outside (a request, a spool record) is refused; retrying it as is cannot help."""

    exit_code = EXIT_FAILURE


def describe(exc: MonitorError) -> str:
    """The one line a command prints for ``exc``."""
    return f"{exc.subject}: {exc}" if exc.subject else str(exc)


def exit_code_of(exc: BaseException) -> int:
    """How a command ends on ``exc``: its kind's code, or 1 for anything unforeseen."""
    return exc.exit_code if isinstance(exc, MonitorError) else EXIT_FAILURE
