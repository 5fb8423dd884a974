"""With state shared in PostgreSQL one replica of all syncs with Zoom (one budget)."""

from __future__ import annotations

import threading
from pathlib import Path

from monitor.core.config import Config
from monitor.zoom.sync import SyncLoop


def test_one_replica_syncs_and_another_takes_over_when_it_stops(config: Config, state_url: str,
                                                                tmp_path: Path) -> None:
    stop = threading.Event()
    first, second = (SyncLoop(config.with_(data_dir=tmp_path / name, state_url=state_url,
                                           replica=name), stop)
                     for name in ("a", "b"))
    assert first._own_role() and not second._own_role()
    assert first._own_role()                            # still its own at the next interval
    first.close()
    assert second._own_role()
    second.close()


def test_without_shared_state_each_data_directory_syncs(config: Config, tmp_path: Path) -> None:
    stop = threading.Event()
    loops = [SyncLoop(config.with_(data_dir=tmp_path / name), stop) for name in ("a", "b")]
    assert all(loop._own_role() for loop in loops)
    for loop in loops:
        loop.close()
