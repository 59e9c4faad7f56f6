"""``/admin/``: a read-only web admin over the PostgreSQL tables (SQLAdmin), for admin tokens.

Sign in with an admin API token as the password (any user name). The session cookie is signed
with ADMIN_SESSION_SECRET (random per process when unset: sessions then end on restart). Nothing
can be created, edited or deleted here; token hashes are never shown.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from sqladmin import Admin, ModelView
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request

from chatsync.infra.postgres.models import ApiToken, Customer, Deal
from chatsync.infra.postgres.sync_tasks import SyncTaskRow
from chatsync.infra.postgres.tokens import principal_for
from chatsync.settings import Settings

_SESSION_KEY = "admin_token_id"


class TokenLogin(AuthenticationBackend):
    def __init__(self, engine: AsyncEngine, secret: str) -> None:
        super().__init__(secret_key=secret)
        self._engine = engine

    async def login(self, request: Request) -> bool:
        form = await request.form()
        token = form.get("password")
        principal = await principal_for(self._engine, token) if isinstance(token, str) else None
        if principal is None or not principal.is_admin:
            return False
        request.session[_SESSION_KEY] = principal.token_id
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        token_id = request.session.get(_SESSION_KEY)
        if not isinstance(token_id, int):
            return False
        async with self._engine.connect() as connection:  # revoked tokens lose the session
            live = await connection.scalar(
                select(ApiToken.id).where(
                    ApiToken.id == token_id, ApiToken.is_admin, ApiToken.revoked_at.is_(None)
                )
            )
        return live is not None


class _ReadOnly(ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    page_size = 50


class DealAdmin(_ReadOnly, model=Deal):
    column_list: ClassVar[Any] = [
        Deal.id,
        Deal.owner_user_id,
        Deal.customer_id,
        Deal.source,
        Deal.message_count,
        Deal.unread_count,
        Deal.activity_at,
    ]
    column_searchable_list: ClassVar[Any] = [Deal.id, Deal.customer_id]
    column_default_sort: ClassVar[Any] = [(Deal.activity_at, True)]


class CustomerAdmin(_ReadOnly, model=Customer):
    column_list: ClassVar[Any] = [
        Customer.id,
        Customer.first_name,
        Customer.last_name,
        Customer.username,
        Customer.avatar_key,
        Customer.updated_at,
    ]
    column_searchable_list: ClassVar[Any] = [Customer.first_name, Customer.username]


class TokenAdmin(_ReadOnly, model=ApiToken):
    column_list: ClassVar[Any] = [
        ApiToken.id,
        ApiToken.name,
        ApiToken.user_id,
        ApiToken.is_admin,
        ApiToken.created_at,
        ApiToken.revoked_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [ApiToken.token_hash]
    column_export_exclude_list: ClassVar[Any] = [ApiToken.token_hash]


class SyncTaskAdmin(_ReadOnly, model=SyncTaskRow):
    name_plural = "Sync tasks"


def mount_admin(app: Starlette, engine: AsyncEngine, settings: Settings) -> Admin:
    secret = settings.admin_session_secret
    backend = TokenLogin(engine, secret.get_secret_value() if secret else secrets.token_hex(32))
    admin = Admin(app, engine=engine, authentication_backend=backend, title="chatsync admin")
    for view in (DealAdmin, CustomerAdmin, TokenAdmin, SyncTaskAdmin):
        admin.add_view(view)
    return admin
