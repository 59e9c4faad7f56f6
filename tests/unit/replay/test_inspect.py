"""Filters and rendering of ``chatsync topics tail``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from telethon.tl import types

from chatsync.identity import deal_id
from chatsync.producers.telethon.events import Scope, message_envelope
from chatsync.replay.inspect import RecordFilter, latest, record_lines
from chatsync.replay.records import KafkaRecord

OWNER, CHAT = 11, 22


def _envelope_value(chat: int = CHAT) -> bytes:
    message = types.Message(
        id=1,
        peer_id=types.PeerUser(chat),
        date=datetime(2026, 1, 1, tzinfo=UTC),
        message="привет 👋",
    )
    envelope = message_envelope(message, Scope(OWNER))
    assert envelope is not None
    return envelope.to_bytes()


def _event_value(chat: int = CHAT) -> bytes:
    return json.dumps(
        {
            "event_id": "e1",
            "event_type": "message.created",
            "deal_id": deal_id(OWNER, chat),
            "owner_user_id": OWNER,
            "data": {"message_id": 1},
        }
    ).encode()


def test_no_filter_matches_everything_even_garbage() -> None:
    assert RecordFilter().matches(b"\xff not json")
    assert RecordFilter().matches(None)


def test_a_raw_envelope_matches_its_chat_and_its_telethon_deal() -> None:
    value = _envelope_value()
    assert RecordFilter(chat=CHAT).matches(value)
    assert RecordFilter(deal=deal_id(OWNER, CHAT)).matches(value)
    assert not RecordFilter(chat=CHAT + 1).matches(value)
    assert not RecordFilter(deal=deal_id(OWNER, CHAT + 1)).matches(value)
    assert RecordFilter(deal=deal_id(OWNER, CHAT), chat=CHAT).matches(value)


def test_a_normalised_event_matches_its_deal_and_the_chat_of_that_deal() -> None:
    value = _event_value()
    assert RecordFilter(deal=deal_id(OWNER, CHAT)).matches(value)
    assert RecordFilter(chat=CHAT).matches(value)
    assert not RecordFilter(chat=CHAT + 1).matches(value)


def test_values_that_are_not_json_objects_match_no_filter() -> None:
    assert not RecordFilter(chat=CHAT).matches(b"[1, 2]")
    assert not RecordFilter(chat=CHAT).matches(b"\x00\x01")


def _record(
    offset: int, timestamp: int, value: bytes | None = b"{}", partition: int = 0
) -> KafkaRecord:
    return KafkaRecord("t", partition, offset, timestamp, b"k", value)


def test_latest_orders_partitions_by_record_time() -> None:
    records = [
        _record(0, 10),
        _record(1, 30),
        _record(0, 20, partition=1),
        _record(1, 40, partition=1),
    ]
    assert [(r.partition, r.offset) for r in latest(records, 3)] == [(1, 0), (0, 1), (1, 1)]
    assert latest(records, 0) == []


def test_a_record_is_shown_with_its_place_time_key_headers_and_pretty_json() -> None:
    record = KafkaRecord(
        "chat.messages",
        2,
        7,
        1_767_621_791_123,
        b"deal_1",
        b'{"text":"\\u043f\\u0440\\u0438\\u0432\\u0435\\u0442"}',
        (("event_type", b"message.created"),),
    )
    lines = record_lines(record)
    assert lines[0] == "chat.messages[2]@7  2026-01-05 14:03:11.123  key=deal_1"
    assert lines[1] == "  headers: event_type=message.created"
    assert lines[2:] == ["{", '  "text": "привет"', "}"]
    assert record_lines(record, compact=True) == ['chat.messages[2]@7 {"text": "привет"}']


def test_binary_values_are_shown_as_base64() -> None:
    lines = record_lines(KafkaRecord("t", 0, 0, 0, None, b"\xff\x00"))
    assert lines[-1] == "base64:/wA="
    assert "key=-" in lines[0]
