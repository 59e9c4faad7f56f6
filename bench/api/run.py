"""bench/api: `GET /api/v1/deals/` and deal detail under 100 concurrent clients, with 100k deals and
1M messages stored, side by side with `/healthz` on the same server (the ceiling).

The data goes into a database and a DynamoDB table of their own (POSTGRES_DB=chatsync_bench,
DYNAMODB_MESSAGES_TABLE=chatsync-bench-messages), seeded once (COPY into PostgreSQL, parallel
BatchWriteItem into DynamoDB Local) and reused by later runs of the same size.

Usage: .venv/bin/python -m bench.api.run [--deals 100000] [--messages-per-deal 10] [--owners 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.load import Request, closed_loop, free_port, server
from bench.report import emit
from chatsync.events import MessageData
from chatsync.identity import customer_id, deal_id
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.db import create_engine, migrate
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.stack.provision import ensure_database, ensure_messages_table
from chatsync.infra.stack.stack import Stack
from chatsync.settings import Settings, load_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OWNER_BASE = 7_000_000_000


async def _seed_postgres(settings: Settings, deals: int, owners: int) -> None:
    url = make_url(settings.sqlalchemy_url)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        if await connection.fetchval("SELECT count(*) FROM deals") == deals:
            return
        await connection.execute("TRUNCATE deals, customers, deal_messages_stored")
        customers, rows, stored = [], [], []
        for index in range(deals):
            owner, chat = OWNER_BASE + index % owners, 10**9 + index
            at = T0 + timedelta(seconds=index)
            last = _message(9, at).model_dump_json()
            customers.append(
                (
                    customer_id(chat),
                    chat,
                    f"Customer {index}",
                    None,
                    f"user{index}",
                    None,
                    None,
                    1,
                    None,
                    None,
                    T0,
                )
            )
            rows.append(
                (
                    deal_id(owner, chat),
                    owner,
                    customer_id(chat),
                    chat,
                    "botapi",
                    "bc",
                    last,
                    at,
                    at,
                    10,
                    1,
                    T0,
                    at,
                    1,
                )
            )
            stored.append((deal_id(owner, chat),))
        await connection.copy_records_to_table(
            "customers",
            records=customers,
            columns=[
                "id",
                "user_id",
                "first_name",
                "last_name",
                "username",
                "language_code",
                "is_premium",
                "version",
                "avatar_key",
                "avatar_checked_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "deals",
            records=rows,
            columns=[
                "id",
                "owner_user_id",
                "customer_id",
                "chat_id",
                "source",
                "business_connection_id",
                "last_message",
                "last_message_at",
                "activity_at",
                "message_count",
                "unread_count",
                "created_at",
                "updated_at",
                "version",
            ],
        )
        await connection.copy_records_to_table(
            "deal_messages_stored", records=stored, columns=["deal_id"]
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _message(message_id: int, at: datetime) -> MessageData:
    return MessageData(
        message_id=message_id,
        direction="in",
        sent_by_bot=False,
        sender_id=1,
        text=f"message {message_id} " + "lorem ipsum " * 8,
        date=at,
        version=int(at.timestamp()),
    )


async def _seed_dynamodb(settings: Settings, deals: int, owners: int, per_deal: int) -> None:
    async with dynamodb_client(settings) as client:
        table = settings.dynamodb_messages_table
        described = await client.describe_table(TableName=table)
        if described["Table"].get("ItemCount", 0) >= deals * per_deal:
            return
        semaphore = asyncio.Semaphore(16)

        async def write(items: list[dict[str, object]]) -> None:
            async with semaphore:
                request: Any = {table: [{"PutRequest": {"Item": item}} for item in items]}
                while request:
                    response = await client.batch_write_item(RequestItems=request)
                    request = response.get("UnprocessedItems") or {}

        batch: list[dict[str, object]] = []
        tasks = []
        for index in range(deals):
            owner, chat = OWNER_BASE + index % owners, 10**9 + index
            deal = deal_id(owner, chat)
            for message_id in range(per_deal):
                data = _message(message_id, T0 + timedelta(seconds=index, milliseconds=message_id))
                batch.append(
                    {
                        "deal_id": {"S": deal},
                        "message_id": {"N": str(message_id)},
                        "version": {"N": str(data.version)},
                        "event_id": {"S": "bench"},
                        "owner_user_id": {"N": str(owner)},
                        "date": {"S": data.date.isoformat()},
                        "is_deleted": {"BOOL": False},
                        "data": {"S": data.model_dump_json()},
                        "edits": {"S": "[]"},
                        "updated_at": {"S": T0.isoformat()},
                    }
                )
                if len(batch) == 25:
                    tasks.append(asyncio.create_task(write(batch)))
                    batch = []
            if len(tasks) > 256:
                await asyncio.gather(*tasks)
                tasks = []
        if batch:
            tasks.append(asyncio.create_task(write(batch)))
        await asyncio.gather(*tasks)


async def _prepare(settings: Settings, args: argparse.Namespace) -> str:
    await Stack(load_settings()).up()
    await ensure_database(settings)
    await migrate(settings)
    await ensure_messages_table(settings)
    await _seed_postgres(settings, args.deals, args.owners)
    await _seed_dynamodb(settings, args.deals, args.owners, args.messages_per_deal)
    engine = create_engine(settings, pool_size=1)
    try:
        return (await create_token(engine, user_id=OWNER_BASE, admin=False, name="bench"))[1]
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--messages-per-deal", type=int, default=10)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    overrides = {
        "POSTGRES_DB": "chatsync_bench",
        "DYNAMODB_MESSAGES_TABLE": "chatsync-bench-messages",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(overrides)
    settings = load_settings()
    token = asyncio.run(_prepare(settings, args))
    port = free_port()
    env = {**os.environ, "API_PORT": str(port)}
    owner_deals = [deal_id(OWNER_BASE, 10**9 + i) for i in range(0, args.deals, args.owners)]
    rng = random.Random(1)
    headers = {"Authorization": f"Bearer {token}"}
    with server([sys.executable, "-m", "chatsync", "api"], env, port) as base:

        def run(paths: list[str]) -> dict[str, float]:
            requests = [Request("GET", base + path) for path in paths]
            asyncio.run(closed_loop(requests[:200], args.concurrency, headers))  # warm-up
            return asyncio.run(closed_loop(requests, args.concurrency, headers))

        n = args.requests
        ceiling = run(["/healthz"] * n)
        listing = run(["/api/v1/deals/?page_size=20"] * n)
        detail = run([f"/api/v1/deals/{rng.choice(owner_deals)}/" for _ in range(n)])
    emit(
        "api",
        subject={
            **{f"list_{k}": v for k, v in listing.items()},
            **{f"detail_{k}": v for k, v in detail.items()},
        },
        baseline={f"healthz_{k}": v for k, v in ceiling.items()},
        params={
            "deals": args.deals,
            "messages": args.deals * args.messages_per_deal,
            "owners": args.owners,
            "concurrency": args.concurrency,
            "requests": n,
        },
        ratios={
            "list_vs_ceiling": listing["per_second"] / ceiling["per_second"],
            "detail_vs_ceiling": detail["per_second"] / ceiling["per_second"],
        },
        notes="aim: list and detail p99 under 50 ms at 100 concurrent clients",
    )


if __name__ == "__main__":
    main()
