"""The command contract: JSON round trips, deterministic ids, and what asks for which command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chatsync.agents.commands.errors import BadCommand
from chatsync.agents.commands.models import (
    FetchAvatar,
    MarkRead,
    decode_command,
    encode_command,
    fetch_avatar,
    mark_read,
)
from chatsync.agents.commands.requests import CannotRequest, avatar_command, request_read
from chatsync.events import CustomerCreated, CustomerData, CustomerUpdated, EventSource, SourceKind
from chatsync.identity import customer_id, deal_id
from chatsync.settings import Settings
from tests.fakes.telethon import RecordingPublisher
from tests.unit.commands.fakes import DealRow

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
OWNER, CUSTOMER = 7001, 9001
DEAL = deal_id(OWNER, CUSTOMER)


def _event(kind: SourceKind, *, updated: bool = False) -> CustomerCreated | CustomerUpdated:
    data = CustomerData(customer_id=customer_id(CUSTOMER), user_id=CUSTOMER, first_name="Ana",
                        version=2 if updated else 1)  # fmt: skip
    source = EventSource(topic="tg.raw", partition=0, offset=5, kind=kind)
    kind_of = CustomerUpdated if updated else CustomerCreated
    return kind_of(event_id=f"e-{kind_of.__name__}", occurred_at=T0, deal_id=DEAL,
                   owner_user_id=OWNER, source=source, data=data)  # fmt: skip


def _read(up_to: int | None, *, at: datetime = T0) -> MarkRead:
    return mark_read(deal_id=DEAL, owner_user_id=OWNER, chat_id=CUSTOMER, side="botapi",
                     business_connection_id="bc-1", up_to_message_id=up_to,
                     created_at=at)  # fmt: skip


def test_commands_round_trip_as_versioned_json() -> None:
    avatar = avatar_command(_event("botapi"))
    read = _read(12)
    for command in (avatar, read):
        value = encode_command(command)
        assert decode_command(value) == command
        body = json.loads(value)
        assert body["schema_version"] == 1
        assert body["command_type"] == command.command_type
        assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert isinstance(decode_command(encode_command(avatar)), FetchAvatar)
    assert avatar.key == b"tg_9001"
    assert read.key == DEAL.encode()


def test_ids_are_deterministic_and_name_what_is_asked() -> None:
    later = datetime(2026, 3, 2, tzinfo=UTC)
    assert _read(12).command_id == _read(12, at=later).command_id
    assert _read(12).command_id != _read(13).command_id
    assert _read(None).command_id == _read(None).command_id
    assert _read(None).command_id != _read(None, at=later).command_id, "each 'read all' counts"
    first, again = avatar_command(_event("mtproto")), avatar_command(_event("mtproto"))
    assert first.command_id == again.command_id, "a replayed event asks again under one id"
    assert first.command_id != avatar_command(_event("mtproto", updated=True)).command_id
    assert first.command_id != _read(12).command_id


@pytest.mark.parametrize(
    ("kind", "side"),
    [("botapi", "botapi"), ("mtproto", "mtproto"), ("backfill", "mtproto"), ("export", "mtproto")],
)
def test_the_side_of_an_avatar_follows_the_event_source(kind: SourceKind, side: str) -> None:
    command = avatar_command(_event(kind))
    assert (command.side, command.owner_user_id) == (side, OWNER)
    assert (command.customer_id, command.user_id) == ("tg_9001", CUSTOMER)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (b"{not json", "record"),
        (b'{"command_type": "launch_rockets"}', "record"),
        (json.dumps({**json.loads(encode_command(_read(3))), "schema_version": 2}).encode(),
         "schema_version"),
        (json.dumps({**json.loads(encode_command(_read(3))), "business_connection_id": None})
         .encode(), "mark_read"),
    ],
)  # fmt: skip
def test_what_is_not_a_command_of_this_version_is_refused(value: bytes, where: str) -> None:
    with pytest.raises(BadCommand, match=where):
        decode_command(value)


def test_fetch_avatar_of_an_explicit_cause() -> None:
    command = fetch_avatar(customer_id="tg_5", user_id=5, owner_user_id=1, side="mtproto",
                           cause="e", created_at=T0)  # fmt: skip
    assert command == decode_command(encode_command(command))


async def test_request_read_puts_a_mark_read_on_the_commands_topic() -> None:
    publisher = RecordingPublisher()
    settings = Settings(_env_file=None, topic_commands="test.commands")
    row = DealRow(DEAL, OWNER, CUSTOMER, "botapi", "bc-1")
    command_id = await request_read(publisher, settings, row, 12, requested_at=T0)
    [record] = publisher.records
    assert (record.topic, record.key, record.dedupe_key) == ("test.commands", DEAL.encode(),
                                                             command_id)  # fmt: skip
    command = decode_command(record.value)
    assert command == _read(12)
    assert command.command_id == command_id


async def test_request_read_of_an_account_deal_goes_through_the_account() -> None:
    publisher = RecordingPublisher()
    row = DealRow(DEAL, OWNER, CUSTOMER, "mtproto", None)
    await request_read(publisher, Settings(_env_file=None), row, None)
    command = decode_command(publisher.records[0].value)
    assert isinstance(command, MarkRead)
    assert (command.side, command.up_to_message_id, command.business_connection_id) == (
        "mtproto", None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("row", "up_to", "message"),
    [
        (DealRow(DEAL, OWNER, CUSTOMER, "botapi", None), 1, "without a connection"),
        (DealRow(DEAL, OWNER, CUSTOMER, "fax", None), 1, "unknown source"),
        (DealRow(DEAL, OWNER, CUSTOMER, "mtproto", None), 0, "must be a message id"),
    ],
)
async def test_request_read_refuses_what_cannot_be_carried_out(
    row: DealRow, up_to: int, message: str
) -> None:
    publisher = RecordingPublisher()
    with pytest.raises(CannotRequest, match=message):
        await request_read(publisher, Settings(_env_file=None), row, up_to)
    assert publisher.records == []
