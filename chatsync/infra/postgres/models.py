"""The PostgreSQL tables the sinks write and the API reads (deals, customers, tokens).

Rows are written only by the PostgreSQL sink (from ``chat.deals`` and ``chat.customers``) and the
DynamoDB sink (``deal_messages_stored``), with upserts guarded by ``version``: an older event never
overwrites a newer row, and replaying the topics changes nothing.

A deal is *fully synced*, and listed by the API, once its customer row exists here and at least one
of its messages is stored in DynamoDB (a row in ``deal_messages_stored``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatsync.infra.db import Base


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    language_code: Mapped[str | None] = mapped_column(String(16))
    is_premium: Mapped[bool | None] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    avatar_key: Mapped[str | None] = mapped_column(Text, doc="S3 key of the profile photo")
    avatar_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Deal(Base):
    __tablename__ = "deals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    business_connection_id: Mapped[str | None] = mapped_column(Text)
    last_message: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activity_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), doc="last_message_at, or updated_at: the list's order"
    )
    message_count: Mapped[int] = mapped_column(Integer)
    unread_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("deals_owner_activity", "owner_user_id", "activity_at", "id"),
        Index("deals_activity", "activity_at", "id"),
    )


class DealMessagesStored(Base):
    """A deal with at least one message stored in DynamoDB (written by the DynamoDB sink)."""

    __tablename__ = "deal_messages_stored"

    deal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_stored_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ApiToken(Base):
    """A bearer token of the API, stored as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
