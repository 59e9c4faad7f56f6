"""Reading topics back in tests."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType


async def read_topic(
    servers: str, topic: str, *, at_least: int = 0, timeout_ms: int = 5_000
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning, in partition order.

    Stops when the end of every partition is reached and ``at_least`` records were seen, or when
    nothing arrives for ``timeout_ms``.
    """
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        while True:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            for partition_records in batch.values():
                records.extend(partition_records)
            if not batch or (len(records) >= at_least and await _at_end(consumer)):
                break
        return records
    finally:
        await consumer.stop()


async def _at_end(consumer: AIOKafkaConsumer) -> bool:
    assigned = consumer.assignment()
    ends = await consumer.end_offsets(list(assigned))
    for tp in assigned:
        if await consumer.position(tp) < ends[tp]:
            return False
    return True


async def end_offsets(servers: str, topic: str) -> dict[int, int]:
    """Partition -> end offset (the count of records ever written, for a fresh topic)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        partitions = (await admin.describe_topics([topic]))[0]["partitions"]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=servers)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p["partition"]) for p in partitions]
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def policies_and_partitions(servers: str, topics: list[str]) -> dict[str, tuple[str, int]]:
    """Each topic's ``cleanup.policy`` and partition count, as the broker reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        )
        metadata = await admin.describe_topics(topics)
    finally:
        await admin.close()
    policies = {resource[3]: {entry[0]: entry[1] for entry in resource[4]}["cleanup.policy"]
                for response in described for resource in response.resources}  # fmt: skip
    return {t["topic"]: (policies[t["topic"]], len(t["partitions"])) for t in metadata}
