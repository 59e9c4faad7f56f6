"""The normalisation rules, driven with real Bot API Business shapes through the pure pipeline."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chatsync.events import (
    CustomerCreated,
    CustomerUpdated,
    DealCreated,
    DealUpdated,
    MessageCreated,
    MessageDeleted,
)
from chatsync.identity import customer_id, deal_id
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.demo.shapes import CONNECTION_ID, CUSTOMER_ID, OWNER_ID

DEAL = deal_id(OWNER_ID, CUSTOMER_ID)


class Feed:
    """Posts updates into a MemoryNormaliser as raw records of one partition."""

    def __init__(self) -> None:
        self.normaliser = MemoryNormaliser()
        self.offset = 0

    def send(self, update: dict[str, Any]) -> list[Any]:
        envelope = botapi_envelope(update, describe_update(update), shapes.BOT_ID)
        self.offset += 1
        return self.normaliser.process(envelope.to_bytes(), "tg.raw.botapi", 0, self.offset)


def _types(events: list[Any]) -> list[str]:
    return [event.event_type for event in events]


def _text(message_id: int, *, text: str = "hello", date: int = shapes.BASE_DATE,
          incoming: bool = True, update_id: int | None = None) -> dict[str, Any]:  # fmt: skip
    update = shapes.text() if incoming else shapes.sent_by_owner()
    update["update_id"] = update_id or 1000 + message_id
    message = update["business_message"]
    message.update(message_id=message_id, text=text, date=date)
    return update


def _edit(message_id: int, *, text: str, edit_date: int) -> dict[str, Any]:
    update = shapes.edited_business_message()
    update["update_id"] = 5000 + edit_date % 1000
    message = update["edited_business_message"]
    message.update(message_id=message_id, text=text, edit_date=edit_date)
    message.pop("entities", None)
    return update


def _delete(*message_ids: int) -> dict[str, Any]:
    update = shapes.deleted_business_messages()
    update["deleted_business_messages"]["message_ids"] = list(message_ids)
    return update


@pytest.fixture
def feed() -> Feed:
    feed = Feed()
    assert feed.send(shapes.business_connection()) == []
    return feed


def test_first_message_creates_deal_message_and_customer(feed: Feed) -> None:
    events = feed.send(_text(10))
    assert _types(events) == ["message.created", "deal.created", "customer.created"]
    created, deal, customer = events
    assert isinstance(created, MessageCreated)
    assert created.deal_id == DEAL == deal.deal_id
    assert created.owner_user_id == OWNER_ID
    assert created.data.direction == "in"
    assert created.data.sender_id == CUSTOMER_ID
    assert created.source.kind == "botapi"
    assert created.source.offset == 2
    assert isinstance(deal, DealCreated)
    assert deal.data.customer_id == customer_id(CUSTOMER_ID)
    assert deal.data.business_connection_id == CONNECTION_ID
    assert (deal.data.message_count, deal.data.unread_count) == (1, 1)
    assert deal.data.last_message == created.data
    assert isinstance(customer, CustomerCreated)
    assert customer.data.first_name == "Анна"


def test_redelivered_update_emits_nothing(feed: Feed) -> None:
    update = _text(10)
    assert feed.send(update)
    assert feed.send(copy.deepcopy(update)) == []


def test_newer_edit_is_applied_and_older_ignored(feed: Feed) -> None:
    feed.send(_text(10, text="v1"))
    newer = feed.send(_edit(10, text="v3", edit_date=shapes.BASE_DATE + 300))
    assert _types(newer) == ["message.edited", "deal.updated"]
    assert newer[0].data.text == "v3"
    assert newer[1].data.last_message.text == "v3"
    assert feed.send(_edit(10, text="v2", edit_date=shapes.BASE_DATE + 200)) == []
    assert feed.send(_edit(10, text="v3", edit_date=shapes.BASE_DATE + 300)) == []


def test_delete_is_final(feed: Feed) -> None:
    feed.send(_text(10))
    deleted = feed.send(_delete(10))
    assert _types(deleted) == ["message.deleted", "deal.updated"]
    assert isinstance(deleted[0], MessageDeleted)
    assert deleted[0].data.is_deleted
    assert deleted[-1].data.unread_count == 0
    assert feed.send(_delete(10)) == []
    assert feed.send(_edit(10, text="back?", edit_date=shapes.BASE_DATE + 900)) == []
    assert feed.send(_text(10)) == []


def test_edit_before_create_waits_as_a_tombstone(feed: Feed) -> None:
    feed.send(_text(9))
    assert feed.send(_edit(10, text="edited", edit_date=shapes.BASE_DATE + 60)) == []
    events = feed.send(_text(10, text="original"))
    assert _types(events) == ["message.created", "deal.updated", "message.edited",
                              "deal.updated"]  # fmt: skip
    assert events[0].data.text == "original"
    assert events[2].data.text == "edited"


def test_delete_before_create_waits_as_a_tombstone_and_no_empty_deal_appears() -> None:
    feed = Feed()
    feed.send(shapes.business_connection())
    assert feed.send(_delete(10)) == []
    assert feed.normaliser.deals == {}
    events = feed.send(_text(10))
    assert _types(events)[:2] == ["message.created", "deal.created"]
    assert "message.deleted" in _types(events)


def test_records_before_the_connection_wait_and_are_released_in_order() -> None:
    feed = Feed()
    assert feed.send(_text(10, text="first")) == []
    assert feed.send(_text(11, text="second")) == []
    released = feed.send(shapes.business_connection())
    created = [e for e in released if isinstance(e, MessageCreated)]
    assert [e.data.text for e in created] == ["first", "second"]
    assert all(e.owner_user_id == OWNER_ID for e in released)


def test_an_outgoing_message_reveals_the_owner() -> None:
    feed = Feed()
    assert feed.send(_text(10, text="hi")) == []
    events = feed.send(_text(11, text="hello back", incoming=False))
    created = [e for e in events if isinstance(e, MessageCreated)]
    pairs = [(e.data.text, e.data.direction) for e in created]
    assert pairs == [("hi", "in"), ("hello back", "out")]
    assert created[0].deal_id == DEAL


def test_unread_counts_follow_incoming_and_reset_on_a_reply(feed: Feed) -> None:
    feed.send(_text(10))
    events = feed.send(_text(11))
    assert next(e for e in events if isinstance(e, DealUpdated)).data.unread_count == 2
    reply = feed.send(_text(12, incoming=False))
    deal = next(e for e in reply if isinstance(e, DealUpdated))
    assert deal.data.unread_count == 0
    assert deal.data.last_message is not None
    assert deal.data.last_message.direction == "out"


def test_disabled_connection_creates_no_new_deal(feed: Feed) -> None:
    feed.send(_text(10))
    assert feed.send(shapes.business_connection_disabled()) == []
    other = _text(20)
    other["business_message"]["chat"]["id"] = 424242
    other["business_message"]["from"]["id"] = 424242
    assert feed.send(other) == []
    assert _types(feed.send(_text(11))) == ["message.created", "deal.updated"]


def test_bot_sent_message_is_outgoing_and_marked(feed: Feed) -> None:
    events = feed.send(shapes.sent_by_bot_for_owner())
    message = events[0].data
    assert message.direction == "out"
    assert message.sent_by_bot
    assert message.sender_id == OWNER_ID


@pytest.mark.parametrize(
    ("sample", "media_type"),
    [("photo_with_caption", "photo"), ("voice", "voice"), ("document", "document"),
     ("sticker", "sticker")],
)  # fmt: skip
def test_media_keeps_type_and_file_reference(feed: Feed, sample: str, media_type: str) -> None:
    update = shapes.SAMPLES[sample]()
    body = update["business_message"]
    [created] = [e for e in feed.send(update) if isinstance(e, MessageCreated)]
    media = created.data.media
    assert media is not None
    assert media.type == media_type
    assert media.file is not None
    assert media.file.file_id
    assert created.data.text == body.get("text", body.get("caption"))


def test_reply_forward_and_entities(feed: Feed) -> None:
    [reply] = [e for e in feed.send(shapes.reply()) if isinstance(e, MessageCreated)]
    assert reply.data.reply_to_message_id is not None
    forwarded = feed.send(shapes.forward_from_channel())
    [forward] = [e for e in forwarded if isinstance(e, MessageCreated)]
    assert forward.data.forward is not None
    assert forward.data.forward.origin == "channel"
    update = shapes.text_with_entities()
    [rich] = [e for e in feed.send(update) if isinstance(e, MessageCreated)]
    assert [(x.type, x.offset, x.length) for x in rich.data.entities] == [
        (x["type"], x["offset"], x["length"]) for x in update["business_message"]["entities"]
    ]


def test_customer_updated_only_on_a_real_change(feed: Feed) -> None:
    feed.send(_text(10))
    assert not [e for e in feed.send(_text(11)) if isinstance(e, CustomerUpdated)]
    renamed = _text(12, date=shapes.BASE_DATE + 100)
    renamed["business_message"]["from"]["username"] = "anna_new"
    renamed["business_message"]["chat"]["username"] = "anna_new"
    [updated] = [e for e in feed.send(renamed) if isinstance(e, CustomerUpdated)]
    assert updated.data.username == "anna_new"
    assert updated.data.version == 2
    older = _text(13, date=shapes.BASE_DATE + 50)
    older["business_message"]["from"]["username"] = "anna_old"
    assert not [e for e in feed.send(older) if isinstance(e, CustomerUpdated)]


def test_malformed_records_raise_normalise_error(feed: Feed) -> None:
    with pytest.raises(NormaliseError):
        feed.normaliser.process(b"not json", "tg.raw.botapi", 0, 99)
    broken = _text(10)
    del broken["business_message"]["date"]
    with pytest.raises(NormaliseError, match="date"):
        feed.send(broken)


def test_unknown_update_types_are_ignored(feed: Feed) -> None:
    assert feed.send(shapes.future_update_type()) == []


def test_an_edit_in_the_same_second_still_gets_a_newer_version(feed: Feed) -> None:
    """Regression: the edit kept the original's version, so the DynamoDB sink ignored it."""
    created = feed.send(_text(10, text="v1"))[0]
    [edited, _] = feed.send(_edit(10, text="v2", edit_date=shapes.BASE_DATE))
    assert edited.data.text == "v2"
    assert edited.data.version == created.data.version + 1
