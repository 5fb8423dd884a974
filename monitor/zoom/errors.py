"""What can go wrong talking to Zoom, as exception types a caller can act on.

Messages are one line and never carry a token or the client secret: they
end up in logs and on operators' terminals.
"""

from __future__ import annotations

from monitor.core.errors import ServiceError
from monitor.core.exitcodes import EXIT_USAGE


class ZoomError(ServiceError):
    """Any failure of a Zoom API call the client gave up on.

    ``exit_code`` is what a ``zrmon zoom`` command ends with on it: 1, "try again later",
    except where the configuration itself is wrong.
    """

    exit_code = 1


class ZoomAuthError(ZoomError):
    """Zoom refused the credentials: a configuration problem, retrying will not help."""

    exit_code = EXIT_USAGE


class ZoomRequestError(ZoomError):
    """Zoom answered a request with an error the caller must handle (404, 400, ...)."""

    def __init__(self, message: str, status: int, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def page_token_expired(self) -> bool:
        """Zoom's answer to a stale ``next_page_token``: 400, code 300."""
        return self.status == 400 and self.code == 300


class ZoomUnavailableError(ZoomError):
    """Network errors or 5xx answers outlasted the retries."""


class ZoomRateLimitError(ZoomError):
    """Zoom's own limit says wait longer than the client is willing to (e.g. the daily limit).

    ``retry_at`` is the Unix time Zoom named, when it named one.
    """

    def __init__(self, message: str, retry_at: float | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class ZoomBudgetError(ZoomError):
    """This monitor's own daily request budget (``ZRMON_ZOOM_DAILY_BUDGET``) is used up."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at
