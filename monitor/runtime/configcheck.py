"""``zrmon rules check [PATH]``: everything wrong with the rule files, one line each.

Meant to run before a deploy (and in CI), so it reports every mistake of
every file in one run, as ``file:line: field: message``. Besides what the
loader checks, it checks that each ``notify:`` entry names a channel of
``channels.yaml`` beside the rules -- the loader cannot, as it reads one rule
file at a time.

Checking a directory also checks the configuration beside the rules with the
loaders the evaluator uses -- ``channels.yaml`` (required, with the
environment's ``${NAME}`` secrets), ``notify.yaml`` and ``reports.yaml`` -- so
a pass means ``zrmon serve`` and ``zrmon scheduler`` will start: a typo in any
of them once meant an evaluator that logged one line and evaluated nothing.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from monitor.core.configfile import ConfigFileError, ConfigFileErrors, parse_yaml
from monitor.rules.load import CONFIG_FILES, ParsedFile, parse_dir, parse_file
from monitor.rules.model import Group

DEFAULT_PATH = Path("rules")
CHANNELS_FILE = "channels.yaml"


def check(path: Path, channel_names: set[str] | None,
          env: Mapping[str, str] | None = None) -> list[str]:
    """The error lines for a rule file or directory; empty when all is well.

    ``channel_names`` None means: read them from ``channels.yaml`` beside the
    rules, and skip the ``notify`` check when there is no such file. ``env``
    (default: the process environment) fills the ``${NAME}`` references of a
    directory's configuration files.
    """
    errors, _ = _run(path, channel_names, env)
    return errors


def main_check(argv_path: str | None) -> int:
    """What the CLI runs: errors to stderr and exit code 2, or a one-line summary and 0."""
    path = Path(argv_path) if argv_path else DEFAULT_PATH
    errors, groups = _run(path, None)
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        return 2
    if _is_config_file(path):
        print(f"{path}: OK")
        return 0
    rules = sum(len(group.rules) for group in groups)
    print(f"{path}: {len(groups)} group(s), {rules} rule(s) OK")
    return 0


def _is_config_file(path: Path) -> bool:
    return path.name in CONFIG_FILES and not path.is_dir()


def _run(path: Path, channel_names: set[str] | None,
         env: Mapping[str, str] | None = None) -> tuple[list[str], list[Group]]:
    environment = os.environ if env is None else env
    if _is_config_file(path):         # `zrmon rules check rules/notify.yaml`: that file alone
        return config_file_errors(path, environment), []
    parsed = parse_dir(path) if path.is_dir() else [parse_file(path)]
    errors: list[ConfigFileError] = []
    known = channel_names
    channels_readable = True
    if known is None:
        known, problems = read_channel_names(_channels_file(path))
        errors.extend(problems)
        channels_readable = not problems
    for one in parsed:
        notify = _notify_errors(one, known) if known is not None else []
        errors.extend(sorted((*one.errors, *notify), key=lambda e: (e.line, e.field)))
    lines = [str(error) for error in errors]
    if path.is_dir():
        lines += config_errors(path, environment, channels=channels_readable)
    groups = [one.group for one in parsed if one.group is not None]
    return lines, groups


def config_file_errors(path: Path, env: Mapping[str, str]) -> list[str]:
    """One configuration file checked by its own loader, as the evaluator reads it."""
    from monitor.notify.channels.loader import load_channels
    from monitor.notify.policy_load import load_policy
    from monitor.reports.schedule import load_schedule

    if path.suffix == ".yml":
        return [f"{path}: not read: the file must be named {path.stem}.yaml"]
    if not path.is_file():
        return [f"{path}: cannot read: no such file"]
    try:
        if path.stem == "channels":
            load_channels(path, env)
        elif path.stem == "notify":
            load_policy(path, env)
        else:
            load_schedule(path.parent, env)
    except ConfigFileErrors as exc:
        return [str(error) for error in exc.errors]
    except ValueError as exc:
        return [str(exc)]
    return []


def config_errors(directory: Path, env: Mapping[str, str], *, channels: bool = True) -> list[str]:
    """What the evaluator's loaders refuse in the directory's configuration files.

    ``channels`` False skips channels.yaml, whose syntax error is already reported.
    """
    from monitor.notify.channels.loader import load_channels
    from monitor.notify.policy_load import load_policy
    from monitor.reports.schedule import load_schedule

    errors = [f"{directory / name}: not read: the file must be named "
              f"{name.removesuffix('.yml')}.yaml" for name in sorted(CONFIG_FILES)
              if name.endswith(".yml") and (directory / name).exists()]
    channels_file = _channels_file(directory)
    if not channels_file.is_file():
        errors.append(f"{channels_file}: missing: it defines the channels rules notify "
                      "(at least `channels: {log: {type: log}}`)")
    elif channels:
        try:
            load_channels(channels_file, env)
        except ValueError as exc:
            errors.append(str(exc))
    try:
        load_policy(directory / "notify.yaml", env)
    except ConfigFileErrors as exc:
        errors.extend(str(error) for error in exc.errors)
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(f"{directory / 'notify.yaml'}: cannot read: {exc}")
    try:
        load_schedule(directory, env)
    except ValueError as exc:
        errors.append(str(exc))
    return errors


def _channels_file(path: Path) -> Path:
    return (path if path.is_dir() else path.parent) / CHANNELS_FILE


def read_channel_names(path: Path) -> tuple[set[str] | None, list[ConfigFileError]]:
    """The keys of the top-level ``channels:`` mapping; None when there is no file.

    A file that cannot be read this far is reported (and the notify check
    skipped), since every notify name would otherwise look unknown.
    """
    if not path.is_file():
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigFileError(str(path), 0, "", f"cannot read: {exc}")]
    document = parse_yaml(text)
    if document.data is None and document.problems:
        _, line, message = document.problems[0]
        return None, [ConfigFileError(str(path), line, "", message)]
    data = document.data
    channels = data.get("channels") if isinstance(data, Mapping) else None
    if channels is not None and not isinstance(channels, Mapping):
        message = "must be a mapping of channel name → settings"
        return None, [ConfigFileError(str(path), 0, "channels", message)]
    return {str(name) for name in channels or ()}, []


def _notify_errors(parsed: ParsedFile, known: set[str]) -> list[ConfigFileError]:
    """Checked on the raw data, so that it is reported even when a rule has other errors."""
    rules = parsed.data.get("rules") if isinstance(parsed.data, Mapping) else None
    if not isinstance(rules, list):
        return []
    errors = []
    for index, rule in enumerate(rules):
        notify = rule.get("notify") if isinstance(rule, Mapping) else None
        if not isinstance(notify, list):
            continue
        for position, name in enumerate(notify):
            if isinstance(name, str) and name and name not in known:
                errors.append(parsed.error(("rules", index, "notify", position),
                                           _unknown_channel(name, known)))
    return errors


def _unknown_channel(name: str, known: set[str]) -> str:
    if not known:
        return f"unknown channel {name!r} (no channels are defined)"
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown channel {name!r} (channels: {', '.join(sorted(known))}){hint}"
