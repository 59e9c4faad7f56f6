"""The sink port without a store: back-pressure keeps records, decoding, outages, backoff."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from chatsync.infra.sinks.base import BatchingSink, SinkBatch, SinkRecord
from chatsync.infra.sinks.dynamodb import DynamoDBSink
from chatsync.infra.sinks.errors import SinkBackpressure, UndecodableRecord
from chatsync.infra.sinks.outages import backpressure_on_outage, is_outage
from chatsync.infra.sinks.policy import Backoff, SinkOptions
from chatsync.infra.sinks.postgres import PostgresSink
from chatsync.settings import Settings
from tests.unit.sinks.factories import created, customer_event, deal_event


class FlakySink(BatchingSink[int]):
    """Refuses the first ``outages`` writes; remembers every batch it was handed."""

    name = "flaky"
    topics = ("numbers",)

    def __init__(self, outages: int) -> None:
        super().__init__()
        self.outages = outages
        self.batches: list[list[int]] = []

    def decode(self, topic: str, key: bytes | None, value: bytes) -> int:
        return int(value)

    async def write(self, batch: SinkBatch[int]) -> int:
        self.batches.append(batch.values())
        if self.outages:
            self.outages -= 1
            raise SinkBackpressure("down", retry_after=1.0)
        return len(batch)


def _add(sink: BatchingSink[int], *values: int) -> None:
    for offset, value in enumerate(values):
        sink.add(SinkRecord("numbers", 0, offset, value))


async def test_records_stay_pending_through_back_pressure_and_are_written_once_it_ends() -> None:
    sink = FlakySink(outages=2)
    _add(sink, 1, 2)
    for _ in range(2):
        with pytest.raises(SinkBackpressure):
            await sink.flush()
        assert sink.pending == 2
    _add(sink, 3)
    assert await sink.flush() == 3
    assert sink.batches == [[1, 2], [1, 2], [1, 2, 3]]
    assert sink.pending == 0
    assert await sink.flush() == 0
    assert len(sink.batches) == 3, "an empty flush writes nothing"


def test_discard_forgets_what_will_not_be_committed() -> None:
    sink = FlakySink(outages=0)
    _add(sink, 1)
    sink.discard()
    assert sink.pending == 0


def _postgres_sink() -> PostgresSink:
    engine = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")  # not connected
    return PostgresSink(engine, deals_topic="deals", customers_topic="customers")


def test_the_postgres_sink_decodes_its_events_and_refuses_anything_else() -> None:
    sink = _postgres_sink()
    deal, customer = deal_event(1), customer_event(1)
    assert sink.decode("deals", None, deal.model_dump_json().encode()) == deal
    assert sink.decode("customers", None, customer.model_dump_json().encode()) == customer
    for topic, value in [
        ("deals", b"{not json"),
        ("deals", customer.model_dump_json().encode()),
        ("customers", b"{}"),
        ("elsewhere", deal.model_dump_json().encode()),
    ]:
        with pytest.raises(UndecodableRecord):
            sink.decode(topic, None, value)


def test_an_id_too_long_for_its_column_is_undecodable_not_a_stuck_partition() -> None:
    long_deal = deal_event(1, deal="deal_" + "x" * 64)
    with pytest.raises(UndecodableRecord, match="longer than 64"):
        _postgres_sink().decode("deals", None, long_deal.model_dump_json().encode())


def test_the_dynamodb_sink_decodes_message_events_only() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    sink = DynamoDBSink(cast(Any, None), engine, table="t", messages_topic="messages")
    message = created(1, 100, "hi")
    assert sink.decode("messages", b"k", message.model_dump_json().encode()) == message
    for value in (b"", b"[]", deal_event(1).model_dump_json().encode()):
        with pytest.raises(UndecodableRecord):
            sink.decode("messages", None, value)


def _wrapped(cause: Exception) -> DBAPIError:
    """How SQLAlchemy reports a driver error while connecting (not marked as a disconnect)."""
    try:
        raise DBAPIError("connect", {}, Exception(str(cause))) from cause
    except DBAPIError as error:
        return error


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "refused"),
    _wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
    TimeoutError(),
    OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:8000"),
    ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchWriteItem"),
])  # fmt: skip
def test_outages_are_back_pressure(error: Exception) -> None:
    assert is_outage(error)
    with pytest.raises(SinkBackpressure), backpressure_on_outage("store"):
        raise error


@pytest.mark.parametrize("error", [
    IntegrityError("INSERT", {}, Exception("duplicate key")),
    _wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
    ParamValidationError(report="bad"),
    ClientError({"Error": {"Code": "ValidationException"}}, "BatchWriteItem"),
    ValueError("a bug"),
])  # fmt: skip
def test_bugs_are_not_retried_forever(error: Exception) -> None:
    assert not is_outage(error)
    with pytest.raises(type(error)), backpressure_on_outage("store"):
        raise error


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.2, max_s=5.0, multiplier=2.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert backoff.delay(10_000) == 5.0


def test_jitter_only_shortens_and_a_stores_retry_after_wins() -> None:
    backoff = Backoff(initial_s=1.0, max_s=10.0, jitter=0.5)
    assert backoff.delay(0, spread=0.0) == 1.0
    assert backoff.delay(0, spread=0.999) == pytest.approx(0.5005)
    assert backoff.delay(0, retry_after=3.0, spread=0.5) == 3.0


def test_options_default_without_sink_settings() -> None:
    options = SinkOptions.from_settings(Settings(_env_file=None))
    assert options == SinkOptions()
