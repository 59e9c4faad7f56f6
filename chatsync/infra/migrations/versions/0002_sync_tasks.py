"""History sync tasks of Telethon accounts, and their per-dialog checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sync_tasks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("account_user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _at("min_date"),
        _at("max_date", nullable=False),
        sa.Column("dialogs_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dialogs_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("messages_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("current_dialog", sa.BigInteger()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _at("started_at"),
        _at("finished_at"),
        _at("heartbeat_at"),
        _at("lease_until"),
        sa.Column("owner", sa.String(200)),
        sa.Column("error", sa.Text()),
        _at("flood_wait_until"),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name="sync_tasks_state_valid",
        ),
    )
    # At most one active (pending or running) task per account, whatever the process or host.
    op.create_index(
        "sync_tasks_one_active_per_account",
        "sync_tasks",
        ["account_user_id"],
        unique=True,
        postgresql_where=sa.text("state IN ('pending', 'running')"),
    )
    op.create_index("sync_tasks_account_created", "sync_tasks", ["account_user_id", "created_at"])
    op.create_table(
        "sync_task_dialogs",
        sa.Column(
            "task_id",
            sa.Uuid(),
            sa.ForeignKey("sync_tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        sa.Column("last_message_id", sa.BigInteger()),
        sa.Column("messages_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("done", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_task_dialogs")
    op.drop_index("sync_tasks_account_created", table_name="sync_tasks")
    op.drop_index("sync_tasks_one_active_per_account", table_name="sync_tasks")
    op.drop_table("sync_tasks")
