"""Stage 2: one conversation's state and its messages' versions -> deal.* and message.* (pure).

The rules that make the pipeline idempotent and order-safe:

* a message already known at the same or a newer version emits nothing (redeliveries, the second
  producer, a replay);
* an edit older than the stored version is ignored; a newer one emits ``message.edited``;
* a delete is final: nothing brings a deleted message back;
* an edit or delete of a message never seen is kept as a tombstone and emits nothing; when the
  message itself arrives, it is created and the tombstone's edit or delete applied after it. So
  nothing is lost, and a deal with no message never becomes visible;
* a disabled Business connection creates no new deal;
* a deal does not depend on the order in which its inputs from two raw topics arrive (the worker
  reads ``tg.raw.botapi`` and ``tg.raw.mtproto`` side by side, so a rebuild may interleave them
  differently): it is created at its earliest message's date, it is a ``botapi`` deal with its
  connection once a Business input names one, and its unread messages are the incoming ones
  after the owner's last outgoing message or read mark (message ids grow with time in a chat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatsync.events import (
    DealCreated,
    DealData,
    DealUpdated,
    MessageCreated,
    MessageData,
    MessageDeleted,
    MessageEdited,
)
from chatsync.identity import customer_id, event_id
from chatsync.normalise.inputs import DealInput

MAX_UNREAD_TRACKED = 1000
DealOrMessageEvent = DealCreated | DealUpdated | MessageCreated | MessageEdited | MessageDeleted


class MessageVersion(BaseModel):
    """What is known of one message of one deal (table key ``<deal id>:<message id>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    content: MessageData
    deleted: bool = False
    tombstone: bool = Field(False, description="seen only through an edit or a delete")
    input_position: int | None = Field(
        None, description="position of the deal input that wrote it (None: written before "
        "positions were kept)",
    )  # fmt: skip


class DealState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deal_id: str
    owner_user_id: int
    chat_id: int
    source: Literal["botapi", "mtproto"]
    business_connection_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 0
    message_count: int = 0
    last_message: MessageData | None = None
    unread_ids: list[int] = Field(default_factory=list)
    read_inbox_max_id: int = 0
    input_position: int | None = Field(None, description="position of the last input applied")
    created_position: int | None = Field(None, description="position of the input that created it")

    def data(self) -> DealData:
        last = self.last_message
        return DealData(
            deal_id=self.deal_id, owner_user_id=self.owner_user_id,
            customer_id=customer_id(self.chat_id), chat_id=self.chat_id, source=self.source,
            business_connection_id=self.business_connection_id, last_message=last,
            last_message_at=last.date if last else None, message_count=self.message_count,
            unread_count=len(self.unread_ids), created_at=self.created_at,
            updated_at=self.updated_at, version=self.version,
        )  # fmt: skip


@dataclass
class DealOutcome:
    deal: DealState | None
    versions: dict[int, MessageVersion] = field(default_factory=dict)
    events: list[DealOrMessageEvent] = field(default_factory=list)


class _Apply:
    """One input applied to one deal; collects changed versions and events in order."""

    def __init__(self, deal: DealState | None, known: dict[int, MessageVersion], inp: DealInput):
        self.deal, self.known, self.inp = deal, known, inp
        self.outcome = DealOutcome(deal=deal)
        self._deal_trigger: tuple[str, datetime] | None = None

    # --- messages -------------------------------------------------------------------------
    def message(self, message: MessageData) -> None:
        stored = self.known.get(message.message_id)
        if stored is None:
            if self.deal is None and not self.inp.connection_enabled:
                return  # a disabled connection creates no new deal
            self._create(message)
        elif stored.tombstone:
            self._create(message)
            if stored.deleted:
                self._delete(message.message_id)
            elif stored.content.version > message.version:
                self._edit(stored.content)
        elif not stored.deleted and message.version > stored.version:
            self._edit(message)  # a newer copy (e.g. the history of an edited message)

    def edit(self, message: MessageData) -> None:
        stored = self.known.get(message.message_id)
        if stored is None or (stored.tombstone and not stored.deleted):
            if stored is None or message.version > stored.version:
                self._remember(MessageVersion(version=message.version, content=message,
                                              tombstone=True))  # fmt: skip
            return
        if stored.deleted:
            return
        newer = message.version > stored.version
        same_second_change = message.version == stored.version and _content(message) != _content(
            stored.content
        )
        if newer:
            self._edit(message)
        elif same_second_change:  # Telegram dates have one-second steps: keep versions growing
            self._edit(message.model_copy(update={"version": stored.version + 1}))

    def delete(self, message_id: int) -> None:
        stored = self.known.get(message_id)
        if stored is None:
            placeholder = MessageData(
                message_id=message_id, direction="in", sent_by_bot=False, sender_id=None,
                text=None, date=self.inp.received_at, is_deleted=True, version=0,
            )  # fmt: skip
            self._remember(MessageVersion(version=0, content=placeholder, deleted=True,
                                          tombstone=True))  # fmt: skip
        elif stored.tombstone:
            self._remember(stored.model_copy(update={"deleted": True}))
        elif not stored.deleted:
            self._delete(message_id)

    def read(self, max_id: int) -> None:
        deal = self.deal
        if deal is None or max_id <= deal.read_inbox_max_id:
            return
        unread = [i for i in deal.unread_ids if i > max_id]
        read = deal.model_copy(update={"unread_ids": unread, "read_inbox_max_id": max_id})
        self._update_deal(read, trigger=(f"read:{max_id}", self.inp.received_at))

    # --- effects --------------------------------------------------------------------------
    def _create(self, message: MessageData) -> None:
        self._remember(MessageVersion(version=message.version, content=message))
        created = self._event(MessageCreated, "message.created", message, message.date,
                              message.message_id)  # fmt: skip
        deal = self.deal or self._new_deal(message.date)
        unread, read_max = list(deal.unread_ids), deal.read_inbox_max_id
        if message.direction == "out":  # the owner answered: what came before is read
            read_max = max(read_max, message.message_id)
            unread = [i for i in unread if i > read_max]
        elif message.message_id > read_max:
            unread = sorted({*unread, message.message_id})[-MAX_UNREAD_TRACKED:]
        latest = deal.last_message
        is_latest = latest is None or message.message_id >= latest.message_id
        self._update_deal(deal.model_copy(update={
            "message_count": deal.message_count + 1, "unread_ids": unread,
            "read_inbox_max_id": read_max, "last_message": message if is_latest else latest,
            "created_at": min(deal.created_at, message.date),
        }), trigger=(created.event_id, message.date), created=self.deal is None)  # fmt: skip

    def _edit(self, message: MessageData) -> None:
        self._remember(MessageVersion(version=message.version, content=message))
        edited = self._event(MessageEdited, "message.edited", message,
                             message.edit_date or message.date, message.message_id,
                             message.version)  # fmt: skip
        self._touch_last_message(message, edited.event_id, edited.occurred_at)

    def _delete(self, message_id: int) -> None:
        stored = self.known[message_id]
        content = stored.content.model_copy(update={"is_deleted": True,
                                                    "version": stored.version + 1})  # fmt: skip
        self._remember(MessageVersion(version=content.version, content=content, deleted=True))
        deleted = self._event(MessageDeleted, "message.deleted", content, self.inp.received_at,
                              message_id)  # fmt: skip
        deal = self.deal
        if deal is None:
            return
        changes: dict[str, object] = {}
        if message_id in deal.unread_ids:
            changes["unread_ids"] = [i for i in deal.unread_ids if i != message_id]
        if deal.last_message is not None and deal.last_message.message_id == message_id:
            changes["last_message"] = content
        if changes:
            self._update_deal(deal.model_copy(update=changes),
                              trigger=(deleted.event_id, deleted.occurred_at))  # fmt: skip

    def _touch_last_message(self, message: MessageData, trigger: str, at: datetime) -> None:
        deal = self.deal
        if (
            deal is not None
            and deal.last_message is not None
            and (deal.last_message.message_id == message.message_id)
        ):
            self._update_deal(deal.model_copy(update={"last_message": message}), (trigger, at))

    def adopt_business_connection(self) -> None:
        """A Business input reaches a deal that another producer created (it has no connection):
        from now on the deal is reached through the bot, as if the bot had come first."""
        deal, inp = self.deal, self.inp
        connection = inp.business_connection_id
        if deal is None or deal.business_connection_id is not None or connection is None:
            return
        if inp.source.kind != "botapi" or not inp.connection_enabled:
            return
        adopted = deal.model_copy(update={"source": "botapi", "business_connection_id": connection})
        # Its own time adds none: updated_at stays the latest time of the deal's own changes.
        self._update_deal(adopted, trigger=(f"connection:{connection}", deal.updated_at))

    def _new_deal(self, at: datetime) -> DealState:
        inp = self.inp
        return DealState(
            deal_id=inp.deal_id, owner_user_id=inp.owner_user_id, chat_id=inp.chat_id,
            source="botapi" if inp.source.kind == "botapi" else "mtproto",
            business_connection_id=inp.business_connection_id, created_at=at, updated_at=at,
        )  # fmt: skip

    def _update_deal(
        self, deal: DealState, trigger: tuple[str, datetime], created: bool = False
    ) -> None:
        at = max(trigger[1], deal.updated_at)
        deal = deal.model_copy(update={"version": deal.version + 1, "updated_at": at})
        kind = DealCreated if created else DealUpdated
        name = "deal.created" if created else "deal.updated"
        self.outcome.events.append(kind(
            event_id=event_id(name, deal.deal_id, trigger[0]), occurred_at=trigger[1],
            deal_id=deal.deal_id, owner_user_id=deal.owner_user_id, source=self.inp.source,
            data=deal.data(),
        ))  # fmt: skip
        self.deal = self.outcome.deal = deal

    def _remember(self, version: MessageVersion) -> None:
        self.outcome.versions[version.content.message_id] = version
        self.known = {**self.known, version.content.message_id: version}

    def _event(
        self, kind: type[MessageCreated] | type[MessageEdited] | type[MessageDeleted], name: str,
        message: MessageData, at: datetime, *identity: object,
    ) -> MessageCreated | MessageEdited | MessageDeleted:  # fmt: skip
        event = kind(
            event_id=event_id(name, self.inp.deal_id, *identity), occurred_at=at,
            deal_id=self.inp.deal_id, owner_user_id=self.inp.owner_user_id,
            source=self.inp.source, data=message,
        )  # fmt: skip
        self.outcome.events.append(event)
        return event


def _content(message: MessageData) -> tuple[object, ...]:
    return (message.text, message.entities, message.media)


def apply_to_deal(
    deal: DealState | None, known: dict[int, MessageVersion], inp: DealInput
) -> DealOutcome:
    """Apply one DealInput. ``known`` holds the stored versions of the messages it names."""
    step = _Apply(deal, known, inp)
    step.adopt_business_connection()
    if inp.kind == "message" and inp.message is not None:
        step.message(inp.message)
    elif inp.kind == "edit" and inp.message is not None:
        step.edit(inp.message)
    elif inp.kind == "delete":
        for message_id in inp.message_ids:
            step.delete(message_id)
    elif inp.kind == "read" and inp.read_max_id is not None:
        step.read(inp.read_max_id)
    return step.outcome


def message_ids_of(inp: DealInput) -> list[int]:
    """The messages whose versions ``apply_to_deal`` needs for this input."""
    if inp.message is not None:
        return [inp.message.message_id]
    return list(inp.message_ids)
