"""Small, explicit event values for the sinks' unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatsync.events import (
    CustomerCreated,
    CustomerData,
    CustomerUpdated,
    DealCreated,
    DealData,
    DealUpdated,
    EventSource,
    MessageCreated,
    MessageData,
    MessageDeleted,
    MessageEdited,
)
from chatsync.identity import event_id

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SOURCE = EventSource(topic="tg.raw.botapi", partition=0, offset=0, kind="botapi")
DEAL = "deal_0001"
OWNER = 700


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message_data(message_id: int, version: int, text: str, *, edited: bool = False,
                 deleted: bool = False) -> MessageData:  # fmt: skip
    return MessageData(
        message_id=message_id, direction="in", sent_by_bot=False, sender_id=42, text=text,
        date=at(0), edit_date=at(version) if edited else None, is_deleted=deleted,
        version=version,
    )  # fmt: skip


def created(message_id: int, version: int, text: str, deal: str = DEAL) -> MessageCreated:
    data = message_data(message_id, version, text)
    return MessageCreated(event_id=event_id("message.created", deal, message_id),
                          occurred_at=at(version), deal_id=deal, owner_user_id=OWNER,
                          source=SOURCE, data=data)  # fmt: skip


def edited(message_id: int, version: int, text: str, deal: str = DEAL) -> MessageEdited:
    data = message_data(message_id, version, text, edited=True)
    return MessageEdited(event_id=event_id("message.edited", deal, message_id, version),
                         occurred_at=at(version), deal_id=deal, owner_user_id=OWNER,
                         source=SOURCE, data=data)  # fmt: skip


def deleted(last: MessageCreated | MessageEdited) -> MessageDeleted:
    data = last.data.model_copy(update={"is_deleted": True, "version": last.data.version + 1})
    return MessageDeleted(event_id=event_id("message.deleted", last.deal_id, data.message_id),
                          occurred_at=at(data.version), deal_id=last.deal_id,
                          owner_user_id=OWNER, source=SOURCE, data=data)  # fmt: skip


def deal_event(version: int, *, deal: str = DEAL, customer: str = "tg_42",
               last: MessageData | None = None) -> DealCreated | DealUpdated:  # fmt: skip
    data = DealData(
        deal_id=deal, owner_user_id=OWNER, customer_id=customer, chat_id=42, source="botapi",
        last_message=last, last_message_at=last.date if last else None, message_count=version,
        unread_count=0, created_at=at(0), updated_at=at(version), version=version,
    )  # fmt: skip
    kind = DealCreated if version == 1 else DealUpdated
    return kind(event_id=event_id("deal", deal, version), occurred_at=at(version), deal_id=deal,
                owner_user_id=OWNER, source=SOURCE, data=data)  # fmt: skip


def customer_event(version: int, *, user_id: int = 42, first_name: str = "Ada"
                   ) -> CustomerCreated | CustomerUpdated:  # fmt: skip
    data = CustomerData(customer_id=f"tg_{user_id}", user_id=user_id, first_name=first_name,
                        version=version)  # fmt: skip
    kind = CustomerCreated if version == 1 else CustomerUpdated
    return kind(event_id=event_id("customer", user_id, version), occurred_at=at(version),
                deal_id=DEAL, owner_user_id=OWNER, source=SOURCE, data=data)  # fmt: skip
