"""What the webhook route needs from its process, installed on the Flask app.

The route takes these through ``current_app`` rather than importing the
runtime that builds them, so the receiving edge knows nothing of processes:
``monitor.runtime.services.Services`` is a ``Receiver`` with the process's
health checks added.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app

from monitor.store.quarantine import Quarantine
from monitor.store.spool import SpoolAppender
from monitor.webhooks.bounds import Limits
from monitor.webhooks.intake import Privacy
from monitor.webhooks.signature import SignaturePolicy

EXTENSION = "zrmon.receiver"


@dataclass(kw_only=True)
class Receiver:
    signature: SignaturePolicy
    privacy: Privacy
    spool: SpoolAppender
    quarantine: Quarantine
    limits: Limits = field(default_factory=Limits)

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def receiver() -> Receiver:
    found: Receiver = current_app.extensions[EXTENSION]
    return found
