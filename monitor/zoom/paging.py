"""``next_page_token`` pagination that survives an expired token.

Zoom's page tokens live 15 minutes. A listing whose consumer is slower
than that (a backfill writing each page, a long ``Retry-After``) gets
``400 {"code": 300}`` for the next page; the only way on is to start over
from the first page. Items already handed out are skipped on the second
pass, by key, so the caller sees each item once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from monitor.zoom.errors import ZoomRequestError

log = logging.getLogger("monitor.zoom")

MAX_RESTARTS = 3

FetchPage = Callable[[str], Mapping[str, Any]]


def paginate(fetch: FetchPage, items_key: str, key: Callable[[Mapping[str, Any]], Hashable],
             *, what: str, max_restarts: int = MAX_RESTARTS) -> Iterator[Mapping[str, Any]]:
    """Every item of every page once; ``fetch(token)`` gets one page ('' for the first)."""
    seen: set[Hashable] = set()
    restarts = 0
    token = ""
    while True:
        try:
            page = fetch(token)
        except ZoomRequestError as exc:
            if not (token and exc.page_token_expired) or restarts >= max_restarts:
                raise
            restarts += 1
            log.warning("Zoom API: page token of %s expired; starting again from the first "
                        "page (%d of %d restarts)", what, restarts, max_restarts)
            token = ""
            continue
        for item in page.get(items_key) or ():
            if not isinstance(item, Mapping):
                continue
            item_key = key(item)
            if item_key in seen:
                continue
            seen.add(item_key)
            yield item
        token = str(page.get("next_page_token") or "")
        if not token:
            return
