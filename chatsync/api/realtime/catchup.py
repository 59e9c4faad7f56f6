"""Reading what a resuming client missed: from its cursor up to where the hub went live for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from chatsync.api.realtime.hub import Position, Record
from chatsync.settings import Settings


class CursorExpired(Exception):
    """Kafka no longer holds the records right after the cursor (retention deleted them)."""


async def replay_until(
    settings: Settings,
    cursor: dict[Position, int],
    until: dict[Position, int],
    owner_user_id: int | None,
) -> AsyncIterator[Record]:
    """The owner's records from ``cursor`` (inclusive) to ``until`` (exclusive), per partition in
    order. A partition absent from the cursor has nothing to catch up."""
    wanted = {
        key: (cursor[key], end) for key, end in until.items() if key in cursor and cursor[key] < end
    }
    if not wanted:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, partition) for topic, partition in wanted]
        consumer.assign(partitions)
        earliest = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            start, _ = wanted[(tp.topic, tp.partition)]
            if start < earliest[tp]:
                raise CursorExpired(
                    f"{tp.topic}[{tp.partition}] starts at {earliest[tp]} now, after the cursor "
                    f"({start}): reload over the REST API and open the stream without a cursor"
                )
            consumer.seek(tp, start)
        pending = set(partitions)
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                end = wanted[(tp.topic, tp.partition)][1]
                for record in records:
                    if record.offset >= end:
                        break
                    event = json.loads(record.value) if record.value is not None else {}
                    if owner_user_id is None or event.get("owner_user_id") == owner_user_id:
                        yield Record(tp.topic, tp.partition, record.offset, event)
            for tp in list(pending):
                if await consumer.position(tp) >= wanted[(tp.topic, tp.partition)][1]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
