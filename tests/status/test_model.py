"""The status page's rows, colours, staleness and order: pure, no server."""

from __future__ import annotations

from pathlib import Path

from support.paths import REPO

from monitor.rules.model import Rule, Threshold
from monitor.status.levels import RuleCache, RuleSet, value_level
from monitor.status.model import STALE_AFTER_S, Page, RoomRow, build_page, page_json
from monitor.status.query import OpenIncident, Reading, RoomRef, RuleStatus, Snapshot

AT_MS = 1_793_527_200_000            # 2026-11-01T10:00:00Z
AT_NS = AT_MS * 1_000_000
MIN_MS = 60_000

CO2_HIGH = Rule("air-quality", "co2-high", "threshold",
                {"info": Threshold("above", 800.0), "warning": Threshold("above", 1000.0),
                 "critical": Threshold("above", 1500.0)}, sensor="CO2")
OFFLINE = Rule("room-health", "room-offline", "incident",
               {"critical": Threshold("above", 600.0)})
RULES = RuleSet((CO2_HIGH, OFFLINE))


def ref(room_id: str, name: str = "", building: str = "HQ", floor: str = "1") -> RoomRef:
    return RoomRef(room_id, name or room_id.title(), building, floor)


def reading(room: RoomRef, sensor: str, value: float, ago_min: float = 1) -> Reading:
    return Reading(room, sensor, value, int(AT_MS - ago_min * MIN_MS))


def page(readings: list[Reading], incidents: list[OpenIncident] | None = None,
         states: list[RuleStatus] | None = None, rules: RuleSet = RULES) -> Page:
    return build_page(Snapshot(AT_NS, readings, incidents or [], states or []), rules)


def rows(result: Page) -> list[RoomRow]:
    return [room for b in result.buildings for f in b.floors for room in f.rooms]


def by_name(result: Page) -> dict[str, RoomRow]:
    return {room.name: room for room in rows(result)}


def test_rooms_are_grouped_by_building_and_floor_with_problems_first() -> None:
    result = page([reading(ref("a", "Alps", "Annex", "Floor 10"), "CO2", 500),
                   reading(ref("b", "Baker", "Annex", "Floor 2"), "CO2", 600),
                   reading(ref("c", "Cook", "HQ", "Floor 1"), "CO2", 650),
                   reading(ref("d", "Denali", "HQ", "Floor 1"), "CO2", 1200),
                   reading(ref("e", "Elbrus", "HQ", "Floor 1"), "CO2", 450)])
    layout = [(b.name, [(f.name, [r.name for r in f.rooms]) for f in b.floors])
              for b in result.buildings]
    assert layout == [
        ("HQ", [("Floor 1", ["Denali", "Cook", "Elbrus"])]),          # a warning sorts first
        ("Annex", [("Floor 2", ["Baker"]), ("Floor 10", ["Alps"])]),  # natural floor order
    ]
    assert result.buildings[0].severity == "warning"


def test_rooms_without_location_are_grouped_last_under_a_label() -> None:
    result = page([reading(RoomRef("x", "Loose"), "CO2", 500),
                   reading(ref("y", "Placed", "HQ", "1"), "CO2", 500)])
    assert [(b.name, [f.name for f in b.floors]) for b in result.buildings] == [
        ("HQ", ["1"]), ("No building", ["No floor"])]


def test_values_are_coloured_by_the_rule_thresholds() -> None:
    room = ref("r")
    result = page([reading(room, "CO2", 1150), reading(room, "TEMPERATURE", 21.46)])
    cells = rows(result)[0].cells
    assert (cells["CO2"].text, cells["CO2"].level) == ("1,150", "warning")
    assert (cells["TEMPERATURE"].text, cells["TEMPERATURE"].level) == ("21.5", None)  # no rule
    assert value_level(RULES.rules, "CO2", 640, {}) == "ok"
    assert value_level(RULES.rules, "CO2", 1600, {}) == "critical"


def test_a_rule_with_where_colours_only_the_rooms_it_applies_to() -> None:
    annex_only = Rule("g", "annex", "threshold", {"critical": Threshold("above", 500.0)},
                      sensor="CO2", where={"building": "Annex"})
    rules = RuleSet((annex_only,))
    result = page([reading(ref("a", "A", "Annex"), "CO2", 700),
                   reading(ref("h", "H", "HQ"), "CO2", 700)], rules=rules)
    assert by_name(result)["A"].cells["CO2"].level == "critical"
    assert by_name(result)["H"].cells["CO2"].level is None


def test_rate_and_count_rules_do_not_colour_single_readings() -> None:
    rate = Rule("g", "rising", "rate", {"info": Threshold("above", 300.0)}, sensor="CO2")
    count = Rule("g", "few", "threshold", {"info": Threshold("below", 3.0)}, sensor="CO2",
                 aggregate="count")
    assert value_level((rate, count), "CO2", 900, {}) is None


def test_staleness_is_shown_per_sensor_and_per_room() -> None:
    live, gone = ref("live", "Live"), ref("gone", "Gone")
    result = page([reading(live, "CO2", 500, ago_min=3), reading(live, "HUMIDITY", 40, 45),
                   reading(gone, "CO2", 500, ago_min=47)])
    rooms = by_name(result)
    assert rooms["Live"].last_seen == "3 min ago"
    assert not rooms["Live"].silent
    assert rooms["Live"].cells["HUMIDITY"].stale and not rooms["Live"].cells["CO2"].stale
    assert rooms["Live"].severity == "info"           # one stale sensor: worth a look
    assert rooms["Gone"].last_seen == "47 min ago"
    assert rooms["Gone"].silent and rooms["Gone"].status == "silent"
    assert rooms["Gone"].severity == "warning"
    assert result.summary.stale_sensors == 2
    assert STALE_AFTER_S == 20 * 60


def test_just_now_and_no_reading() -> None:
    fresh = ref("fresh", "Fresh")
    incident = OpenIncident(ref("quiet", "Quiet"), "3", "room_offline", "zoom_rooms_computer",
                            AT_MS - 90 * MIN_MS)
    rooms = by_name(page([reading(fresh, "CO2", 500, ago_min=0.2)], [incident]))
    assert rooms["Fresh"].last_seen == "just now"
    assert rooms["Quiet"].last_seen == "no reading in 2 h"
    assert rooms["Quiet"].cells == {}


def test_an_offline_room_is_critical_first_and_counted() -> None:
    down, fine = ref("down", "Zulu"), ref("fine", "Alpha")
    incident = OpenIncident(down, "3", "room_offline", "zoom_rooms_computer",
                            AT_MS - 38 * MIN_MS)
    result = page([reading(down, "CO2", 500), reading(fine, "CO2", 500)], [incident])
    first = rows(result)[0]
    assert (first.name, first.status, first.severity, first.offline) == \
        ("Zulu", "offline", "critical", True)
    assert first.incidents[0].alert == "room offline"
    assert first.incidents[0].since == "38 min"
    assert result.summary.offline == 1 and result.summary.open_incidents == 1


def test_other_incidents_are_warnings_not_offline() -> None:
    room = ref("r", "Eiger")
    incident = OpenIncident(room, "6", "low_battery", "scheduling_display", AT_MS - 95 * MIN_MS)
    row = rows(page([reading(room, "CO2", 500)], [incident]))[0]
    assert (row.offline, row.severity, row.status) == (False, "warning", "warning")
    assert (row.incidents[0].alert, row.incidents[0].component, row.incidents[0].since) == \
        ("low battery", "scheduling display", "1 h 35 min")


def test_rule_states_show_what_is_not_inactive_and_count_by_level() -> None:
    kili, everest, denali = ref("k", "Kilimanjaro"), ref("e", "Everest"), ref("d", "Denali")
    states = [
        RuleStatus(kili, "air-quality/co2-high", "firing", "warning", 1142, AT_MS - 12 * MIN_MS),
        RuleStatus(kili, "air-quality/humidity", "pending", "warning", 28.6, AT_MS - 6 * MIN_MS),
        RuleStatus(everest, "air-quality/co2-high", "inactive", "warning", 820, AT_MS),
        RuleStatus(denali, "room-health/room-offline", "firing", "critical", 660,
                   AT_MS - 27 * MIN_MS),
        RuleStatus(denali, "air-quality/co2-silent", "no_data", "", None, AT_MS - 5 * MIN_MS),
    ]
    result = page([reading(kili, "CO2", 1150), reading(everest, "CO2", 640)], states=states)
    rooms = by_name(result)
    badges = [(b.name, b.status, b.level, b.value, b.since) for b in rooms["Kilimanjaro"].rules]
    assert badges == [("co2-high", "firing", "warning", "1,142", "12 min"),
                      ("humidity", "pending", "warning", "28.6", "6 min")]
    assert rooms["Everest"].rules == [] and rooms["Everest"].severity == "ok"
    assert [b.value for b in rooms["Denali"].rules] == ["11 min", ""]   # incident rule: seconds
    assert rooms["Denali"].severity == "critical"
    assert result.summary.firing == {"info": 0, "warning": 1, "critical": 1}
    assert (result.summary.pending, result.summary.no_data) == (1, 1)
    assert [r.name for r in rows(result)] == ["Denali", "Kilimanjaro", "Everest"]


def test_a_room_known_only_from_a_resolved_rule_is_not_listed() -> None:
    gone = RuleStatus(ref("old", "Old"), "air-quality/co2-high", "inactive", "warning", 700,
                      AT_MS - 600 * MIN_MS)
    assert page([], states=[gone]).empty


def test_a_renamed_or_moved_room_shows_as_it_is_now() -> None:
    before = RoomRef("r", "Old name", "HQ", "1")
    after = RoomRef("r", "New name", "Annex", "3")
    result = page([reading(before, "CO2", 900, ago_min=30), reading(after, "CO2", 610, 2)])
    assert [(b.name, b.floors[0].name) for b in result.buildings] == [("Annex", "3")]
    row = rows(result)[0]
    assert (row.name, row.cells["CO2"].text) == ("New name", "610")


def test_columns_follow_zoom_order_and_keep_unknown_sensors() -> None:
    room = ref("r")
    result = page([reading(room, "HUMIDITY", 40), reading(room, "NOISE_LEVEL", 41.25),
                   reading(room, "CO2", 500), reading(room, "REAL_TIME_PEOPLE_COUNT", 3)])
    assert [c.sensor_type for c in result.columns] == [
        "REAL_TIME_PEOPLE_COUNT", "CO2", "HUMIDITY", "NOISE_LEVEL"]
    assert result.columns[-1].label == "Noise Level"
    assert rows(result)[0].cells["NOISE_LEVEL"].text == "41.2"


def test_an_empty_snapshot_is_an_empty_page_with_zero_counts() -> None:
    result = page([])
    assert result.empty and result.columns == []
    assert result.summary.rooms == 0 and result.summary.firing == {
        "info": 0, "warning": 0, "critical": 0}
    assert result.generated_at == "2026-11-01T10:00:00.000Z"
    assert result.generated_text == "01 Nov 2026, 10:00:00 UTC"


def test_json_twin_carries_rows_and_status() -> None:
    down = ref("down", "Denali")
    incident = OpenIncident(down, "3", "room_offline", "zoom_rooms_computer", AT_MS - MIN_MS)
    data = page_json(page([reading(down, "CO2", 1150)], [incident]))
    room = data["buildings"][0]["floors"][0]["rooms"][0]
    assert (room["name"], room["status"], room["cells"]["CO2"]["level"]) == \
        ("Denali", "offline", "warning")
    assert data["summary"]["offline"] == 1 and data["empty"] is False


def test_rule_problems_become_a_notice(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("group: g\ninterval: 1m\nrules:\n  - name: x\n"
                                       "    sensor: CO2\n    levels: {warning: {abov: 1}}\n")
    rules = RuleCache(tmp_path).get()
    assert rules.rules == ()
    assert rules.problem.startswith("rule files not loaded: ")
    assert "bad.yaml:6" in rules.problem
    assert page([], rules=rules).notices == [rules.problem]


def test_rule_cache_reads_the_repository_rules_and_notices_edits(tmp_path: Path) -> None:
    shipped = RuleCache(REPO / "rules").get()
    assert shipped.problem == ""
    assert shipped.kind_of("air-quality/co2-high") == "threshold"
    assert shipped.kind_of("room-health/room-offline") == "incident"
    assert value_level(shipped.rules, "CO2", 1150, {}) == "warning"
    assert value_level(shipped.rules, "HUMIDITY", 28, {}) == "warning"

    target = tmp_path / "air.yaml"
    target.write_text((REPO / "rules" / "air-quality.yaml").read_text())
    cache = RuleCache(tmp_path)
    first = cache.get()
    assert cache.get() is first                           # unchanged files: not parsed again
    target.write_text(target.read_text().replace("info: {above: 800}", "info: {above: 600.0}"))
    assert value_level(cache.get().rules, "CO2", 700, {}) == "info"
