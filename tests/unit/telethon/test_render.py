"""TL objects rendered JSON-safe: type names kept, bytes as base64, datetimes as ISO-8601 UTC."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

from telethon.tl import types

from chatsync.producers.telethon.render import iso_utc, render, to_json_value
from tests.fakes.telethon import tl_document, tl_message, tl_photo


def test_a_photo_message_renders_to_json_with_type_names_base64_and_iso_dates() -> None:
    message = tl_message(10, 42, hours=1.5, media=tl_photo())

    rendered = render(message)

    text = json.dumps(rendered)  # no TypeError: everything is a JSON value
    assert json.loads(text) == rendered
    assert rendered["_"] == "Message"
    assert rendered["peer_id"] == {"_": "PeerUser", "user_id": 42}
    assert rendered["date"] == "2026-01-01T01:30:00Z"
    photo = rendered["media"]["photo"]
    assert photo["_"] == "Photo"
    assert base64.b64decode(photo["file_reference"]) == b"\x00\x01ref\xff"
    assert photo["sizes"][0] == {"_": "PhotoSize", "type": "x", "w": 800, "h": 600, "size": 51234}


def test_documents_replies_and_forwards_keep_their_nested_shapes() -> None:
    forward = types.MessageFwdHeader(
        date=datetime(2025, 5, 1, tzinfo=UTC), from_id=types.PeerUser(9), from_name="Bob"
    )
    message = tl_message(
        11,
        42,
        media=tl_document(),
        fwd_from=forward,
        reply_to=types.MessageReplyHeader(reply_to_msg_id=10),
    )

    rendered = render(message)

    assert rendered["media"]["document"]["attributes"] == [
        {"_": "DocumentAttributeFilename", "file_name": "offer.pdf"}
    ]
    assert base64.b64decode(rendered["media"]["document"]["file_reference"]) == b"\xde\xad\xbe\xef"
    assert rendered["fwd_from"]["date"] == "2025-05-01T00:00:00Z"
    assert rendered["fwd_from"]["from_id"] == {"_": "PeerUser", "user_id": 9}
    assert rendered["reply_to"]["_"] == "MessageReplyHeader"
    assert rendered["reply_to"]["reply_to_msg_id"] == 10


def test_datetimes_in_other_zones_and_naive_ones_become_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert iso_utc(datetime(2026, 3, 1, 12, 0, tzinfo=plus_two)) == "2026-03-01T10:00:00Z"
    assert iso_utc(datetime(2026, 3, 1, 12, 0)) == "2026-03-01T12:00:00Z"


def test_plain_values_lists_and_unknown_objects() -> None:
    value = {"a": [b"\x01", (1, 2.5, None, True)], 3: bytearray(b"x"), "o": object}
    rendered = to_json_value(value)
    assert rendered["a"] == ["AQ==", [1, 2.5, None, True]]
    assert rendered["3"] == "eA=="
    assert rendered["o"] == str(object)
    json.dumps(rendered)
