"""Grafana dashboards as code (grafana-foundation-sdk), committed as JSON in ``dashboards/``.

One module per dashboard (fleet, room, incidents, airquality), shared pieces in
``influxql`` (targets, annotations), ``variables``, ``panels``, ``thresholds``
(from the rule files) and ``sensors``. ``python -m monitor.dashboards`` writes
the JSON. The SDK is a dev dependency: nothing outside this package imports it.
"""
