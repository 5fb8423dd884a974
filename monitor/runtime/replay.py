"""``zrmon quarantine replay``: give quarantined events a second chance.

Each event goes through the very intake a live delivery goes through
(:mod:`monitor.webhooks.intake`), minus the signature, which was checked
when it first arrived. What passes is spooled and leaves the quarantine;
what still fails stays, with the new errors.

Interrupted at any step, running it again changes nothing twice: the spooled
copy of an event replayed before the interruption is a duplicate the writer
recognises by its digest, and readings set aside again get the ids they got
the first time.
"""

from __future__ import annotations

from typing import Any

from monitor.core.config import Config
from monitor.store.quarantine import Quarantine
from monitor.store.spool import SpoolAppender
from monitor.webhooks.bounds import limits_of
from monitor.webhooks.intake import Intake, Privacy, parse_body, prepare
from monitor.webhooks.privacy import load_salt


def replay(config: Config, quarantine: Quarantine, ids: list[str] | None) -> dict[str, Any]:
    privacy = Privacy(load_salt(config), config.store_visitor_pii)
    spool = SpoolAppender(config.spool_dir, fsync=True, segment_bytes=config.spool_segment_bytes,
                          max_bytes=config.spool_max_bytes)
    wanted = set(ids) if ids else None
    limits = limits_of(config)
    replayed: list[str] = []
    still_invalid: dict[str, dict[str, list[str]]] = {}
    items = [item for item in quarantine.items() if wanted is None or item.id in wanted]
    try:
        for item in items:
            parsed = parse_body(item.body, limits, privacy)
            intake = parsed if isinstance(parsed, Intake) else prepare(parsed, privacy)
            if intake.status != 200 or intake.spool_payload is None:
                still_invalid[item.id] = intake.quarantine[0].errors if intake.quarantine else {}
                continue
            spool.append(intake.spool_payload, item.received_ns)
            for n, entry in enumerate(intake.quarantine):   # still-bad readings stay behind
                quarantine.add(entry.body, event=intake.event, reason=entry.reason,
                               errors=entry.errors, received_ns=item.received_ns,
                               key=f"{item.id}:{n}".encode())
            quarantine.remove(item.id)
            replayed.append(item.id)
    finally:
        spool.close()
    missing = sorted(wanted - {item.id for item in items}) if wanted else []
    return {"replayed": replayed, "still_invalid": still_invalid, "missing": missing}
