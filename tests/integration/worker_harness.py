"""Run the real worker (`chatsync worker`, a subprocess) against fresh topics of the test stack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.settings import Settings
from tests.conftest import ROOT, stack_environment
from tests.kafka_helpers import end_offsets, read_topic

TopicFactory = Callable[..., Awaitable[str]]
OUTPUTS = ("topic_deals", "topic_messages", "topic_customers")


@dataclass
class WorkerRun:
    settings: Settings
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            **stack_environment(),
            "WORKER_APP_ID": s.worker_app_id,
            "TOPIC_RAW_BOTAPI": s.topic_raw_botapi,
            "TOPIC_RAW_MTPROTO": s.topic_raw_mtproto,
            "TOPIC_DEALS": s.topic_deals,
            "TOPIC_MESSAGES": s.topic_messages,
            "TOPIC_CUSTOMERS": s.topic_customers,
            "TOPIC_DLQ": s.topic_dlq,
            "KAFKA_TOPIC_PARTITIONS": str(s.kafka_topic_partitions),
            "LOG_LEVEL": os.environ.get("CHATSYNC_TEST_WORKER_LOG_LEVEL", "WARNING"),
            "WORKER_COMMIT_INTERVAL_MS": "500",
        }

    @property
    def log_path(self) -> Path:
        """Where every worker of this run logs (appended, one after the other)."""
        return ROOT / "var" / f"{self.settings.worker_app_id}.log"

    def start(self, **overrides: str) -> subprocess.Popen[bytes]:
        """Start a worker; ``overrides`` are settings (environment variables) for this one."""
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "chatsync", "worker"],
                env={**self.env, **overrides},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.kill(process)

    async def produce(self, records: list[tuple[str, bytes, bytes]]) -> None:
        """(topic, key, value) in order, acks=all."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=True,
        )
        await producer.start()
        try:
            for topic, key, value in records:
                await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()
        self.sent.extend(records)

    async def drained(self, timeout_s: float = 120) -> None:
        """Wait until the worker committed everything on its input and internal topics."""
        s = self.settings
        inputs = [
            s.topic_raw_botapi,
            s.topic_raw_mtproto,
            f"{s.worker_app_id}-deal-inputs",
            f"{s.worker_app_id}-customer-inputs",
        ]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await self._caught_up(inputs):
                return
            for process in self.processes:
                assert process.poll() in (None, -signal.SIGKILL, 0), "worker crashed: see var/*.log"
            await asyncio.sleep(1)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise TimeoutError(f"the worker did not drain its inputs in time; its log ends:\n{tail}")

    async def _caught_up(self, topics: list[str]) -> bool:
        servers = self.settings.kafka_bootstrap_servers
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(self.settings.worker_app_id)
            existing = set(await admin.list_topics())
        except KafkaError:  # the group does not exist yet
            return False
        finally:
            await admin.close()
        done = {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()}
        for topic in topics:
            if topic not in existing:
                return False
            for partition, end in (await end_offsets(servers, topic)).items():
                if end > 0 and done.get((topic, partition), -1) < end:
                    return False
        return True

    async def output_events(self) -> list[dict[str, Any]]:
        servers = self.settings.kafka_bootstrap_servers
        events = []
        for name in OUTPUTS:
            for record in await read_topic(servers, getattr(self.settings, name), timeout_ms=2000):
                events.append(json.loads(record.value))
        return events

    def reference(self) -> list[Any]:
        """The pure pipeline over what was sent, per topic and partition order as produced."""
        normaliser = MemoryNormaliser()
        events = []
        for offset, (topic, _, value) in enumerate(self.sent):
            events.extend(normaliser.process(value, topic, 0, offset))
        return events


async def new_run(stack: Stack, topic_factory: TopicFactory, partitions: int = 3) -> WorkerRun:
    names = {
        field: await topic_factory(partitions=partitions)
        for field in ("topic_raw_botapi", "topic_raw_mtproto", *OUTPUTS, "topic_dlq")
    }
    settings = stack.settings.model_copy(
        update={
            **names,
            "worker_app_id": f"test-worker-{uuid.uuid4().hex[:8]}",
            "kafka_topic_partitions": partitions,
        }
    )
    return WorkerRun(settings)
