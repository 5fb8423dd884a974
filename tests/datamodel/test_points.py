"""Line-protocol encoding, checked against what a real InfluxDB parses elsewhere."""

from __future__ import annotations

import pytest

from monitor.datamodel.points import Point, clean_tags, encode_point


def test_escapes_follow_the_line_protocol_reference() -> None:
    point = Point("sensor", {"room_name": "Room A,1=x", "room_id": "r1"},
                  {"value": 1.5, "title": 'say "hi"\\', "n": 3, "ok": True}, 10)
    assert encode_point(point) == (
        r'sensor,room_id=r1,room_name=Room\ A\,1\=x value=1.5,title="say \"hi\"\\",'
        "n=3i,ok=true 10"
    )


def test_empty_tags_are_dropped() -> None:
    assert clean_tags({"a": "", "b": None, "c": " x ", "d": 0}) == {"c": "x", "d": "0"}


def test_non_finite_floats_are_refused() -> None:
    with pytest.raises(ValueError, match="nan"):
        encode_point(Point("sensor", {}, {"value": float("nan")}, 1))

