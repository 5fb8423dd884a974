"""JSON on the hot path: orjson, with the standard library as the fallback.

Every webhook is parsed once and its normalised form serialised once on the
request path, and parsed again by the writer; orjson does each several times
faster than ``json``, which is most of what separates us from a bare receiver.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from monitor.core.atomicfile import read_state, write_bytes_atomic

JSONDecodeError = orjson.JSONDecodeError  # a ValueError subclass


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8; integers beyond 64 bits (rare, from odd ids) fall back to ``json``."""
    try:
        return orjson.dumps(value, default=str)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode("utf-8")


def write_atomic(path: Path, value: Any) -> None:
    """Replace the state file ``path`` with ``value`` as JSON (:mod:`monitor.core.atomicfile`)."""
    write_bytes_atomic(path, dumps(value), keep_last_good=True)


def read_json_state(path: Path, default: Callable[[], Any]) -> Any:
    """A JSON state file written by :func:`write_atomic`; unusable → ``StateFileError``."""
    return read_state(path, loads, default)
