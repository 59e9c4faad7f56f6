"""The raw envelope: verbatim payload bytes, round trip, partition keys."""

from __future__ import annotations

import json

from chatsync.envelopes import RawEnvelope


def _envelope(**fields: object) -> RawEnvelope:
    base: dict[str, object] = {"source": "botapi", "update_type": "business_message",
                               "update_id": 7, "payload": {"update_id": 7}}  # fmt: skip
    return RawEnvelope.model_validate({**base, **fields})


def test_raw_payload_bytes_are_spliced_in_verbatim() -> None:
    raw = b'{"update_id": 7,   "business_message": {"text": "\\u0428 \xd0\xa8 \xf0\x9f\x91\x8b"}}'
    payload = json.loads(raw)
    value = _envelope(payload=payload).to_bytes(raw)
    assert raw in value
    decoded = RawEnvelope.from_bytes(value)
    assert decoded.payload == payload
    assert decoded.update_id == 7
    assert json.loads(value)["schema_version"] == 1


def test_without_raw_bytes_the_payload_is_serialised() -> None:
    envelope = _envelope(payload={"update_id": 7, "text": "مرحبا"})
    assert RawEnvelope.from_bytes(envelope.to_bytes()) == envelope


def test_partition_keys() -> None:
    assert _envelope(business_connection_id="bc1", chat_id=5).partition_key() == b"bc:bc1"
    mtproto = _envelope(source="mtproto", account_user_id=11, chat_id=5, update_id=None)
    assert mtproto.partition_key() == b"acct:11:chat:5"
    assert _envelope(source="mtproto", account_user_id=11).partition_key() == b"acct:11"
    assert _envelope(bot_id=3).partition_key() == b"bot:3:update:7"
