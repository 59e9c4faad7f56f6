"""The sink runner: batching, retries with backoff and offset safety, written once for every sink.

One aiokafka consumer per sink (group ``chatsync-sink-<name>``, no auto-commit, read_committed,
from the earliest offset for a new group, so a new sink rebuilds its store from the topics)::

    getmany (up to SINK_BATCH_MAX_RECORDS, waiting up to SINK_BATCH_MAX_WAIT_MS for more)
      -> sink.decode + sink.add         a record that cannot be decoded -> chat.dlq, flows on
      -> dead letters acknowledged      (Kafka down: retried like a store outage)
      -> sink.flush()                   SinkBackpressure: wait (exponential backoff), flush again
      -> commit the offsets after the last record of each partition

Offset safety: offsets are committed only after everything before them was written (or, for
undecodable records, acknowledged by the DLQ), so nothing is skipped; a crash before the commit
writes the tail again, which the sinks' version-guarded writes make harmless. While a store is
down the runner keeps its batch, pauses its partitions and keeps polling (so the group does not
evict it), refreshes the lag, and writes the batch as soon as the store answers: it catches up
by itself. A rebalance during that wait drops the batch uncommitted; the partitions' next owner
reads it again from the last committed offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from chatsync.dlq import dead_letter_headers
from chatsync.infra.sinks.base import BatchingSink, SinkRecord
from chatsync.infra.sinks.errors import SinkBackpressure, UndecodableRecord
from chatsync.infra.sinks.metrics import SinkMetrics, TopicPartitionKey
from chatsync.infra.sinks.policy import SinkOptions
from chatsync.producers.errors import PublishUnavailable
from chatsync.producers.publisher import Publisher

log = logging.getLogger(__name__)
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Fetched: TypeAlias = "dict[TopicPartition, list[Record]]"
_RETRYABLE = (SinkBackpressure, PublishUnavailable)


class SinkRunner:
    """Consumes a sink's topics and writes them through the sink until ``stop()``."""

    def __init__(
        self, sink: BatchingSink[Any], *, bootstrap_servers: str, dlq: Publisher,
        dlq_topic: str, options: SinkOptions | None = None, group_id: str | None = None,
    ) -> None:  # fmt: skip
        self.sink, self._servers = sink, bootstrap_servers
        self._dlq, self._dlq_topic = dlq, dlq_topic
        self.options = options or SinkOptions()
        self.group_id = group_id or f"chatsync-sink-{sink.name}"
        self.metrics = SinkMetrics(sink.name)
        self._stopping = asyncio.Event()
        self._generation = 0  # bumped by every rebalance
        self._to_commit: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartitionKey, int] = {}

    def stop(self) -> None:
        """Finish the current batch (unless a store is down) and return from ``run``."""
        self._stopping.set()

    async def run(self) -> None:
        consumer = await self._start()
        if consumer is None:
            return
        lag = asyncio.create_task(self._lag_loop(consumer))
        try:
            while not self._stopping.is_set():
                await self._step(consumer)
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            self.sink.discard()
            await consumer.stop()

    async def _start(self) -> AIOKafkaConsumer | None:
        """A started consumer; while Kafka is unreachable, keep trying (None: stopped)."""
        attempt = 0
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._servers, group_id=self.group_id,
                client_id=self.group_id, enable_auto_commit=False,
                isolation_level="read_committed", auto_offset_reset="earliest",
                max_poll_records=self.options.batch_max_records,
            )  # fmt: skip
            consumer.subscribe(list(self.sink.topics), listener=_Rebalance(self))
            try:
                await consumer.start()
            except KafkaError as exc:
                await consumer.stop()
                delay = self.options.backoff.delay(attempt, spread=random.random())  # noqa: S311
                log.warning("sink %s: Kafka not reachable (%r); retrying in %.1f s",
                            self.sink.name, exc, delay)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                attempt += 1
                continue
            log.info("sink %s consuming %s as %s", self.sink.name, ", ".join(self.sink.topics),
                     self.group_id)  # fmt: skip
            return consumer
        return None

    async def _step(self, consumer: AIOKafkaConsumer) -> None:
        generation = self._generation
        fetched = await self._collect(consumer)
        if fetched:
            dead = self._add(fetched)
            written = await self._retrying(consumer, generation, lambda: self._dead_letter(dead))
            written = written and await self._retrying(consumer, generation, self._flush)
            if not written or generation != self._generation:
                self._rewind(consumer, fetched)
                return
            self._to_commit.update({tp: rs[-1].offset + 1 for tp, rs in fetched.items()})
            await self._commit(consumer)

    async def _collect(self, consumer: AIOKafkaConsumer) -> Fetched:
        """Up to batch_max_records, waiting at most batch_max_wait_s after the first record."""
        loop, options = asyncio.get_running_loop(), self.options
        fetched: Fetched = {}
        count, deadline = 0, loop.time() + options.batch_max_wait_s
        while count < options.batch_max_records and not self._stopping.is_set():
            wait_ms = int(max(0.0, deadline - loop.time()) * 1000)
            room = options.batch_max_records - count
            more = await consumer.getmany(timeout_ms=wait_ms, max_records=room)
            for tp, records in more.items():
                fetched.setdefault(tp, []).extend(records)
                count += len(records)
            if not more or wait_ms == 0:
                break
        return fetched

    def _rewind(self, consumer: AIOKafkaConsumer, fetched: Fetched) -> None:
        """Give up the batch uncommitted (a rebalance, a stop): forget its records and move back
        to its first record in the partitions this member still owns, so none is skipped; the
        owner of the others reads them again from the last committed offset."""
        self.sink.discard()
        assigned = consumer.assignment()
        for tp, records in fetched.items():
            if tp in assigned:
                consumer.seek(tp, records[0].offset)

    def _add(self, fetched: Fetched) -> list[tuple[Record, str]]:
        """Decode and add every record; return the undecodable ones with the reason."""
        dead: list[tuple[Record, str]] = []
        for records in fetched.values():
            for record in records:
                self.metrics.records += 1
                try:
                    if record.value is None:
                        raise UndecodableRecord("a tombstone (null value): sinks never delete")
                    value = self.sink.decode(record.topic, record.key, record.value)
                except UndecodableRecord as exc:
                    dead.append((record, f"{type(exc).__name__}: {exc}"))
                    continue
                self.sink.add(SinkRecord(record.topic, record.partition, record.offset, value))
        return dead

    async def _dead_letter(self, dead: list[tuple[Record, str]]) -> None:
        """Send each undecodable record to the DLQ (removed from ``dead`` once acknowledged)."""
        while dead:
            record, reason = dead[0]
            headers = dead_letter_headers(
                f"sink:{self.sink.name}", reason,
                topic=record.topic, partition=record.partition, offset=record.offset,
            )  # fmt: skip
            await self._dlq.publish(self._dlq_topic, record.key, record.value or b"",
                                    headers=headers)  # fmt: skip
            log.warning("sink %s: %s[%d]@%d dead-lettered: %s", self.sink.name, record.topic,
                        record.partition, record.offset, reason)  # fmt: skip
            self.metrics.dead_letters += 1
            dead.pop(0)

    async def _flush(self) -> None:
        if not self.sink.pending:
            return
        started = time.perf_counter()
        rows = await self.sink.flush()
        if self.metrics.consecutive_errors:
            log.info("sink %s: store is back after %d failed attempts", self.sink.name,
                     self.metrics.consecutive_errors)  # fmt: skip
        self.metrics.flushed(rows, time.perf_counter() - started, time.time())

    async def _retrying(
        self, consumer: AIOKafkaConsumer, generation: int, action: Callable[[], Awaitable[None]]
    ) -> bool:
        """Run ``action`` until it succeeds (True), or a stop or rebalance ends the wait (False)."""
        attempt = 0
        while True:
            try:
                await action()
                return True
            except _RETRYABLE as exc:
                self.metrics.failed(exc)
                retry_after = exc.retry_after if isinstance(exc, SinkBackpressure) else 0.0
                delay = self.options.backoff.delay(attempt, retry_after=retry_after,
                                                   spread=random.random())  # noqa: S311  # fmt: skip
                log.warning("sink %s: %s; nothing committed, retrying in %.1f s (attempt %d)",
                            self.sink.name, exc, delay, attempt + 1)  # fmt: skip
                await self._wait(consumer, delay)
                attempt += 1
            if self._stopping.is_set() or generation != self._generation:
                return False

    async def _wait(self, consumer: AIOKafkaConsumer, seconds: float) -> None:
        """Sleep with the partitions paused, polling so the group keeps this member."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        paused = consumer.assignment()
        consumer.pause(*paused)
        try:
            while not self._stopping.is_set() and (left := deadline - loop.time()) > 0:
                stray = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
                for tp, records in stray.items():  # a partition assigned meanwhile: not yet
                    consumer.seek(tp, records[0].offset)
        finally:
            consumer.resume(*(tp for tp in paused if tp in consumer.assignment()))

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in self._to_commit.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # kept in _to_commit; the next commit carries it
            log.warning("sink %s: commit failed (%r); the records will be read again if this "
                        "member stops before the next commit", self.sink.name, exc)  # fmt: skip
            return
        for tp, offset in offsets.items():
            del self._to_commit[tp]
            self._committed[(tp.topic, tp.partition)] = offset
        self.metrics.committed = dict(self._committed)

    async def _lag_loop(self, consumer: AIOKafkaConsumer) -> None:
        """Refresh the lag every lag_refresh_s, beside the batches (it takes round trips)."""
        while True:
            await self._refresh_lag(consumer)
            await asyncio.sleep(self.options.lag_refresh_s)

    async def _refresh_lag(self, consumer: AIOKafkaConsumer) -> None:
        assigned = sorted(consumer.assignment())
        try:
            ends = await consumer.end_offsets(assigned) if assigned else {}
            unknown = [tp for tp in assigned if (tp.topic, tp.partition) not in self._committed]
            for tp in unknown:  # once per assignment; then our own commits keep it current
                committed = await consumer.committed(tp)
                if committed is None:
                    committed = (await consumer.beginning_offsets([tp]))[tp]
                self._committed.setdefault((tp.topic, tp.partition), committed)
        except KafkaError as exc:
            log.debug("sink %s: lag not refreshed: %r", self.sink.name, exc)
            return
        self.metrics.update_lag({(tp.topic, tp.partition): end for tp, end in ends.items()},
                                self._committed)  # fmt: skip

    def _rebalanced(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1
        for tp in revoked:
            self._to_commit.pop(tp, None)
            self._committed.pop((tp.topic, tp.partition), None)
        self.metrics.committed = dict(self._committed)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: SinkRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._runner._rebalanced(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("sink %s assigned %s", self._runner.sink.name,
                 ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)))  # fmt: skip
