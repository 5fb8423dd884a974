"""Progress bars for long commands: on a terminal, never in a pipe, a log or cron.

``tqdm(disable=None)`` turns itself off when stderr is not a TTY, so a report
piped into a file or run by the scheduler prints nothing extra. Every long
command (reports, backfill, the simulator) should take its bar from here.
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def progress_bar(total: int, description: str, unit: str = "step", **kwargs: Any) -> Any:
    """A tqdm bar (a context manager with ``update(n)``), silent unless stderr is a TTY."""
    return tqdm(total=total, desc=description, unit=unit, disable=None, leave=False,
                dynamic_ncols=True, **kwargs)
