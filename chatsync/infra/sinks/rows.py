"""Deal and customer events as rows of the ``deals`` and ``customers`` tables (pure).

Column names are the keys. ``customers.avatar_key`` and ``avatar_checked_at`` are not here: the
avatar component owns them and the sink's upsert never touches them. PostgreSQL's text and jsonb
cannot hold U+0000, which a Telegram name or text may carry: in a row it becomes U+FFFD (the
normalised topics and DynamoDB keep the original), so such a record is stored, not refused.
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


NUL, REPLACEMENT = "\x00", "\ufffd"


def postgres_safe(row: Row) -> Row:
    """``row`` with U+0000 replaced in every string, also inside JSON values."""
    return {column: _without_nul(value) for column, value in row.items()}


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def deal_row(event: DealEvent) -> Row:
    """The deal's row; ``activity_at`` (the list's order) is its last message's date, or when the
    deal last changed when it has no message."""
    data = event.data
    last = data.last_message
    row = {
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
    return postgres_safe(row)


def customer_row(event: CustomerEvent) -> Row:
    """The customer's row; the profile has no time of its own, so ``updated_at`` is when the
    event says the profile was observed to change."""
    data = event.data
    row = {
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
    return postgres_safe(row)
