"""InfluxQL quoting and the per-room table shape."""

from __future__ import annotations

from monitor.datamodel.influxql import (
    flat_select,
    idents,
    influxql_ident,
    influxql_string,
    time_bounds,
)


def test_influxql_string_quotes() -> None:
    assert influxql_string("O'Brien\\") == "'O\\'Brien\\\\'"


def test_identifiers_are_double_quoted_and_escaped() -> None:
    assert influxql_ident('say "hi"') == '"say \\"hi\\""'
    assert idents(("room_id", "floor")) == '"room_id", "floor"'


def test_a_flat_select_names_its_columns_over_the_grouped_query() -> None:
    assert flat_select("SELECT last(v) FROM s GROUP BY room_id", ("v", "room_id")) == \
        'SELECT "v", "room_id" FROM (SELECT last(v) FROM s GROUP BY room_id)'


def test_time_bounds_are_open_below_and_closed_above() -> None:
    assert time_bounds(10_000_000_000, 2) == ["time > 8000000000", "time <= 10000000000"]
