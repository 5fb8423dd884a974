"""One replica of all talks to Zoom's REST API for a job, when the state is shared.

Zoom's rate limits and this monitor's daily budget belong to the account, not to a
host: with several receivers on one PostgreSQL state, the registry sync and the gap
fill each run on the replica that holds their lead. The lead is a session lock kept
for the process's life (no idle timeout: the jobs run minutes apart and send nothing
in between); it passes on when the process or its connection dies. No fence is
needed: a second run would only spend budget, its spool records dedup as any.
"""

from __future__ import annotations

import logging

from monitor.core.config import Config
from monitor.store.leader import Leadership
from monitor.store.statedb import StateDBError, is_postgres_url

log = logging.getLogger("monitor.zoom")


class OneHost:
    def __init__(self, config: Config, role: str) -> None:
        self.config = config
        self.role = role
        self._lead: Leadership | None = None
        self._waiting_said = False

    def ours(self) -> bool:
        """Whether this replica runs the job now (always, without shared state)."""
        if not is_postgres_url(self.config.state_url):
            return True
        if self._lead is None:
            try:
                self._lead = Leadership(self.config.state_url, self.role,
                                        self.config.replica_id(), idle_timeout_s=0).prepare()
            except StateDBError as exc:
                log.warning("%s waits for the shared state: %s", self.role, exc)
                return False
        if (self._lead.leading and self._lead.heartbeat()) or self._lead.try_acquire():
            return True
        if not self._waiting_said:
            log.info("%s left to the replica that leads it", self.role)
            self._waiting_said = True
        return False

    def close(self) -> None:
        if self._lead is not None:
            self._lead.release()
            self._lead = None
