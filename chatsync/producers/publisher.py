"""Durable writes to Kafka for the producers: idempotent, ``acks=all``, bounded in time.

A producer acknowledges an update to Telegram only after ``publish`` returned, which is after the
broker acknowledged the record on all in-sync replicas. When the broker does not answer within the
bound, ``publish`` raises PublishUnavailable and the caller answers "retry later".

Telegram then redelivers the same update. The record of the first attempt may still be in the
producer's buffer and reach Kafka later; to keep one copy in Kafka, attempts carry a dedupe key
(the update's identity) and a repeated attempt waits for the pending delivery of the first one
instead of sending a second record. Across processes and restarts the agents deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from chatsync.dlq import Headers
from chatsync.producers.errors import PublishUnavailable

log = logging.getLogger(__name__)
RECENT_DELIVERIES = 50_000
RECONNECT_EVERY_S = 2.0


class Publisher(Protocol):
    """Where producers put records (RawPublisher; a fake in unit tests)."""

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None: ...


class RawPublisher:
    """One idempotent Kafka producer shared by every request of a process."""

    def __init__(self, bootstrap_servers: str, *, ack_timeout_s: float, client_id: str) -> None:
        self._servers, self._timeout, self._client_id = bootstrap_servers, ack_timeout_s, client_id
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._recent: OrderedDict[str, asyncio.Future[Any]] = OrderedDict()

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        """Connect, or keep trying in the background (publishing fails fast until connected)."""
        if not await self._try_connect():
            self._connecting = asyncio.create_task(self._reconnect_loop())

    async def _try_connect(self) -> bool:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._servers,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            max_batch_size=512 * 1024,
            request_timeout_ms=30_000,
        )
        try:
            await producer.start()
        except KafkaError as exc:
            log.warning("Kafka at %s not reachable yet (%s); retrying", self._servers, exc)
            await producer.stop()
            return False
        self._producer = producer
        log.info("connected to Kafka at %s", self._servers)
        return True

    async def _reconnect_loop(self) -> None:
        while not await self._try_connect():  # noqa: ASYNC110 - polling a remote broker
            await asyncio.sleep(RECONNECT_EVERY_S)

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Return once Kafka acknowledged the record; raise PublishUnavailable otherwise."""
        producer = self._producer
        if producer is None:
            raise PublishUnavailable("not connected to Kafka")
        try:
            delivery = self._pending_or_done(dedupe_key)
            if delivery is None:
                sent: asyncio.Future[Any] = await asyncio.wait_for(
                    producer.send(topic, value, key=key, headers=headers), self._timeout
                )
                self._remember(dedupe_key, sent)
                delivery = sent
            # shield: a timeout here must not cancel the delivery a redelivery may wait for.
            await asyncio.wait_for(asyncio.shield(delivery), self._timeout)
        except (TimeoutError, KafkaError) as exc:
            raise PublishUnavailable(f"Kafka did not acknowledge in time: {exc!r}") from exc

    def _pending_or_done(self, dedupe_key: str | None) -> asyncio.Future[Any] | None:
        """The earlier delivery of the same update, unless it failed (then send again)."""
        if dedupe_key is None:
            return None
        delivery = self._recent.get(dedupe_key)
        if delivery is None or (
            delivery.done() and (delivery.cancelled() or delivery.exception() is not None)
        ):
            return None
        return delivery

    def _remember(self, dedupe_key: str | None, delivery: asyncio.Future[Any]) -> None:
        if dedupe_key is None:
            return
        # Retrieve a failure so asyncio does not log "exception was never retrieved".
        delivery.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._recent[dedupe_key] = delivery
        self._recent.move_to_end(dedupe_key)
        while len(self._recent) > RECENT_DELIVERIES:
            self._recent.popitem(last=False)
