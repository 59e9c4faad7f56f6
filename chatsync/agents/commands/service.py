"""``chatsync commands``: the composition root of the executor process.

Two consumer loops in one process: ``chat.customers`` -> fetch_avatar commands (group
``<COMMANDS_APP_ID>-avatar-requests``), and ``chat.commands`` -> the executor (group
``COMMANDS_APP_ID``); with the avatar requests comes the periodic avatar refresh
(``chatsync.agents.commands.refresh``). The Business bot is used when TELEGRAM_BOT_TOKEN is set;
the Telethon account when TG_API_ID is set (its session must be signed in). A command for a side
this process does not have is given up (and kept in the DLQ).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime

from chatsync.agents.commands.avatars import AvatarHandler
from chatsync.agents.commands.botapi_edge import BotApiEdge
from chatsync.agents.commands.config import CommandsConfig
from chatsync.agents.commands.consumer import RecordLoop, group_consumer
from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.executor import Executor, Outcome
from chatsync.agents.commands.models import FetchAvatar
from chatsync.agents.commands.ports import (
    AvatarStore,
    CustomerAvatars,
    DealReads,
    TelegramEdge,
    Throttled,
)
from chatsync.agents.commands.postgres import PostgresCustomerAvatars, PostgresDealReads
from chatsync.agents.commands.ratelimit import TokenBucket
from chatsync.agents.commands.reads import RawTopics, ReadHandler
from chatsync.agents.commands.records import AvatarRequests, CommandRecords, DeadLetters
from chatsync.agents.commands.refresh import AvatarRefresher, RefreshPolicy
from chatsync.agents.commands.requests import publish_command
from chatsync.agents.commands.s3store import S3AvatarStore
from chatsync.agents.commands.telethon_edge import TelethonEdge
from chatsync.envelopes import utc_now
from chatsync.infra.aws import s3_client
from chatsync.infra.db import create_engine
from chatsync.producers.botapi.client import make_bot
from chatsync.producers.botapi.updates import bot_id_from_token
from chatsync.producers.publisher import Publisher, RawPublisher
from chatsync.producers.telethon.cli import signed_in_account
from chatsync.producers.telethon.client import load_session, make_client
from chatsync.producers.telethon.commands import TelethonCommands
from chatsync.producers.telethon.errors import NotAuthorized
from chatsync.settings import Settings

log = logging.getLogger(__name__)
Loop = RecordLoop | AvatarRefresher  # what runs until stopped


async def run_commands(settings: Settings, *, avatar_requests: bool = True) -> None:
    """Run until SIGINT or SIGTERM; the commands in hand finish and what was handled is committed
    first."""
    config = CommandsConfig.from_settings(settings)
    async with AsyncExitStack() as resources:
        publisher = RawPublisher(
            settings.kafka_bootstrap_servers,
            client_id=config.group_id,
            ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
        )
        resources.push_async_callback(publisher.stop)
        await publisher.start()
        engine = create_engine(settings, pool_size=4)
        resources.push_async_callback(engine.dispose)
        s3 = await resources.enter_async_context(s3_client(settings))
        bot, bot_id = await _bot(settings, config, resources)
        edges = Edges(bot, await _accounts(settings, config, resources))
        stores = Stores(S3AvatarStore(s3, settings.s3_bucket), PostgresCustomerAvatars(engine),
                        PostgresDealReads(engine))  # fmt: skip
        executor = executor_for(settings, config, edges, stores, publisher, bot_id=bot_id)
        loops: list[Loop] = [
            *loops_for(settings, config, executor, publisher, avatar_requests=avatar_requests)
        ]
        if avatar_requests and config.avatar_refresh is not None:
            loops.append(avatar_refresher(settings, config.avatar_refresh, publisher,
                                          PostgresCustomerAvatars(engine)))  # fmt: skip
        await _run_until_signalled(loops)


@dataclass(frozen=True, slots=True)
class Stores:
    avatars: AvatarStore
    customers: CustomerAvatars
    deals: DealReads


def executor_for(
    settings: Settings, config: CommandsConfig, edges: Edges, stores: Stores,
    publisher: Publisher, *, bot_id: int | None, observer: Callable[[Outcome], None] | None = None,
) -> Executor:  # fmt: skip
    """The executor over the given edges and stores."""
    topics = RawTopics(settings.topic_raw_botapi, settings.topic_raw_mtproto)
    return Executor(
        AvatarHandler(edges, stores.avatars, stores.customers),
        ReadHandler(edges, stores.deals, publisher, topics, bot_id=bot_id),
        config.retry, observer=observer,
    )  # fmt: skip


def loops_for(
    settings: Settings, config: CommandsConfig, executor: Executor, publisher: Publisher,
    *, avatar_requests: bool,
) -> list[RecordLoop]:  # fmt: skip
    """The executor's loop over chat.commands, and the avatar requests' over chat.customers."""
    dead_letters = DeadLetters(publisher, settings.topic_dlq)
    commands = group_consumer(settings, settings.topic_commands, config.group_id)
    loops = [RecordLoop(commands, CommandRecords(executor, dead_letters), backoff=config.retry)]
    if avatar_requests:
        customers = group_consumer(settings, settings.topic_customers,
                                   config.avatar_requests_group_id)  # fmt: skip
        requests = AvatarRequests(publisher, settings.topic_commands, dead_letters)
        loops.append(RecordLoop(customers, requests, backoff=config.retry))
    return loops


async def _bot(
    settings: Settings, config: CommandsConfig, resources: AsyncExitStack
) -> tuple[TelegramEdge | None, int | None]:
    if settings.telegram_bot_token is None:
        log.info("no TELEGRAM_BOT_TOKEN: botapi commands will be given up")
        return None, None
    token = settings.telegram_bot_token.get_secret_value()
    bot, _ = make_bot(token)
    resources.push_async_callback(bot.session.close)
    return Throttled(BotApiEdge(bot), TokenBucket(config.botapi_rate)), bot_id_from_token(token)


async def _accounts(
    settings: Settings, config: CommandsConfig, resources: AsyncExitStack
) -> dict[int, TelegramEdge]:
    if settings.tg_api_id is None:
        log.info("no TG_API_ID: mtproto commands will be given up")
        return {}
    session = load_session(settings, read_only=True)  # the live producer owns the file
    account = signed_in_account(session)
    client = make_client(settings, session, flood_sleep_threshold=0)  # flood waits come to us
    resources.push_async_callback(client.disconnect)
    await client.connect()
    if not await client.is_user_authorized():
        raise NotAuthorized()
    edge = TelethonEdge(TelethonCommands(client))
    return {account: Throttled(edge, TokenBucket(config.mtproto_rate))}


def avatar_refresher(
    settings: Settings, policy: RefreshPolicy, publisher: Publisher,
    customers: PostgresCustomerAvatars, *, clock: Callable[[], datetime] = utc_now,
) -> AvatarRefresher:  # fmt: skip
    """The refresh rounds, publishing to ``chat.commands``."""

    async def publish(command: FetchAvatar) -> None:
        await publish_command(publisher, settings.topic_commands, command)

    return AvatarRefresher(customers.stale, publish, policy, clock=clock)


def _stop_all(loops: list[Loop]) -> None:
    for each in loops:
        each.stop()


async def _run_until_signalled(loops: list[Loop]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stop_all, loops)
    try:
        async with asyncio.TaskGroup() as group:
            for each in loops:
                group.create_task(each.run())
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
