"""Room and location registry: building/floor resolution and out-of-order updates."""

from __future__ import annotations

from monitor.ingest.registry import Registry


def tree() -> Registry:
    registry = Registry()
    registry.update_location("c", 1, name="Germany", type_="country", parent_id="")
    registry.update_location("b", 1, name="HQ", type_="building", parent_id="c")
    registry.update_location("f", 1, name="Floor 3", type_="floor", parent_id="b")
    registry.update_room("r1", 1, name="Everest", location_id="f")
    return registry


def test_room_tags_walk_up_to_building_and_floor() -> None:
    assert tree().room_tags("r1") == {"building": "HQ", "floor": "Floor 3"}


def test_older_update_never_replaces_newer() -> None:
    registry = tree()
    assert registry.update_location("b", 5, name="Headquarters")
    assert not registry.update_location("b", 3, name="Old name")
    assert registry.room_tags("r1")["building"] == "Headquarters"


def test_deleted_location_and_cycles_are_harmless() -> None:
    registry = tree()
    registry.update_location("b", 9, deleted=True)
    assert registry.room_tags("r1") == {"floor": "Floor 3"}
    registry.update_location("x", 1, name="X", type_="floor", parent_id="y")
    registry.update_location("y", 1, name="Y", type_="building", parent_id="x")
    registry.update_room("r2", 1, location_id="x")
    assert registry.room_tags("r2") == {"floor": "X", "building": "Y"}


def test_unknown_room_has_no_tags_and_json_round_trip() -> None:
    registry = tree()
    assert registry.room_tags("nope") == {}
    again = Registry.from_json(registry.to_json())
    assert again.room_tags("r1") == registry.room_tags("r1")
