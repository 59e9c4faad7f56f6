"""Data factories for API tests: rows and items in the shapes the sinks store."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from chatsync.api.app import create_app
from chatsync.events import MessageData
from chatsync.identity import customer_id, deal_id
from chatsync.infra.postgres.models import Customer, Deal, DealMessagesStored
from chatsync.infra.postgres.tokens import create_token
from chatsync.settings import Settings

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def new_owner() -> int:
    return random.randint(10**9, 2 * 10**9)


def message(
    message_id: int, *, text: str = "hello", minutes: int = 0, direction: str = "in"
) -> MessageData:
    date = T0 + timedelta(minutes=minutes)
    return MessageData.model_validate(
        {
            "message_id": message_id,
            "direction": direction,
            "sent_by_bot": False,
            "sender_id": 1,
            "text": text,
            "date": date,
            "version": int(date.timestamp()),
            "media": {
                "type": "photo",
                "file": {"file_id": "AgACAgIAAxkBAAIBsecretfileid", "file_unique_id": "AQADuniq"},
                "width": 800,
                "height": 600,
            },
        }
    )


@dataclass
class Store:
    engine: AsyncEngine
    dynamodb: Any
    table: str

    async def customer(
        self,
        user_id: int,
        first_name: str = "Anna",
        username: str | None = None,
        avatar_key: str | None = None,
    ) -> str:
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(Customer).values(
                    id=customer_id(user_id),
                    user_id=user_id,
                    first_name=first_name,
                    last_name=None,
                    username=username,
                    version=1,
                    updated_at=T0,
                    avatar_key=avatar_key,
                )
            )
        return customer_id(user_id)

    async def deal(
        self,
        owner: int,
        chat: int,
        *,
        minutes: int = 0,
        stored: bool = True,
        last: MessageData | None = None,
    ) -> str:
        identity = deal_id(owner, chat)
        at = T0 + timedelta(minutes=minutes)
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(Deal).values(
                    id=identity,
                    owner_user_id=owner,
                    customer_id=customer_id(chat),
                    chat_id=chat,
                    source="botapi",
                    business_connection_id="bc",
                    activity_at=at,
                    last_message=last.model_dump(mode="json") if last else None,
                    last_message_at=at if last else None,
                    message_count=1,
                    unread_count=1,
                    created_at=T0,
                    updated_at=at,
                    version=1,
                )
            )
            if stored:
                await connection.execute(insert(DealMessagesStored).values(deal_id=identity))
        return identity

    async def messages(
        self,
        deal: str,
        items: list[MessageData],
        edits: dict[int, list[dict[str, Any]]] | None = None,
    ) -> None:
        for data in items:
            item = {
                "deal_id": {"S": deal},
                "message_id": {"N": str(data.message_id)},
                "version": {"N": str(data.version)},
                "event_id": {"S": f"e-{data.message_id}"},
                "owner_user_id": {"N": "1"},
                "date": {"S": data.date.isoformat()},
                "is_deleted": {"BOOL": data.is_deleted},
                "data": {"S": data.model_dump_json()},
                "edits": {"S": json.dumps((edits or {}).get(data.message_id, []))},
                "updated_at": {"S": T0.isoformat()},
            }
            await self.dynamodb.put_item(TableName=self.table, Item=item)

    async def token(self, user_id: int, admin: bool = False) -> str:
        _, token = await create_token(self.engine, user_id=user_id, admin=admin, name="test")
        return token


@dataclass
class Api:
    client: httpx.AsyncClient
    store: Store
    app: Starlette

    async def get(self, url: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.get(url, headers=headers)


async def running_api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state
        store = Store(state.engine, state.dynamodb, settings.dynamodb_messages_table)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, store, app)
