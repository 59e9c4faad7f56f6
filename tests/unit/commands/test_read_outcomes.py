"""A read mark's outcome record, through the reference normaliser: ``deal.updated`` with
``unread_count`` 0, once; and the record shapes the worker reads (Bot API and Telethon)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telethon.tl import types

from chatsync.agents.commands.models import MarkRead, Side, mark_read
from chatsync.agents.commands.outcomes import outcome_identity, read_outcome
from chatsync.envelopes import RawEnvelope
from chatsync.events import DealUpdated
from chatsync.identity import deal_id
from chatsync.normalise.botapi import READ_MARKED, observe_botapi
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.demo.shapes import CONNECTION_ID, CUSTOMER_ID, OWNER_ID
from chatsync.producers.telethon.events import Scope, message_envelope, read_envelope
from tests.fakes.telethon import ACCOUNT, tl_message

REQUESTED = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Feed:
    def __init__(self) -> None:
        self.normaliser = MemoryNormaliser()
        self.offset = 0

    def send(self, envelope: RawEnvelope) -> list[Any]:
        self.offset += 1
        topic = f"tg.raw.{envelope.source}"
        return self.normaliser.process(envelope.to_bytes(), topic, 0, self.offset)

    def bot(self, update: dict[str, Any]) -> list[Any]:
        return self.send(botapi_envelope(update, describe_update(update), shapes.BOT_ID))


def _command(side: Side, owner: int, up_to: int) -> MarkRead:
    return mark_read(
        deal_id=deal_id(owner, CUSTOMER_ID), owner_user_id=owner, chat_id=CUSTOMER_ID, side=side,
        business_connection_id=CONNECTION_ID if side == "botapi" else None,
        up_to_message_id=up_to, created_at=REQUESTED,
    )  # fmt: skip


def _incoming(message_id: int) -> dict[str, Any]:
    update = shapes.text()
    update["update_id"] = 1000 + message_id
    update["business_message"]["message_id"] = message_id
    return update


def test_a_business_read_mark_makes_the_deal_read() -> None:
    feed = Feed()
    feed.bot(shapes.business_connection())
    feed.bot(_incoming(10))
    [*_, unread] = feed.bot(_incoming(11))
    assert unread.data.unread_count == 2
    outcome = read_outcome(_command("botapi", OWNER_ID, 11), 11, shapes.BOT_ID)
    [deal] = feed.send(outcome)
    assert isinstance(deal, DealUpdated)
    assert deal.deal_id == deal_id(OWNER_ID, CUSTOMER_ID)
    assert deal.data.unread_count == 0
    assert deal.occurred_at == REQUESTED
    assert deal.source.kind == "botapi"
    assert feed.send(outcome) == [], "the same outcome again changes nothing"


def test_a_business_read_mark_up_to_an_older_message_leaves_the_newer_unread() -> None:
    feed = Feed()
    feed.bot(shapes.business_connection())
    feed.bot(_incoming(10))
    feed.bot(_incoming(11))
    [deal] = feed.send(read_outcome(_command("botapi", OWNER_ID, 10), 10, shapes.BOT_ID))
    assert deal.data.unread_count == 1


def test_a_business_read_mark_waits_for_its_connections_owner_like_any_record() -> None:
    feed = Feed()
    outcome = read_outcome(_command("botapi", OWNER_ID, 11), 11, shapes.BOT_ID)
    message = botapi_envelope(_incoming(10), describe_update(_incoming(10)), shapes.BOT_ID)
    assert outcome.partition_key() == message.partition_key(), "ordered with the messages"
    assert feed.bot(_incoming(11)) == []  # parked: the owner is not known yet
    assert feed.send(outcome) == []
    deals = [e for e in feed.bot(shapes.business_connection()) if e.event_type.startswith("deal")]
    assert [e.event_type for e in deals] == ["deal.created", "deal.updated"]
    assert (deals[0].data.unread_count, deals[1].data.unread_count) == (1, 0)


def test_the_business_record_shape() -> None:
    outcome = read_outcome(_command("botapi", OWNER_ID, 11), 11, shapes.BOT_ID)
    assert (outcome.source, outcome.update_type, outcome.business_connection_id,
            outcome.chat_id, outcome.bot_id, outcome.update_id, outcome.received_at) == (
        "botapi", READ_MARKED, CONNECTION_ID, CUSTOMER_ID, shapes.BOT_ID, None, REQUESTED,
    )  # fmt: skip
    assert outcome.payload == {
        "business_connection_id": CONNECTION_ID, "chat": {"id": CUSTOMER_ID}, "message_id": 11,
        "_chatsync": {"event_id": f"{READ_MARKED}:{CUSTOMER_ID}:11"},
    }  # fmt: skip
    assert outcome_identity(outcome) == f"{CONNECTION_ID}:{READ_MARKED}:{CUSTOMER_ID}:11"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"business_connection_id": "bc", "chat": {"id": 1}, "message_id": "11"}, "message_id"),
        ({"business_connection_id": "bc", "chat": {"id": 1}}, "message_id"),
        ({"chat": {"id": 1}, "message_id": 11}, "business_connection_id"),
        ({"business_connection_id": "bc", "message_id": 11}, "chat.id"),
    ],
)
def test_a_broken_business_read_record_is_a_normalise_error(
    payload: dict[str, Any], problem: str
) -> None:
    envelope = RawEnvelope(source="botapi", update_type=READ_MARKED, payload=payload)
    with pytest.raises(NormaliseError, match=problem):
        observe_botapi(envelope)


def test_an_account_read_mark_makes_the_deal_read() -> None:
    feed, scope = Feed(), Scope(ACCOUNT)
    feed.send(_required(message_envelope(tl_message(10, CUSTOMER_ID), scope)))
    feed.send(_required(message_envelope(tl_message(11, CUSTOMER_ID, hours=1), scope)))
    outcome = read_outcome(_command("mtproto", ACCOUNT, 11), 11, None)
    [deal] = feed.send(outcome)
    assert isinstance(deal, DealUpdated)
    assert (deal.deal_id, deal.data.unread_count) == (deal_id(ACCOUNT, CUSTOMER_ID), 0)
    assert feed.send(outcome) == []


def test_the_account_record_is_the_live_producers_read_record() -> None:
    outcome = read_outcome(_command("mtproto", ACCOUNT, 11), 11, None)
    live = _required(read_envelope(types.UpdateReadHistoryInbox(
        peer=types.PeerUser(CUSTOMER_ID), max_id=11, still_unread_count=0, pts=6, pts_count=1,
    ), Scope(ACCOUNT)))  # fmt: skip
    assert outcome.payload == {
        "_": "UpdateReadHistoryInbox", "max_id": 11,
        "peer": {"_": "PeerUser", "user_id": CUSTOMER_ID},
        "_chatsync": {"event_id": f"message_read:{CUSTOMER_ID}:inbox:11"},
    }  # fmt: skip
    for name in ("source", "update_type", "account_user_id", "chat_id"):
        assert getattr(outcome, name) == getattr(live, name), name
    assert outcome.partition_key() == live.partition_key()
    for name in ("_", "max_id", "peer", "_chatsync"):
        assert outcome.payload[name] == live.payload[name], name


def test_a_group_chat_read_names_its_peer() -> None:
    command = mark_read(deal_id="d", owner_user_id=ACCOUNT, chat_id=-4321, side="mtproto",
                        business_connection_id=None, up_to_message_id=3)  # fmt: skip
    assert read_outcome(command, 3, None).payload["peer"] == {"_": "PeerChat", "chat_id": 4321}


def _required(envelope: RawEnvelope | None) -> RawEnvelope:
    assert envelope is not None
    return envelope
