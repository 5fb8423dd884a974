"""Label matchers: exact values, anchored ``~regex``, a missing label reads as ""."""

from __future__ import annotations

from monitor.notify.matchers import labels_match


def test_matchers() -> None:
    labels = {"rule": "air/co2-high", "building": "HQ", "room_id": "r1"}
    assert labels_match({"building": "HQ"}, labels)
    assert labels_match({"rule": "~air/.*", "room_id": "r1"}, labels)
    assert not labels_match({"rule": "~co2"}, labels)           # regexes match in full
    assert labels_match({"floor": ""}, labels)                  # missing reads as ""
    assert not labels_match({"floor": "~.+"}, labels)
