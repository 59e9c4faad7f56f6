"""The command executor against the real stack (Kafka, PostgreSQL, S3), Telegram faked at its port.

Each test runs the process's two consumer loops (``service.loops_for``) in this event loop, on
topics and consumer groups of its own, and waits for the executor's outcomes through its observer.
The Bot API is aiogram's real Bot over a fake session (``PhotoBotApi``); the account is
TelethonCommands over a fake client.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import BotoCoreError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.agents.commands.botapi_edge import BotApiEdge
from chatsync.agents.commands.config import CommandsConfig, RetryPolicy
from chatsync.agents.commands.consumer import RecordLoop
from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.executor import Outcome
from chatsync.agents.commands.models import FetchAvatar, MarkRead, decode_command, fetch_avatar
from chatsync.agents.commands.outcomes import read_outcome
from chatsync.agents.commands.ports import Throttled
from chatsync.agents.commands.postgres import PostgresCustomerAvatars, PostgresDealReads
from chatsync.agents.commands.ratelimit import TokenBucket
from chatsync.agents.commands.refresh import RefreshPolicy
from chatsync.agents.commands.requests import publish_command, request_read
from chatsync.agents.commands.s3store import S3AvatarStore, avatar_key
from chatsync.agents.commands.service import Stores, avatar_refresher, executor_for, loops_for
from chatsync.agents.commands.telethon_edge import TelethonEdge
from chatsync.envelopes import RawEnvelope
from chatsync.events import (
    CustomerCreated,
    CustomerData,
    CustomerUpdated,
    EventSource,
    SourceKind,
)
from chatsync.identity import customer_id, deal_id
from chatsync.infra.aws import s3_client
from chatsync.infra.db import create_engine
from chatsync.infra.stack.stack import Stack
from chatsync.producers.publisher import RawPublisher
from chatsync.producers.telethon.commands import TelethonCommands
from chatsync.settings import Settings
from tests.fakes.telegram import error
from tests.kafka_helpers import read_topic
from tests.unit.commands.avatar_store_contract import AvatarStoreContract, StoreProbe
from tests.unit.commands.fakes import BOT_ID, DealRow, FakeTelethonClient, PhotoBotApi

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
OWNER = 6_100_000_001
CONNECTION = "bc-commands-test"
WAIT_S = 60  # a guard against a hang, not a measurement


class CountingS3:
    """The real S3 client, counting uploads (``puts``: every attempt; ``uploaded``: the answered
    ones, per key) and requests that found no server (``unreachable``)."""

    def __init__(self, client: S3Client) -> None:
        self.client, self.puts, self.uploaded, self.unreachable = client, 0, Counter[str](), 0

    async def put_object(self, **request: Any) -> Any:
        self.puts += 1
        answer = await self._counted(self.client.put_object(**request))
        self.uploaded[request["Key"]] += 1
        return answer

    async def head_object(self, **request: Any) -> Any:
        return await self._counted(self.client.head_object(**request))

    async def _counted(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except BotoCoreError:
            self.unreachable += 1
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class WatchedCustomers(PostgresCustomerAvatars):
    """The real table; ``missed`` is set once a command found its customer missing."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.missed = asyncio.Event()

    async def exists(self, customer_id: str) -> bool:
        found = await super().exists(customer_id)
        if not found:
            self.missed.set()
        return found


@dataclass
class CommandsRun:
    settings: Settings
    engine: AsyncEngine
    s3: CountingS3
    publisher: RawPublisher
    bot_api: PhotoBotApi = field(default_factory=PhotoBotApi)
    account: FakeTelethonClient = field(default_factory=FakeTelethonClient)
    outcomes: asyncio.Queue[Outcome] = field(default_factory=asyncio.Queue)
    customers: WatchedCustomers | None = None
    loops: list[RecordLoop] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def config(self) -> CommandsConfig:
        """The executor's settings but for attempts (given to ``start``): its consumer groups."""
        return CommandsConfig(group_id=f"{self.settings.topic_commands}-group")

    def start(self, max_attempts: int = 5) -> None:
        retry = RetryPolicy(max_attempts, base_s=0.05, max_s=0.2)
        config = dataclasses.replace(self.config, retry=retry)
        edges = Edges(
            Throttled(BotApiEdge(self.bot_api.bot()), TokenBucket(50)),
            {OWNER: Throttled(TelethonEdge(TelethonCommands(self.account)), TokenBucket(50))},
        )
        self.customers = WatchedCustomers(self.engine)
        store = S3AvatarStore(cast("S3Client", self.s3), self.settings.s3_bucket)
        stores = Stores(store, self.customers, PostgresDealReads(self.engine))
        executor = executor_for(self.settings, config, edges, stores, self.publisher,
                                bot_id=BOT_ID, observer=self.outcomes.put_nowait)  # fmt: skip
        self.loops = loops_for(self.settings, config, executor, self.publisher,
                               avatar_requests=True)  # fmt: skip
        self.tasks = [asyncio.create_task(loop.run()) for loop in self.loops]

    async def stop(self) -> None:
        for loop in self.loops:
            loop.stop()
        for task in self.tasks:
            try:
                await asyncio.wait_for(task, WAIT_S)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def outcome(self) -> Outcome:
        return await asyncio.wait_for(self.outcomes.get(), WAIT_S)

    async def add_customer(self, user_id: int) -> str:
        async with self.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO customers (id, user_id, version, updated_at)"
                " VALUES (:id, :user_id, 1, now())"
            ), {"id": customer_id(user_id), "user_id": user_id})  # fmt: skip
        return customer_id(user_id)

    async def add_deal(self, owner: int, chat_id: int, last_message: str) -> str:
        async with self.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO deals (id, owner_user_id, customer_id, chat_id, source, last_message,"
                " activity_at, message_count, unread_count, created_at, updated_at, version)"
                " VALUES (:id, :owner, :customer, :chat, 'mtproto', CAST(:last AS jsonb), now(),"
                " 3, 2, now(), now(), 3)"
            ), {"id": deal_id(owner, chat_id), "owner": owner, "customer": customer_id(chat_id),
                "chat": chat_id, "last": last_message})  # fmt: skip
        return deal_id(owner, chat_id)

    async def avatar_of(self, user_id: int) -> tuple[str | None, datetime | None]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                text("SELECT avatar_key, avatar_checked_at FROM customers WHERE id = :id"),
                {"id": customer_id(user_id)},
            )).one()  # fmt: skip
        return row[0], row[1]

    async def object(self, key: str) -> tuple[bytes, str]:
        found = await self.s3.client.get_object(Bucket=self.settings.s3_bucket, Key=key)
        return await found["Body"].read(), found["ContentType"]

    async def customer_event(
        self, user_id: int, *, updated: bool = False, kind: SourceKind = "botapi"
    ) -> None:
        data = CustomerData(customer_id=customer_id(user_id), user_id=user_id,
                            first_name="Ana", version=2 if updated else 1)  # fmt: skip
        source = EventSource(topic="tg.raw", partition=0, offset=user_id, kind=kind)
        event_type = CustomerUpdated if updated else CustomerCreated
        event = event_type(event_id=f"e-{user_id}-{updated}", occurred_at=T0,
                           deal_id=deal_id(OWNER, user_id), owner_user_id=OWNER, source=source,
                           data=data)  # fmt: skip
        await self.publisher.publish(self.settings.topic_customers, data.customer_id.encode(),
                                     event.model_dump_json().encode())  # fmt: skip


@contextlib.asynccontextmanager
async def open_commands_run(
    settings: Settings, topic_factory: TopicFactory
) -> AsyncIterator[CommandsRun]:
    """A CommandsRun on topics of its own (not started); stopped and closed afterwards."""
    names = {name: await topic_factory(partitions=2) for name in (
        "topic_commands", "topic_customers", "topic_raw_botapi", "topic_raw_mtproto", "topic_dlq",
    )}  # fmt: skip
    settings = settings.model_copy(update=names)
    engine = create_engine(settings, pool_size=2)
    publisher = RawPublisher(settings.kafka_bootstrap_servers, ack_timeout_s=10,
                             client_id="test-commands")  # fmt: skip
    await publisher.start()
    async with s3_client(settings) as s3:
        commands_run = CommandsRun(settings, engine, CountingS3(s3), publisher)
        try:
            yield commands_run
        finally:
            await commands_run.stop()
            await publisher.stop()
            await engine.dispose()


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[CommandsRun]:
    async with open_commands_run(local_stack.settings, topic_factory) as commands_run:
        yield commands_run


@pytest.fixture
async def avatars(local_stack: Stack) -> AsyncIterator[StoreProbe]:
    async with s3_client(local_stack.settings) as client:
        counting = CountingS3(client)
        store = S3AvatarStore(cast("S3Client", counting), local_stack.settings.s3_bucket)

        async def read(key: str) -> bytes:
            found = await client.get_object(Bucket=local_stack.settings.s3_bucket, Key=key)
            return await found["Body"].read()

        yield StoreProbe(store, lambda: counting.puts, read)


class TestS3AvatarStore(AvatarStoreContract):
    """The contract against the real S3 server."""


def _user() -> int:
    return random.randrange(10**9, 2 * 10**9)


async def test_a_new_customers_photo_is_stored_content_addressed(run: CommandsRun) -> None:
    user, photo = _user(), b"\xff\xd8\xff\xe0" + random.randbytes(64)
    await run.add_customer(user)
    run.bot_api.photos[user] = photo
    run.start()
    await run.customer_event(user)
    outcome = await run.outcome()
    assert (outcome.status, outcome.attempts) == ("done", 1)
    key, checked_at = await run.avatar_of(user)
    assert key == avatar_key(photo)
    assert key == f"avatars/{hashlib.sha256(photo).hexdigest()}.jpg"
    assert checked_at is not None
    assert await run.object(key) == (photo, "image/jpeg")
    assert run.s3.puts == 1


async def test_the_same_photo_is_one_object_and_a_changed_photo_gets_a_new_key(
    run: CommandsRun,
) -> None:
    first, second, photo = _user(), _user(), b"\xff\xd8" + random.randbytes(64)
    for user in (first, second):
        await run.add_customer(user)
        run.bot_api.photos[user] = photo
    run.start()
    await run.customer_event(first)
    await run.customer_event(second)
    assert [(await run.outcome()).status for _ in range(2)] == ["done", "done"]
    assert (await run.avatar_of(first))[0] == (await run.avatar_of(second))[0] == avatar_key(photo)
    assert run.s3.puts == 1, "an unchanged photo is not uploaded again"
    changed = b"\xff\xd8" + random.randbytes(64)
    run.bot_api.photos[first] = changed
    await run.customer_event(first, updated=True)
    assert (await run.outcome()).status == "done"
    assert (await run.avatar_of(first))[0] == avatar_key(changed)
    assert (await run.avatar_of(second))[0] == avatar_key(photo)
    assert run.s3.puts == 2
    assert (await run.object(avatar_key(photo)))[0] == photo, "the old object stays"


async def test_a_customer_without_a_photo_is_checked_and_has_no_key(run: CommandsRun) -> None:
    user = _user()
    await run.add_customer(user)
    run.start()
    await run.customer_event(user)
    assert (await run.outcome()).detail == "no profile photo"
    key, checked_at = await run.avatar_of(user)
    assert (key, checked_at is not None) == (None, True)
    assert run.s3.puts == 0


async def test_a_customer_stored_after_the_command_arrived_gets_its_avatar(
    run: CommandsRun,
) -> None:
    user, photo = _user(), b"\xff\xd8 late" + random.randbytes(16)
    run.account.photos[user] = photo
    run.start(max_attempts=1000)
    await run.customer_event(user, kind="backfill")
    assert run.customers is not None
    await asyncio.wait_for(run.customers.missed.wait(), WAIT_S)
    await run.add_customer(user)  # the PostgreSQL sink catches up
    outcome = await run.outcome()
    assert outcome.status == "done"
    assert outcome.attempts >= 2
    assert isinstance(outcome.command, FetchAvatar)
    assert outcome.command.side == "mtproto"
    assert (await run.avatar_of(user))[0] == avatar_key(photo)


async def test_a_customer_never_stored_is_given_up_into_the_dlq(run: CommandsRun) -> None:
    user = _user()
    run.start(max_attempts=3)
    command = fetch_avatar(customer_id=customer_id(user), user_id=user, owner_user_id=OWNER,
                           side="botapi", cause="test")  # fmt: skip
    await publish_command(run.publisher, run.settings.topic_commands, command)
    outcome = await run.outcome()
    assert (outcome.status, outcome.attempts) == ("given_up", 3)
    [dead] = await read_topic(run.settings.kafka_bootstrap_servers, run.settings.topic_dlq,
                              at_least=1)  # fmt: skip
    assert decode_command(dead.value) == command
    assert dict(dead.headers)["dlq.stage"] == b"commands"
    assert run.bot_api.calls == [], "no Telegram request for a customer that is not stored"


async def test_a_telegram_error_twice_is_retried_and_done_once(run: CommandsRun) -> None:
    user, photo = _user(), b"\xff\xd8" + random.randbytes(32)
    await run.add_customer(user)
    run.bot_api.photos[user] = photo
    run.bot_api.fail_next(
        "getUserProfilePhotos",
        error(502, "Bad Gateway"),
        error(429, "Too Many Requests: retry after 1", retry_after=1),
    )
    run.start()
    await run.customer_event(user)
    outcome = await run.outcome()
    assert (outcome.status, outcome.attempts) == ("done", 3)
    assert run.bot_api.methods().count("getUserProfilePhotos") == 3
    assert run.bot_api.methods().count("getFile") == 1
    assert (await run.avatar_of(user))[0] == avatar_key(photo)
    assert run.s3.puts == 1


async def test_a_business_read_marks_telegram_and_writes_its_raw_record(
    run: CommandsRun,
) -> None:
    chat = _user()
    row = DealRow(deal_id(OWNER, chat), OWNER, chat, "botapi", CONNECTION)
    run.start()
    command_id = await request_read(run.publisher, run.settings, row, 12, requested_at=T0)
    outcome = await run.outcome()
    assert (outcome.status, outcome.command.command_id) == ("done", command_id)
    assert run.bot_api.read_marks == [
        {"business_connection_id": CONNECTION, "chat_id": chat, "message_id": 12},
    ]
    [record] = await read_topic(run.settings.kafka_bootstrap_servers,
                                run.settings.topic_raw_botapi, at_least=1)  # fmt: skip
    assert record.key == f"bc:{CONNECTION}".encode()
    envelope = RawEnvelope.from_bytes(record.value)
    assert envelope.update_type == "chatsync_read_marked"
    assert envelope.payload == {
        "business_connection_id": CONNECTION,
        "chat": {"id": chat},
        "message_id": 12,
        "_chatsync": {"event_id": f"chatsync_read_marked:{chat}:12"},
    }
    assert isinstance(outcome.command, MarkRead)
    assert envelope == read_outcome(outcome.command, 12, BOT_ID)


async def test_an_account_read_of_everything_marks_up_to_the_latest_message(
    run: CommandsRun,
) -> None:
    chat = _user()
    deal = await run.add_deal(OWNER, chat, '{"message_id": 33, "direction": "in"}')
    row = DealRow(deal, OWNER, chat, "mtproto", None)
    run.start()
    await request_read(run.publisher, run.settings, row, None)
    assert (await run.outcome()).detail == "read up to 33"
    assert run.account.read_marks == [(chat, 33)]
    [record] = await read_topic(run.settings.kafka_bootstrap_servers,
                                run.settings.topic_raw_mtproto, at_least=1)  # fmt: skip
    assert record.key == f"acct:{OWNER}:chat:{chat}".encode()
    envelope = RawEnvelope.from_bytes(record.value)
    assert (envelope.source, envelope.update_type, envelope.account_user_id) == (
        "mtproto", "message_read", OWNER,
    )  # fmt: skip
    assert envelope.payload == {
        "_": "UpdateReadHistoryInbox",
        "max_id": 33,
        "peer": {"_": "PeerUser", "user_id": chat},
        "_chatsync": {"event_id": f"message_read:{chat}:inbox:33"},
    }


async def test_a_read_command_delivered_twice_writes_one_record(run: CommandsRun) -> None:
    chat = _user()
    row = DealRow(deal_id(OWNER, chat), OWNER, chat, "mtproto", None)
    run.start()
    await request_read(run.publisher, run.settings, row, 7, requested_at=T0)
    [command] = await read_topic(run.settings.kafka_bootstrap_servers,
                                 run.settings.topic_commands, at_least=1)  # fmt: skip
    redelivered = decode_command(command.value)
    other = RawPublisher(run.settings.kafka_bootstrap_servers, ack_timeout_s=10,
                         client_id="test-redelivery")  # fmt: skip
    await other.start()
    try:  # the same command a second time, as after a crash before the commit
        await publish_command(other, run.settings.topic_commands, redelivered)
    finally:
        await other.stop()
    assert [(await run.outcome()).status for _ in range(2)] == ["done", "done"]
    assert run.account.read_marks == [(chat, 7), (chat, 7)]
    records = await read_topic(run.settings.kafka_bootstrap_servers,
                               run.settings.topic_raw_mtproto, at_least=1)  # fmt: skip
    assert len(records) == 1, "the same outcome, published once"


async def test_a_photo_checked_long_ago_is_fetched_again_through_the_latest_deal(
    run: CommandsRun,
) -> None:
    """The refresh round against the real tables and topic: only customers checked before the
    cutoff and reached through a deal are asked for; the executor stores their new photo."""
    now = datetime(2001, 12, 1, tzinfo=UTC)  # rows of other tests were all checked later
    stale, fresh, dealless = _user(), _user(), _user()
    for user in (stale, fresh, dealless):
        await run.add_customer(user)
    for user in (stale, fresh):
        await run.add_deal(OWNER, user, '{"message_id": 3, "direction": "in"}')
    checked = {stale: datetime(2001, 1, 1, tzinfo=UTC), fresh: datetime(2001, 11, 30, tzinfo=UTC),
               dealless: datetime(2001, 1, 1, tzinfo=UTC)}  # fmt: skip
    async with run.engine.begin() as conn:
        for user, at in checked.items():
            await conn.execute(
                text("UPDATE customers SET avatar_checked_at = :at, avatar_key = 'avatars/old.jpg'"
                     " WHERE id = :id"), {"at": at, "id": customer_id(user)},
            )  # fmt: skip
    try:
        await _refresh_round_and_fetch(run, now, stale, fresh, checked[stale])
    finally:  # no row left to look stale to a later run on a kept stack
        async with run.engine.begin() as conn:
            await conn.execute(
                text("UPDATE customers SET avatar_checked_at = now() WHERE id = ANY(:ids)"),
                {"ids": [customer_id(u) for u in checked]},
            )


async def _refresh_round_and_fetch(
    run: CommandsRun, now: datetime, stale: int, fresh: int, checked_before: datetime
) -> None:
    photo = b"\xff\xd8" + random.randbytes(64)
    run.account.photos[stale] = photo
    policy = RefreshPolicy(after=timedelta(days=7), batch=50, interval_s=3600)
    customers = PostgresCustomerAvatars(run.engine)
    refresher = avatar_refresher(run.settings, policy, run.publisher, customers, clock=lambda: now)
    assert await refresher.round() == 1
    [record] = await read_topic(run.settings.kafka_bootstrap_servers, run.settings.topic_commands,
                                at_least=1)  # fmt: skip
    command = decode_command(record.value)
    assert isinstance(command, FetchAvatar)
    assert (command.customer_id, command.side, command.owner_user_id) == (
        customer_id(stale), "mtproto", OWNER)  # fmt: skip
    run.start()
    outcome = await run.outcome()
    assert (outcome.status, outcome.command.command_id) == ("done", command.command_id)
    key, checked_at = await run.avatar_of(stale)
    assert key == avatar_key(photo)
    assert checked_at is not None
    assert checked_at > checked_before
    assert (await run.avatar_of(fresh))[0] == "avatars/old.jpg"
    assert await refresher.round() == 0, "refreshed: not asked for again"
