"""A rules directory for tests that run the evaluator: one CO2 rule, its channel, its policy.

The service tests need the same small rule group with small variations (the
channel it notifies, a window, a summary); writing it here keeps them one rule.
"""

from __future__ import annotations

from pathlib import Path

FAST_GROUPING = "grouping: {group_wait: 1s, group_interval: 1s}\n"
LOG_CHANNEL = "channels:\n  log: {type: log}\n"


SUMMARY = "CO2 {{ value | round | int }} ppm in {{ room_name }}"


def co2_rule(*, notify: str = "log", window: str | None = "10m", summary: str | None = None,
             interval: str = "1s", aggregate: str | None = None,
             warning: str = "{above: 1000}") -> str:
    """The ``air`` group: CO2 above 1000 ppm is a warning, evaluated every ``interval``."""
    lines = ["group: air", f"interval: {interval}", "rules:", "  - name: co2-high",
             "    sensor: CO2"]
    if aggregate is not None:
        lines.append(f"    aggregate: {aggregate}")
    if window is not None:
        lines.append(f"    window: {window}")
    lines += ["    levels:", f"      warning: {warning}"]
    if summary is not None:
        lines.append(f'    annotations: {{summary: "{summary}"}}')
    lines.append(f"    notify: [{notify}]")
    return "\n".join(lines) + "\n"


def webhook_channel(url: str, name: str = "hook") -> str:
    return f"channels:\n  {name}: {{type: webhook, url: \"{url}\"}}\n"


def write_rules_dir(directory: Path, *, rules: dict[str, str] | None = None,
                    channels: str = LOG_CHANNEL, notify: str | None = None) -> Path:
    """``directory`` holding ``rules`` (file name → text; default the CO2 group),
    ``channels.yaml`` and, when given, ``notify.yaml``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (rules if rules is not None else {"air.yaml": co2_rule()}).items():
        (directory / name).write_text(text)
    (directory / "channels.yaml").write_text(channels)
    if notify is not None:
        (directory / "notify.yaml").write_text(notify)
    return directory
