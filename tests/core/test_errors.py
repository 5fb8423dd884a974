"""One family of errors: every exception the package defines is a MonitorError of one kind,
and the kind alone decides how a command ends."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import monitor
from monitor.core.errors import (
    MonitorError,
    RejectedError,
    ServiceError,
    StateError,
    UsageError,
    describe,
    exit_code_of,
)
from monitor.core.exitcodes import EXIT_FAILURE, EXIT_USAGE

KINDS = (UsageError, ServiceError, StateError, RejectedError)


def defined_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(monitor.__path__, "monitor."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_exception_the_package_defines_is_a_monitor_error() -> None:
    found = defined_exceptions()
    assert len(found) > 20
    strays = [f"{cls.__module__}.{cls.__name__}" for cls in found
              if not issubclass(cls, MonitorError)]
    assert strays == []


def test_every_public_error_has_a_kind() -> None:
    kindless = [f"{cls.__module__}.{cls.__name__}" for cls in defined_exceptions()
                if cls not in (MonitorError, *KINDS) and not cls.__name__.startswith("_")
                and not issubclass(cls, KINDS)]
    assert kindless == []


def test_the_kind_decides_the_exit_code() -> None:
    assert [kind("x").exit_code for kind in KINDS] == [EXIT_USAGE, EXIT_FAILURE, EXIT_USAGE,
                                                       EXIT_FAILURE]
    assert exit_code_of(ValueError("not ours")) == EXIT_FAILURE
    from monitor.zoom.errors import ZoomAuthError, ZoomUnavailableError

    assert exit_code_of(ZoomAuthError("bad credentials")) == EXIT_USAGE
    assert exit_code_of(ZoomUnavailableError("down")) == EXIT_FAILURE


def test_an_error_describes_itself_with_its_subject() -> None:
    from monitor.core.config import ConfigError
    from monitor.store.influx import InfluxError

    assert describe(ConfigError("ZRMON_PORT", "not a number")) == \
        "configuration error: ZRMON_PORT: not a number"
    assert describe(InfluxError("connection refused")) == "InfluxDB: connection refused"
    assert describe(UsageError("--at: not a time")) == "--at: not a time"
