"""Message events folded into the stored item, pure: newest version wins, edits accumulate.

``fold_message(stored, events)`` applies one message's events of a batch to what the table holds:

* events apply in version order (a tie keeps consumption order); an event whose version is not
  newer than the item's is skipped, so a redelivery, a replay or an older version arriving late
  neither overwrites the item nor adds to its history twice;
* a ``message.edited`` that replaces the current version appends that version (text, entities,
  media, edit date) to ``edits``, unless an entry of that version is already there;
* a ``message.deleted`` is a soft delete: ``is_deleted`` is set, the content stays, and nothing
  is added to the history (the content did not change);
* it returns None when nothing changed, so an idempotent replay writes nothing.

A skipped older version is not merged into the history: on ``chat.messages`` the normaliser emits
each message's versions in order under the deal's key, so a late older version has already been
folded in; merging it would invent an edit after a delete, whose content the item keeps anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chatsync.events import MessageCreated, MessageDeleted, MessageEdited
from chatsync.infra.dynamodb import MessageEdit, MessageItem
from chatsync.infra.sinks.dedupe import group_by_key

MessageEvent = MessageCreated | MessageEdited | MessageDeleted
MessageKey = tuple[str, int]


def message_key_of(event: MessageEvent) -> MessageKey:
    return event.deal_id, event.data.message_id


def group_messages(events: Iterable[MessageEvent]) -> dict[MessageKey, list[MessageEvent]]:
    """A batch's events per message (deal id, message id), in consumption order."""
    return group_by_key(events, message_key_of)


def fold_message(stored: MessageItem | None, events: Sequence[MessageEvent]) -> MessageItem | None:
    """The item after ``events`` (all of one message), or None when the stored one stays as is."""
    current = stored
    for event in sorted(events, key=lambda e: e.data.version):
        if current is None or event.data.version > current.version:
            current = _apply(current, event)
    return None if current is stored else current


def _apply(current: MessageItem | None, event: MessageEvent) -> MessageItem:
    edits = current.edits if current is not None else ()
    if (
        current is not None
        and isinstance(event, MessageEdited)
        and all(edit.version != current.data.version for edit in edits)
    ):
        edits = (*edits, MessageEdit.of(current.data))
    data = event.data
    return MessageItem(
        deal_id=event.deal_id,
        message_id=data.message_id,
        version=data.version,
        event_id=event.event_id,
        owner_user_id=event.owner_user_id,
        is_deleted=data.is_deleted or isinstance(event, MessageDeleted),
        data=data,
        edits=edits,
        updated_at=event.occurred_at,
        edits_dropped=current.edits_dropped if current is not None else 0,
    )
