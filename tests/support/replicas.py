"""Receiver replicas sharing one PostgreSQL state, in one test process: each its own data
directory (spool, quarantine), app and writer, as separate hosts behind a balancer would be."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from monitor.core.config import Config
from monitor.runtime.app import create_app
from monitor.store.writer import Writer
from support.events import encode, signed_headers


@dataclass
class Replica:
    name: str
    config: Config
    client: FlaskClient
    writer: Writer

    def post(self, event: dict[str, Any]) -> int:
        body = encode(event)
        answer = self.client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
        return int(answer.status_code)

    def drain(self) -> int:
        """Write everything spooled here so far; the records consumed."""
        total = 0
        while handled := self.writer.drain_once():
            total += handled
        return total

    def close(self) -> None:
        self.writer.state.close()


def replicas(config: Config, state_url: str, root: Path, names: str = "abc") -> list[Replica]:
    made = []
    for name in names:
        local = config.with_(data_dir=root / name, state_url=state_url, replica=name)
        made.append(Replica(name, local, create_app(local).test_client(), Writer(local)))
    return made


def location(kind: str, id_: str, name: str, parent: str = "", event_ts: int = 1) -> dict[str, Any]:
    return {"event": "zoomroom.location_created", "event_ts": event_ts, "payload": {
        "account_id": "acct-1", "operator": "o", "operator_id": "o",
        "object": {"id": id_, "name": name, "type": kind, "parent_location_id": parent}}}


def room_in(room: str, location_id: str, name: str = "Everest",
            event_ts: int = 3) -> dict[str, Any]:
    return {"event": "zoomroom.updated", "event_ts": event_ts, "payload": {
        "account_id": "acct-1", "object": {"id": room, "room_name": name,
                                          "location_id": location_id}}}
