"""Plain helpers shared by the tests: builders, real local servers, process wrappers.

Fixtures stay in ``conftest.py`` files; everything here is imported by name
(``from support.events import sensor_event``). ``tests/`` is on ``sys.path``
through ``pythonpath`` in pyproject's pytest options.
"""
