"""Bounds on what one webhook body may cost, checked before it is validated.

The byte limit (``ZRMON_MAX_BODY_BYTES``) is not enough: 789 KB of ``{}`` is
250,000 objects, and every one of them costs validation, error reporting and
serialisation time. So a parsed body is also bounded in nesting depth, items
per array (and members per object), total JSON values and string length,
each far above what Zoom sends (its documented examples reach depth 9, 29
values and 10 members), and a body over a bound is refused before any schema
sees it.

The check is one iterative pass over the parsed value (no recursion, so no
depth can overflow the interpreter's stack), and most bodies skip even that:
a body of ``n`` bytes holds at most ``n // 2 + 1`` values, no string longer
than ``n`` bytes and no deeper nesting than its count of ``[`` and ``{``, so
a small body is proven within bounds by two ``bytes.count`` calls.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from monitor.core.config import Config

#: Limit names as reported in answers and quarantine entries; each is the
#: configuration field (upper-cased with ``ZRMON_``, its environment variable).
MAX_DEPTH = "max_json_depth"
MAX_ITEMS = "max_json_items"
MAX_NODES = "max_json_nodes"
MAX_STRING = "max_string_bytes"


@dataclass(frozen=True)
class Limits:
    """What one body may hold; the defaults are hundreds of times Zoom's largest example."""

    max_depth: int = 32
    max_items: int = 5_000
    max_nodes: int = 20_000
    max_string_bytes: int = 65_536


def limits_of(config: Config) -> Limits:
    """The body bounds a Config sets (the receiver's, replay's and backfill's)."""
    return Limits(max_depth=config.max_json_depth, max_items=config.max_json_items,
                  max_nodes=config.max_json_nodes, max_string_bytes=config.max_string_bytes)


@dataclass(frozen=True)
class LimitExceeded:
    """The first bound a body broke: which, where (dotted path, ``""`` = the body) and why."""

    limit: str
    bound: int
    field: str
    message: str


def within_by_size(body: bytes, limits: Limits) -> bool:
    """Whether the raw bytes alone prove every bound holds (no walk needed).

    Brackets inside strings are counted too, which only makes the answer
    "walk it" more often, never wrong.
    """
    size = len(body)
    if size // 2 + 1 > min(limits.max_nodes, limits.max_items) or size > limits.max_string_bytes:
        return False
    return body.count(b"[") + body.count(b"{") <= limits.max_depth


def _string_too_long(text: str, max_bytes: int) -> bool:
    """UTF-8 length over the bound; the encode runs only where characters cannot decide."""
    length = len(text)
    if length > max_bytes:
        return True
    if length * 4 <= max_bytes:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


# A frame of the walk: (container, its depth, parent frame, key in the parent).
# Frames link to their parent instead of carrying a path, so a path is only
# built for the one error reported.
_Frame = tuple[Any, int, Any, str | int | None]


def _path(frame: _Frame | None, key: str | int | None = None) -> str:
    parts: list[str] = [] if key is None else [str(key)]
    while frame is not None and frame[3] is not None:
        parts.append(str(frame[3]))
        frame = frame[2]
    return ".".join(reversed(parts))


def check(value: Any, limits: Limits) -> LimitExceeded | None:
    """The first bound ``value`` (as parsed from JSON) breaks, or None."""
    if type(value) is str:
        return _too_long("", limits) if _string_too_long(value, limits.max_string_bytes) else None
    if type(value) is not dict and type(value) is not list:
        return None
    nodes = 1
    # Breadth first, so the first place reported is the first in the document at its depth.
    queue: deque[_Frame] = deque([(value, 1, None, None)])
    while queue:
        frame = queue.popleft()
        count = len(frame[0])
        if count > limits.max_items:
            return LimitExceeded(MAX_ITEMS, limits.max_items, _path(frame),
                                 f"{count} items, more than the {limits.max_items} allowed")
        nodes += count
        if nodes > limits.max_nodes:
            return LimitExceeded(MAX_NODES, limits.max_nodes, _path(frame),
                                 f"more than {limits.max_nodes} JSON values in the body")
        if type(frame[0]) is dict:
            exceeded = _members(frame, queue, limits)
        else:
            exceeded = _items(frame, queue, limits)
        if exceeded is not None:
            return exceeded
    return None


def _members(frame: _Frame, queue: deque[_Frame], limits: Limits) -> LimitExceeded | None:
    """An object's keys and string values checked, its containers queued."""
    child_depth, max_string = frame[1] + 1, limits.max_string_bytes
    for key, item in frame[0].items():
        if len(key) * 4 > max_string and _string_too_long(key, max_string):
            return _too_long(_path(frame, key[:64]), limits)
        kind = type(item)
        if kind is dict or kind is list:
            if child_depth > limits.max_depth:
                return _too_deep(frame, key, limits)
            queue.append((item, child_depth, frame, key))
        elif kind is str and len(item) * 4 > max_string and _string_too_long(item, max_string):
            return _too_long(_path(frame, key), limits)
    return None


def _items(frame: _Frame, queue: deque[_Frame], limits: Limits) -> LimitExceeded | None:
    """An array's string items checked, its containers queued."""
    child_depth, max_string = frame[1] + 1, limits.max_string_bytes
    for index, item in enumerate(frame[0]):
        kind = type(item)
        if kind is dict or kind is list:
            if child_depth > limits.max_depth:
                return _too_deep(frame, index, limits)
            queue.append((item, child_depth, frame, index))
        elif kind is str and len(item) * 4 > max_string and _string_too_long(item, max_string):
            return _too_long(_path(frame, index), limits)
    return None


def _too_deep(frame: _Frame, key: str | int | None, limits: Limits) -> LimitExceeded:
    return LimitExceeded(MAX_DEPTH, limits.max_depth, _path(frame, key),
                         f"nested deeper than {limits.max_depth} levels")


def _too_long(path: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(MAX_STRING, limits.max_string_bytes, path,
                         f"a string longer than {limits.max_string_bytes} bytes")


def parser_depth_error(message: str) -> bool:
    """Whether orjson refused the text for its own nesting limit (1024), not its syntax."""
    return "depth limit exceeded" in message or "recursion limit" in message


class _GcPause:
    """Automatic garbage collection off while any thread of the process holds it.

    A body at the bounds is up to 50,000 new containers; every 700 of them
    start a collection, and the older generations' collections scan the whole
    worker heap, which made such a body three times slower in a long-running
    worker than in a fresh one. Parsed JSON and what is made from it hold no
    reference cycles, so reference counting frees all of it anyway; collection
    resumes once the last thread is done. A counter, not a flag, because
    gthread workers run several requests at once.
    """

    #: Under load that keeps some request always in flight, collect anyway this often.
    LONGEST_PAUSE_S = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False
        self._since = 0.0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                if self._resume:
                    gc.enable()
                return
            overdue = self._resume and time.monotonic() - self._since > self.LONGEST_PAUSE_S
            if overdue:
                self._since = time.monotonic()
        if overdue:
            gc.collect()


_gc_pause = _GcPause()


def gc_paused() -> AbstractContextManager[None]:
    """Hold automatic garbage collection off while a body is parsed and checked."""
    return _gc_pause.held()
