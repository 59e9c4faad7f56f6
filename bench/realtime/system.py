"""The system under test, created for one run and removed after it (also on failure).

Topics of its own (``bench.realtime.<tag>.*``), a fresh worker consumer group and state directory
(``bench-realtime-<tag>``), a PostgreSQL database of its own (``chatsync_bench_realtime_<tag>``:
the admin token the sockets use and the customers the frames look up), ``chatsync worker`` and
``chatsync api`` processes with their logs in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.load import free_port
from bench.normalise.run import (
    Progress,
    RunNames,
    broker_pid,
    create_topics,
    descendants,
    log_tail,
    remove_run,
    usage,
)
from bench.realtime.senders import SECRET
from chatsync.infra.db import create_engine, migrate
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.sinks.postgres import CUSTOMER_UPSERT
from chatsync.infra.sinks.rows import Row
from chatsync.infra.stack.provision import ensure_database
from chatsync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark could not complete; the message says where and why."""


def say(message: str) -> None:
    print(f"bench.realtime: {message}", file=sys.stderr, flush=True)


class RealtimeNames(RunNames):
    """This run's topics (``bench.realtime.<tag>.<role>``) and worker app id."""

    @property
    def app_id(self) -> str:
        return f"bench-realtime-{self.tag}"

    @property
    def database(self) -> str:
        return f"chatsync_bench_realtime_{self.tag}"

    def topic(self, role: str) -> str:
        return f"bench.realtime.{self.tag}.{role}"


@dataclass
class System:
    settings: Settings  # as the run's processes see it: its topics and database
    names: RealtimeNames
    logs: Path
    env: dict[str, str]
    api_urls: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""
    engine: Any = None
    progress: Any = None
    postgres: int | None = None  # the local PostgreSQL server's main process

    @property
    def webhooks(self) -> list[str]:
        return [f"{url}/telegram/webhook/" for url in self.api_urls]

    @property
    def topics(self) -> dict[str, str]:
        return {"deals": self.settings.topic_deals, "messages": self.settings.topic_messages}

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise BenchError(f"{name} exited with code {process.returncode}; its log:\n  "
                                 f"{log_tail(self.logs / f'{name}.log')}")  # fmt: skip

    def log_tails(self) -> str:
        return "\n".join(f"last lines of {name}.log:\n  {log_tail(self.logs / f'{name}.log')}"
                         for name in self.processes)  # fmt: skip

    def pids(self) -> dict[str, list[int]]:
        """Process trees by role, for CPU accounting."""
        broker = broker_pid(self.settings)
        trees: dict[str, list[int]] = {
            "worker": [], "api": [], "bench": [os.getpid()],
            "broker": [broker] if broker is not None else [],
            "postgres": descendants(self.postgres) if self.postgres is not None else [],
        }  # fmt: skip
        for name, process in self.processes.items():
            trees["api" if name.startswith("api") else "worker"] += descendants(process.pid)
        return trees

    async def write_customers(self, rows: dict[str, Row]) -> None:
        """Store customers as the PostgreSQL sink would have (its own upsert statement)."""
        if not rows:
            return
        async with self.engine.begin() as connection:
            await connection.execute(CUSTOMER_UPSERT, list(rows.values()))
        rows.clear()

    async def worker_lag(self) -> int:
        """Raw records the worker has not committed yet (commits every
        WORKER_COMMIT_INTERVAL_MS, so up to that much of the rate is in flight)."""
        committed = await self.progress.committed()
        ends = await self.progress.consumer.end_offsets(self.progress.raw)
        return sum(end - committed.get(tp, 0) for tp, end in ends.items())


@contextlib.asynccontextmanager
async def running_system(
    settings: Settings, *, api_processes: int, log_level: str, startup_timeout: float
) -> AsyncIterator[System]:
    """Create everything, start the worker and the API processes; remove it all afterwards."""
    names = RealtimeNames()
    run = _run_settings(settings, names)
    env = {**names.environment(settings, log_level), "POSTGRES_DB": names.database,
           "TELEGRAM_WEBHOOK_SECRET": SECRET}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-realtime-") as logs:
        system = System(run, names, Path(logs), env)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(_remove_kafka_state, settings, names)
            await create_topics(settings, names)
            stack.push_async_callback(_drop_database, run)
            await _create_database(run)
            system.engine = create_engine(run, pool_size=2)
            stack.push_async_callback(system.engine.dispose)
            system.token = (await create_token(system.engine, user_id=1, admin=True,
                                               name="bench-realtime"))[1]  # fmt: skip
            system.postgres = await _postmaster(system.engine)
            system.progress = await stack.enter_async_context(Progress(settings, names))
            stack.enter_context(_processes(system, api_processes))
            await _wait_healthy(system, startup_timeout)
            say(f"run {names.tag}: worker {system.processes['worker'].pid}, "
                f"API {', '.join(system.api_urls)}")  # fmt: skip
            try:
                yield system
            except BenchError as error:
                raise BenchError(f"{error}\n{system.log_tails()}") from error


def _run_settings(settings: Settings, names: RealtimeNames) -> Settings:
    """Built anew rather than copied: a copy would keep the cached ``sqlalchemy_url`` of the
    original, which names another database."""
    fields = {**names.settings(settings).model_dump(), "postgres_db": names.database}
    return Settings.model_validate(fields)


async def _create_database(settings: Settings) -> None:
    await ensure_database(settings)
    await migrate(settings)


async def _postmaster(engine: Any) -> int | None:
    """The PostgreSQL server process, when it runs on this machine: the parent of a backend."""
    async with engine.connect() as connection:
        backend = await connection.scalar(text("SELECT pg_backend_pid()"))
    return _parent(int(backend))


def _parent(pid: int) -> int | None:
    """The parent of ``pid`` if both are local PostgreSQL processes (not a remote server's pid
    that happens to exist here too)."""
    try:
        stat = Path("/proc", str(pid), "stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        names = {Path("/proc", str(p), "comm").read_text().strip() for p in (pid, parent)}
    except (OSError, ValueError, IndexError):
        return None
    return parent if names == {"postgres"} else None


async def _drop_database(settings: Settings) -> None:
    assert settings.postgres_db.startswith("chatsync_bench_realtime_"), settings.postgres_db
    url = make_url(settings.sqlalchemy_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                       password=url.password, database="postgres")  # fmt: skip
    try:
        quoted = settings.postgres_db.replace('"', '""')
        await connection.execute(f'DROP DATABASE IF EXISTS "{quoted}" WITH (FORCE)')
    finally:
        await connection.close()


async def _remove_kafka_state(settings: Settings, names: RealtimeNames) -> None:
    try:
        await remove_run(settings, names)
    except (KafkaError, OSError, TimeoutError) as error:
        say(f"cleanup failed ({error!r}): delete the topics {names.topic('*')} and "
            f"{names.app_id}-*, the group {names.app_id} by hand")  # fmt: skip


@contextlib.contextmanager
def _processes(system: System, api_processes: int) -> Iterator[None]:
    """``chatsync worker`` and ``api_processes`` ``chatsync api`` processes; stopped on exit."""
    try:
        _start(system, "worker", ["worker"], system.env)
        for number in range(api_processes):
            port = free_port()
            env = {**system.env, "API_PORT": str(port)}
            _start(system, f"api{number}", ["api", "--port", str(port)], env)
            system.api_urls.append(f"http://127.0.0.1:{port}")
        yield
    finally:
        stop_all(reversed(list(system.processes.values())))


def _start(system: System, name: str, arguments: list[str], env: dict[str, str]) -> None:
    with (system.logs / f"{name}.log").open("wb") as log:
        system.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "chatsync", *arguments], env=env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each, then SIGKILL to the process group of any still running after 30 s."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            say(f"process {process.pid} did not stop within 30 s of SIGTERM: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


async def _wait_healthy(system: System, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        for url in system.api_urls:
            while True:
                system.check_alive()
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                if asyncio.get_running_loop().time() > deadline:
                    raise BenchError(f"{url} was not healthy within {timeout_s:.0f} s")
                await asyncio.sleep(0.25)


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds used so far by the whole machine and by each role's processes."""

    at: float
    machine: float
    roles: dict[str, float]

    @classmethod
    def take(cls, pids: dict[str, list[int]], at: float) -> CpuSnapshot:
        return cls(at, machine_busy_s(), {role: usage(tree)[1] for role, tree in pids.items()})

    def cores_since(self, earlier: CpuSnapshot) -> dict[str, float]:
        """Average cores each kept busy in between; ``others``: the rest of the machine."""
        span = max(self.at - earlier.at, 1e-9)
        cores = {role: (self.roles[role] - earlier.roles.get(role, 0.0)) / span
                 for role in self.roles}  # fmt: skip
        machine = (self.machine - earlier.machine) / span
        figures = {f"cpu_cores_{role}": round(value, 2) for role, value in cores.items()}
        figures["cpu_cores_machine"] = round(machine, 2)
        figures["cpu_cores_others"] = round(max(0.0, machine - sum(cores.values())), 2)
        figures["load_average_1m"] = round(os.getloadavg()[0], 2)
        return figures


def machine_busy_s() -> float:
    """CPU seconds all cores of the machine spent busy since boot (any process)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = stat.readline().split()[1:9]
    return sum(int(v) for v in (user, nice, system, irq, softirq, steal)) / CLOCK_TICKS
