"""The data bench/api reads: ``deals`` deals of ``owners`` owners (every customer with a profile
photo, every deal fully synced) in PostgreSQL, and ``per_deal`` messages of each deal in DynamoDB.

Seeded once (COPY into PostgreSQL, parallel BatchWriteItem into DynamoDB Local) into a database
and a table of the bench's own, and reused by later runs of the same size: PostgreSQL is seeded
again when its deals or customers' photos do not match, DynamoDB when it holds fewer items.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from chatsync.events import MessageData
from chatsync.identity import customer_id, deal_id
from chatsync.infra.aws import dynamodb_client
from chatsync.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OWNER_BASE = 7_000_000_000
CUSTOMER_COLUMNS = [
    "id", "user_id", "first_name", "last_name", "username", "language_code", "is_premium",
    "version", "avatar_key", "avatar_checked_at", "updated_at",
]  # fmt: skip
DEAL_COLUMNS = [
    "id", "owner_user_id", "customer_id", "chat_id", "source", "business_connection_id",
    "last_message", "last_message_at", "activity_at", "message_count", "unread_count",
    "created_at", "updated_at", "version",
]  # fmt: skip
WRITERS = 16
BATCH = 25  # BatchWriteItem's limit


def owner_of(index: int, owners: int) -> int:
    return OWNER_BASE + index % owners


def chat_of(index: int) -> int:
    return 10**9 + index


def deal_of(index: int, owners: int) -> str:
    return deal_id(owner_of(index, owners), chat_of(index))


def message(message_id: int, at: datetime) -> MessageData:
    return MessageData(
        message_id=message_id, direction="in", sent_by_bot=False, sender_id=1,
        text=f"message {message_id} " + "lorem ipsum " * 8, date=at, version=int(at.timestamp()),
    )  # fmt: skip


def _customer_record(index: int) -> tuple[Any, ...]:
    chat = chat_of(index)
    photo = f"avatars/{hashlib.sha256(str(chat).encode()).hexdigest()}.jpg"
    return (customer_id(chat), chat, f"Customer {index}", None, f"user{index}", None, None, 1,
            photo, T0, T0)  # fmt: skip


def _deal_record(index: int, owners: int) -> tuple[Any, ...]:
    owner, chat, at = owner_of(index, owners), chat_of(index), T0 + timedelta(seconds=index)
    last = message(9, at).model_dump_json()
    return (deal_id(owner, chat), owner, customer_id(chat), chat, "botapi", "bc", last, at, at,
            10, 1, T0, at, 1)  # fmt: skip


async def _postgres_is_seeded(connection: asyncpg.Connection, deals: int) -> bool:
    counts = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM deals) AS deals,"
        " (SELECT count(avatar_key) FROM customers) AS photos"
    )
    return bool(counts["deals"] == deals and counts["photos"] == deals)


async def seed_postgres(settings: Settings, deals: int, owners: int) -> None:
    url = make_url(settings.sqlalchemy_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                       password=url.password, database=url.database)  # fmt: skip
    try:
        if await _postgres_is_seeded(connection, deals):
            return
        await connection.execute("TRUNCATE deals, customers, deal_messages_stored")
        customers = [_customer_record(index) for index in range(deals)]
        await connection.copy_records_to_table(
            "customers", records=customers, columns=CUSTOMER_COLUMNS
        )
        rows = [_deal_record(index, owners) for index in range(deals)]
        await connection.copy_records_to_table("deals", records=rows, columns=DEAL_COLUMNS)
        stored = [(row[0],) for row in rows]
        await connection.copy_records_to_table(
            "deal_messages_stored", records=stored, columns=["deal_id"]
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _message_item(index: int, owners: int, message_id: int) -> dict[str, Any]:
    data = message(message_id, T0 + timedelta(seconds=index, milliseconds=message_id))
    return {
        "deal_id": {"S": deal_of(index, owners)},
        "message_id": {"N": str(message_id)},
        "version": {"N": str(data.version)},
        "event_id": {"S": "bench"},
        "owner_user_id": {"N": str(owner_of(index, owners))},
        "date": {"S": data.date.isoformat()},
        "is_deleted": {"BOOL": False},
        "data": {"S": data.model_dump_json()},
        "edits": {"S": "[]"},
        "updated_at": {"S": T0.isoformat()},
    }


async def seed_dynamodb(settings: Settings, deals: int, owners: int, per_deal: int) -> None:
    table = settings.dynamodb_messages_table
    async with dynamodb_client(settings) as client:
        described = await client.describe_table(TableName=table)
        if described["Table"].get("ItemCount", 0) >= deals * per_deal:
            return
        writers = asyncio.Semaphore(WRITERS)

        async def write(items: list[dict[str, Any]]) -> None:
            async with writers:
                request: Any = {table: [{"PutRequest": {"Item": item}} for item in items]}
                while request:
                    response = await client.batch_write_item(RequestItems=request)
                    request = response.get("UnprocessedItems") or {}

        batch: list[dict[str, Any]] = []
        tasks: list[asyncio.Task[None]] = []
        for index in range(deals):
            for message_id in range(per_deal):
                batch.append(_message_item(index, owners, message_id))
                if len(batch) == BATCH:
                    tasks.append(asyncio.create_task(write(batch)))
                    batch = []
            if len(tasks) > WRITERS * 16:
                await asyncio.gather(*tasks)
                tasks = []
        if batch:
            tasks.append(asyncio.create_task(write(batch)))
        await asyncio.gather(*tasks)
