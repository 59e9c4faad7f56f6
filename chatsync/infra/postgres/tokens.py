"""API tokens: made here, stored as SHA-256, looked up per request, revoked by id."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.infra.postgres.models import ApiToken

TOKEN_PREFIX = "cs_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: an owner's user id, or an admin who sees every owner."""

    token_id: int
    user_id: int
    is_admin: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    engine: AsyncEngine, *, user_id: int, admin: bool, name: str
) -> tuple[int, str]:
    """A new token for ``user_id``: its id and the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as connection:
        token_id = await connection.scalar(
            insert(ApiToken)
            .values(name=name, user_id=user_id, is_admin=admin, token_hash=hash_token(token))
            .returning(ApiToken.id)
        )
    assert token_id is not None
    return int(token_id), token


async def revoke_token(engine: AsyncEngine, token_id: int) -> bool:
    """Revoke by id; False when there is no such live token."""
    async with engine.begin() as connection:
        result = await connection.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )  # fmt: skip
    return bool(result.rowcount)


async def principal_for(engine: AsyncEngine, token: str) -> Principal | None:
    """The live token's principal, or None (unknown, revoked or malformed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    async with engine.connect() as connection:
        row = (await connection.execute(
            select(ApiToken.id, ApiToken.user_id, ApiToken.is_admin)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        )).first()  # fmt: skip
    return Principal(row.id, row.user_id, row.is_admin) if row else None


async def list_tokens(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.user_id, ApiToken.is_admin,
                   ApiToken.created_at, ApiToken.revoked_at).order_by(ApiToken.id)
        )  # fmt: skip
    return [dict(row._mapping) for row in rows]
