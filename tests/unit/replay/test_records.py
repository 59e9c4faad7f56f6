"""The archive's JSON line: exact bytes back, text where text is, stable bytes."""

from __future__ import annotations

import json

import pytest

from chatsync.replay.errors import ReplayError
from chatsync.replay.records import KafkaRecord, decode_line, encode_line


def _record(**changes: object) -> KafkaRecord:
    base: dict[str, object] = {
        "topic": "tg.raw.botapi",
        "partition": 2,
        "offset": 41,
        "timestamp": 1_767_621_791_000,
        "key": b"bc:conn-1",
        "value": '{"source":"botapi", "payload": {"text":"Привет 👋"}}'.encode(),
        "headers": (("dlq.stage", b"webhook"), ("bin", b"\xff\x00")),
    }
    return KafkaRecord(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "record",
    [
        _record(),
        _record(key=None),
        _record(value=None),
        _record(key=b"\x80\x81", value=b"\x00\x01binary"),
        _record(value=b"not json but utf-8"),
        _record(headers=(), timestamp_type="log_append"),
    ],
)
def test_a_line_decodes_to_the_same_record(record: KafkaRecord) -> None:
    assert decode_line(encode_line(record)) == record


def test_json_values_stay_readable_text_with_their_exact_bytes() -> None:
    record = _record()
    item = json.loads(encode_line(record))
    assert item["value_encoding"] == "json"
    assert item["value"].encode() == record.value  # whitespace and all
    assert json.loads(item["value"])["payload"]["text"] == "Привет 👋"
    assert (item["key"], item["key_encoding"]) == ("bc:conn-1", "utf-8")
    assert item["headers"][1] == {"key": "bin", "value": "/wA=", "value_encoding": "base64"}


def test_values_that_are_not_utf8_json_are_base64_with_a_flag() -> None:
    item = json.loads(encode_line(_record(value=b"plain text")))
    assert (item["value"], item["value_encoding"]) == ("cGxhaW4gdGV4dA==", "base64")


def test_one_line_per_record_with_a_fixed_key_order() -> None:
    line = encode_line(_record())
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert list(json.loads(line)) == [
        "topic",
        "partition",
        "offset",
        "timestamp",
        "timestamp_type",
        "key",
        "key_encoding",
        "headers",
        "value",
        "value_encoding",
    ]
    assert encode_line(_record()) == line


@pytest.mark.parametrize("line", [b"{", b"{}", b'{"topic": "t"}'])
def test_a_broken_line_is_a_replay_error(line: bytes) -> None:
    with pytest.raises(ReplayError):
        decode_line(line)
