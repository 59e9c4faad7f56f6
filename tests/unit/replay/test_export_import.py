"""A Telegram Desktop export -> mtproto envelopes -> the normaliser: one deal, its whole history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telethon.tl import types

from chatsync.envelopes import RawEnvelope
from chatsync.events import MessageCreated
from chatsync.identity import deal_id
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.telethon.events import Scope, message_envelope
from chatsync.replay.export.mapping import ChatContext, map_message
from chatsync.replay.export.reading import read_export

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram_export"
OWNER, CUSTOMER = 5550001, 7770002
TOPIC = "tg.raw.mtproto"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name / "result.json").read_text())


def _normalise(
    envelopes: list[RawEnvelope], normaliser: MemoryNormaliser | None = None
) -> tuple[MemoryNormaliser, list[NormalisedEvent]]:
    normaliser = normaliser or MemoryNormaliser()
    events = []
    for offset, envelope in enumerate(envelopes):
        events += normaliser.process(envelope.to_bytes(), TOPIC, 0, offset)
    return normaliser, events


def _created(events: list[NormalisedEvent]) -> dict[int, MessageCreated]:
    return {e.data.message_id: e for e in events if isinstance(e, MessageCreated)}


def test_a_personal_chat_becomes_one_deal_with_its_whole_history() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER)
    report = result.report
    assert report.skipped == 0
    assert [(e.message_id, e.reason) for e in report.chats[0].omitted] == [
        (116, "service action 'set_chat_wallpaper' has no private-chat counterpart in MTProto")
    ]
    assert len(result.envelopes) == report.imported == 17
    normaliser, events = _normalise(result.envelopes)
    [deal] = normaliser.deals.values()
    assert deal.deal_id == deal_id(OWNER, CUSTOMER)
    assert (deal.owner_user_id, deal.chat_id, deal.message_count) == (OWNER, CUSTOMER, 17)
    assert deal.last_message is not None
    assert deal.last_message.text == "Спасибо! 🙏🏽 धन्यवाद 謝謝 👍"
    created = _created(events)
    assert sorted(created) == [m for m in range(101, 119) if m != 116]
    assert all(e.source.kind == "export" for e in created.values())
    customer = [e for e in events if e.event_type == "customer.created"]
    assert customer[0].data.first_name == "Алиса 🌸 Ivanova"


def test_text_entities_and_directions_survive_normalisation() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER)
    created = _created(_normalise(result.envelopes)[1])
    greeting = created[102].data
    assert greeting.direction == "in"
    assert greeting.sender_id == CUSTOMER
    assert greeting.text == "Здравствуйте 👋 нужна доставка в Тель-Авив — תל אביב 🚚"
    units = greeting.text.encode("utf-16-le")
    for entity, expected in zip(greeting.entities, ["нужна доставка", "תל אביב"], strict=True):
        start, end = 2 * entity.offset, 2 * (entity.offset + entity.length)
        assert units[start:end].decode("utf-16-le") == expected
    answer = created[103].data
    assert answer.direction == "out"
    assert answer.reply_to_message_id == 102
    assert answer.edit_date == datetime(2026, 1, 5, 14, 6, 30, tzinfo=UTC)
    assert [(e.type, e.url) for e in answer.entities] == [
        ("text_link", "https://example.com/prices"),
        ("mention", None),
        ("phone_number", None),
        ("code", None),
    ]
    link = answer.entities[0]
    assert answer.text is not None
    link_units = answer.text.encode("utf-16-le")[2 * link.offset : 2 * (link.offset + link.length)]
    assert link_units.decode("utf-16-le") == "our prices"
    assert created[112].data.forward is not None
    assert created[112].data.forward.sender_name == "Борис"


def test_media_types_map_to_the_normalised_kinds() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER)
    created = _created(_normalise(result.envelopes)[1])
    kinds = {m: (e.data.media.type if e.data.media else None) for m, e in created.items()}
    assert kinds == {
        101: "other",
        102: None,
        103: None,
        104: "photo",
        105: "voice",
        106: "video",
        107: "sticker",
        108: "animation",
        109: "audio",
        110: "video_note",
        111: "document",
        112: None,
        113: "location",
        114: "other",
        115: "other",
        117: "contact",
        118: None,
    }
    photo, voice = created[104].data.media, created[105].data.media
    assert photo is not None
    assert (photo.width, photo.height, photo.file_size) == (1280, 960, 183211)
    assert voice is not None
    assert (voice.duration, voice.mime_type) == (7, "audio/ogg")
    sticker = created[107].data.media
    assert sticker is not None
    assert sticker.emoji == "😍"
    document = created[111].data.media
    assert document is not None
    assert document.file_name == "invoice №7.pdf"
    call = created[115].data.media
    assert call is not None
    assert call.extra == {"service": "MessageActionPhoneCall"}


def test_payloads_are_shaped_like_telethon_and_keep_the_export_file() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER)
    photo = next(e for e in result.envelopes if e.payload["id"] == 104)
    assert (photo.source, photo.update_type) == ("export", "new_message")
    assert (photo.account_user_id, photo.chat_id) == (OWNER, CUSTOMER)
    assert photo.partition_key() == f"acct:{OWNER}:chat:{CUSTOMER}".encode()
    payload = photo.payload
    assert payload["_"] == "Message"
    assert payload["date"] == "2026-01-05T14:05:00Z"
    assert payload["from_id"] == {"_": "PeerUser", "user_id": CUSTOMER}
    assert payload["media"]["_"] == "MessageMediaPhoto"
    extra = payload["_chatsync"]
    assert extra["event_id"] == f"new_message:{CUSTOMER}:104"
    assert extra["export"] == {"file": "photos/photo_1@05-01-2026_16-05-00.jpg"}
    assert extra["peer"]["id"] == CUSTOMER
    sticker = next(e for e in result.envelopes if e.payload["id"] == 107)
    assert "export" not in sticker.payload["_chatsync"]  # the file was not exported


def test_history_already_seen_live_emits_nothing_again() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER)
    live = types.Message(
        id=118,
        peer_id=types.PeerUser(CUSTOMER),
        out=True,
        from_id=types.PeerUser(OWNER),
        date=datetime(2026, 1, 5, 14, 23, tzinfo=UTC),
        message="Спасибо! 🙏🏽 धन्यवाद 謝謝 👍",
    )
    envelope = message_envelope(live, Scope(OWNER))
    assert envelope is not None
    normaliser, first = _normalise([envelope])
    assert envelope.payload["_chatsync"]["event_id"] == "new_message:7770002:118"
    _, again = _normalise(result.envelopes, normaliser)
    assert 118 in _created(first)
    assert 118 not in _created(again)
    _, twice = _normalise(result.envelopes, normaliser)
    assert _created(twice) == {}  # importing the same export again changes nothing


def test_the_full_export_imports_private_chats_and_omits_the_rest() -> None:
    result = read_export(_load("full_export"), "result.json", OWNER)
    report = result.report
    assert [c.chat_id for c in report.chats] == [7770003]
    assert {(c.type, c.omitted[0].reason) for c in report.omitted_chats} == {
        ("saved_messages", "not a private chat with a person (saved_messages)"),
        ("private_group", "not a private chat with a person (private_group)"),
        ("public_channel", "not a private chat with a person (public_channel)"),
    }
    assert report.skipped == 0
    _, events = _normalise(result.envelopes)
    created = _created(events)
    assert created[11].data.text == "承知しました 🙇 ありがとう"
    [bold] = created[11].data.entities
    assert (bold.offset, bold.length) == (7, 8)


def test_an_export_of_another_account_is_refused() -> None:
    result = read_export(_load("full_export"), "result.json", 999)
    assert result.envelopes == []
    assert result.report.file_errors == [
        "the export belongs to user 5550001, not to --owner-user-id 999"
    ]


def test_a_broken_export_lists_every_skip_with_its_reason() -> None:
    result = read_export(_load("broken"), "result.json", OWNER)
    chat = result.report.chats[0]
    assert [(e.message_id, e.reason) for e in chat.skipped] == [
        (None, "id None is not a positive integer"),
        (3, "date 'yesterday' is missing or not a date"),
        (4, "text part 1 is neither a string nor a {type, text} object"),
        (1, "the same id appears twice in this chat"),
        (6, "unknown message type 'reaction'"),
        (7, "from_id None names no user or channel"),
    ]
    assert [e.payload["id"] for e in result.envelopes] == [1, 8]
    assert result.report.skipped == 6
    assert chat.notes[0].message_id == 8


def test_dates_without_unixtime_are_read_in_the_given_timezone() -> None:
    message = {
        "id": 5,
        "type": "message",
        "date": "2026-01-05T16:03:11",
        "from_id": f"user{CUSTOMER}",
        "text": "hi",
    }
    chat = ChatContext(OWNER, CUSTOMER, "A", ZoneInfo("Asia/Jerusalem"))
    mapped = map_message(message, chat)
    assert mapped.envelope is not None
    assert mapped.envelope.payload["date"] == "2026-01-05T14:03:11Z"
    assert mapped.notes == ["date: no date_unixtime, read as Asia/Jerusalem"]


def test_service_messages_can_be_left_out() -> None:
    result = read_export(_load("personal_chat"), "result.json", OWNER, keep_service=False)
    omitted = [e.message_id for e in result.report.chats[0].omitted]
    assert omitted == [101, 114, 115, 116]
    assert result.report.skipped == 0


@pytest.mark.parametrize("data", [[], {"name": "x"}, "text"])
def test_files_that_are_no_export_are_file_errors(data: Any) -> None:
    result = read_export(data, "x.json", OWNER)
    assert result.envelopes == []
    assert result.report.file_errors
