"""The executor and its two handlers over fakes: outcomes, retries, Telegram's waits, give-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from chatsync.agents.commands.avatars import AvatarHandler
from chatsync.agents.commands.config import RetryPolicy
from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.errors import (
    Refused,
    RetryLater,
    StoreUnavailable,
    TelegramUnavailable,
)
from chatsync.agents.commands.executor import Executor, Outcome
from chatsync.agents.commands.models import FetchAvatar, MarkRead, Side, fetch_avatar, mark_read
from chatsync.agents.commands.reads import RawTopics, ReadHandler
from chatsync.agents.commands.s3store import avatar_key
from chatsync.envelopes import RawEnvelope
from chatsync.identity import deal_id
from tests.fakes.telethon import RecordingPublisher
from tests.unit.commands.fakes import (
    BOT_ID,
    MemoryAvatarStore,
    MemoryCustomers,
    MemoryDeals,
    ScriptedEdge,
    Sleeps,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 13, tzinfo=UTC)
OWNER, ACCOUNT, CUSTOMER = 7001, 7002, 9001
PHOTO = b"\xff\xd8 a jpeg"
TOPICS = RawTopics(botapi="raw.botapi", mtproto="raw.mtproto")


@dataclass
class World:
    bot: ScriptedEdge = field(default_factory=ScriptedEdge)
    account: ScriptedEdge = field(default_factory=ScriptedEdge)
    store: MemoryAvatarStore = field(default_factory=MemoryAvatarStore)
    customers: MemoryCustomers = field(default_factory=MemoryCustomers)
    deals: MemoryDeals = field(default_factory=MemoryDeals)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    sleeps: Sleeps = field(default_factory=Sleeps)
    outcomes: list[Outcome] = field(default_factory=list)

    def executor(self, *, bot: bool = True, max_attempts: int = 4) -> Executor:
        edges = Edges(self.bot if bot else None, {ACCOUNT: self.account})
        return Executor(
            AvatarHandler(edges, self.store, self.customers, clock=lambda: NOW),
            ReadHandler(edges, self.deals, self.publisher, TOPICS, bot_id=BOT_ID),
            RetryPolicy(max_attempts=max_attempts, base_s=1, max_s=4),
            sleep=self.sleeps, observer=self.outcomes.append,
        )  # fmt: skip


@pytest.fixture
def world() -> World:
    world = World()
    world.customers.add("tg_9001")
    return world


def _avatar(side: Side = "botapi", owner: int = OWNER) -> FetchAvatar:
    return fetch_avatar(customer_id="tg_9001", user_id=CUSTOMER, owner_user_id=owner, side=side,
                        cause="event-1", created_at=T0)  # fmt: skip


def _read(side: Side = "botapi", up_to: int | None = 12) -> MarkRead:
    owner = OWNER if side == "botapi" else ACCOUNT
    return mark_read(
        deal_id=deal_id(owner, CUSTOMER), owner_user_id=owner, chat_id=CUSTOMER, side=side,
        business_connection_id="bc-1" if side == "botapi" else None, up_to_message_id=up_to,
        created_at=T0,
    )  # fmt: skip


async def test_an_avatar_is_stored_and_recorded(world: World) -> None:
    world.bot.photos[CUSTOMER] = PHOTO
    outcome = await world.executor().execute(_avatar())
    assert (outcome.status, outcome.attempts) == ("done", 1)
    assert world.store.objects == {avatar_key(PHOTO): PHOTO}
    assert world.customers.rows["tg_9001"] == (avatar_key(PHOTO), NOW)
    assert world.outcomes == [outcome]


async def test_an_unchanged_photo_keeps_its_key_and_a_new_one_gets_another(world: World) -> None:
    world.bot.photos[CUSTOMER] = PHOTO
    executor = world.executor()
    await executor.execute(_avatar())
    await executor.execute(_avatar())
    assert world.store.puts == 1
    world.bot.photos[CUSTOMER] = b"\xff\xd8 another"
    await executor.execute(_avatar())
    assert world.customers.rows["tg_9001"][0] == avatar_key(b"\xff\xd8 another")
    assert len(world.store.objects) == 2


async def test_a_customer_without_a_photo_is_checked_with_no_key(world: World) -> None:
    world.customers.rows["tg_9001"] = ("avatars/old.jpg", T0)
    outcome = await world.executor().execute(_avatar())
    assert (outcome.status, outcome.detail) == ("done", "no profile photo")
    assert world.customers.rows["tg_9001"] == (None, NOW)
    assert world.store.objects == {}


async def test_account_chats_use_the_owners_account(world: World) -> None:
    world.account.photos[CUSTOMER] = PHOTO
    outcome = await world.executor().execute(_avatar("mtproto", ACCOUNT))
    assert outcome.status == "done"
    assert (world.account.photo_calls, world.bot.photo_calls) == ([CUSTOMER], [])


async def test_a_customer_the_sink_has_not_stored_yet_is_tried_again(world: World) -> None:
    world.customers.rows.clear()

    async def stored_after_two_misses(customer_id: str) -> None:
        if len(world.sleeps.calls) == 1:
            world.customers.add(customer_id)  # the sink caught up during the second pause

    world.customers.on_missing = stored_after_two_misses
    world.bot.photos[CUSTOMER] = PHOTO
    outcome = await world.executor().execute(_avatar())
    assert (outcome.status, outcome.attempts) == ("done", 3)
    assert world.sleeps.calls == [1, 2]
    assert world.bot.photo_calls == [CUSTOMER], "no Telegram request while the row is missing"


async def test_a_customer_never_stored_is_given_up_after_the_bounded_attempts(
    world: World,
) -> None:
    world.customers.rows.clear()
    outcome = await world.executor(max_attempts=4).execute(_avatar())
    assert (outcome.status, outcome.attempts) == ("given_up", 4)
    assert "not stored in PostgreSQL yet" in outcome.detail
    assert world.sleeps.calls == [1, 2, 4]


async def test_telegram_errors_are_retried_with_backoff_and_its_wait_obeyed(
    world: World,
) -> None:
    world.bot.photos[CUSTOMER] = PHOTO
    world.bot.errors = [TelegramUnavailable("502"), RetryLater(17), TelegramUnavailable("eof")]
    outcome = await world.executor().execute(_avatar())
    assert (outcome.status, outcome.attempts) == ("done", 4)
    assert world.sleeps.calls == [1, 17, 4]
    assert world.store.puts == 1


async def test_a_refusal_is_final(world: World) -> None:
    world.bot.errors = [Refused("user not found")]
    outcome = await world.executor().execute(_avatar())
    assert (outcome.status, outcome.attempts, outcome.detail) == ("given_up", 1, "user not found")
    assert world.sleeps.calls == []
    assert world.customers.rows["tg_9001"] == (None, None)


async def test_a_side_this_executor_lacks_is_given_up(world: World) -> None:
    outcome = await world.executor(bot=False).execute(_avatar())
    assert outcome.status == "given_up"
    assert "TELEGRAM_BOT_TOKEN" in outcome.detail
    other = await world.executor().execute(_avatar("mtproto", owner=123))
    assert "account 123 is not signed in here" in other.detail


async def test_a_store_outage_is_not_the_commands_fault(world: World) -> None:
    class DownStore(MemoryAvatarStore):
        async def put(self, photo: bytes) -> str:
            raise StoreUnavailable("S3 down")

    world.store = DownStore()
    world.bot.photos[CUSTOMER] = PHOTO
    with pytest.raises(StoreUnavailable):
        await world.executor().execute(_avatar())
    assert world.outcomes == []


async def test_a_business_read_marks_telegram_then_writes_its_outcome(world: World) -> None:
    outcome = await world.executor().execute(_read("botapi"))
    assert outcome.status == "done"
    assert world.bot.reads == [(CUSTOMER, 12, "bc-1")]
    [record] = world.publisher.records
    envelope = RawEnvelope.from_bytes(record.value)
    assert (record.topic, record.key) == ("raw.botapi", b"bc:bc-1")
    assert (envelope.source, envelope.update_type, envelope.bot_id) == (
        "botapi", "chatsync_read_marked", BOT_ID,
    )  # fmt: skip
    assert envelope.payload["message_id"] == 12


async def test_an_account_read_goes_through_the_account(world: World) -> None:
    await world.executor().execute(_read("mtproto"))
    assert (world.account.reads, world.bot.reads) == ([(CUSTOMER, 12, None)], [])
    [record] = world.publisher.records
    assert (record.topic, record.key) == ("raw.mtproto", f"acct:{ACCOUNT}:chat:{CUSTOMER}".encode())


async def test_a_read_executed_twice_writes_the_same_record(world: World) -> None:
    executor = world.executor()
    await executor.execute(_read("mtproto"))
    await executor.execute(_read("mtproto"))
    first, second = world.publisher.records
    assert (first.value, first.key, first.dedupe_key) == (
        second.value, second.key, second.dedupe_key,
    )  # fmt: skip


async def test_read_all_resolves_the_latest_incoming_message(world: World) -> None:
    command = _read("botapi", up_to=None)
    world.deals.latest[command.deal_id] = 40
    await world.executor().execute(command)
    assert world.bot.reads == [(CUSTOMER, 40, "bc-1")]
    assert RawEnvelope.from_bytes(world.publisher.records[0].value).payload["message_id"] == 40


async def test_read_all_with_nothing_unread_does_nothing(world: World) -> None:
    command = _read("botapi", up_to=None)
    world.deals.latest[command.deal_id] = None
    outcome = await world.executor().execute(command)
    assert (outcome.status, outcome.detail) == ("done", "nothing unread")
    assert (world.bot.reads, world.publisher.records) == ([], [])


async def test_a_failed_read_writes_no_outcome(world: World) -> None:
    world.bot.errors = [Refused("message not found")] * 1
    outcome = await world.executor().execute(_read("botapi"))
    assert outcome.status == "given_up"
    assert world.publisher.records == []
