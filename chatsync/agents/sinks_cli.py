"""`chatsync sinks`: the composition root of the sinks, and the command that runs them.

``sink_runners`` builds the adapters (the PostgreSQL engine, the DynamoDB client, the DLQ
producer) and hands them to one runner per sink; nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Collection
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import click

from chatsync.agents.sinks import SinkRunner
from chatsync.infra.db import create_engine
from chatsync.infra.sinks.base import BatchingSink
from chatsync.infra.sinks.clients import sink_dynamodb_client
from chatsync.infra.sinks.dynamodb import DynamoDBSink
from chatsync.infra.sinks.policy import SinkOptions
from chatsync.infra.sinks.postgres import PostgresSink
from chatsync.producers.publisher import RawPublisher
from chatsync.settings import Settings

log = logging.getLogger(__name__)
SINK_NAMES = ("postgres", "dynamodb")
GROUP_PREFIX = "chatsync-sink-"
REPORT_EVERY_S = 60.0


@asynccontextmanager
async def sink_runners(
    settings: Settings, only: Collection[str] = SINK_NAMES, *, group_prefix: str = GROUP_PREFIX,
    options: SinkOptions | None = None,
) -> AsyncIterator[list[SinkRunner]]:  # fmt: skip
    """One runner per sink named in ``only``, with its adapters; closed on the way out."""
    async with AsyncExitStack() as stack:
        engine = create_engine(settings, pool_size=4)
        stack.push_async_callback(engine.dispose)
        dlq = RawPublisher(settings.kafka_bootstrap_servers, client_id="chatsync-sinks-dlq",
                           ack_timeout_s=settings.kafka_publish_timeout_ms / 1000)  # fmt: skip
        await dlq.start()
        stack.push_async_callback(dlq.stop)
        sinks: list[BatchingSink[Any]] = []
        if "postgres" in only:
            sinks.append(PostgresSink(engine, deals_topic=settings.topic_deals,
                                      customers_topic=settings.topic_customers))  # fmt: skip
        if "dynamodb" in only:
            client = await stack.enter_async_context(sink_dynamodb_client(settings))
            sinks.append(DynamoDBSink(client, engine, table=settings.dynamodb_messages_table,
                                      messages_topic=settings.topic_messages))  # fmt: skip
        options = options or SinkOptions.from_settings(settings)
        yield [
            SinkRunner(sink, bootstrap_servers=settings.kafka_bootstrap_servers, dlq=dlq,
                       dlq_topic=settings.topic_dlq, options=options,
                       group_id=f"{group_prefix}{sink.name}")
            for sink in sinks
        ]  # fmt: skip


async def run_sinks(settings: Settings, only: Collection[str] = SINK_NAMES) -> None:
    """Run the sinks until SIGINT or SIGTERM; a sink that fails with a bug stops them all."""
    async with sink_runners(settings, only) as runners:

        def stop() -> None:
            for runner in runners:
                runner.stop()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        reporter = asyncio.create_task(_report(runners))
        try:
            async with asyncio.TaskGroup() as group:
                for runner in runners:
                    group.create_task(runner.run())
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter


async def _report(runners: list[SinkRunner]) -> None:
    while True:
        await asyncio.sleep(REPORT_EVERY_S)
        for runner in runners:
            m = runner.metrics
            log.info("sink %s: %d batches, %d rows, %d dead letters, %d errors, lag %d",
                     m.name, m.batches, m.rows, m.dead_letters, m.errors, m.total_lag)  # fmt: skip


@click.command()
@click.option("--only", type=click.Choice(SINK_NAMES), default=None,
              help="Run one sink only (default: both).")  # fmt: skip
@click.pass_context
def sinks(ctx: click.Context, only: str | None) -> None:
    """Write chat.deals and chat.customers into PostgreSQL, chat.messages into DynamoDB."""
    settings: Settings = ctx.obj["settings"]
    asyncio.run(run_sinks(settings, (only,) if only else SINK_NAMES))
