"""Telethon records through the same pipeline, and both producers feeding one chat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telethon.tl import types

from chatsync.envelopes import RawEnvelope
from chatsync.events import CustomerCreated, DealCreated, DealUpdated, MessageCreated
from chatsync.identity import deal_id
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.telethon.events import (
    Scope,
    deleted_envelopes,
    message_envelope,
    read_envelope,
    user_envelope,
)
from tests.fakes.telethon import ACCOUNT, tl_document, tl_message, tl_photo

CUSTOMER = 42
SCOPE = Scope(ACCOUNT)


class Feed:
    def __init__(self) -> None:
        self.normaliser = MemoryNormaliser()
        self.offset = 0

    def send(self, envelope: RawEnvelope | None, topic: str = "tg.raw.mtproto") -> list[Any]:
        assert envelope is not None
        self.offset += 1
        return self.normaliser.process(envelope.to_bytes(), topic, 0, self.offset)


def _types(events: list[Any]) -> list[str]:
    return [e.event_type for e in events]


def test_incoming_message_creates_deal_message_and_customer() -> None:
    events = Feed().send(message_envelope(tl_message(10, CUSTOMER, text="привет"), SCOPE))
    assert _types(events) == ["message.created", "deal.created", "customer.created"]
    created, deal, customer = events
    assert created.deal_id == deal_id(ACCOUNT, CUSTOMER)
    assert created.owner_user_id == ACCOUNT
    assert (created.data.direction, created.data.sender_id, created.data.text) == (
        "in",
        CUSTOMER,
        "привет",
    )
    assert created.source.kind == "mtproto"
    assert isinstance(deal, DealCreated)
    assert deal.data.source == "mtproto"
    assert isinstance(customer, CustomerCreated)
    assert customer.data.user_id == CUSTOMER


def test_outgoing_edit_delete_and_read() -> None:
    feed = Feed()
    feed.send(message_envelope(tl_message(10, CUSTOMER), SCOPE))
    out = feed.send(message_envelope(tl_message(11, CUSTOMER, out=True, hours=1), SCOPE))
    assert out[0].data.direction == "out"
    assert out[0].data.sender_id == ACCOUNT
    edited = tl_message(
        11, CUSTOMER, out=True, hours=1, text="fixed", edit_date=datetime(2026, 1, 1, 2, tzinfo=UTC)
    )
    assert _types(feed.send(message_envelope(edited, SCOPE, update_type="message_edited"))) == [
        "message.edited",
        "deal.updated",
    ]
    [delete] = deleted_envelopes(
        types.UpdateDeleteMessages(messages=[10], pts=5, pts_count=1), SCOPE, {10: CUSTOMER}
    )
    assert _types(feed.send(delete)) == ["message.deleted"]
    feed.send(message_envelope(tl_message(12, CUSTOMER, hours=3), SCOPE))
    read = read_envelope(
        types.UpdateReadHistoryInbox(
            peer=types.PeerUser(CUSTOMER), max_id=12, still_unread_count=0, pts=6, pts_count=1
        ),
        SCOPE,
    )
    [deal] = feed.send(read)
    assert isinstance(deal, DealUpdated)
    assert deal.data.unread_count == 0


def test_media_is_mapped_with_mtproto_references() -> None:
    feed = Feed()
    [photo] = [
        e
        for e in feed.send(message_envelope(tl_message(10, CUSTOMER, media=tl_photo()), SCOPE))
        if isinstance(e, MessageCreated)
    ]
    assert photo.data.media is not None
    assert photo.data.media.type == "photo"
    assert photo.data.media.file is not None
    assert photo.data.media.file.mtproto_id == 77
    assert photo.data.media.width == 800
    document = message_envelope(tl_message(11, CUSTOMER, media=tl_document()), SCOPE)
    [doc] = [e for e in feed.send(document) if isinstance(e, MessageCreated)]
    assert doc.data.media is not None
    assert (doc.data.media.type, doc.data.media.file_name) == ("document", "offer.pdf")


def test_profile_updates_reach_the_customer() -> None:
    feed = Feed()
    feed.send(message_envelope(tl_message(10, CUSTOMER), SCOPE))
    update = types.UpdateUserName(
        user_id=CUSTOMER,
        first_name="Ada",
        last_name="Lovelace",
        usernames=[types.Username(username="ada", active=True)],
    )
    [customer] = feed.send(user_envelope(update, SCOPE))
    assert (customer.event_type, customer.data.first_name, customer.data.username) == (
        "customer.updated",
        "Ada",
        "ada",
    )


def test_backfill_of_a_live_message_changes_nothing() -> None:
    feed = Feed()
    message = tl_message(10, CUSTOMER)
    assert feed.send(message_envelope(message, SCOPE))
    assert feed.send(message_envelope(message, SCOPE, source="backfill")) == []


def test_the_same_chat_through_the_bot_and_telethon_is_one_deal_and_one_message() -> None:
    feed = Feed()
    feed.send(_botapi(shapes.business_connection()), topic="tg.raw.botapi")
    update = shapes.text()
    message = update["business_message"]
    bot_events = feed.send(_botapi(update), topic="tg.raw.botapi")
    assert _types(bot_events)[:2] == ["message.created", "deal.created"]
    owner_scope = Scope(shapes.OWNER_ID)
    same = types.Message(
        id=message["message_id"],
        peer_id=types.PeerUser(shapes.CUSTOMER_ID),
        date=datetime.fromtimestamp(message["date"], UTC),
        message=message["text"],
        from_id=types.PeerUser(shapes.CUSTOMER_ID),
    )
    assert feed.send(message_envelope(same, owner_scope)) == []
    assert set(feed.normaliser.deals) == {deal_id(shapes.OWNER_ID, shapes.CUSTOMER_ID)}


def _botapi(update: dict[str, Any]) -> RawEnvelope:
    return botapi_envelope(update, describe_update(update), shapes.BOT_ID)
