"""Start a server detached from the caller.

Usage: ``python -m chatsync.infra.stack.launch PID_FILE LOG_FILE CWD -- COMMAND...``.

The caller waits for this short-lived launcher, which starts the server in a new session and exits
at once, so the server is adopted by init: it outlives the caller, is never the caller's zombie, and
its pid is written before the launcher exits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    pid_file, log_file, cwd, separator, *command = argv
    if separator != "--" or not command:
        print("usage: launch PID_FILE LOG_FILE CWD -- COMMAND...", file=sys.stderr)
        return 2
    with Path(log_file).open("ab") as log:
        server = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    Path(pid_file).write_text(f"{server.pid}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
