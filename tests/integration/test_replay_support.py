"""Helpers shared by the replay and archive tests (no tests here): sample raw records, reading
them back, the archive in S3, and running a replay command in a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from telethon.tl import types

from chatsync.infra.aws import s3_client
from chatsync.producers.telethon.events import Scope, message_envelope
from chatsync.replay.archive_store import ArchiveReader, ObjectStore, S3ObjectStore
from chatsync.replay.archiver import Archiver, ArchiveStats, archiver_consumer
from chatsync.replay.batching import Rotation
from chatsync.replay.naming import ArchiveLayout
from chatsync.settings import Settings
from tests.conftest import ROOT, stack_environment
from tests.kafka_helpers import read_topic

Sent = tuple[bytes, bytes, list[tuple[str, bytes]], int]  # key, value, headers, timestamp ms
# Recent, so that the raw topics' time-based retention keeps the records during the tests.
BASE_MS = (int(time.time()) - 3 * 3600) * 1000


def sample_records(count: int, *, chats: int = 12, owner: int = 7001, first: int = 0) -> list[Sent]:
    """Telethon-shaped envelopes over ``chats`` conversations, a record without a UTF-8 value
    every so often, headers on some; timestamps 1 s apart (deterministic)."""
    records: list[Sent] = []
    for index in range(first, first + count):
        chat = 900_000 + index % chats
        if index % 97 == 13:
            value = b"\xff\xfe not an envelope " + index.to_bytes(4, "big")
            records.append((f"acct:{owner}:chat:{chat}".encode(), value, [], BASE_MS + index))
            continue
        message = types.Message(
            id=index + 1,
            peer_id=types.PeerUser(chat),
            date=datetime.fromtimestamp(BASE_MS / 1000 + index, UTC),
            message=f"сообщение {index} 👋 مرحبا",
            out=index % 3 == 0,
            from_id=types.PeerUser(owner if index % 3 == 0 else chat),
        )
        envelope = message_envelope(message, Scope(owner), source="backfill")
        assert envelope is not None
        headers = [("trace", f"t{index}".encode())] if index % 5 == 0 else []
        records.append(
            (envelope.partition_key(), envelope.to_bytes(), headers, BASE_MS + index * 1000)
        )
    return records


async def produce(servers: str, topic: str, records: list[Sent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers, timestamp in records:
            await producer.send(
                topic, value, key=key, headers=headers or None, timestamp_ms=timestamp
            )
        await producer.flush()
    finally:
        await producer.stop()


Row = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


async def partition_rows(
    servers: str, topic: str, at_least: int = 0, *, drop_replay_headers: bool = True
) -> dict[int, list[Row]]:
    """Partition -> [(key, value, headers)] in offset order."""
    rows: dict[int, list[Row]] = {}
    for record in await read_topic(servers, topic, at_least=at_least, timeout_ms=3000):
        headers = [
            (name, bytes(value))
            for name, value in record.headers
            if not (drop_replay_headers and name.startswith("chatsync.replay."))
        ]
        rows.setdefault(record.partition, []).append((record.key, record.value, headers))
    return rows


@asynccontextmanager
async def archive_reader(settings: Settings, prefix: str) -> Any:
    async with s3_client(settings) as client:
        yield ArchiveReader(S3ObjectStore(client, settings.s3_bucket), ArchiveLayout(prefix))


async def archive_keys(settings: Settings, prefix: str) -> list[str]:
    """Keys of the objects under ``prefix`` (S3Proxy's filesystem backend lists folders too)."""
    async with archive_reader(settings, prefix) as reader:
        return [key async for key in reader.store.keys(f"{prefix}/") if not key.endswith("/")]


async def archive_objects(settings: Settings, prefix: str) -> dict[str, bytes]:
    """Key (without the prefix) -> bytes of every object under ``prefix``."""
    found: dict[str, bytes] = {}
    async with archive_reader(settings, prefix) as reader:
        async for key in reader.store.keys(f"{prefix}/"):
            if not key.endswith("/"):  # S3Proxy's filesystem backend lists its folders too
                found[key.removeprefix(f"{prefix}/")] = await reader.store.get(key)
    return found


async def archive_once(
    settings: Settings,
    topic: str,
    group: str,
    prefix: str,
    rotation: Rotation,
    wrap: Callable[[ObjectStore], ObjectStore] = lambda store: store,
) -> ArchiveStats:
    """Archive ``topic`` up to its end, in process (``wrap`` may replace the store)."""
    async with s3_client(settings) as client:
        store = wrap(S3ObjectStore(client, settings.s3_bucket))
        consumer = archiver_consumer(settings.kafka_bootstrap_servers, group)
        archiver = Archiver(consumer, ArchiveReader(store, ArchiveLayout(prefix)), rotation)
        consumer.subscribe([topic], listener=archiver)
        await consumer.start()
        try:
            await archiver.run(asyncio.Event(), idle_flush_s=0, once=True)
        finally:
            await consumer.stop()
    return archiver.stats


def command_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **stack_environment(),
        "TOPIC_RAW_BOTAPI": settings.topic_raw_botapi,
        "TOPIC_RAW_MTPROTO": settings.topic_raw_mtproto,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def _command_line(command: str, args: list[str]) -> list[str]:
    """``chatsync.replay.<module>.<command>`` run as ``chatsync <command>`` would run it (the
    commands are not registered in ``chatsync.cli`` by these tests)."""
    module, _, name = command.rpartition(".")
    code = (
        "import sys\n"
        "from chatsync.cli import cli\n"
        f"from {module} import {name} as command\n"
        "cli.add_command(command)\n"
        "cli(args=[command.name, *sys.argv[1:]], prog_name='chatsync')\n"
    )
    return [sys.executable, "-c", code, *args]


def start_command(
    command: str, args: list[str], env: dict[str, str], log_name: str
) -> subprocess.Popen[bytes]:
    """The command in a subprocess, its output in ``var/<log_name>.log``."""
    with (ROOT / "var" / f"{log_name}.log").open("ab") as log:
        return subprocess.Popen(
            _command_line(command, args), env=env, stdout=log, stderr=subprocess.STDOUT
        )


def run_command(
    command: str, args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The command to its end; output captured (stderr into stdout)."""
    return subprocess.run(
        _command_line(command, args),
        env=env,
        input=stdin,
        text=True,
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=240,
    )
