"""A temporary DynamoDB Local that keeps its tables in memory (``-inMemory``), for bench/sinks.

The stack's DynamoDB Local keeps its tables in SQLite files and commits every item on its own,
PutItem and BatchWriteItem alike (strace: four fsyncs per item), so on its disk a batch saves
round trips but not the writes. This one runs beside it with the same jars and JVM options, on a
free port and without files, to show what the sink does when the store does not wait for the
disk. A fresh JVM runs its first thousands of requests several times slower (measured: about
1 ms of CPU per item instead of 0.2), so it is warmed up with the requests both sides send before
anything is measured. It is stopped and its directory removed on the way out.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from chatsync.infra.dynamodb import Item, messages_table_definition
from chatsync.infra.sinks.clients import sink_dynamodb_client
from chatsync.infra.stack import process
from chatsync.infra.stack.component import Endpoint
from chatsync.infra.stack.dynamodb import DynamoDBComponent
from chatsync.settings import Settings

STARTUP_TIMEOUT_S = 60.0
WARM_UP_ROUNDS = 200  #: of one BatchWriteItem (25 items), one BatchGetItem and 5 PutItem


class InMemoryDynamoDB(DynamoDBComponent):
    """DynamoDB Local with ``-inMemory`` instead of ``-dbPath``; its log and pid under var."""

    def __init__(self, var_dir: Path, port: int, region: str) -> None:
        self.name = f"bench-dynamodb-memory-{port}"
        super().__init__(var_dir, Endpoint("127.0.0.1", port), region)

    def storage_options(self) -> list[str]:
        return ["-inMemory"]

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        super().start()

    def pid(self) -> int | None:
        return process.read_pid(self.pid_file)


@asynccontextmanager
async def in_memory_dynamodb(settings: Settings) -> AsyncIterator[InMemoryDynamoDB]:
    """A started, answering in-memory DynamoDB Local; stopped and removed afterwards."""
    server = InMemoryDynamoDB(settings.var_dir, _free_port(), settings.aws_region)
    try:
        await asyncio.to_thread(server.start)
        await _answering(server)
        await _warm_up(settings.model_copy(
            update={"dynamodb_endpoint_url": f"http://{server.endpoint}"}))  # fmt: skip
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(server.home, ignore_errors=True)


def _free_port() -> int:
    """A port the kernel has free now (its ephemeral range, above the test stacks' ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _answering(server: InMemoryDynamoDB) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    while True:
        try:
            await server.probe()
            return
        except Exception as exc:  # any failure means "not yet"
            if asyncio.get_running_loop().time() > deadline:
                log = "\n".join(server.last_log_lines())
                message = f"in-memory DynamoDB Local did not answer: {exc!r}\n{log}"
                raise RuntimeError(message) from exc
        await asyncio.sleep(0.5)


async def _warm_up(settings: Settings) -> None:
    table = "bench-warm-up"
    async with sink_dynamodb_client(settings) as client:
        await client.create_table(**messages_table_definition(table))
        for round_ in range(WARM_UP_ROUNDS):
            items = [_item(round_, n) for n in range(25)]
            await client.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]}
            )
            keys = [
                {"deal_id": item["deal_id"], "message_id": item["message_id"]} for item in items
            ]
            await client.batch_get_item(
                RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in items[:5]:
                await client.put_item(TableName=table, Item=item)
        await client.delete_table(TableName=table)


def _item(round_: int, n: int) -> Item:
    return {
        "deal_id": {"S": f"warm-up-{round_ % 20}"},
        "message_id": {"N": str(round_ * 25 + n)},
        "version": {"N": "1"},
        "data": {"M": {"text": {"S": "warming up " * 8}, "date": {"N": "1700000000"}}},
    }
