"""API tokens: made here, stored as SHA-256, looked up per request, revoked by id.

Requests authenticate through ``cached_principal_for``: a process trusts a token it looked up for
``PRINCIPAL_CACHE_SECONDS``, which saves a PostgreSQL round trip on almost every request. A
revocation therefore takes effect at once in the process that revokes (``revoke_token`` forgets
the token there) and within ``PRINCIPAL_CACHE_SECONDS`` in every other process (``chatsync tokens
revoke`` runs in its own). Unknown and revoked tokens are never cached: a new token works at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.infra.postgres.models import ApiToken
from chatsync.infra.postgres.reads import fetch_first

TOKEN_PREFIX = "cs_"  # noqa: S105 - a prefix, not a secret
PRINCIPAL_CACHE_SECONDS = 5.0
PRINCIPAL_CACHE_ENTRIES = 10_000
_LIVE_TOKEN = select(ApiToken.id, ApiToken.user_id, ApiToken.is_admin).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: an owner's user id, or an admin who sees every owner."""

    token_id: int
    user_id: int
    is_admin: bool


def _well_formed(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= 200


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
    principals.forget(token_id)
    return bool(result.rowcount)


async def principal_for(engine: AsyncEngine, token: str) -> Principal | None:
    """The live token's principal, or None (unknown, revoked or malformed)."""
    if not _well_formed(token):
        return None
    row = await fetch_first(engine, _LIVE_TOKEN, {"token_hash": hash_token(token)})
    return Principal(row.id, row.user_id, row.is_admin) if row else None


class PrincipalCache:
    """Live tokens' principals by token hash, each trusted for ``ttl_s`` (least recently used
    entries go first beyond ``max_entries``)."""

    def __init__(
        self, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: TTLCache[str, Principal] = TTLCache(max_entries, ttl_s, timer=clock)

    def get(self, token_hash: str) -> Principal | None:
        return self._entries.get(token_hash)

    def put(self, token_hash: str, principal: Principal) -> None:
        self._entries[token_hash] = principal

    def forget(self, token_id: int) -> None:
        stale = [key for key, known in self._entries.items() if known.token_id == token_id]
        for key in stale:
            self._entries.pop(key, None)


principals = PrincipalCache(PRINCIPAL_CACHE_SECONDS, PRINCIPAL_CACHE_ENTRIES)


async def cached_principal_for(engine: AsyncEngine, token: str) -> Principal | None:
    """``principal_for`` through this process's cache of live tokens (see the module's notes)."""
    if not _well_formed(token):
        return None
    token_hash = hash_token(token)
    principal = principals.get(token_hash)
    if principal is None:
        principal = await principal_for(engine, token)
        if principal is not None:
            principals.put(token_hash, principal)
    return principal


async def list_tokens(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.user_id, ApiToken.is_admin,
                   ApiToken.created_at, ApiToken.revoked_at).order_by(ApiToken.id)
        )  # fmt: skip
    return [dict(row._mapping) for row in rows]
