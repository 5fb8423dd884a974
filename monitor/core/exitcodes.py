"""Exit codes of every ``zrmon`` command, defined once so scripts and tests can rely on them.

2 is a usage or configuration error (argparse uses it too), reported as one
``file:line: message`` line; 130 is the shell's code for a run stopped by
Ctrl-C, kept so a resumable job's caller can tell "interrupted" from "failed".
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1        # a service failed or work was refused: try again later
EXIT_STALE = 1          # ``dashboards --check``: generated files differ from the rules
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
