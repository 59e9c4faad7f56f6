"""PostgreSQL through SQLAlchemy 2 (async, asyncpg): the engine factory and migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from chatsync.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base of every PostgreSQL table chatsync owns."""


def create_engine(settings: Settings, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for DATABASE_URL; the caller disposes of it."""
    return create_async_engine(
        settings.sqlalchemy_url, pool_size=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would read a '%' in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


async def migrate(settings: Settings, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` (in a thread: Alembic's API is blocking)."""
    await asyncio.to_thread(command.upgrade, alembic_config(settings), revision)
