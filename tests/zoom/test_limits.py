"""The request budget against the fake: per second (counted from the fake's own request
log), 429 with and without headers, Zoom's daily limit, and the monitor's daily budget."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

import pytest
from support.zoom import make_api, statuses, zoom_env

from monitor.zoom.client import ZoomApi
from monitor.zoom.errors import ZoomBudgetError, ZoomRateLimitError
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_faults import Scripted
from monitor.zoom.fake_fleet import iso

ApiFor = Callable[..., ZoomApi]
QPS_429 = {"code": 429, "message": "You have reached the maximum per-second rate limit."}


def _gap_after_429(fake: FakeZoom) -> float:
    log = fake.api_requests()
    index = next(i for i, r in enumerate(log) if r.status == 429)
    return log[index + 1].wall - log[index].wall


def test_the_fake_never_sees_more_requests_per_second_than_the_budget(
        fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(rate=8.0)
    started = time.monotonic()
    for _ in range(40):
        api.location_structure()
    elapsed = time.monotonic() - started
    assert fake.max_per_second() <= 8
    assert len(fake.api_requests()) == 40
    print(json.dumps({"budget_per_s": 8, "max_seen_in_any_1s": fake.max_per_second(),
                      "requests": 40, "elapsed_s": round(elapsed, 2)}))


def test_budget_holds_across_threads(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(rate=6.0)

    def work() -> None:
        for _ in range(12):
            api.devices(fake.fleet.rooms[0].id)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.api_requests()) == 36
    assert fake.max_per_second() <= 6


def test_a_fractional_budget_is_never_rounded_up(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(rate=2.5)
    for _ in range(7):
        api.location_structure()
    assert fake.max_per_second() <= 2


def test_429_with_retry_after_seconds_is_honoured(fake: FakeZoom, api_for: ApiFor) -> None:
    fake.script(Scripted(429, QPS_429, {"Retry-After": "2", "X-RateLimit-Type": "QPS"}))
    api = api_for()
    assert api.location_structure()
    assert statuses(fake) == [429, 200]
    assert _gap_after_429(fake) >= 2.0
    assert api.limiter.current_rate() == 20.0             # told how long: no slow-down


@pytest.mark.parametrize("form", ["iso", "http-date"])
def test_429_with_retry_after_date_is_honoured(fake: FakeZoom, api_for: ApiFor,
                                               form: str) -> None:
    until = int(time.time()) + 2
    stamp = iso(until) if form == "iso" else formatdate(until, usegmt=True)
    fake.script(Scripted(429, QPS_429, {"Retry-After": stamp}))
    api = api_for()
    assert api.location_structure()
    assert statuses(fake) == [429, 200]
    assert fake.api_requests()[1].wall >= until


def test_429_without_headers_halves_the_rate(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(rate=8.0)
    api.location_structure()
    fake.script(Scripted(429, QPS_429))
    for _ in range(12):
        api.location_structure()
    assert statuses(fake).count(429) == 1
    assert api.limiter.current_rate() == 4.0
    after = [r.at for r in fake.api_requests()[2:]]
    per_second = max(sum(1 for t in after if start <= t < start + 1.0) for start in after)
    assert per_second <= 4
    assert _gap_after_429(fake) >= 1.0


def test_fake_over_its_rate_without_headers_makes_the_client_slow_down(
        fake: FakeZoom, api_for: ApiFor) -> None:
    fake.options.qps_limit = 3
    fake.options.qps_rate_headers = False
    fake.options.qps_retry_after = None
    api = api_for(rate=10.0, max_throttled=20)
    for _ in range(15):
        assert api.location_structure()
    assert statuses(fake).count(200) == 15
    assert api.limiter.current_rate() <= 2.5
    assert api.stats.throttled == statuses(fake).count(429) >= 1


def test_fake_over_its_rate_with_headers_is_waited_out(fake: FakeZoom,
                                                       api_for: ApiFor) -> None:
    fake.options.qps_limit = 4
    api = api_for(rate=10.0, max_throttled=20)
    for _ in range(12):
        assert api.location_structure()
    assert statuses(fake).count(200) == 12
    assert statuses(fake).count(429) >= 1
    assert api.limiter.current_rate() == 10.0


def test_zooms_daily_limit_stops_the_client_with_the_time_zoom_named(
        fake: FakeZoom, api_for: ApiFor) -> None:
    fake.options.daily_limit = 3
    api = api_for()
    for _ in range(3):
        api.location_structure()
    with pytest.raises(ZoomRateLimitError,
                       match=r"daily rate limit .* again at \d{4}-.*T00:00:00Z"):
        api.location_structure()
    seen = len(fake.api_requests())
    with pytest.raises(ZoomRateLimitError, match="daily rate limit"):
        api.rooms()
    assert len(fake.api_requests()) == seen               # not asked again until then


def test_our_daily_budget_stops_the_client_and_survives_a_restart(
        fake: FakeZoom, tmp_path: Path) -> None:
    state = tmp_path / "zoom-budget.json"
    api = make_api(fake, daily_budget=5, budget_path=state)
    for _ in range(5):
        api.location_structure()
    with pytest.raises(ZoomBudgetError,
                       match=r"5 of 5 requests today \(ZRMON_ZOOM_DAILY_BUDGET\); it renews at"):
        api.location_structure()
    api.close()
    assert len(fake.api_requests()) == 5
    again = make_api(fake, daily_budget=5, budget_path=state)
    with pytest.raises(ZoomBudgetError):
        again.location_structure()
    assert len(fake.api_requests()) == 5
    assert json.loads(state.read_text())["used"] == 5


def _hammer_from_its_own_process(env: dict[str, str], room_id: str, calls: int) -> None:
    from monitor.core.config import Config

    with ZoomApi.from_config(Config.from_env(env)) as api:
        for _ in range(calls):
            api.devices(room_id)


def test_the_budget_is_the_data_directorys_across_processes(fake: FakeZoom,
                                                            tmp_path: Path) -> None:
    """Sync, gap fill and a backfill run beside the service share one rate and one day."""
    env = zoom_env(fake, tmp_path, ZRMON_ZOOM_RATE="5", ZRMON_ZOOM_DAILY_BUDGET="1000")
    workers = [multiprocessing.Process(target=_hammer_from_its_own_process,
                                       args=(env, fake.fleet.rooms[0].id, 10))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len([r for r in fake.api_requests() if "/devices" in r.path]) == 30
    assert fake.max_per_second() <= 5
    used = json.loads((tmp_path / "state" / "zoom-budget.json").read_bytes())["used"]
    assert used == 30
