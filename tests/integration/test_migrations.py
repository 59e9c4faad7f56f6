"""The Alembic migrations create exactly the tables the SQLAlchemy models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from chatsync.infra.db import Base, create_engine
from chatsync.infra.postgres import models, sync_tasks  # noqa: F401 - register the tables
from chatsync.infra.stack.stack import Stack

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(local_stack: Stack) -> None:
    engine = create_engine(local_stack.settings, pool_size=1)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == [], "write a migration for these model changes"
