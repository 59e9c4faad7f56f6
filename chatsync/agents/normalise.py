"""The agents: Faust plumbing around the pure stages of ``chatsync.normalise``.

Each agent takes a batch of records (up to WORKER_BATCH_SIZE, or what arrived within
WORKER_BATCH_WAIT_MS), runs its stage over each record, sends what the stage produced, waits once
until Kafka acknowledged all of it, and only then applies the batch's table writes (see
``chatsync.agents.app`` for why). A record a stage cannot process goes to the DLQ with its
original bytes, logged once, and the partition keeps flowing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import faust
from pydantic import BaseModel, ValidationError

from chatsync.dlq import Headers, dead_letter_headers
from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.normalise.deals import DealOrMessageEvent
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import CustomerInput, DealInput
from chatsync.normalise.pipeline import Normaliser, Staged, StageEvents, StageOne
from chatsync.settings import Settings
from chatsync.tables.held import HeldWrites
from chatsync.tables.state import (
    ChangelogRecord,
    TableState,
    changelog_records,
    declare_tables,
    in_context_of,
    publish_changelog,
)

log = logging.getLogger(__name__)
# What a bad record raises in the pure stages (a bug elsewhere propagates and stops the worker).
BAD_RECORD = (NormaliseError, ValidationError, KeyError, TypeError, ValueError)


def raw_topic(app: faust.App, *names: str, **options: Any) -> faust.TopicT:
    """A topic of bytes keys and values (the stages decode JSON themselves)."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", **options)  # fmt: skip


# Sends one record to a channel; what it returns resolves once the record is acknowledged.
Send = Callable[
    [faust.ChannelT[bytes], bytes | None, bytes, Headers | None], Awaitable[Awaitable[Any]]
]


async def send_to_channel(
    channel: faust.ChannelT[bytes], key: bytes | None, value: bytes, headers: Headers | None
) -> Awaitable[Any]:
    return await channel.send(key=key, value=value, headers=headers)


def send_to_kafka(app: faust.App) -> Send:
    """Records straight to the app's Kafka producer. Faust's ``Topic.send`` wraps each record in
    a future message with codecs and sensor calls, which cost a tenth of the worker's CPU."""

    async def send(
        channel: faust.ChannelT[bytes], key: bytes | None, value: bytes, headers: Headers | None
    ) -> Awaitable[Any]:
        topic = channel.get_topic_name()
        return await app.producer.send(topic, key, value, partition=None, timestamp=None,
                                       headers=headers)  # fmt: skip

    return send


@dataclass(frozen=True)
class Outputs:
    """Where the agents send: the normalised topics, the internal hops and the DLQ (channels
    instead of topics in the Faust-level tests)."""

    deal_inputs: faust.ChannelT[bytes]
    customer_inputs: faust.ChannelT[bytes]
    deals: faust.ChannelT[bytes]
    messages: faust.ChannelT[bytes]
    customers: faust.ChannelT[bytes]
    dlq: faust.ChannelT[bytes]
    send: Send = send_to_channel

    @classmethod
    def topics(cls, app: faust.App, settings: Settings) -> Outputs:
        partitions = settings.kafka_topic_partitions
        prefix = settings.worker_app_id
        return cls(
            deal_inputs=raw_topic(app, f"{prefix}-deal-inputs", internal=True,
                                  partitions=partitions),
            customer_inputs=raw_topic(app, f"{prefix}-customer-inputs", internal=True,
                                      partitions=partitions),
            deals=raw_topic(app, settings.topic_deals),
            messages=raw_topic(app, settings.topic_messages),
            customers=raw_topic(app, settings.topic_customers),
            dlq=raw_topic(app, settings.topic_dlq),
            send=send_to_kafka(app),
        )  # fmt: skip

    async def event(
        self, event: DealOrMessageEvent | CustomerCreated | CustomerUpdated
    ) -> Awaitable[Any]:
        if isinstance(event, CustomerCreated | CustomerUpdated):
            topic, key = self.customers, event.data.customer_id
        elif event.event_type.startswith("deal."):
            topic, key = self.deals, event.deal_id
        else:
            topic, key = self.messages, event.deal_id
        return await self.send(topic, key.encode(), event.model_dump_json().encode(),
                               [("event_type", event.event_type.encode())])  # fmt: skip

    async def internal(
        self, topic: faust.ChannelT[bytes], key: str, value: BaseModel
    ) -> Awaitable[Any]:
        return await self.send(topic, key.encode(), value.model_dump_json().encode(), None)

    async def dead_letter(
        self, stage: str, event: faust.EventT[bytes], error: Exception
    ) -> Awaitable[Any]:
        message = event.message
        reason = f"{type(error).__name__}: {error}"
        log.warning("%s: record %s[%d]@%d dead-lettered: %s", stage, message.topic,
                    message.partition, message.offset, reason)  # fmt: skip
        headers = dead_letter_headers(
            stage, reason, topic=message.topic, partition=message.partition, offset=message.offset
        )
        return await self.send(self.dlq, event.key, event.value, headers)


Stage = Callable[[faust.EventT[bytes]], Staged]
Publish = Callable[[Any], Awaitable[list[Awaitable[Any]]]]
PublishChangelog = Callable[[list[ChangelogRecord]], Awaitable[None]]


async def run_in_batches(
    stream: faust.StreamT[bytes], name: str, held: HeldWrites, stage: Stage, publish: Publish,
    publish_tables: PublishChangelog, outputs: Outputs, settings: Settings,
) -> AsyncIterator[None]:  # fmt: skip
    """Run ``stage`` over batches of records: each record's writes are held (later records of the
    batch read them), everything the batch produced is sent and acknowledged at once, then the
    held writes reach the tables; Faust commits the batch's offsets after that."""
    within = settings.worker_batch_wait_ms / 1000
    held.discard()  # an agent restarted after a crash: the crashed batch's writes never apply
    batches = stream.take_events(settings.worker_batch_size, within=within)  # type: ignore[attr-defined]
    async for batch in batches:
        sends: list[Awaitable[Any]] = []
        for event in batch:
            held.tag = event
            try:
                staged = in_context_of(event, partial(stage, event))
            except BAD_RECORD as error:
                sends.append(await outputs.dead_letter(name, event, error))
                continue
            sends.extend(await publish(staged))
            staged.commit()
        await asyncio.gather(*sends)
        with changelog_records() as changelog:
            held.flush(in_context_of)
        await publish_tables(changelog)  # before Faust may commit the batch (AcknowledgedTable)
        yield None


def register_agents(
    app: faust.App, settings: Settings, outputs: Outputs | None = None
) -> dict[str, faust.types.AgentT[Any]]:
    """The three agents (by name), sending to ``outputs`` (by default the configured topics)."""
    outputs = outputs or Outputs.topics(app, settings)
    tables = TableState(declare_tables(app, settings.kafka_topic_partitions))
    raw = raw_topic(app, settings.topic_raw_botapi, settings.topic_raw_mtproto)

    agents: dict[str, faust.types.AgentT[Any]] = {}

    async def publish_tables(records: list[ChangelogRecord]) -> None:
        await publish_changelog(app.producer, records)

    def agent(topic: faust.ChannelT[bytes], name: str, stage: Callable[[Normaliser], Stage],
              publish: Publish, dlq_stage: str) -> None:  # fmt: skip
        held = HeldWrites(tables)  # each agent holds the writes of its own batch
        run_stage = stage(Normaliser(held))

        async def process(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for _ in run_in_batches(stream, dlq_stage, held, run_stage, publish,
                                          publish_tables, outputs, settings):  # fmt: skip
                yield None

        agents[name] = app.agent(topic, name=name)(process)

    def resolve(normaliser: Normaliser) -> Stage:
        def run(event: faust.EventT[bytes]) -> StageOne:
            message = event.message
            return normaliser.stage_one(event.value, message.topic, message.partition,
                                        message.offset)  # fmt: skip

        return run

    async def publish_inputs(staged: StageOne) -> list[Awaitable[Any]]:
        sends = [await outputs.internal(outputs.deal_inputs, d.deal_id, d) for d in staged.deals]
        for customer in staged.customers:
            key = str(customer.profile.user_id)
            sends.append(await outputs.internal(outputs.customer_inputs, key, customer))
        return sends

    def deals(normaliser: Normaliser) -> Stage:
        counted = itertools.count()

        def run(event: faust.EventT[bytes]) -> StageEvents:
            # The input's offset is its position; records of in-memory channels (the Faust-level
            # tests) have none (-1), and count in the order this process takes them.
            offset = event.message.offset
            position = offset if offset is not None and offset >= 0 else next(counted)
            return normaliser.stage_two(DealInput.model_validate_json(event.value), position)

        return run

    def customers(normaliser: Normaliser) -> Stage:
        return lambda event: normaliser.stage_three(CustomerInput.model_validate_json(event.value))

    async def publish_events(staged: StageEvents) -> list[Awaitable[Any]]:
        return [await outputs.event(event) for event in staged.events]

    # The stage names in the DLQ headers are a documented contract (README, chatsync.dlq).
    agent(raw, "resolve", resolve, publish_inputs, dlq_stage="normalise")
    agent(outputs.deal_inputs, "deals", deals, publish_events, dlq_stage="deals")
    agent(outputs.customer_inputs, "customers", customers, publish_events, dlq_stage="customers")
    return agents
