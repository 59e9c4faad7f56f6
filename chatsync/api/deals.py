"""``/api/v1/deals/``: fully synced deals of the token's owner (all owners for admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatsync.agents.commands.requests import CannotRequest, request_read
from chatsync.api.auth import authenticate
from chatsync.api.avatars import AvatarUrls
from chatsync.api.cursors import Cursor, decode_cursor, page_link
from chatsync.api.errors import ApiError
from chatsync.api.models import (
    Accepted,
    CustomerOut,
    DealDetailOut,
    DealOut,
    DealPage,
    EditOut,
    MessageOut,
    MessagePage,
    ReadRequest,
)
from chatsync.api.openapi import Operation, Registry
from chatsync.api.params import body, query
from chatsync.events import MessageData
from chatsync.infra.message_reader import StoredMessage, read_messages
from chatsync.infra.postgres.deal_queries import DealFilter, DealRow, get_deal, list_deals
from chatsync.infra.postgres.tokens import Principal
from chatsync.producers.errors import PublishUnavailable

DETAIL_MESSAGES = 50


class DealListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, description="from a `next` or `previous` link")
    page_size: int = Field(20, ge=1, le=100)
    owner_user_id: int | None = Field(None, description="admins only: one owner's deals")
    updated_since: datetime | None = Field(None, description="ISO-8601; deals updated since")
    q: str | None = Field(None, max_length=200, pattern="^[^\x00]*$",
                          description="customer name or username contains")  # fmt: skip


class MessageListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, description="from a `next` or `previous` link")
    page_size: int = Field(50, ge=1, le=100)


def _owner_scope(principal: Principal, requested: int | None) -> int | None:
    """The owner whose deals a request may see (None: all, for admins)."""
    if principal.is_admin:
        return requested
    if requested is not None and requested != principal.user_id:
        raise ApiError(403, "forbidden", "owner_user_id is an admin filter")
    return principal.user_id


async def list_deals_endpoint(request: Request) -> Response:
    principal = await authenticate(request)
    params = query(request, DealListQuery)
    where = DealFilter(
        _owner_scope(principal, params.owner_user_id), params.updated_since, params.q
    )
    cursor = decode_cursor(params.cursor, (datetime, str)) if params.cursor else None
    backwards = cursor is not None and cursor.direction == "previous"
    position = cursor.position if cursor else None
    rows = await list_deals(
        request.app.state.read_engine, where, limit=params.page_size + 1,
        after=position if not backwards else None, before=position if backwards else None,
    )  # fmt: skip
    more = len(rows) > params.page_size
    rows = (rows[1:] if backwards else rows[:-1]) if more else rows
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    has_next = more if not backwards else True
    has_previous = cursor is not None and (more if backwards else True)
    page = DealPage(
        next=page_link(request.url, Cursor(_key(last), "next")) if has_next and last else None,
        previous=page_link(request.url, Cursor(_key(first), "previous"))
        if has_previous and first else None,
        results=[await _deal_out(request, row) for row in rows],
    )  # fmt: skip
    return _json(page)


async def deal_detail(request: Request) -> Response:
    principal = await authenticate(request)
    row = await _visible_deal(request, principal)
    state = request.app.state
    messages = await read_messages(state.dynamodb, state.settings.dynamodb_messages_table,
                                   row.deal["id"], limit=DETAIL_MESSAGES)  # fmt: skip
    deal = await _deal_out(request, row)
    older = None
    if len(messages) == DETAIL_MESSAGES:
        url = request.url_for("deal_messages", deal_id=row.deal["id"])
        older = page_link(url, Cursor((messages[0].data.message_id,), "next"))
    detail = DealDetailOut(**dict(deal), messages=[_message_out(row.deal["id"], m)
                                                   for m in messages],
                           messages_next=older)  # fmt: skip
    return _json(detail)


async def deal_messages(request: Request) -> Response:
    principal = await authenticate(request)
    params = query(request, MessageListQuery)
    row = await _visible_deal(request, principal)
    cursor = decode_cursor(params.cursor, (int,)) if params.cursor else None
    mark = int(cursor.position[0]) if cursor else None
    backwards = cursor is not None and cursor.direction == "previous"
    state = request.app.state
    messages = await read_messages(
        state.dynamodb, state.settings.dynamodb_messages_table, row.deal["id"],
        limit=params.page_size + 1, older_than=None if backwards else mark,
        newer_than=mark if backwards else None,
    )  # fmt: skip
    more = len(messages) > params.page_size
    if more:
        messages = messages[:-1] if backwards else messages[1:]
    first, last = (messages[0], messages[-1]) if messages else (None, None)
    older = first is not None and (more if not backwards else True)
    newer = last is not None and cursor is not None and (more if backwards else True)
    page = MessagePage(
        next=page_link(request.url, Cursor((first.data.message_id,), "next"))
        if older and first else None,
        previous=page_link(request.url, Cursor((last.data.message_id,), "previous"))
        if newer and last else None,
        results=[_message_out(row.deal["id"], m) for m in messages],
    )  # fmt: skip
    return _json(page)


@dataclass(frozen=True)
class _DealRef:
    deal_id: str
    owner_user_id: int
    chat_id: int
    source: str
    business_connection_id: str | None


async def mark_read(request: Request) -> Response:
    """Ask Telegram to mark the chat read (up to ``message_id``, or everything); the outcome
    arrives as a ``deal.updated`` event with ``unread_count`` 0, on the WebSocket too."""
    principal = await authenticate(request)
    params = await body(request, ReadRequest)
    deal = (await _visible_deal(request, principal)).deal
    ref = _DealRef(deal["id"], deal["owner_user_id"], deal["chat_id"], deal["source"],
                   deal["business_connection_id"])  # fmt: skip
    state = request.app.state
    try:
        command_id = await request_read(state.publisher, state.settings, ref, params.message_id)
    except CannotRequest as exc:
        raise ApiError(422, "cannot_mark_read", str(exc)) from None
    except PublishUnavailable:
        raise ApiError(
            503, "unavailable", "try again later", headers={"Retry-After": "1"}
        ) from None
    return JSONResponse(Accepted(command_id=command_id).model_dump(), 202)


async def _visible_deal(request: Request, principal: Principal) -> DealRow:
    owner = None if principal.is_admin else principal.user_id
    deal_id = request.path_params["deal_id"]
    # PostgreSQL text cannot hold NUL, so no deal has one in its id.
    row = (
        None if "\x00" in deal_id else await get_deal(request.app.state.read_engine, deal_id, owner)
    )
    if row is None:  # another owner's deal looks exactly like one that does not exist
        raise ApiError(404, "not_found", "no such deal")
    return row


def _key(row: DealRow | None) -> tuple[Any, ...]:
    assert row is not None
    return (row.deal["activity_at"], row.deal["id"])


async def _deal_out(request: Request, row: DealRow) -> DealOut:
    deal, customer = row.deal, row.customer
    last = MessageData.model_validate_json(deal["last_message"]) if deal["last_message"] else None
    return DealOut(
        id=deal["id"], owner_user_id=deal["owner_user_id"], source=deal["source"],
        customer=CustomerOut(
            id=customer["id"], first_name=customer["first_name"],
            last_name=customer["last_name"], username=customer["username"],
            avatar_url=await _avatar_url(request, customer["avatar_key"]),
        ),
        last_message=MessageOut.from_data(deal["id"], last, []) if last else None,
        last_message_at=deal["last_message_at"], unread_count=deal["unread_count"],
        message_count=deal["message_count"], created_at=deal["created_at"],
        updated_at=deal["updated_at"],
    )  # fmt: skip


async def _avatar_url(request: Request, key: str | None) -> str | None:
    if not key:
        return None
    avatar_urls: AvatarUrls = request.app.state.avatar_urls
    return await avatar_urls.url(key)


def _json(body: BaseModel) -> Response:
    """The model as JSON, serialised by pydantic-core in one pass (the same bytes as
    ``JSONResponse(body.model_dump(mode="json"))``, in a fraction of the time)."""
    return Response(body.model_dump_json(), media_type="application/json")


def _message_out(deal_id: str, stored: StoredMessage) -> MessageOut:
    edits = [EditOut.model_validate(edit) for edit in stored.edits]
    return MessageOut.from_data(deal_id, stored.data, edits)


def routes(registry: Registry) -> list[Route]:
    deal_param = {"deal_id": "the deal id"}
    return [
        registry.route(list_deals_endpoint, Operation(
            "/api/v1/deals/", "GET", "Fully synced deals, newest activity first", "deals",
            DealPage, query=DealListQuery, errors=(403, 422),
        )),
        registry.route(deal_detail, Operation(
            "/api/v1/deals/{deal_id}/", "GET", "A deal with its newest messages", "deals",
            DealDetailOut, errors=(404,), path_params=deal_param,
        )),
        registry.route(mark_read, Operation(
            "/api/v1/deals/{deal_id}/read/", "POST", "Mark the chat read in Telegram", "deals",
            Accepted, status=202, body=ReadRequest, errors=(400, 404, 422, 503),
            path_params=deal_param,
        )),
        registry.route(deal_messages, Operation(
            "/api/v1/deals/{deal_id}/messages/", "GET", "A deal's messages, page by page", "deals",
            MessagePage, query=MessageListQuery, errors=(404, 422), path_params=deal_param,
        )),
    ]  # fmt: skip
