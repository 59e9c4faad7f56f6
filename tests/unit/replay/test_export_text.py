"""Export text -> message and TL entities with UTF-16 offsets."""

from __future__ import annotations

from typing import Any

import pytest

from chatsync.replay.export.text import TextError, message_text, utf16_length


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("abc", 3),
        ("Привет", 6),  # Cyrillic: one unit each
        ("مرحبا", 5),
        ("שלום", 4),
        ("नमस्ते", 6),  # combining marks are code points of their own
        ("价格", 2),
        ("👋", 2),  # outside the BMP: a surrogate pair
        ("👨‍👩‍👧", 8),  # three emoji and two zero-width joiners
        ("🙏🏽", 4),  # emoji plus skin-tone modifier
    ],
)
def test_utf16_length(text: str, units: int) -> None:
    assert utf16_length(text) == units


def _dicts(entities: list[Any]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in entities]


def test_offsets_count_surrogate_pairs_before_the_entity() -> None:
    text, entities, notes = message_text(
        {
            "text_entities": [
                {"type": "plain", "text": "Здравствуйте 👋 "},
                {"type": "bold", "text": "нужна доставка"},
                {"type": "plain", "text": " 🚚 "},
                {"type": "italic", "text": "👨‍👩‍👧"},
            ]
        }
    )
    assert text == "Здравствуйте 👋 нужна доставка 🚚 👨‍👩‍👧"
    assert _dicts(entities) == [
        {"_": "MessageEntityBold", "offset": 16, "length": 14},
        {"_": "MessageEntityItalic", "offset": 34, "length": 8},
    ]
    units = text.encode("utf-16-le")
    assert units[2 * 16 : 2 * 30].decode("utf-16-le") == "нужна доставка"
    assert notes == []


def test_the_text_list_is_read_when_there_are_no_text_entities() -> None:
    text, entities, _ = message_text(
        {"text": ["See ", {"type": "text_link", "text": "prices 💶", "href": "https://x.test/p"}]}
    )
    assert text == "See prices 💶"
    assert _dicts(entities) == [
        {"_": "MessageEntityTextUrl", "offset": 4, "length": 9, "url": "https://x.test/p"}
    ]


def test_a_plain_string_has_no_entities() -> None:
    assert message_text({"text": "просто текст"}) == ("просто текст", [], [])
    assert message_text({}) == ("", [], [])


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ({"type": "pre", "text": "x", "language": "python"}, "MessageEntityPre"),
        ({"type": "mention_name", "text": "Bob", "user_id": 42}, "MessageEntityMentionName"),
        ({"type": "custom_emoji", "text": "🙂", "document_id": 5368}, "MessageEntityCustomEmoji"),
        ({"type": "strikethrough", "text": "x"}, "MessageEntityStrike"),
        ({"type": "link", "text": "https://a.b"}, "MessageEntityUrl"),
        ({"type": "blockquote", "text": "q", "collapsed": True}, "MessageEntityBlockquote"),
    ],
)
def test_entity_types(part: dict[str, Any], expected: str) -> None:
    _, [entity], _ = message_text({"text_entities": [part]})
    assert entity.to_dict()["_"] == expected


def test_formatting_without_an_entity_stays_plain_text_with_a_note() -> None:
    text, entities, notes = message_text(
        {
            "text_entities": [
                {"type": "custom_emoji", "text": "🙂", "document_id": "stickers/s.webp"},
                {"type": "something_new", "text": "x"},
            ]
        }
    )
    assert (text, entities) == ("🙂x", [])
    assert notes == [
        "text part 0: custom_emoji kept as plain text",
        "text part 1: something_new kept as plain text",
    ]


@pytest.mark.parametrize(
    "message",
    [{"text": 42}, {"text": ["ok", {"type": "bold"}]}, {"text_entities": [None]}],
)
def test_malformed_text_is_an_error(message: dict[str, Any]) -> None:
    with pytest.raises(TextError):
        message_text(message)
