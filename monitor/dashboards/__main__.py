"""``python -m monitor.dashboards [--rules DIR] [--out DIR] [--check]``.

Writes ``dashboards/*.json`` from the code and the rule files; ``--check``
writes nothing and exits 1 if the committed files are stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor.core.configfile import ConfigFileErrors
from monitor.core.exitcodes import EXIT_STALE, EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.dashboards",
                                     description="generate the Grafana dashboards")
    parser.add_argument("--rules", type=Path, default=Path("rules"),
                        help="rule files the thresholds come from (default: rules)")
    parser.add_argument("--out", type=Path, default=Path("dashboards"),
                        help="where the JSON goes (default: dashboards)")
    parser.add_argument("--check", action="store_true",
                        help="only report files that differ from the generated ones")
    args = parser.parse_args(argv)
    try:
        from monitor.dashboards.generate import stale, write
    except ImportError as exc:
        print(f"dashboards: {exc} (install the dev extra: pip install -e '.[dev]')",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.check:
            changed = stale(args.rules, args.out)
            for name in changed:
                print(f"dashboards: {args.out / name} is stale; run python -m monitor.dashboards",
                      file=sys.stderr)
            return EXIT_STALE if changed else 0
        for path in write(args.rules, args.out):
            print(path)
    except ConfigFileErrors as exc:
        print(f"dashboards: rule files have errors:\n{exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
