"""Deals, customers, the fully-synced bookkeeping and API tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False, now: bool = False) -> sa.Column[object]:
    default = sa.func.now() if now else None
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("first_name", sa.Text()),
        sa.Column("last_name", sa.Text()),
        sa.Column("username", sa.Text()),
        sa.Column("language_code", sa.String(16)),
        sa.Column("is_premium", sa.Boolean()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("avatar_key", sa.Text()),
        _at("avatar_checked_at", nullable=True),
        _at("updated_at"),
        _at("stored_at", now=True),
    )
    op.create_table(
        "deals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("business_connection_id", sa.Text()),
        sa.Column("last_message", JSONB()),
        _at("last_message_at", nullable=True),
        _at("activity_at"),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("unread_count", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("stored_at", now=True),
    )
    op.create_index("ix_deals_customer_id", "deals", ["customer_id"])
    op.create_index("deals_owner_activity", "deals", ["owner_user_id", "activity_at", "id"])
    op.create_index("deals_activity", "deals", ["activity_at", "id"])
    op.create_table(
        "deal_messages_stored",
        sa.Column("deal_id", sa.String(64), primary_key=True),
        _at("first_stored_at", now=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _at("created_at", now=True),
        _at("revoked_at", nullable=True),
        _at("last_used_at", nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("deal_messages_stored")
    op.drop_table("deals")
    op.drop_table("customers")
