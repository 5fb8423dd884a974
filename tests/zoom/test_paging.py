"""``next_page_token`` paging against the fake: many pages, and a token that expired."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.zoom import make_api, statuses

from monitor.zoom.client import ZoomApi
from monitor.zoom.errors import ZoomRequestError
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import demo_fleet

ApiFor = Callable[..., ZoomApi]
DAY = ("2026-09-21T00:00:00Z", "2026-09-22T00:00:00Z")


def test_rooms_across_three_pages_of_300() -> None:
    with FakeZoom(demo_fleet(650)) as fake:
        api = make_api(fake)
        rooms = api.rooms()
        api.close()
    assert len(rooms) == 650 == len({room.id for room in rooms})
    listed = [r for r in fake.api_requests() if r.path == "/v2/rooms"]
    assert [r.query.get("page_size") for r in listed] == ["300"] * 3
    assert [bool(r.query.get("next_page_token")) for r in listed] == [False, True, True]
    assert {room.room_id for room in rooms} == {room.room_id for room in fake.fleet.rooms}


def test_locations_all_pages_with_parent_and_type(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(page_size=5)
    locations = api.locations()
    assert len(locations) == len(fake.fleet.locations) == 18
    assert len([r for r in fake.api_requests() if r.path == "/v2/rooms/locations"]) == 4
    by_id = {loc.id: loc for loc in locations}
    floor = next(loc for loc in locations if loc.type == "floor")
    building = by_id[floor.parent_location_id]
    assert building.type == "building"
    countries = [loc for loc in locations if loc.type == "country"]
    assert {c.parent_location_id for c in countries} == {fake.fleet.account_id}
    city = next(loc for loc in locations if loc.type == "city")
    assert api.location(city.id).timezone == "America/Los_Angeles"
    assert api.location(building.id).timezone is None


def test_sensor_data_paged_over_a_time_range(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for()
    room = fake.fleet.rooms[3]
    readings = api.sensor_data(room.room_id, *DAY)
    assert len(readings) == 289 * 3                      # every 5 min incl. both ends, 3 kinds
    assert len([r for r in fake.api_requests() if r.path.endswith("/sensor_data")]) == 3
    assert readings[0].date_time == DAY[0] and readings[-1].date_time == DAY[1]
    assert readings[0].sensor_value.isdigit()
    co2 = api.sensor_data(room.id, *DAY, sensor_type="CO2")
    assert {r.sensor_type for r in co2} == {"CO2"} and len(co2) == 289


def test_expired_page_token_restarts_from_the_first_page_without_duplicates(
        fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for(page_size=100)
    room = fake.fleet.rooms[0]
    seen = []
    for reading in api.iter_sensor_data(room.id, *DAY):
        seen.append(reading)
        if len(seen) == 200:
            fake.advance(901)                            # past Zoom's 15 minutes
    assert len(seen) == 867 == len({r.key for r in seen})
    listed = [r for r in fake.api_requests() if r.path.endswith("/sensor_data")]
    assert [r.status for r in listed].count(400) == 1
    first_pages = [r for r in listed if not r.query.get("next_page_token")]
    assert len(first_pages) == 2                          # the start, and the restart
    assert [r.key for r in seen] == [r.key for r in api.sensor_data(room.id, *DAY)]


def test_a_token_that_keeps_expiring_gives_up_after_three_restarts(fake: FakeZoom,
                                                                  api_for: ApiFor) -> None:
    fake.options.page_token_ttl_s = -1                    # every token is stale at once
    api = api_for(page_size=5)
    with pytest.raises(ZoomRequestError, match="next page token is invalid or expired"):
        api.rooms()
    assert statuses(fake) == [200, 400] * 4


def test_unknown_room_is_a_request_error_with_zooms_code(fake: FakeZoom,
                                                        api_for: ApiFor) -> None:
    api = api_for()
    with pytest.raises(ZoomRequestError) as caught:
        api.devices("no-such-room")
    assert (caught.value.status, caught.value.code) == (404, 1012)
    assert statuses(fake) == [404]                        # a 4xx is not retried


def test_profiles_drop_passcodes_and_activation_codes(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for()
    room = fake.fleet.rooms[0]
    profile = api.room(room.id)
    listed = api.rooms()[0]
    for value in (profile, listed, api.location(room.location_id)):
        text = repr(value)
        assert "975193018" not in text and "1315-2376" not in text
    assert profile.location_id == room.location_id


def test_the_simulators_fleet_as_a_fake_account() -> None:
    from monitor.simulate.api import fleet_from_simulation
    from monitor.simulate.fleet import make_fleet
    from monitor.zoom.inventory import collect

    simulated = make_fleet(6, seed=3)
    with FakeZoom(fleet_from_simulation(simulated)) as fake:
        api = make_api(fake)
        rows = collect(api)
        api.close()
    by_room_id = {row.room.room_id: row for row in rows}
    for room in simulated.rooms:
        row = by_room_id[room.room_id]
        assert (row.level("building"), row.level("floor")) == (room.building, room.floor)
        assert row.devices[0].id == room.device_id
    assert by_room_id[simulated.rooms[1].room_id].room.status == "Offline"
