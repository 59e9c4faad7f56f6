"""Normalised events as WebSocket frames, with ``data`` in the REST API's shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chatsync.api.models import CustomerOut, DealOut, MessageOut
from chatsync.api.realtime.cursor import encode_stream_cursor
from chatsync.api.realtime.hub import Position, Record
from chatsync.events import DealData, MessageData
from chatsync.infra.postgres.models import Customer


class FrameBuilder:
    """Per socket: remembers the customers it looked up, so a busy deal costs one query."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._customers: dict[str, CustomerOut] = {}

    async def frame(self, record: Record, position: dict[Position, int]) -> dict[str, Any]:
        event = record.event
        kind: str = event["event_type"]
        if kind.startswith("message."):
            data = MessageOut.from_data(
                event["deal_id"], MessageData.model_validate(event["data"]), []
            ).model_dump(mode="json")
        else:
            data = (await self._deal(DealData.model_validate(event["data"]))).model_dump(
                mode="json"
            )
        return {
            "type": kind,
            "event_id": event["event_id"],
            "cursor": encode_stream_cursor(position),
            "deal_id": event["deal_id"],
            "data": data,
        }

    async def _deal(self, deal: DealData) -> DealOut:
        last = deal.last_message
        return DealOut(
            id=deal.deal_id,
            owner_user_id=deal.owner_user_id,
            source=deal.source,
            customer=await self._customer(deal.customer_id),
            last_message=MessageOut.from_data(deal.deal_id, last, []) if last else None,
            last_message_at=deal.last_message_at,
            unread_count=deal.unread_count,
            message_count=deal.message_count,
            created_at=deal.created_at,
            updated_at=deal.updated_at,
        )

    async def _customer(self, customer_id: str) -> CustomerOut:
        known = self._customers.get(customer_id)
        if known is not None:
            return known
        async with self._state.engine.connect() as connection:
            row = (
                await connection.execute(select(Customer).where(Customer.id == customer_id))
            ).first()
        if row is None:  # the PostgreSQL sink has not stored it yet: do not cache the gap
            return CustomerOut(
                id=customer_id, first_name=None, last_name=None, username=None, avatar_url=None
            )
        found = CustomerOut(
            id=customer_id,
            first_name=row.first_name,
            last_name=row.last_name,
            username=row.username,
            avatar_url=None,
        )
        self._customers[customer_id] = found
        return found
