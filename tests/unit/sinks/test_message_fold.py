"""Message events folded into the stored item: newest wins, edits accumulate, replays are no-ops."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import replace

from chatsync.infra.dynamodb import (
    Item,
    MessageEdit,
    MessageItem,
    edits_json,
    message_from_item,
    message_item,
)
from chatsync.infra.sinks.message_fold import MessageEvent, fold_message, group_messages
from tests.unit.sinks.factories import DEAL, created, deleted, edited


def _fold(stored: MessageItem | None, *events: MessageEvent) -> MessageItem:
    item = fold_message(stored, events)
    assert item is not None
    return item


def test_a_new_message_is_stored_with_no_history() -> None:
    item = _fold(None, created(1, 100, "hello"))
    assert (item.version, item.data.text, item.edits, item.is_deleted) == (100, "hello", (), False)


def test_edits_in_one_batch_keep_every_earlier_version_oldest_first() -> None:
    item = _fold(None, created(1, 100, "a"), edited(1, 110, "b"), edited(1, 120, "c"))
    assert item.version == 120
    assert item.data.text == "c"
    assert [(e.version, e.text) for e in item.edits] == [(100, "a"), (110, "b")]
    assert item.edits[0].edit_date is None
    assert item.edits[1].edit_date is not None


def test_an_edit_in_a_later_batch_moves_the_stored_version_into_the_history() -> None:
    stored = _fold(None, created(1, 100, "a"), edited(1, 110, "b"))
    item = _fold(stored, edited(1, 120, "c"))
    assert [(e.version, e.text) for e in item.edits] == [(100, "a"), (110, "b")]
    assert item.data.text == "c"


def test_events_out_of_order_within_a_batch_are_applied_by_version() -> None:
    item = _fold(None, edited(1, 120, "c"), created(1, 100, "a"), edited(1, 110, "b"))
    assert item.data.text == "c"
    assert [e.version for e in item.edits] == [100, 110]


def test_a_replay_of_the_same_events_changes_nothing() -> None:
    events: list[MessageEvent] = [created(1, 100, "a"), edited(1, 110, "b"), edited(1, 120, "c")]
    stored = _fold(None, *events)
    assert fold_message(stored, events) is None
    assert fold_message(stored, [events[1]]) is None


def test_an_older_version_arriving_late_neither_overwrites_nor_duplicates_history() -> None:
    stored = _fold(None, created(1, 100, "a"), edited(1, 120, "c"))
    assert fold_message(stored, [edited(1, 110, "late")]) is None
    again = _fold(stored, edited(1, 110, "late"), edited(1, 130, "d"))
    assert again.data.text == "d"
    assert [(e.version, e.text) for e in again.edits] == [(100, "a"), (120, "c")]


def test_a_delete_is_soft_and_keeps_the_content_without_a_history_entry() -> None:
    last = edited(1, 110, "b")
    item = _fold(None, created(1, 100, "a"), last, deleted(last))
    assert item.is_deleted
    assert item.data.text == "b"
    assert item.version == 111
    assert [e.version for e in item.edits] == [100]


def test_a_replayed_edit_after_a_delete_does_not_invent_history() -> None:
    last = edited(1, 110, "b")
    stored = _fold(None, created(1, 100, "a"), last, deleted(last))
    assert fold_message(stored, [created(1, 100, "a"), last]) is None


def test_the_history_is_not_added_twice_when_a_version_is_already_there() -> None:
    stored = _fold(None, created(1, 100, "a"), edited(1, 110, "b"))
    # An item whose current version is already in its history (written by hand, say).
    odd = replace(stored, edits=(*stored.edits, MessageEdit.of(stored.data)))
    item = _fold(odd, edited(1, 120, "c"))
    assert [e.version for e in item.edits] == [100, 110]


def test_group_messages_keeps_consumption_order_per_message() -> None:
    a1, b1, a2 = created(1, 100, "a"), created(2, 100, "x"), edited(1, 110, "b")
    groups = group_messages([a1, b1, a2])
    assert groups == {(DEAL, 1): [a1, a2], (DEAL, 2): [b1]}


def test_the_item_format_round_trips() -> None:
    last = edited(1, 110, "b")
    item = _fold(None, created(1, 100, "a"), last, deleted(last))
    raw = message_item(item)
    assert set(raw) == {"deal_id", "message_id", "version", "event_id", "owner_user_id", "date",
                        "is_deleted", "data", "edits", "updated_at"}  # fmt: skip
    assert raw["message_id"] == {"N": "1"}
    assert raw["is_deleted"] == {"BOOL": True}
    assert raw["date"] == {"S": item.data.date.isoformat()}
    assert message_from_item(raw) == item


def _heavily_edited(edits: int, text_of: Callable[[int], str]) -> MessageItem:
    events: list[MessageEvent] = [created(1, 100, text_of(0))]
    events += [edited(1, 100 + n, text_of(n)) for n in range(1, edits + 1)]
    return _fold(None, *events)


def _item_bytes(raw: Item) -> int:
    """DynamoDB's item size: attribute names plus values (the limit is 400 KB)."""
    size = 0
    for name, value in raw.items():
        (content,) = value.values()
        size += len(name) + (len(content) if isinstance(content, bytes) else len(str(content)))
    return size


def test_a_long_history_is_stored_compressed_and_reads_back_whole() -> None:
    item = _heavily_edited(300, lambda n: f"{'Terms of the offer, revised. ' * 120}revision {n}")
    raw = message_item(item)
    assert "edits" not in raw
    assert "edits_z" in raw
    assert "edits_dropped" not in raw
    assert (
        _item_bytes(raw)
        < 400_000
        < len(json.dumps([e.model_dump(mode="json") for e in item.edits]))
    )
    assert message_from_item(raw) == item
    assert json.loads(edits_json(raw))[-1]["text"].endswith("revision 299")


def test_a_history_beyond_the_item_limit_drops_its_oldest_edits_and_counts_them() -> None:
    noise = random.Random(5)
    item = _heavily_edited(150, lambda n: "".join(noise.choices(string.printable, k=4000)))
    raw = message_item(item)
    assert _item_bytes(raw) < 400_000
    stored = message_from_item(raw)
    dropped = int(raw["edits_dropped"]["N"])
    assert dropped > 0
    assert dropped + len(stored.edits) == len(item.edits) == 150
    assert stored.edits == item.edits[dropped:], "the newest edits are the ones kept"
    again = _fold(stored, edited(1, 1000, "one more"))
    assert message_from_item(message_item(again)).edits_dropped >= dropped, "the count carries on"
