"""Bearer tokens: who a request acts for. No token or a bad one: 401, before anything is read."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from chatsync.api.errors import ApiError
from chatsync.infra.postgres.tokens import Principal, cached_principal_for

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chatsync"'}


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(connection: HTTPConnection, token: str | None = None) -> Principal:
    """The principal of the request's bearer token (or of ``token``), or ApiError 401."""
    token = token or bearer_token(connection)
    if token is None:
        raise ApiError(401, "unauthorized", "a bearer token is required", headers=_CHALLENGE)
    principal = await cached_principal_for(connection.app.state.read_engine, token)
    if principal is None:
        raise ApiError(401, "unauthorized", "the token is not valid", headers=_CHALLENGE)
    return principal


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin token")
