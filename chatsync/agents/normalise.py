"""The agents: Faust plumbing around the pure stages of ``chatsync.normalise``.

Each agent reads one record, runs its stage, sends what the stage produced, waits until Kafka
acknowledged it, and only then applies the stage's table writes (see ``chatsync.agents.app`` for
why). A record a stage cannot process goes to the DLQ with its original bytes, logged once, and
the partition keeps flowing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import faust
from pydantic import BaseModel, ValidationError

from chatsync.dlq import dead_letter_headers
from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.normalise.deals import DealOrMessageEvent
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import CustomerInput, DealInput
from chatsync.normalise.pipeline import Normaliser, Staged
from chatsync.settings import Settings
from chatsync.tables.state import TableState, declare_tables

log = logging.getLogger(__name__)
# What a bad record raises in the pure stages (a bug elsewhere propagates and stops the worker).
BAD_RECORD = (NormaliseError, ValidationError, KeyError, TypeError, ValueError)


def raw_topic(app: faust.App, *names: str, **options: Any) -> faust.TopicT:
    """A topic of bytes keys and values (the stages decode JSON themselves)."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", **options)  # fmt: skip


class Outputs:
    """Where the agents send: the normalised topics, the internal hops and the DLQ."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        partitions = settings.kafka_topic_partitions
        prefix = settings.worker_app_id
        self.deal_inputs = raw_topic(app, f"{prefix}-deal-inputs", internal=True,
                                     partitions=partitions)  # fmt: skip
        self.customer_inputs = raw_topic(app, f"{prefix}-customer-inputs", internal=True,
                                         partitions=partitions)  # fmt: skip
        self.deals = raw_topic(app, settings.topic_deals)
        self.messages = raw_topic(app, settings.topic_messages)
        self.customers = raw_topic(app, settings.topic_customers)
        self.dlq = raw_topic(app, settings.topic_dlq)

    async def event(
        self, event: DealOrMessageEvent | CustomerCreated | CustomerUpdated
    ) -> Awaitable[Any]:
        if isinstance(event, CustomerCreated | CustomerUpdated):
            topic, key = self.customers, event.data.customer_id
        elif event.event_type.startswith("deal."):
            topic, key = self.deals, event.deal_id
        else:
            topic, key = self.messages, event.deal_id
        return await topic.send(key=key.encode(), value=event.model_dump_json().encode(),
                                headers={"event_type": event.event_type.encode()})  # fmt: skip

    async def internal(self, topic: faust.TopicT, key: str, value: BaseModel) -> Awaitable[Any]:
        return await topic.send(key=key.encode(), value=value.model_dump_json().encode())

    async def dead_letter(self, stage: str, event: faust.EventT[bytes], error: Exception) -> None:
        message = event.message
        reason = f"{type(error).__name__}: {error}"
        log.warning("%s: record %s[%d]@%d dead-lettered: %s", stage, message.topic,
                    message.partition, message.offset, reason)  # fmt: skip
        headers = dead_letter_headers(
            stage, reason, topic=message.topic, partition=message.partition, offset=message.offset
        )
        await self.dlq.send(key=event.key, value=event.value, headers=headers)


async def _acknowledged(sends: list[Awaitable[Any]], staged: Staged) -> None:
    """Wait for Kafka's acknowledgement of everything sent, then apply the stage's writes."""
    if staged.writes:
        await asyncio.gather(*sends)
    staged.commit()


def register_agents(app: faust.App, settings: Settings) -> None:
    outputs = Outputs(app, settings)
    normaliser = Normaliser(TableState(declare_tables(app, settings.kafka_topic_partitions)))
    raw = raw_topic(app, settings.topic_raw_botapi, settings.topic_raw_mtproto)

    @app.agent(raw, name="resolve")
    async def resolve(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            try:
                staged = normaliser.stage_one(event.value, message.topic, message.partition,
                                              message.offset)  # fmt: skip
            except BAD_RECORD as error:
                await outputs.dead_letter("normalise", event, error)
                continue
            sends = [
                await outputs.internal(outputs.deal_inputs, d.deal_id, d) for d in staged.deals
            ]
            for customer in staged.customers:
                key = str(customer.profile.user_id)
                sends.append(await outputs.internal(outputs.customer_inputs, key, customer))
            await _acknowledged(sends, staged)
            yield None

    @app.agent(outputs.deal_inputs, name="deals")
    async def deals(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            try:
                staged = normaliser.stage_two(DealInput.model_validate_json(event.value))
            except BAD_RECORD as error:
                await outputs.dead_letter("deals", event, error)
                continue
            await _acknowledged([await outputs.event(e) for e in staged.events], staged)
            yield None

    @app.agent(outputs.customer_inputs, name="customers")
    async def customers(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            try:
                staged = normaliser.stage_three(CustomerInput.model_validate_json(event.value))
            except BAD_RECORD as error:
                await outputs.dead_letter("customers", event, error)
                continue
            await _acknowledged([await outputs.event(e) for e in staged.events], staged)
            yield None
