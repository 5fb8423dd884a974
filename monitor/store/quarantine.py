"""Signed events we could not accept, kept with the reason until someone fixes and replays them.

Zoom never retries a 4xx, so an event that fails validation would be gone
for good if we only answered 422. Instead it is written here first — one
JSON file per event, atomically — counted in ``/metrics``, listed by
``zrmon quarantine list`` and fed back through the same intake path by
``zrmon quarantine replay`` once the code or the data is fixed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.core.atomicfile import write_bytes_atomic


@dataclass(frozen=True)
class QuarantinedEvent:
    id: str
    received_ns: int
    event: str
    reason: str
    errors: dict[str, list[str]]
    body: bytes

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "received_ns": self.received_ns, "event": self.event,
                "reason": self.reason, "errors": self.errors, "bytes": len(self.body)}


class Quarantine:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, body: bytes, *, event: str, reason: str,
            errors: dict[str, list[str]] | None = None, received_ns: int | None = None,
            key: bytes | None = None) -> str:
        """Keep ``body``; with a ``key`` the id is derived from it, so adding again replaces.

        The writer passes the spool position as the key: a batch retried after a failed
        write quarantines the same record under the same id, never twice.
        """
        received_ns = time.time_ns() if received_ns is None else received_ns
        suffix = (hashlib.blake2b(key, digest_size=4).hexdigest() if key is not None
                  else secrets.token_hex(4))
        item_id = f"{received_ns:020d}-{suffix}"
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        document = {
            "id": item_id, "received_ns": received_ns, "event": event, "reason": reason,
            "errors": errors or {},
            "body": text if text is not None else base64.b64encode(body).decode("ascii"),
            "body_encoding": "utf-8" if text is not None else "base64",
        }
        write_bytes_atomic(self.directory / f"{item_id}.json",
                           json.dumps(document, ensure_ascii=False).encode("utf-8"))
        return item_id

    def items(self) -> list[QuarantinedEvent]:
        out = []
        for path in sorted(self.directory.glob("*.json")):
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                out.append(_load(path))
        return out

    def get(self, item_id: str) -> QuarantinedEvent:
        return _load(self.directory / f"{item_id}.json")

    def remove(self, item_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{item_id}.json").unlink()

    def count(self) -> int:
        try:
            return sum(1 for name in os.listdir(self.directory) if name.endswith(".json"))
        except FileNotFoundError:
            return 0


def _load(path: Path) -> QuarantinedEvent:
    document = json.loads(path.read_text(encoding="utf-8"))
    raw = document["body"]
    body = (raw.encode("utf-8") if document.get("body_encoding", "utf-8") == "utf-8"
            else base64.b64decode(raw))
    return QuarantinedEvent(document["id"], int(document["received_ns"]),
                            str(document.get("event", "")), str(document.get("reason", "")),
                            dict(document.get("errors") or {}), body)
