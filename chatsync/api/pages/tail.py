"""Reading the newest records of Kafka topics: the dashboard's dead letters and latest events.

Nothing here joins a consumer group or commits: a consumer is assigned the partitions, seeks to
``end - limit`` on each and reads up to the end offsets it saw when it started. The newest
``limit`` records over all partitions are returned, newest first. Values are kept only up to
``max_value_bytes`` (a dead letter can be a 1 MiB webhook body; the page shows a preview).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from chatsync.infra.kafka import topic_partitions

MAX_VALUE_BYTES = 4096
TAIL_TIMEOUT_S = 8.0
REQUEST_TIMEOUT_MS = 5000


class TailUnavailable(Exception):
    """Kafka did not answer in time (or at all)."""


@dataclass(frozen=True, slots=True)
class TailRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None  # None for a tombstone; cut to the reader's max_value_bytes
    value_size: int
    headers: tuple[tuple[str, bytes], ...]


async def read_tail(
    servers: str, topics: Sequence[str], limit: int, *, max_value_bytes: int = MAX_VALUE_BYTES,
    timeout_s: float = TAIL_TIMEOUT_S,
) -> list[TailRecord]:  # fmt: skip
    """The newest ``limit`` records of ``topics`` (newest first: by timestamp, then offset).

    Topics that do not exist are skipped. Raises TailUnavailable when Kafka does not answer
    within ``timeout_s``.
    """
    if limit < 1 or not topics:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )
    try:
        async with asyncio.timeout(timeout_s):
            await consumer.start()
            partitions = await topic_partitions(
                servers, topics, request_timeout_ms=REQUEST_TIMEOUT_MS
            )
            records = await _read(consumer, partitions, limit, max_value_bytes)
    except (KafkaError, TimeoutError, OSError) as exc:
        raise TailUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from None
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.timestamp_ms, r.offset), reverse=True)
    return records[:limit]


async def _read(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], limit: int, max_bytes: int
) -> list[TailRecord]:
    if not partitions:
        return []
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    begins = await consumer.beginning_offsets(partitions)
    # Each partition holds at most ``limit`` of the newest records overall.
    wanted = {tp: ends[tp] for tp in partitions if max(begins[tp], ends[tp] - limit) < ends[tp]}
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp in wanted:
        consumer.seek(tp, max(begins[tp], wanted[tp] - limit))
    records: list[TailRecord] = []
    pending = set(wanted)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=500)
        for tp, items in batch.items():
            records.extend(
                _record(tp, item, max_bytes) for item in items if item.offset < wanted[tp]
            )
        for tp in list(pending):
            if await consumer.position(tp) >= wanted[tp]:
                pending.discard(tp)
    return records


def _record(tp: TopicPartition, item: ConsumerRecord[bytes, bytes], max_bytes: int) -> TailRecord:
    value = item.value
    return TailRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=item.offset,
        timestamp_ms=item.timestamp or 0,
        key=item.key,
        value=None if value is None else value[:max_bytes],
        value_size=0 if value is None else len(value),
        headers=tuple((str(name), bytes(raw or b"")) for name, raw in item.headers or ()),
    )
