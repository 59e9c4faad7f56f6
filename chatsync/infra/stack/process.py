"""Background processes of the local stack: start detached, remember by pid file, stop for good."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def spawn(command: Sequence[str], *, pid_file: Path, log_file: Path, cwd: Path) -> int:
    """Start ``command`` detached (in a session of its own, adopted by init), logging to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "chatsync.infra.stack.launch", str(pid_file), str(log_file),
         str(cwd), "--", *command],
        check=True, timeout=30,
    )  # fmt: skip
    pid = read_pid(pid_file)
    if pid is None:
        raise RuntimeError(f"launcher did not record a pid in {pid_file}")
    return pid


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int, marker: str) -> bool:
    """True when ``pid`` runs and its command line holds ``marker`` (guards against pid reuse)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and marker in cmdline


def stop(pid_file: Path, marker: str, timeout: float = 30.0) -> bool:
    """SIGTERM the process group, then SIGKILL after ``timeout``. True if something was stopped."""
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid, marker):
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (is_alive(pid, marker) or _group_members(pid)):
        time.sleep(0.2)
    if is_alive(pid, marker) or _group_members(pid):
        _signal_group(pid, signal.SIGKILL)
    while is_alive(pid, marker) or _group_members(pid):
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def tail(log_file: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a log file (empty when there is none)."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 256 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:] if lines > 0 else []


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _group_members(pgid: int) -> list[int]:
    """Live processes of the process group ``pgid`` (a server's helpers and children)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[-1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat_file.parent.name))
    return members
