"""Background processes of the stack: detached start, pid-reuse guard, nothing left after stop."""

from __future__ import annotations

import sys
from pathlib import Path

from chatsync.infra.stack import process


def test_spawned_process_is_stopped_with_its_children(tmp_path: Path) -> None:
    marker = f"sleeper-{tmp_path.name}"
    # A parent that starts a child in the same group: stop must take both.
    script = (
        f"import subprocess,time; subprocess.Popen(['sleep','300']); time.sleep(300) # {marker}"
    )
    pid = process.spawn([sys.executable, "-c", script], pid_file=tmp_path / "pid",
                        log_file=tmp_path / "log", cwd=tmp_path)  # fmt: skip
    assert process.is_alive(pid, marker)
    assert not process.is_alive(pid, "some-other-marker")
    assert process.stop(tmp_path / "pid", marker, timeout=5)
    assert not process.is_alive(pid, marker)
    assert process._group_members(pid) == []
    assert not (tmp_path / "pid").exists()
    assert process.stop(tmp_path / "pid", marker) is False


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert process.tail(log, 3) == ["line 97", "line 98", "line 99"]
    assert process.tail(tmp_path / "missing.log", 3) == []
