"""Every kind of Telethon update of a private chat becomes one raw record with a JSON payload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telethon.tl import types

from chatsync.envelopes import RawEnvelope
from chatsync.producers.telethon.events import (
    Scope,
    UpdateType,
    dedupe_key,
    deleted_envelopes,
    index_entry,
    message_envelope,
    update_envelopes,
)
from tests.fakes.telethon import ACCOUNT, T0, tl_document, tl_message, tl_photo

SCOPE = Scope(ACCOUNT)
CUSTOMER = 42


def _service() -> types.MessageService:
    action = types.MessageActionPhoneCall(call_id=5, duration=61)
    return types.MessageService(id=13, peer_id=types.PeerUser(CUSTOMER), date=T0, action=action)


CASES: list[tuple[str, UpdateType, Any]] = [
    ("incoming", "new_message", tl_message(10, CUSTOMER, text="Hello")),
    ("outgoing", "new_message", tl_message(11, CUSTOMER, text="Hi!", out=True)),
    ("photo", "new_message", tl_message(12, CUSTOMER, media=tl_photo())),
    ("document", "new_message", tl_message(14, CUSTOMER, media=tl_document())),
    (
        "reply",
        "new_message",
        tl_message(15, CUSTOMER, reply_to=types.MessageReplyHeader(reply_to_msg_id=10)),
    ),
    (
        "forward",
        "new_message",
        tl_message(16, CUSTOMER, fwd_from=types.MessageFwdHeader(date=T0, from_name="Bob")),
    ),
    ("service", "new_message", _service()),
    ("edited", "message_edited", tl_message(10, CUSTOMER, text="Hello (edited)", edit_date=T0)),
    ("deleted", "message_deleted", types.UpdateDeleteMessages(messages=[10], pts=100, pts_count=1)),
    (
        "read inbox",
        "message_read",
        types.UpdateReadHistoryInbox(
            peer=types.PeerUser(CUSTOMER), max_id=11, still_unread_count=0, pts=101, pts_count=1
        ),
    ),
    (
        "read outbox",
        "message_read",
        types.UpdateReadHistoryOutbox(
            peer=types.PeerUser(CUSTOMER), max_id=11, pts=102, pts_count=1
        ),
    ),
    (
        "user name",
        "user_update",
        types.UpdateUserName(
            user_id=CUSTOMER, first_name="Ada", last_name="L", usernames=[types.Username("ada")]
        ),
    ),
    ("user changed", "user_update", types.UpdateUser(user_id=CUSTOMER)),
    ("user phone", "user_update", types.UpdateUserPhone(user_id=CUSTOMER, phone="4915100")),
    (
        "emoji status",
        "user_update",
        types.UpdateUserEmojiStatus(
            user_id=CUSTOMER, emoji_status=types.EmojiStatus(document_id=3)
        ),
    ),
]


@pytest.mark.parametrize(("update_type", "obj"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_becomes_one_json_record_of_the_private_chat(
    update_type: UpdateType, obj: Any
) -> None:
    envelopes = update_envelopes(update_type, obj, SCOPE, {10: CUSTOMER})

    assert len(envelopes) == 1
    envelope = envelopes[0]
    assert (envelope.source, envelope.update_type) == ("mtproto", update_type)
    assert (envelope.account_user_id, envelope.chat_id) == (ACCOUNT, CUSTOMER)
    assert envelope.partition_key() == f"acct:{ACCOUNT}:chat:{CUSTOMER}".encode()
    value = envelope.to_bytes()
    payload = json.loads(value)["payload"]
    assert payload["_"] == type(obj).__name__
    assert payload["_chatsync"]["event_id"].startswith(update_type)
    assert RawEnvelope.from_bytes(value) == envelope


def test_the_out_flag_tells_incoming_from_outgoing() -> None:
    incoming = message_envelope(tl_message(10, CUSTOMER), SCOPE)
    outgoing = message_envelope(tl_message(11, CUSTOMER, out=True), SCOPE)
    assert incoming is not None
    assert outgoing is not None
    assert (incoming.payload["out"], incoming.payload["_chatsync"]["out"]) == (False, False)
    assert (outgoing.payload["out"], outgoing.payload["_chatsync"]["out"]) == (True, True)


def test_groups_and_channels_are_left_out_unless_the_scope_includes_them() -> None:
    group = tl_message(20, types.PeerChat(700))
    channel = tl_message(21, types.PeerChannel(800))
    read = types.UpdateReadChannelInbox(channel_id=800, max_id=21, still_unread_count=0, pts=3)
    wide = Scope(ACCOUNT, include_groups=True)

    assert message_envelope(group, SCOPE) is None
    assert message_envelope(channel, SCOPE) is None
    assert update_envelopes("message_read", read, SCOPE, {}) == []
    in_group, in_channel = message_envelope(group, wide), message_envelope(channel, wide)
    assert in_group is not None
    assert in_group.chat_id == -700
    assert in_channel is not None
    assert in_channel.chat_id == -1000000000800
    assert [e.chat_id for e in update_envelopes("message_read", read, wide, {})] == [-1000000000800]


def test_a_delete_is_split_by_chat_and_unknown_ids_keep_a_record_with_a_null_chat() -> None:
    update = types.UpdateDeleteMessages(messages=[10, 30, 11, 99], pts=120, pts_count=4)
    chats = {10: CUSTOMER, 11: CUSTOMER, 30: 43}

    envelopes = deleted_envelopes(update, SCOPE, chats)

    by_chat = {e.chat_id: e.payload["_chatsync"]["message_ids"] for e in envelopes}
    assert by_chat == {CUSTOMER: [10, 11], 43: [30], None: [99]}
    assert all(e.payload["messages"] == [10, 30, 11, 99] for e in envelopes)
    assert len({dedupe_key(e) for e in envelopes}) == 3
    unknown = next(e for e in envelopes if e.chat_id is None)
    assert unknown.partition_key() == f"acct:{ACCOUNT}".encode()


def test_channel_deletes_name_their_channel_and_need_no_map() -> None:
    update = types.UpdateDeleteChannelMessages(channel_id=800, messages=[5], pts=9, pts_count=1)
    assert deleted_envelopes(update, SCOPE, {}) == []
    (envelope,) = deleted_envelopes(update, Scope(ACCOUNT, include_groups=True), {})
    assert envelope.chat_id == -1000000000800


def test_a_message_has_the_same_identity_live_and_from_backfill() -> None:
    live = tl_message(10, CUSTOMER, views=None)
    later = tl_message(10, CUSTOMER, views=3)  # re-read from history: counters changed
    live_envelope = message_envelope(live, SCOPE)
    backfill_envelope = message_envelope(later, SCOPE, source="backfill")
    assert live_envelope is not None
    assert backfill_envelope is not None
    assert backfill_envelope.source == "backfill"
    assert dedupe_key(live_envelope) == dedupe_key(backfill_envelope)


def test_two_edits_of_one_message_are_two_events_and_a_repeat_is_the_same_event() -> None:
    first = message_envelope(
        tl_message(10, CUSTOMER, text="a"), SCOPE, update_type="message_edited"
    )
    second = message_envelope(
        tl_message(10, CUSTOMER, text="b"), SCOPE, update_type="message_edited"
    )
    repeat = message_envelope(
        tl_message(10, CUSTOMER, text="b"), SCOPE, update_type="message_edited"
    )
    assert first is not None
    assert second is not None
    assert repeat is not None
    assert dedupe_key(first) != dedupe_key(second)
    assert dedupe_key(second) == dedupe_key(repeat)


def test_index_entries_are_kept_for_private_and_group_messages_but_not_channels() -> None:
    wide = Scope(ACCOUNT, include_groups=True)
    private = message_envelope(tl_message(10, CUSTOMER), wide)
    group = message_envelope(tl_message(20, types.PeerChat(700)), wide)
    channel = message_envelope(tl_message(21, types.PeerChannel(800)), wide)
    assert private is not None
    assert group is not None
    assert channel is not None
    assert index_entry(private) == (10, CUSTOMER)
    assert index_entry(group) == (20, -700)
    assert index_entry(channel) is None


def test_objects_of_the_wrong_kind_produce_nothing() -> None:
    empty = types.MessageEmpty(3, None)
    assert update_envelopes("new_message", empty, SCOPE, {}) == []
    assert update_envelopes("message_read", types.UpdateUser(user_id=1), SCOPE, {}) == []
    assert (
        update_envelopes(
            "user_update",
            types.UpdateUserStatus(user_id=1, status=types.UserStatusRecently()),
            SCOPE,
            {},
        )
        == []
    )
