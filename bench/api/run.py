"""bench/api: `GET /api/v1/deals/` and deal detail under 100 concurrent clients, with 100k deals and
1M messages stored, side by side with `/healthz` on the same server (the ceiling).

The data (``bench.api.seed``) goes into a database and a DynamoDB table of their own
(POSTGRES_DB=chatsync_bench, DYNAMODB_MESSAGES_TABLE=chatsync-bench-messages), seeded once and
reused by later runs of the same size. Then one `chatsync api --workers N` serves, in turn:

* ``healthz``: the bare endpoint, the ceiling of the server itself;
* ``list``: the first page (20 deals) of one owner, ``--concurrency`` clients in a closed loop;
* ``list_deep``: one client per owner, all at once, each paging through its owner's deals by
  following ``next`` (the cursor) for ``--pages`` pages; the figures cover the pages after the
  first, each client's deeper into its list than the one before;
* ``detail``: random deals of the first owner with their newest messages, closed loop.

A second baseline, ``dynamodb_query``, runs the detail's DynamoDB Query for the same deals straight
from aioboto3 (same client settings as the API), ``--concurrency`` at a time: what DynamoDB Local
on this machine allows at best. Every figure is wall clock on a machine the load generator,
PostgreSQL and DynamoDB Local share with the API: compare ratios, not absolute figures.

Usage: .venv/bin/python -m bench.api.run [--deals 100000] [--messages-per-deal 10] [--owners 100]
       [--requests 3000] [--concurrency 100] [--workers 1] [--pages 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from collections.abc import Callable

from bench.api.clients import page_through, query_loop
from bench.api.seed import OWNER_BASE, chat_of, seed_dynamodb, seed_postgres
from bench.load import Request, closed_loop, free_port, server
from bench.report import emit
from chatsync.identity import deal_id
from chatsync.infra.db import create_engine, migrate
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.stack.provision import ensure_database, ensure_messages_table
from chatsync.infra.stack.stack import Stack
from chatsync.settings import Settings, load_settings

PAGE_SIZE = 20
WARM_UP_REQUESTS = 200
Figures = dict[str, float]


async def _owner_tokens(settings: Settings, owners: int) -> list[str]:
    """A fresh token for each owner, first owner first."""
    engine = create_engine(settings, pool_size=1)
    try:
        return [
            (await create_token(engine, user_id=OWNER_BASE + owner, admin=False, name="bench"))[1]
            for owner in range(owners)
        ]
    finally:
        await engine.dispose()


async def _prepare(settings: Settings, args: argparse.Namespace) -> list[str]:
    await Stack(load_settings()).up()
    await ensure_database(settings)
    await migrate(settings)
    await ensure_messages_table(settings)
    await seed_postgres(settings, args.deals, args.owners)
    await seed_dynamodb(settings, args.deals, args.owners, args.messages_per_deal)
    return await _owner_tokens(settings, args.owners)


def _first_owner_deals(args: argparse.Namespace, count: int) -> list[str]:
    """``count`` random deals of the first owner (the one the closed loops run as)."""
    deals = [deal_id(OWNER_BASE, chat_of(index)) for index in range(0, args.deals, args.owners)]
    rng = random.Random(1)
    return [rng.choice(deals) for _ in range(count)]


def _closed_loop(base: str, token: str, concurrency: int) -> Callable[[list[str]], Figures]:
    headers = {"Authorization": f"Bearer {token}"}

    def run(paths: list[str]) -> Figures:
        requests = [Request("GET", base + path) for path in paths]
        asyncio.run(closed_loop(requests[:WARM_UP_REQUESTS], concurrency, headers))
        return asyncio.run(closed_loop(requests, concurrency, headers))

    return run


def _measure(
    args: argparse.Namespace, tokens: list[str], detail_deals: list[str]
) -> dict[str, Figures]:
    port = free_port()
    env = {**os.environ, "API_PORT": str(port)}
    command = [sys.executable, "-m", "chatsync", "api", "--workers", str(args.workers)]
    clients = [tokens[client % len(tokens)] for client in range(args.concurrency)]
    with server(command, env, port) as base:
        run = _closed_loop(base, tokens[0], args.concurrency)
        first_page = f"/api/v1/deals/?page_size={PAGE_SIZE}"
        return {
            "healthz": run(["/healthz"] * args.requests),
            "list": run([first_page] * args.requests),
            "list_deep": asyncio.run(page_through(base + first_page, clients, args.pages)),
            "detail": run([f"/api/v1/deals/{deal}/" for deal in detail_deals]),
        }


def _prefixed(prefix: str, values: Figures) -> Figures:
    return {f"{prefix}_{key}": value for key, value in values.items()}


def _report(args: argparse.Namespace, measured: dict[str, Figures]) -> None:
    rates = {name: values["per_second"] for name, values in measured.items()}
    emit(
        "api",
        subject={
            **_prefixed("list", measured["list"]),
            **_prefixed("list_deep", measured["list_deep"]),
            **_prefixed("detail", measured["detail"]),
        },
        baseline={
            **_prefixed("healthz", measured["healthz"]),
            **_prefixed("dynamodb_query", measured["dynamodb_query"]),
        },
        params={
            "deals": args.deals, "messages": args.deals * args.messages_per_deal,
            "owners": args.owners, "concurrency": args.concurrency, "requests": args.requests,
            "api_workers": args.workers, "page_size": PAGE_SIZE, "deep_pages": args.pages,
        },
        ratios={
            "list_vs_ceiling": rates["list"] / rates["healthz"],
            "list_deep_vs_ceiling": rates["list_deep"] / rates["healthz"],
            "detail_vs_ceiling": rates["detail"] / rates["healthz"],
            "detail_vs_dynamodb_query": rates["detail"] / rates["dynamodb_query"],
        },
        notes="aim: list and detail p99 under 50 ms at 100 concurrent clients",
    )  # fmt: skip


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--messages-per-deal", type=int, default=10)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="API processes")
    parser.add_argument("--pages", type=int, default=50, help="pages each paging client reads")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    os.environ.update({
        "POSTGRES_DB": "chatsync_bench",
        "DYNAMODB_MESSAGES_TABLE": "chatsync-bench-messages",
        "LOG_LEVEL": "WARNING",
    })  # fmt: skip
    settings = load_settings()
    tokens = asyncio.run(_prepare(settings, args))
    detail_deals = _first_owner_deals(args, args.requests)
    measured = _measure(args, tokens, detail_deals)
    measured["dynamodb_query"] = asyncio.run(query_loop(settings, detail_deals, args.concurrency))
    _report(args, measured)


if __name__ == "__main__":
    main()
