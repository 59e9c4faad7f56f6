"""What every component of the local stack can do: prepare, start, probe, stop, show its log."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

from chatsync.infra.stack import process


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A loopback address a component listens on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Component(abc.ABC):
    """One server of the stack, with its data under ``<var>/<name>``."""

    name: str
    #: A string in the process's command line that tells it from an unrelated process.
    marker: str

    def __init__(self, var_dir: Path) -> None:
        self.home = var_dir / self.name
        self.var_dir = var_dir

    @property
    @abc.abstractmethod
    def endpoint(self) -> Endpoint: ...

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Fetch artifacts and lay out the data directory (blocking; runs in a thread)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start the server in the background; return without waiting for it to be healthy."""

    def is_running(self) -> bool:
        pid = process.read_pid(self.pid_file)
        return pid is not None and process.is_alive(pid, self.marker)

    @abc.abstractmethod
    async def probe(self) -> None:
        """Raise when the server does not answer a real request right now."""

    def stop(self) -> bool:
        """Stop the server; True if it was running."""
        return process.stop(self.pid_file, self.marker)

    def last_log_lines(self, lines: int = 20) -> list[str]:
        return process.tail(self.log_file, lines)
