"""Fixtures shared by every test folder.

The integration and end-to-end tests run against a real local stack of their own, under
``var/test-stack-<offset>`` on ports offset from the defaults (CHATSYNC_TEST_PORT_OFFSET, 10000), so
a developer's stack keeps running. The session fixture starts it with the same code as
``chatsync infra up`` and stops it at the end, unless CHATSYNC_TEST_KEEP_STACK=1 (then the next
run starts in a second or two).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from chatsync.infra.stack.stack import Stack
from chatsync.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PORT_OFFSET = int(os.environ.get("CHATSYNC_TEST_PORT_OFFSET", "10000"))


def stack_environment() -> dict[str, str]:
    """Environment variables that point chatsync at the test stack."""
    return {
        "CHATSYNC_VAR_DIR": str(ROOT / "var" / f"test-stack-{PORT_OFFSET}"),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{9092 + PORT_OFFSET}",
        "KAFKA_CONTROLLER_PORT": str(9093 + PORT_OFFSET),
        "POSTGRES_PORT": str(5433 + PORT_OFFSET),
        "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{8000 + PORT_OFFSET}",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{9000 + PORT_OFFSET}",
        "API_PORT": str(8080 + PORT_OFFSET),
    }


def free_port() -> int:
    """A loopback port nothing listens on right now (for API processes the tests start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """Settings of the test stack, read with the environment the test process already has."""
    return Settings(_env_file=None, **{k.lower(): v for k, v in stack_environment().items()})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def local_stack(stack_settings: Settings) -> AsyncIterator[Stack]:
    """The real Kafka, PostgreSQL, DynamoDB Local and S3 server, healthy and provisioned."""
    stack = Stack(stack_settings)
    await stack.up()
    yield stack
    if os.environ.get("CHATSYNC_TEST_KEEP_STACK") != "1":
        await stack.down()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names no other test uses: ``prefix-<test name>-<random>``."""

    def make(prefix: str) -> str:
        test = request.node.name.replace("[", "-").replace("]", "")[:40]
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def topic_factory(
    local_stack: Stack, unique_name: Callable[[str], str]
) -> Callable[..., Awaitable[str]]:
    """Create a fresh topic for one test; ``await topic_factory(partitions=3, compact=True)``."""
    servers = local_stack.settings.kafka_bootstrap_servers

    async def create(partitions: int = 1, compact: bool = False) -> str:
        name = unique_name("t")
        configs = {"cleanup.policy": "compact"} if compact else {}
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
        finally:
            await admin.close()
        return name

    return create
