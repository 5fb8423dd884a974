"""``zrmon``'s subcommands for this package (see ``monitor.cli.COMMAND_MODULES``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from monitor.config import Config

HANDLERS: dict[str, Callable[[Config, argparse.Namespace], int]] = {}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    """Nothing yet."""
