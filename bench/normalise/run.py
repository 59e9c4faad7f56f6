"""bench/normalise: raw updates normalised per second by one worker (``chatsync worker``, all three
stages), side by side with a bare aiokafka consume-and-forward loop over the same records (the
Python ceiling), plus the worker's peak memory and a check of its output against the reference.

1. Fresh topics named for this run: the raw input (KAFKA_TOPIC_PARTITIONS partitions), an empty
   MTProto input, the four outputs and a scratch topic for the baseline. The outputs are created
   with ``cleanup.policy=delete`` (not compacted) so that every event can be read back.
2. The raw topic is pre-filled with ``--updates`` realistic Bot API Business updates, as the
   webhook writes them (``partition_key()`` / ``to_bytes()``). Not timed.
3. Baseline: consume every raw record from the beginning and send it unchanged to the scratch
   topic with the worker's producer settings (acks=all, WORKER_PRODUCER_LINGER_MS), awaiting
   delivery at the end.
4. Subject: the real worker as a subprocess with a fresh WORKER_APP_ID, timed from its start until
   its group's committed offsets on the raw topic reach the end offsets and the output topics
   have stopped growing. Nothing is subtracted; start-up (time to the first committed offset) and
   the steady rate after it are reported too. With ``--workers N``, N worker processes of that
   app (each with its own WORKER_STATE_DIR) share the partitions, and every figure is theirs
   together. RSS of the workers and their children is sampled from /proc every 0.2 s; the CPU
   cores kept busy by the workers, the broker, this process and the whole machine are reported
   for both sides, since on a small shared machine the rates depend on what else runs.
5. Correctness (not timed): the outputs are read back and their event ids compared with those
   ``MemoryNormaliser`` produces over the same records in partition order.

Everything this run created (topics, the worker's internal topics, its consumer group and state
directory) is removed at the end, also on failure.

Usage: .venv/bin/python -m bench.normalise.run [--updates 200000] [--workers 1]
       [--profile /tmp/worker.txt] [--worker-log-level WARNING]
Needs the local stack (`chatsync infra up`; started here when it is not running).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import DeleteGroupsRequest
from aiokafka.structs import TopicPartition

from bench.procfs import CLOCK_TICKS, process_cpu_seconds
from bench.report import emit
from chatsync.agents.normalise import BAD_RECORD
from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.infra.stack import process as stack_process
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates
from chatsync.settings import Settings, load_settings
from chatsync.topics import declared_topics

ROOT = Path(__file__).resolve().parents[2]
BOT_ID = 7_000_000_001
SAMPLE_S = 0.2  # RSS sampling and offset polling period
SETTLE_S = 3.0  # the outputs must not grow for this long once every input is committed
OUTPUTS = ("deals", "messages", "customers", "dlq")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """The benchmark could not complete; the message says where and why."""


def _say(message: str) -> None:
    print(f"bench.normalise: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class RunNames:
    """Topic names and worker app id of one run (unique, so runs never share state)."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def app_id(self) -> str:
        return f"bench-normalise-{self.tag}"

    def topic(self, role: str) -> str:
        return f"bench.normalise.{self.tag}.{role}"

    def settings(self, settings: Settings) -> Settings:
        """The settings the worker of this run sees."""
        return settings.model_copy(update={
            "topic_raw_botapi": self.topic("raw"), "topic_raw_mtproto": self.topic("mtproto"),
            "topic_deals": self.topic("deals"), "topic_messages": self.topic("messages"),
            "topic_customers": self.topic("customers"), "topic_dlq": self.topic("dlq"),
            "worker_app_id": self.app_id,
        })  # fmt: skip

    def state_dir(self, settings: Settings, worker: int) -> Path:
        """Worker ``worker``'s RocksDB tables (the first one in the default place)."""
        suffix = "" if worker == 0 else f"-{worker}"
        return settings.var_dir / "worker" / f"{self.app_id}{suffix}"

    def environment(self, settings: Settings, log_level: str, worker: int = 0) -> dict[str, str]:
        run = self.settings(settings)
        return {
            **os.environ, "TOPIC_RAW_BOTAPI": run.topic_raw_botapi,
            "TOPIC_RAW_MTPROTO": run.topic_raw_mtproto, "TOPIC_DEALS": run.topic_deals,
            "TOPIC_MESSAGES": run.topic_messages, "TOPIC_CUSTOMERS": run.topic_customers,
            "TOPIC_DLQ": run.topic_dlq, "WORKER_APP_ID": run.worker_app_id, "LOG_LEVEL": log_level,
            "WORKER_STATE_DIR": str(self.state_dir(settings, worker)),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class RawRecord:
    partition: int
    offset: int
    value: bytes


# --- topics -----------------------------------------------------------------------------------


async def _admin(servers: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=30_000)
    await admin.start()
    return admin


async def create_topics(settings: Settings, names: RunNames) -> None:
    run = names.settings(settings)
    specs = [s for s in declared_topics(run) if s.name != run.topic_commands]
    topics = [
        NewTopic(s.name, s.partitions, s.replication_factor,
                 topic_configs=replace(s, cleanup_policy="delete").configs())
        for s in specs
    ]  # fmt: skip
    topics.append(NewTopic(names.topic("scratch"), settings.kafka_topic_partitions,
                           settings.kafka_replication_factor))  # fmt: skip
    admin = await _admin(settings.kafka_bootstrap_servers)
    try:
        await asyncio.wait_for(admin.create_topics(topics), 60)
    finally:
        await admin.close()


async def remove_run(settings: Settings, names: RunNames, workers: int = 1) -> None:
    """Delete this run's topics (with the worker's internal ones) and its consumer group."""
    admin = await _admin(settings.kafka_bootstrap_servers)
    try:
        existing = await admin.list_topics()
        mine = [t for t in existing
                if t.startswith(names.topic("")) or t.startswith(f"{names.app_id}-")]  # fmt: skip
        if mine:
            await asyncio.wait_for(admin.delete_topics(mine), 60)
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            coordinator = await admin.find_coordinator(names.app_id)
            request = DeleteGroupsRequest([names.app_id])
            await asyncio.wait_for(admin._send_request(request, coordinator), 30)
    finally:
        await admin.close()
    for worker in range(workers):
        shutil.rmtree(names.state_dir(settings, worker), ignore_errors=True)


async def end_offsets(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict[Any, int]:
    ends: dict[Any, int] = await asyncio.wait_for(consumer.end_offsets(tps), 30)
    return ends


def partitions_of(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, partition) for partition in range(count)]


# --- pre-fill ---------------------------------------------------------------------------------


async def prefill(servers: str, topic: str, count: int, seed: int) -> list[RawRecord]:
    """Write ``count`` updates as raw envelopes, the way the webhook does; return them."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True,
                                linger_ms=20, max_batch_size=1024 * 1024)  # fmt: skip
    await producer.start()
    try:
        pending: list[tuple[bytes, asyncio.Future[Any]]] = []
        for update in stream_updates(count, seed=seed):
            envelope = botapi_envelope(update, describe_update(update), BOT_ID)
            value = envelope.to_bytes()
            sent = await producer.send(topic, value, key=envelope.partition_key())
            pending.append((value, sent))
        records = []
        for value, sent in pending:
            meta = await asyncio.wait_for(sent, 120)
            records.append(RawRecord(meta.partition, meta.offset, value))
    finally:
        await producer.stop()
    return records


# --- baseline ---------------------------------------------------------------------------------


async def baseline(
    servers: str,
    source: str,
    target: str,
    total: int,
    limit_s: float,
    broker: int | None,
    linger_ms: int,
) -> tuple[Figures, dict[str, float]]:
    """A bare consume-and-forward loop: every record of ``source`` sent unchanged to ``target``;
    its figures and the CPU cores it, the broker and the machine kept busy meanwhile."""
    cpu_before = CpuSnapshot.take(broker)
    started = cpu_before.at
    consumer = AIOKafkaConsumer(source, bootstrap_servers=servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=linger_ms)
    await consumer.start()
    await producer.start()
    try:
        seen, first_at = 0, 0.0
        deliveries: list[asyncio.Future[Any]] = []
        while seen < total:
            if time.perf_counter() - started > limit_s:
                raise BenchError(f"baseline: {seen} of {total} records after {limit_s:.0f} s")
            batches = await consumer.getmany(timeout_ms=1000)
            if batches and not first_at:  # start-up: clients ready and the first fetch done
                first_at = time.perf_counter()
            for records in batches.values():
                for record in records:
                    deliveries.append(await producer.send(target, record.value, key=record.key))
                seen += len(records)
        await asyncio.wait_for(asyncio.gather(*deliveries), limit_s)
        cpu_after = CpuSnapshot.take(broker)
    finally:
        await producer.stop()
        await consumer.stop()
    cores = cpu_after.cores_since(cpu_before)
    usage = {"cpu_cores_loop": cores["bench"], "cpu_cores_broker": cores["broker"],
             "cpu_cores_machine": cores["machine"]}  # fmt: skip
    return Figures(total, started, cpu_after.at, first_at, 0), usage


@dataclass(frozen=True, slots=True)
class Figures:
    """One timed pass over ``total`` records: start, end, and the first progress seen."""

    total: int
    started: float
    finished: float
    first_at: float
    first_done: int

    def as_dict(self) -> dict[str, float]:
        elapsed = self.finished - self.started
        steady = (self.total - self.first_done) / max(self.finished - self.first_at, 1e-9)
        return {
            "records": self.total,
            "elapsed_s": round(elapsed, 2),
            "per_second": round(self.total / elapsed, 1),
            "startup_s": round(self.first_at - self.started, 2),
            "steady_per_second": round(steady, 1),
        }


# --- subject ----------------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (a scan of /proc: a few ms, so done now and then)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def usage(pids: list[int]) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system, reaped children included) of ``pids``;
    a process that is gone counts zero."""
    rss, ticks = 0, 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path("/proc", str(pid), "stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            rss += int(Path("/proc", str(pid), "statm").read_text().split()[1]) * PAGE_SIZE
    return rss, ticks / CLOCK_TICKS


class ProcessSampler:
    """Peak RSS and CPU time of process trees (together), sampled from /proc every ``SAMPLE_S``
    in a thread (so the benchmark's own event loop cannot delay a sample). The trees are looked
    up again every ``RESCAN_EVERY`` samples."""

    RESCAN_EVERY = 25

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak_rss, self.cpu_s, self.samples = roots, 0, 0.0, 0
        self.pids = list(roots)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def sample(self) -> None:
        if self.samples % self.RESCAN_EVERY == 0:
            self.pids = [pid for root in self.roots for pid in descendants(root)]
        rss, cpu_s = usage(self.pids)
        self.peak_rss, self.cpu_s = max(self.peak_rss, rss), max(self.cpu_s, cpu_s)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of one process (0 when unknown or gone)."""
    return process_cpu_seconds(pid) or 0.0


def _machine_busy_s() -> float:
    """CPU seconds all cores of the machine spent busy since boot (any process)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = stat.readline().split()[1:9]
    return sum(int(v) for v in (user, nice, system, irq, softirq, steal)) / CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds used so far by the machine, the broker, the worker's tree and this process."""

    at: float
    machine: float
    broker: float
    worker: float
    bench: float

    @classmethod
    def take(cls, broker: int | None, worker: list[int] | None = None) -> CpuSnapshot:
        """Now; ``worker``: the pids of the worker's tree (``ProcessSampler.pids``)."""
        worker_s = usage(worker)[1] if worker else 0.0
        return cls(time.perf_counter(), _machine_busy_s(), _cpu_s(broker), worker_s,
                   time.process_time())  # fmt: skip

    def cores_since(self, earlier: CpuSnapshot) -> dict[str, float]:
        """Average number of cores each kept busy between ``earlier`` and this snapshot."""
        span = max(self.at - earlier.at, 1e-9)
        return {
            name: round((getattr(self, name) - getattr(earlier, name)) / span, 2)
            for name in ("machine", "broker", "worker", "bench")
        }


def broker_pid(settings: Settings) -> int | None:
    """The local stack's Kafka process, when this machine runs it (for its CPU figures)."""
    kafka = Stack(settings).component("kafka")
    return stack_process.read_pid(kafka.pid_file) if kafka.is_running() else None


@contextlib.contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``chatsync worker`` in its own session; stopped (and its group killed) on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "chatsync", "worker"], env=env,
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Faust shuts down cleanly), then SIGKILL to its process group after 60 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        _say(f"worker {process.pid} did not stop within 60 s of SIGTERM: killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the worker and children
        process.wait(timeout=30)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no worker log)"
    return "\n  ".join(text[-lines:]) or "(worker log is empty)"


@dataclass(slots=True)
class WorkerRun:
    started: float
    first_commit_at: float | None = None
    first_committed: int = 0
    raw_done_at: float | None = None
    outputs_grew_at: float = 0.0
    outputs: dict[str, int] = field(default_factory=dict)
    peak_rss: int = 0
    cpu_s: float = 0.0  # CPU time of the worker over the whole run, start-up included
    cpu_first: CpuSnapshot | None = None  # at the first commit
    cpu_last: CpuSnapshot | None = None  # at the last progress (``finished``)

    @property
    def finished(self) -> float:
        return max(self.raw_done_at or 0.0, self.outputs_grew_at)

    def usage(self) -> dict[str, float]:
        figures = {"peak_rss_mib": round(self.peak_rss / 2**20, 1), "cpu_s": round(self.cpu_s, 1)}
        if self.cpu_first is not None and self.cpu_last is not None:
            cores = self.cpu_last.cores_since(self.cpu_first)
            figures.update(cpu_cores_worker_steady=cores["worker"],
                           cpu_cores_broker_steady=cores["broker"],
                           cpu_cores_machine_steady=cores["machine"],
                           cpu_cores_bench_steady=cores["bench"])  # fmt: skip
        return figures

    def figures(self, total: int) -> Figures:
        assert self.first_commit_at is not None
        assert self.raw_done_at is not None
        return Figures(total, self.started, self.finished, self.first_commit_at,
                       self.first_committed)  # fmt: skip


class Progress:
    """Reads the worker group's committed offsets and the topics' end offsets."""

    def __init__(self, settings: Settings, names: RunNames) -> None:
        run, partitions = names.settings(settings), settings.kafka_topic_partitions
        self.group = names.app_id
        self.raw = partitions_of(run.topic_raw_botapi, partitions)
        internal = (f"{names.app_id}-deal-inputs", f"{names.app_id}-customer-inputs")
        self.internal_topics = list(internal)
        self.internal = [tp for topic in internal for tp in partitions_of(topic, partitions)]
        self.outputs = {role: partitions_of(names.topic(role), partitions) for role in OUTPUTS}
        self.servers = settings.kafka_bootstrap_servers
        self.admin: Any = None
        self.consumer: Any = None

    async def __aenter__(self) -> Progress:
        self.admin = await _admin(self.servers)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.servers,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=30_000,
        )
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def committed(self) -> dict[Any, int]:
        try:
            offsets = await asyncio.wait_for(self.admin.list_consumer_group_offsets(self.group), 10)
        except (TimeoutError, KafkaError):
            return {}
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def output_sizes(self) -> dict[str, int]:
        every = [tp for tps in self.outputs.values() for tp in tps]
        ends = await end_offsets(self.consumer, every)
        return {role: sum(ends[tp] for tp in tps) for role, tps in self.outputs.items()}

    async def internal_done(self, committed: dict[Any, int]) -> bool:
        """Whether stages 2 and 3 committed every record of their input topics."""
        existing = set(await self.admin.list_topics())
        if not set(self.internal_topics) <= existing:
            return False
        ends = await end_offsets(self.consumer, self.internal)
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())


async def watch_worker(
    processes: dict[Path, subprocess.Popen[bytes]], progress: Progress, run: WorkerRun,
    total: int, sampler: ProcessSampler, *, startup_timeout: float, stall_timeout: float,
    broker: int | None, on_first_commit: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """Poll until the workers (by log path) have committed every raw record and their outputs
    stopped growing."""
    changed_at, last_state, said_at = run.started, None, run.started
    log_path = next(iter(processes))  # the first worker's, for the messages below
    while True:
        await asyncio.sleep(SAMPLE_S)
        now = time.perf_counter()
        for path, process in processes.items():
            if process.poll() is not None:
                raise BenchError(f"a worker exited with code {process.returncode}; last lines of "
                                 f"{path}:\n  {log_tail(path)}")  # fmt: skip
        committed = await progress.committed()
        raw_done = sum(committed.get(tp, 0) for tp in progress.raw)
        outputs = await progress.output_sizes()
        if run.first_commit_at is None and raw_done:
            run.first_commit_at, run.first_committed = now, raw_done
            run.cpu_first = CpuSnapshot.take(broker, sampler.pids)
            if on_first_commit is not None:
                on_first_commit()
        progressed = outputs != run.outputs
        if raw_done >= total and run.raw_done_at is None:
            run.raw_done_at, progressed = now, True
        if outputs != run.outputs:
            run.outputs, run.outputs_grew_at = outputs, now
        if progressed and run.first_commit_at is not None:
            run.cpu_last = CpuSnapshot.take(broker, sampler.pids)
        state = (raw_done, sum(committed.values()), tuple(outputs.values()))
        if state != last_state:
            last_state, changed_at = state, now
        if run.first_commit_at is None and now - run.started > startup_timeout:
            raise BenchError(
                f"the worker committed nothing within {startup_timeout:.0f} s "
                f"of its start; last lines of its log:\n  {log_tail(log_path)}"
            )
        if now - changed_at > stall_timeout:
            raise BenchError(f"no progress for {stall_timeout:.0f} s: {raw_done} of {total} raw "
                             f"records committed, outputs {outputs}; last lines of its log:\n  "
                             f"{log_tail(log_path)}")  # fmt: skip
        if now - said_at >= 10:
            said_at = now
            _say(f"worker: {raw_done}/{total} raw records committed after "
                 f"{now - run.started:.0f} s, outputs {outputs}")  # fmt: skip
        if (run.raw_done_at is not None and now - max(run.outputs_grew_at, run.raw_done_at)
                >= SETTLE_S and await progress.internal_done(committed)):  # fmt: skip
            return


def start_profiler(pid: int, output: str, seconds: int) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        _say("--profile: py-spy is not installed (pip install py-spy); not profiling")
        return None
    _say(f"profiling the worker for {seconds} s into {output}")
    command = [py_spy, "record", "--idle", "-p", str(pid), "-d", str(seconds), "-f", "raw",
               "-o", output]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def subject(
    settings: Settings, names: RunNames, total: int, args: argparse.Namespace, broker: int | None
) -> tuple[Figures, WorkerRun]:
    """Run the worker until it has normalised everything; its figures and usage."""
    profiler: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-normalise-") as scratch:
        async with Progress(settings, names) as progress, contextlib.AsyncExitStack() as stack:
            run = WorkerRun(started=time.perf_counter())
            processes: dict[Path, subprocess.Popen[bytes]] = {}
            for worker in range(args.workers):
                log_path = Path(scratch, f"worker-{worker}.log")
                env = names.environment(settings, args.worker_log_level, worker)
                processes[log_path] = stack.enter_context(worker_process(env, log_path))
            pids = [process.pid for process in processes.values()]
            _say(f"{args.workers} worker(s) started (pids {pids}, app id {names.app_id})")

            def first_commit() -> None:
                if args.profile:  # the first worker
                    started = start_profiler(pids[0], args.profile, args.profile_seconds)
                    profiler.extend([started] if started else [])

            try:
                with ProcessSampler(pids) as sampler:
                    await watch_worker(
                        processes, progress, run, total, sampler,
                        startup_timeout=args.startup_timeout,
                        stall_timeout=args.stall_timeout, broker=broker,
                        on_first_commit=first_commit,
                    )  # fmt: skip
                    sampler.sample()
                    run.peak_rss, run.cpu_s = sampler.peak_rss, sampler.cpu_s
            finally:
                for spy in profiler:
                    await asyncio.to_thread(spy.wait, args.profile_seconds + 30)
        _say(f"worker done in {run.finished - run.started:.1f} s; {run.usage()}, "
             f"{sampler.samples} samples")  # fmt: skip
    return run.figures(total), run


# --- correctness ------------------------------------------------------------------------------


async def read_event_ids(servers: str, topics: dict[str, str], partitions: int,
                         limit_s: float) -> dict[str, list[str]]:  # fmt: skip
    """Every record of each output topic: its event id (the DLQ: source topic and offset)."""
    found: dict[str, list[str]] = {}
    for role, topic in topics.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None,
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            tps = partitions_of(topic, partitions)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await end_offsets(consumer, tps)
            ids: list[str] = []
            deadline = time.monotonic() + limit_s
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                if time.monotonic() > deadline:
                    raise BenchError(f"reading {topic} back took more than {limit_s:.0f} s")
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    ids.extend(_identity(role, r.value, r.headers) for r in records)
            found[role] = ids
        finally:
            await consumer.stop()
    return found


def _identity(role: str, value: bytes, headers: Any) -> str:
    if role != "dlq":
        return str(json.loads(value)["event_id"])
    meta = {key: item.decode() for key, item in headers or ()}
    source = f"{meta.get('dlq.source.topic')}[{meta.get('dlq.source.partition')}]"
    return f"{source}@{meta.get('dlq.source.offset')}: {meta.get('dlq.error')}"


def role_of(event: NormalisedEvent) -> str:
    """The output topic the worker sends an event to (as ``Outputs.event`` routes it)."""
    if isinstance(event, CustomerCreated | CustomerUpdated):
        return "customers"
    return "deals" if event.event_type.startswith("deal.") else "messages"


def reference(records: list[RawRecord], topic: str) -> tuple[dict[str, list[str]], float]:
    """The reference pipeline's event ids per output over the records in partition order, and
    its own rate (updates per second, in this process, no Kafka)."""
    ids: dict[str, list[str]] = {role: [] for role in OUTPUTS}
    normaliser = MemoryNormaliser()
    started = time.perf_counter()
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        try:
            events = normaliser.process(record.value, topic, record.partition, record.offset)
        except BAD_RECORD as error:
            ids["dlq"].append(f"{topic}[{record.partition}]@{record.offset}: {error}")
            continue
        for event in events:
            ids[role_of(event)].append(event.event_id)
    return ids, len(records) / (time.perf_counter() - started)


def compare(worker: dict[str, list[str]], expected: dict[str, list[str]]) -> dict[str, float]:
    """Counts per output topic and whether the sets of event ids equal the reference's."""
    figures: dict[str, float] = {}
    equal, missing, extra, duplicates = True, 0, 0, 0
    for role in OUTPUTS:
        got, want = worker.get(role, []), expected[role]
        figures[f"events_{role}"] = len(got)
        figures[f"reference_{role}"] = len(want)
        got_set, want_set = set(got), set(want)
        duplicates += len(got) - len(got_set)
        if role == "dlq":  # DLQ identities carry the error text: compare the counts only
            equal = equal and len(got_set) == len(want_set)
            continue
        equal = equal and got_set == want_set
        missing += len(want_set - got_set)
        extra += len(got_set - want_set)
    figures.update(event_ids_equal_reference=equal, events_missing=missing, events_extra=extra,
                   events_duplicated=duplicates)  # fmt: skip
    return figures


# --- main -------------------------------------------------------------------------------------


async def bench(settings: Settings, args: argparse.Namespace) -> None:
    names, n = RunNames(), args.updates
    servers, partitions = settings.kafka_bootstrap_servers, settings.kafka_topic_partitions
    raw = names.topic("raw")
    _say(f"run {names.tag}: {n} updates, {partitions} partitions, Kafka at {servers}")
    try:
        await create_topics(settings, names)
        started = time.perf_counter()
        records = await prefill(servers, raw, n, args.seed)
        mean_bytes = sum(len(r.value) for r in records) / n
        _say(f"pre-filled {raw} in {time.perf_counter() - started:.1f} s "
             f"(mean value {mean_bytes:.0f} bytes)")  # fmt: skip
        broker = broker_pid(settings)
        bare, bare_usage = await baseline(servers, raw, names.topic("scratch"), n,
                                          args.stall_timeout, broker,
                                          settings.worker_producer_linger_ms)  # fmt: skip
        _say(f"baseline: {bare.as_dict()}, {bare_usage}")
        worker, run = await subject(settings, names, n, args, broker)
        _say(f"worker: {worker.as_dict()}")
        outputs = {role: names.topic(role) for role in OUTPUTS}
        found = await read_event_ids(servers, outputs, partitions, args.stall_timeout)
        expected, normaliser_rate = await asyncio.to_thread(reference, records, raw)
    finally:
        try:
            await remove_run(settings, names, args.workers)
        except (KafkaError, OSError, TimeoutError) as error:
            _say(f"cleanup failed ({error!r}): delete the topics bench.normalise.{names.tag}.* "
                 f"and {names.app_id}-* and the group {names.app_id} by hand")  # fmt: skip
    figures = worker.as_dict()
    subject_figures: dict[str, float] = {
        "updates": n, "per_second": figures["per_second"], "elapsed_s": figures["elapsed_s"],
        "startup_s": figures["startup_s"], "steady_per_second": figures["steady_per_second"],
        "raw_committed_s": round((run.raw_done_at or 0) - run.started, 2),
        "outputs_settled_s": round(run.outputs_grew_at - run.started, 2),
        **run.usage(),
        **compare(found, expected),
    }  # fmt: skip
    bare_figures = {**bare.as_dict(), **bare_usage,
                    "normaliser_only_per_second": round(normaliser_rate, 1)}  # fmt: skip
    emit(
        "normalise",
        subject=subject_figures,
        baseline=bare_figures,
        params={
            "updates": n, "seed": args.seed, "partitions": partitions,
            "mean_record_bytes": round(mean_bytes), "worker_store": settings.worker_store,
            "commit_interval_ms": settings.worker_commit_interval_ms,
            "kafka": f"acks=all, linger {settings.worker_producer_linger_ms} ms (worker and "
                     "baseline producers)",
            "workers": args.workers,
            "subject": "chatsync worker (3 stages), each worker in its own process (the "
                       "figures are theirs together), timed from their start until every raw "
                       "offset is committed and the outputs stop growing",
            "baseline": "aiokafka consume-and-forward loop in the benchmark process",
            "normaliser_only": "MemoryNormaliser over the same records, in process, no Kafka",
            "worker_log_level": args.worker_log_level,
            "profiled": bool(args.profile),
            "cpu_cores": "average cores busy: worker (steady: first commit to last progress), "
                         "broker, this benchmark process (polling), whole machine (other "
                         "processes included)",
        },
        ratios={
            "rate_vs_ceiling": figures["per_second"] / bare_figures["per_second"],
            "steady_rate_vs_ceiling": figures["steady_per_second"]
            / bare_figures["steady_per_second"],
            "rate_vs_normaliser_only": figures["per_second"] / normaliser_rate,
        },
        notes="aim: rate_vs_ceiling >= 0.5",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the one app sharing the partitions (scaling out); "
        "the figures are theirs together",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        help="seconds the worker may take to commit its first offset",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=180.0,
        help="seconds without any progress before the run is abandoned",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="record the worker with py-spy (raw format) once it commits; "
        "slows the worker down, so its figures are not comparable",
    )
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument(
        "--worker-log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="LOG_LEVEL of the worker",
    )
    args = parser.parse_args()
    if args.updates < 1:
        parser.error("--updates must be positive")
    settings = load_settings()
    if not 1 <= args.workers <= settings.kafka_topic_partitions:
        parser.error("--workers must be between 1 and KAFKA_TOPIC_PARTITIONS")
    asyncio.run(Stack(settings).up())
    try:
        asyncio.run(bench(settings, args))
    except BenchError as error:
        sys.exit(f"bench.normalise: {error}")
    except (KafkaError, TimeoutError) as error:
        sys.exit(f"bench.normalise: Kafka at {settings.kafka_bootstrap_servers} failed: {error!r}")


if __name__ == "__main__":
    main()
