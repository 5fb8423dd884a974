"""Reports as files: one self-contained HTML page, CSV, or JSON, from the same rows.

The HTML has inline CSS and inline SVG charts (no scripts, fonts or images to
fetch), so it can be mailed, archived and printed as it is: a summary first,
then one section per building, then every room.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import jinja2

from monitor.core.timeutil import human_duration
from monitor.reports.air_query import AirReport
from monitor.reports.charts import bar_chart_svg
from monitor.reports.tables import (
    Row,
    air_columns,
    air_document,
    uptime_columns,
    uptime_document,
)
from monitor.reports.uptime_query import UptimeReport

FORMATS = ("html", "csv", "json")
Report = AirReport | UptimeReport
CHART_ROOMS = 20
NONE = "\N{EM DASH}"


def render(report: Report, fmt: str, generated_ns: int) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    if isinstance(report, AirReport):
        document, columns = air_document(report), air_columns(report)
    else:
        document, columns = uptime_document(report), uptime_columns(report)
    document["generated"] = report.range.iso(generated_ns)
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return to_csv(columns, document["rows"])
    if isinstance(report, AirReport):
        return _air_html(report, document)
    return _uptime_html(report, document)


def to_csv(columns: Sequence[str], rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def _percent(value: Any) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


def _number(value: Any) -> str:
    if value is None:
        return NONE
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def _duration(value: Any) -> str:
    return NONE if value is None else human_duration(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(percent=_percent, number=_number, duration=_duration)
    return env


def _air_html(report: AirReport, document: dict[str, Any]) -> str:
    rows = document["rows"]
    ranked = [(room.name, (room.worst or 0.0) * 100) for room in report.rooms[:CHART_ROOMS]]
    chart = bar_chart_svg([name for name, _ in ranked], [value for _, value in ranked],
                          title="Worst rooms: lowest share of (occupied) time within guidance",
                          xlabel="% of hours within guidance") if ranked else ""
    sections = [{"name": building.name,
                 "rows": [r for r in rows if r["level"] in ("building", "floor")
                          and r["building"] == building.building]}
                for building in report.buildings]
    return _environment().from_string(AIR_TEMPLATE).render(
        doc=document, chart=chart, lines=report.lines, checkin_rooms=report.checkin_rooms,
        fleet=[r for r in rows if r["level"] == "fleet"], sections=sections,
        rooms=[r for r in rows if r["level"] == "room"], css=CSS)


def _uptime_html(report: UptimeReport, document: dict[str, Any]) -> str:
    rows = document["rows"]
    ranked = [(room.name, (figures.availability or 0.0) * 100)
              for room, figures in report.rooms[:CHART_ROOMS]]
    low = min((value for _, value in ranked), default=100.0)
    chart = bar_chart_svg([name for name, _ in ranked], [value for _, value in ranked],
                          title="Least available rooms", xlabel="availability %",
                          limit=100.0) if ranked and low < 100.0 else ""
    kinds = [c for c in document["columns"] if c.startswith("incidents:")]
    return _environment().from_string(UPTIME_TEMPLATE).render(
        doc=document, chart=chart, kinds=kinds,
        fleet=[r for r in rows if r["level"] == "fleet"],
        buildings=[r for r in rows if r["level"] == "building"],
        rooms=[r for r in rows if r["level"] == "room"], css=CSS)


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0 1.6em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #eef2f5; } td.l, th.l { text-align: left; }
tr.occupied td { background: #fafafa; color: #444; }
.bad { color: #b03a2e; font-weight: 600; } .note { color: #555; font-size: 0.85em; }
svg { max-width: 100%; height: auto; }
@media print { body { margin: 0.5cm; } section { page-break-before: always; }
  table { font-size: 0.7em; } tr { page-break-inside: avoid; } }
"""

AIR_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Air quality {{ doc['from'] }}</title>
<style>{{ css }}</style></head><body>
<h1>Air quality</h1>
<p class="meta">{{ doc['from'] }} to {{ doc['to'] }} ({{ doc.hours }} hours, {{ doc.timezone }}) ·
generated {{ doc.generated }}</p>
{% macro table(rows, first) -%}
<table><tr><th class="l">{{ first }}</th><th class="l">sensor</th><th class="l">time</th>
<th>hours</th><th>coverage</th><th>mean</th><th>p95</th><th>max</th>
{% for line in lines %}<th>{{ line.label }}</th>{% endfor %}</tr>
{% for r in rows %}<tr class="{{ r.time }}"><td class="l">{{ r.name }}</td>
<td class="l">{{ r.sensor }}</td><td class="l">{{ r.time }}</td><td>{{ r.hours }}</td>
<td>{{ r.coverage | percent }}</td><td>{{ r.mean | number }}</td><td>{{ r.p95 | number }}</td>
<td>{{ r.max | number }}</td>
{% for line in lines %}{% set v = r['within_' ~ line.key] %}
<td{% if v is not none and v < 0.9 %} class="bad"{% endif %}>{{ v | percent }}</td>
{% endfor %}</tr>{% endfor %}</table>
{%- endmacro %}
<h2>Summary</h2>
<p class="note">Share of hours within guidance; an hour counts when its mean is within.
Hours without readings are never counted as within (see coverage). Occupied time: hours with
a people count above 0, or checked in ({{ checkin_rooms }} rooms had check-ins).
Guidance from the rule files:
{% for line in lines %}{{ line.label }} ({{ line.rule }}, {{ line.level }}){% if not loop.last %};
{% endif %}{% endfor %}.</p>
{{ table(fleet, "fleet") }}
{{ chart | safe }}
{% for section in sections %}<section><h2>{{ section.name }}</h2>
{{ table(section.rows, "building / floor") }}</section>{% endfor %}
<section><h2>Rooms, worst first</h2>{{ table(rooms, "room") }}</section>
</body></html>
"""

UPTIME_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Room uptime {{ doc['from'] }}</title>
<style>{{ css }}</style></head><body>
<h1>Room uptime</h1>
<p class="meta">{{ doc['from'] }} to {{ doc['to'] }} ({{ doc.timezone }}) · {{ doc.rooms }} rooms ·
generated {{ doc.generated }}</p>
{% macro table(rows, first) -%}
<table><tr><th class="l">{{ first }}</th><th>availability</th><th>downtime</th>
<th>incidents</th>{% for k in kinds %}<th>{{ k[10:] }}</th>{% endfor %}<th>recovered</th>
<th>time to recover</th><th>MTTR</th><th>longest</th><th>open at end</th></tr>
{% for r in rows %}<tr><td class="l">{{ r.name }}</td>
<td{% if r.availability is not none and r.availability < 0.99 %} class="bad"{% endif %}>
{{ r.availability | percent }}</td><td>{{ r.downtime_s | duration }}</td>
<td>{{ r.incidents }}</td>{% for k in kinds %}<td>{{ r[k] }}</td>{% endfor %}
<td>{{ r.recovered }}</td><td>{{ r.time_to_recover_s | duration }}</td>
<td>{{ r.mttr_s | duration }}</td>
<td>{{ r.longest_s | duration }}{% if r.longest_open %} (open){% endif %}</td>
<td>{{ r.open_at_end }}</td></tr>{% endfor %}</table>
{%- endmacro %}
<h2>Summary</h2>
<p class="note">Availability: time not in a room-offline incident, clipped to the range.
Time to recover: whole durations of incidents that ended within the range.</p>
{{ table(fleet, "fleet") }}
{{ chart | safe }}
<section><h2>Buildings</h2>{{ table(buildings, "building") }}</section>
<section><h2>Rooms, least available first</h2>{{ table(rooms, "room") }}</section>
</body></html>
"""
