"""Plain helpers shared by the tests: builders, real local servers, process wrappers.

Fixtures stay in ``conftest.py`` files; everything here is imported by name
(``from support.events import sensor_event``). ``tests/`` is on ``sys.path``
through ``pythonpath`` in pyproject's pytest options.

- ``events``: Zoom webhook bodies, their JSON bytes and signature headers.
- ``mapping``: events mapped to points as the writer maps them.
- ``store``: drain the writer's spool, count what landed in InfluxDB.
- ``alerts``: alerts and notifications built by hand at a fixed "now".
- ``sinks``: HTTP and SMTP servers that capture what reaches them, TLS files.
- ``processes``: ``zrmon serve`` and ``zrmon scheduler`` as real processes.
- ``faults``: an HTTP proxy in front of InfluxDB that injects faults.
- ``zoom``: the fake Zoom API and the settings that point the client at it.
- ``readings``, ``dashboards``, ``grafana``: seeded histories for reports and
  dashboards, and the dashboards' queries run the way Grafana runs them.
- ``deploy``: readers for the Dockerfile, compose file and provisioning.
"""
