"""bench/webhook: accepted updates per second and acknowledgement latency of POST /telegram/webhook/
against the real broker, side by side with a bare Starlette endpoint (the ceiling).

Both servers run as separate uvicorn processes on loopback with the same settings; the load comes
from this process over aiohttp. Phase 1 (closed loop, fixed concurrency) gives the highest rate
each sustains; phase 2 (open loop at 70 % of the webhook's rate, latency measured from the
scheduled send time) gives p50/p99 under a steady load. Every request carries a distinct update.

Usage: .venv/bin/python -m bench.webhook.run [--requests 6000] [--concurrency 32]
Needs the local stack (`chatsync infra up`; started here when it is not running).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.load import figures, free_port, server
from bench.report import emit
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo.scenario import stream_updates
from chatsync.settings import load_settings

SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway value for the benchmark
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


def _bodies(count: int, first_update_id: int) -> list[bytes]:
    bodies = []
    for offset, update in enumerate(stream_updates(count, seed=11)):
        update["update_id"] = first_update_id + offset
        bodies.append(json.dumps(update, ensure_ascii=False).encode())
    return bodies


async def _closed_loop(url: str, bodies: list[bytes], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    queue = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            nonlocal failures
            for body in queue:
                started = time.perf_counter()
                async with http.post(url, data=body, headers=HEADERS) as response:
                    await response.read()
                    failures += response.status != 200
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed, failures)


async def _open_loop(url: str, bodies: list[bytes], rate: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as http:

        async def one(body: bytes, scheduled: float) -> None:
            nonlocal failures
            async with http.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                failures += response.status != 200
            latencies.append(time.perf_counter() - scheduled)

        started = time.perf_counter()
        tasks = []
        for index, body in enumerate(bodies):
            scheduled = started + index / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(one(body, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed, failures)


async def _topic(servers: str, create: bool, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic(name, 4, 1)])
        else:
            await admin.delete_topics([name])
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    settings = load_settings()
    asyncio.run(Stack(settings).up())
    topic = f"bench.webhook.{uuid.uuid4().hex[:8]}"
    asyncio.run(_topic(settings.kafka_bootstrap_servers, True, topic))
    env = {**os.environ, "TELEGRAM_WEBHOOK_SECRET": SECRET, "TOPIC_RAW_BOTAPI": topic,
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    uvicorn_flags = ["--no-access-log", "--log-level", "warning"]
    webhook_port, bare_port = free_port(), free_port()
    n = args.requests
    try:
        with server([sys.executable, "-m", "uvicorn", "bench.webhook.bare:app", "--port",
                      str(bare_port), *uvicorn_flags], env, bare_port) as bare_base:  # fmt: skip
            bare_url = f"{bare_base}/telegram/webhook/"
            asyncio.run(_closed_loop(bare_url, _bodies(500, 1), args.concurrency))  # warm-up
            bare = asyncio.run(_closed_loop(bare_url, _bodies(n, 10**6), args.concurrency))
            bare_steady = asyncio.run(_open_loop(bare_url, _bodies(n // 2, 2 * 10**6),
                                                 bare["per_second"] * 0.7))  # fmt: skip
        with server([sys.executable, "-m", "chatsync", "api", "--port", str(webhook_port)],
                     env, webhook_port) as webhook_base:  # fmt: skip
            webhook_url = f"{webhook_base}/telegram/webhook/"
            asyncio.run(_closed_loop(webhook_url, _bodies(500, 3 * 10**6), args.concurrency))
            hook = asyncio.run(_closed_loop(webhook_url, _bodies(n, 4 * 10**6), args.concurrency))
            steady_rate = hook["per_second"] * 0.7
            hook_steady = asyncio.run(_open_loop(webhook_url, _bodies(n // 2, 5 * 10**6),
                                                 steady_rate))  # fmt: skip
    finally:
        asyncio.run(_topic(settings.kafka_bootstrap_servers, False, topic))
    emit(
        "webhook",
        subject={**{f"max_{k}": v for k, v in hook.items()},
                 **{f"at70_{k}": v for k, v in hook_steady.items()}},
        baseline={**{f"max_{k}": v for k, v in bare.items()},
                  **{f"at70_{k}": v for k, v in bare_steady.items()}},
        params={"requests": n, "concurrency": args.concurrency, "kafka": "acks=all, idempotent",
                "load": "aiohttp in the benchmark process, servers in their own processes"},
        ratios={"rate_vs_ceiling": hook["per_second"] / bare["per_second"]},
        notes="aim: rate_vs_ceiling >= 0.5 and subject at70_p99_ms < 50",
    )  # fmt: skip


if __name__ == "__main__":
    main()
