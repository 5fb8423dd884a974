"""gunicorn's hooks: an exiting worker seals its spool segment, so the writer can delete it."""

from __future__ import annotations

from types import SimpleNamespace

from flask.testing import FlaskClient
from support.events import sensor_event

from monitor.core.config import Config
from monitor.runtime.gunicorn_conf import worker_exit
from monitor.store.spool import list_segments


def test_an_exiting_worker_seals_its_segment(config: Config, client: FlaskClient, post) -> None:
    assert post(sensor_event()).status_code == 200
    [segment] = list_segments(config.spool_dir)
    assert not segment.sealed
    worker_exit(None, SimpleNamespace(wsgi=client.application))
    [sealed] = list_segments(config.spool_dir)
    assert sealed.sealed
