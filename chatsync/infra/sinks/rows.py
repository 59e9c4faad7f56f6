"""Deal and customer events as rows of the ``deals`` and ``customers`` tables (pure).

Column names are the keys. ``customers.avatar_key`` and ``avatar_checked_at`` are not here: the
avatar component owns them and the sink's upsert never touches them.
"""

from __future__ import annotations

from typing import Any

from chatsync.events import CustomerCreated, CustomerUpdated, DealCreated, DealUpdated

DealEvent = DealCreated | DealUpdated
CustomerEvent = CustomerCreated | CustomerUpdated
Row = dict[str, Any]

DEAL_COLUMNS = (
    "id", "owner_user_id", "customer_id", "chat_id", "source", "business_connection_id",
    "last_message", "last_message_at", "activity_at", "message_count", "unread_count",
    "created_at", "updated_at", "version",
)  # fmt: skip
CUSTOMER_COLUMNS = (
    "id", "user_id", "first_name", "last_name", "username", "language_code", "is_premium",
    "version", "updated_at",
)  # fmt: skip


def deal_row(event: DealEvent) -> Row:
    """The deal's row; ``activity_at`` (the list's order) is its last message's date, or when the
    deal last changed when it has no message."""
    data = event.data
    last = data.last_message
    return {
        "id": data.deal_id,
        "owner_user_id": data.owner_user_id,
        "customer_id": data.customer_id,
        "chat_id": data.chat_id,
        "source": data.source,
        "business_connection_id": data.business_connection_id,
        "last_message": last.model_dump(mode="json") if last is not None else None,
        "last_message_at": data.last_message_at,
        "activity_at": data.last_message_at or data.updated_at,
        "message_count": data.message_count,
        "unread_count": data.unread_count,
        "created_at": data.created_at,
        "updated_at": data.updated_at,
        "version": data.version,
    }


def customer_row(event: CustomerEvent) -> Row:
    """The customer's row; the profile has no time of its own, so ``updated_at`` is when the
    event says the profile was observed to change."""
    data = event.data
    return {
        "id": data.customer_id,
        "user_id": data.user_id,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "username": data.username,
        "language_code": data.language_code,
        "is_premium": data.is_premium,
        "version": data.version,
        "updated_at": event.occurred_at,
    }
