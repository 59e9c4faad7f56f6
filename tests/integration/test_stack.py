"""The local stack is real: every component answers real clients, and its CLI is idempotent."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from alembic.script import ScriptDirectory
from sqlalchemy import text

from chatsync.infra.aws import dynamodb_client, s3_client
from chatsync.infra.db import alembic_config, create_engine
from chatsync.infra.stack.stack import Stack
from chatsync.topics import declared_topics
from tests.conftest import stack_environment
from tests.kafka_helpers import policies_and_partitions, read_topic

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]


async def _consume_all(servers: str, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    records = await read_topic(servers, topic, at_least=count, timeout_ms=10_000)
    return [(r.key, r.value) for r in records]


async def test_kafka_round_trip_with_acks_all(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory(partitions=3)
    servers = local_stack.settings.kafka_bootstrap_servers
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [(f"chat-{i % 3}".encode(), f"update-{i}".encode()) for i in range(30)]
        for key, value in sent:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    received = await _consume_all(servers, topic, len(sent))
    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:  # one key, one partition: order kept
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]


async def test_compacted_topic_keeps_its_policy_and_latest_values(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory(compact=True)
    servers = local_stack.settings.kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = {entry[0]: entry[1] for entry in described[0].resources[0][4]}
    assert entries["cleanup.policy"] == "compact"
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        for key, value in [(b"deal-1", b"v1"), (b"deal-2", b"v1"), (b"deal-1", b"v2")]:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    records = await _consume_all(servers, topic, 3)
    latest = dict(records)
    assert latest == {b"deal-1": b"v2", b"deal-2": b"v1"}


async def test_declared_topics_exist_with_their_configs(local_stack: Stack) -> None:
    settings = local_stack.settings
    specs = declared_topics(settings)
    found = await policies_and_partitions(
        settings.kafka_bootstrap_servers, [spec.name for spec in specs]
    )
    assert found == {spec.name: (spec.cleanup_policy, spec.partitions) for spec in specs}


async def test_postgres_round_trip_through_sqlalchemy(local_stack: Stack) -> None:
    engine = create_engine(local_stack.settings, pool_size=2)
    table = f"roundtrip_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"CREATE TABLE {table} (id int primary key, name text)"))
            await connection.execute(
                text(f"INSERT INTO {table} VALUES (:id, :name)"), {"id": 1, "name": "Алиса 👋"}
            )
            name = (await connection.execute(text(f"SELECT name FROM {table}"))).scalar_one()
            version = await connection.execute(text("SELECT version_num FROM alembic_version"))
            await connection.execute(text(f"DROP TABLE {table}"))
        assert name == "Алиса 👋"
        head = ScriptDirectory.from_config(alembic_config(local_stack.settings)).get_current_head()
        assert version.scalar_one() == head
    finally:
        await engine.dispose()


async def test_dynamodb_local_serves_the_messages_table(local_stack: Stack) -> None:
    settings = local_stack.settings
    async with dynamodb_client(settings) as client:
        table = await client.describe_table(TableName=settings.dynamodb_messages_table)
        keys = {k["AttributeName"]: k["KeyType"] for k in table["Table"]["KeySchema"]}
        assert keys == {"deal_id": "HASH", "message_id": "RANGE"}
        deal = f"deal-{uuid.uuid4().hex}"
        item = {"deal_id": {"S": deal}, "message_id": {"N": "42"}, "text": {"S": "שלום"}}
        await client.put_item(TableName=settings.dynamodb_messages_table, Item=item)
        got = await client.get_item(
            TableName=settings.dynamodb_messages_table,
            Key={"deal_id": {"S": deal}, "message_id": {"N": "42"}},
            ConsistentRead=True,
        )
        assert got["Item"] == item


async def test_s3_server_stores_objects_in_the_bucket(local_stack: Stack) -> None:
    settings = local_stack.settings
    key = f"tests/{uuid.uuid4().hex}.bin"
    body = os.urandom(70_000)
    async with s3_client(settings) as client:
        await client.put_object(Bucket=settings.s3_bucket, Key=key, Body=body)
        got = await client.get_object(Bucket=settings.s3_bucket, Key=key)
        assert await got["Body"].read() == body
        listed = await client.list_objects_v2(Bucket=settings.s3_bucket, Prefix="tests/")
        assert key in [obj["Key"] for obj in listed.get("Contents", [])]


def _chatsync(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack_environment()}
    return subprocess.run(
        [sys.executable, "-m", "chatsync", *args], capture_output=True, text=True, env=env,
        timeout=180, check=False,
    )  # fmt: skip


@pytest.mark.usefixtures("local_stack")
def test_cli_status_reports_every_component_healthy() -> None:
    result = _chatsync("infra", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["kafka", "postgres", "dynamodb", "s3"]
    assert all(line.split()[2] == "healthy" for line in lines)


@pytest.mark.usefixtures("local_stack")
def test_cli_up_twice_is_a_no_op() -> None:
    result = _chatsync("infra", "up")
    assert result.returncode == 0, result.stderr
    for name in ("kafka", "postgres", "dynamodb", "s3"):
        assert f"{name} already up" in result.stderr
    assert "starting" not in result.stderr


async def _kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, ["kcat", *args], input=stdin, capture_output=True, text=True, timeout=30,
        check=True,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat (Debian package) not installed")
async def test_a_foreign_client_lists_produces_and_consumes(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    servers = local_stack.settings.kafka_bootstrap_servers
    topic = await topic_factory()
    listing = await _kcat("-b", servers, "-L")
    assert f'topic "{local_stack.settings.topic_raw_botapi}"' in listing.stdout
    await _kcat("-b", servers, "-P", "-t", topic, "-K", ":", stdin="k1:from kcat\n")
    assert await _consume_all(servers, topic, 1) == [(b"k1", b"from kcat")]
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"from aiokafka", key=b"k2")
    finally:
        await producer.stop()
    consumed = await _kcat(
        "-b", servers, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k=%s\n"
    )
    assert consumed.stdout.splitlines() == ["k1=from kcat", "k2=from aiokafka"]
