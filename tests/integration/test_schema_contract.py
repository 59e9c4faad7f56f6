"""A consumer that is not chatsync reads the normalised topics: every value validates.

The demo feed's normalised events (the real pure pipeline, as in ``tests/unit/test_schemas.py``)
are written to fresh topics on the real broker exactly as the worker writes them (key, value and
``event_type`` header), then read back with Debian's ``kcat`` and checked against nothing but the
published files: ``schemas/asyncapi.yaml`` says which event types, key and header each topic
carries, and every value validates against its topic's ``oneOf`` of the JSON Schemas under
``schemas/events/``, resolved by their ``$id``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, get_args

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from aiokafka import AIOKafkaProducer

from chatsync.infra.stack.stack import Stack
from chatsync.schemas import (
    ASYNCAPI_FILE,
    EVENT_TOPICS,
    SCHEMA_BASE_URI,
    default_settings,
    event_type_of,
)
from chatsync.topics import declared_topics
from tests.unit.test_schemas import SCHEMAS, demo_events, wire_key

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat (Debian package) not installed"),
    pytest.mark.skipif(
        importlib.util.find_spec("jsonschema") is None,
        reason="jsonschema is not installed (add it to the dev dependencies)",
    ),
]
TopicFactory = Callable[..., Awaitable[str]]
Json = dict[str, Any]
KCAT_TIMEOUT_S = 60


async def _kcat_records(servers: str, topic: str) -> list[Json]:
    """Every record of ``topic`` as kcat's JSON envelope (-J): key, payload, headers, ..."""
    process = await asyncio.create_subprocess_exec(
        "kcat", "-b", servers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), KCAT_TIMEOUT_S)
    assert process.returncode == 0, stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def _headers(record: Json) -> dict[str, str]:
    """kcat -J writes headers as a flat list: name, value, name, value, ..."""
    flat = record.get("headers") or []
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _topic_contract(asyncapi: Json, topic: str) -> tuple[Json, dict[str, Json]]:
    """The topic's value schema (its ``oneOf``) and, by payload file, each message's key schema."""
    [channel] = [c for c in asyncapi["channels"].values() if c["address"] == topic]
    keys: dict[str, Json] = {}
    for ref in channel["messages"].values():
        message = asyncapi["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
        keys[message["payload"]["$ref"]] = message["bindings"]["kafka"]["key"]
    [value] = [
        schema
        for schema in asyncapi["components"]["schemas"].values()
        if sorted(r["$ref"] for r in schema.get("oneOf", [])) == sorted(keys)
    ]
    return value, keys


async def test_kcat_reads_normalised_values_that_validate_against_the_published_schemas(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    jsonschema: ModuleType = importlib.import_module("jsonschema")
    referencing: ModuleType = importlib.import_module("referencing")  # jsonschema's resolver
    servers = local_stack.settings.kafka_bootstrap_servers
    published = declared_topics(default_settings())
    asyncapi: Json = yaml.safe_load((SCHEMAS / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    schemas = [json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.rglob("*.schema.json")]
    registry = referencing.Registry().with_resources(
        (schema["$id"], referencing.Resource.from_contents(schema)) for schema in schemas
    )

    # A fresh topic stands in for each normalised topic, with its partitions and cleanup policy.
    fresh: dict[str, str] = {}
    by_type: dict[str, str] = {}
    settings = default_settings()
    for field, union in EVENT_TOPICS.items():
        [spec] = [s for s in published if s.name == getattr(settings, field)]
        fresh[spec.name] = await topic_factory(
            partitions=spec.partitions, compact=spec.cleanup_policy == "compact"
        )
        for model in get_args(union):
            by_type[event_type_of(model)] = spec.name

    events = demo_events()
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [
            await producer.send(
                fresh[by_type[event.event_type]],
                key=wire_key(event).encode(),
                value=event.model_dump_json().encode(),  # exactly what the worker sends
                headers=[("event_type", event.event_type.encode())],
            )
            for event in events
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()

    for published_topic, topic in fresh.items():
        expected = [e for e in events if by_type[e.event_type] == published_topic]
        records = await _kcat_records(servers, topic)
        assert len(records) == len(expected), published_topic
        value_schema, key_schemas = _topic_contract(asyncapi, published_topic)
        topic_validator = jsonschema.Draft202012Validator(
            {"$id": f"{SCHEMA_BASE_URI}{ASYNCAPI_FILE}", **value_schema}, registry=registry
        )
        seen: list[str] = []
        for record in records:
            value = json.loads(record["payload"])
            where = f"{published_topic} offset {record['offset']} ({value.get('event_type')})"
            payload_file = f"./events/{value.get('event_type')}.schema.json"
            assert payload_file in key_schemas, f"{where}: not an event type of this topic"
            own = jsonschema.Draft202012Validator(
                registry.contents(f"{SCHEMA_BASE_URI}{payload_file.removeprefix('./')}")
            )
            errors = [f"{e.json_path}: {e.message}" for e in own.iter_errors(value)]
            assert not errors, f"{where}: {errors}"
            assert topic_validator.is_valid(value), f"{where}: not exactly one of the topic's types"
            jsonschema.validate(record["key"], key_schemas[payload_file])
            assert _headers(record) == {"event_type": value["event_type"]}
            seen.append(value["event_id"])
        assert Counter(seen) == Counter(e.event_id for e in expected), published_topic
