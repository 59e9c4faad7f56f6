"""The published contract under ``schemas/`` against the code.

The files are what ``python -m chatsync.schemas`` generates (no drift), every schema is a valid
JSON Schema, every event the real pipeline produces from the demo feed validates against its
type's schema (and broken ones do not), and the AsyncAPI document lists every declared topic and
references files that exist.

The validation tests need the ``jsonschema`` package (a dev dependency); without it they are
skipped, with that reason.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from chatsync.dlq import dead_letter_headers
from chatsync.envelopes import RawEnvelope
from chatsync.events import EVENT_TYPES, CustomerCreated, CustomerUpdated
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates
from chatsync.schemas import (
    ASYNCAPI_FILE,
    CHANNEL_ROLES,
    EVENT_TOPICS,
    JSON_SCHEMA_DIALECT,
    RAW_ENVELOPE_FILE,
    SCHEMA_BASE_URI,
    default_settings,
    drift,
    event_schema_path,
    event_type_of,
    generated_files,
    main,
)
from chatsync.topics import declared_topics

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
RAW_TOPIC = "tg.raw.botapi"
Json = dict[str, Any]


# --- samples: the demo feed through the real pure pipeline ------------------------------------


def _renamed_customer(updates: list[Json]) -> Json:
    """One more message from the feed's first writing customer, under a new username.

    The demo feed never changes a profile, so it has no ``customer.updated``; this adds one.
    """
    first = next(
        u
        for u in updates
        if "text" in u.get("business_message", {})
        and u["business_message"]["from"]["id"] == u["business_message"]["chat"]["id"]
    )
    sent = [u["business_message"] for u in updates if "business_message" in u]
    update = copy.deepcopy(first)
    message = update["business_message"]
    update["update_id"] = max(u["update_id"] for u in updates) + 1
    message["message_id"] = max(m["message_id"] for m in sent) + 1
    message["date"] = max(m["date"] for m in sent) + 60
    message["text"] = "I changed my username"
    message["from"]["username"] = message["chat"]["username"] = "renamed_customer"
    return update


def demo_records() -> list[bytes]:
    """The demo feed (plus a renamed customer) as raw Bot API records, as the webhook writes."""
    updates = demo_updates()
    updates.append(_renamed_customer(updates))
    return [botapi_envelope(u, describe_update(u), 1).to_bytes() for u in updates]


def demo_events() -> list[NormalisedEvent]:
    """Every event the real pure pipeline produces from :func:`demo_records`, in order."""
    normaliser = MemoryNormaliser()
    events: list[NormalisedEvent] = []
    for offset, record in enumerate(demo_records()):
        events.extend(normaliser.process(record, RAW_TOPIC, 0, offset))
    return events


def wire_key(event: NormalisedEvent) -> str:
    """The record key the worker uses (``chatsync.agents.normalise.Outputs.event``)."""
    if isinstance(event, CustomerCreated | CustomerUpdated):
        return event.data.customer_id
    return event.deal_id


def wire_value(event: NormalisedEvent) -> Json:
    """The record value exactly as the worker serializes it, parsed back."""
    parsed: Json = json.loads(event.model_dump_json().encode())
    return parsed


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jsonschema() -> ModuleType:
    module: ModuleType = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (add it to the dev dependencies)"
    )
    return module


@pytest.fixture(scope="module")
def events() -> list[NormalisedEvent]:
    return demo_events()


@pytest.fixture(scope="module")
def published() -> dict[str, Json]:
    """Every JSON Schema file on disk, by path relative to ``schemas/``."""
    return {
        path.relative_to(SCHEMAS).as_posix(): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMAS.rglob("*.schema.json"))
    }


@pytest.fixture(scope="module")
def asyncapi() -> Json:
    document: Json = yaml.safe_load((SCHEMAS / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def validator(jsonschema: ModuleType, published: dict[str, Json]) -> Callable[[str], Any]:
    """A draft 2020-12 validator of a published schema file (path relative to ``schemas/``)."""
    cls = jsonschema.Draft202012Validator

    def make(path: str) -> Any:
        return cls(published[path], format_checker=cls.FORMAT_CHECKER)

    return make


# --- the files are the code's ---------------------------------------------------------------


def test_the_published_files_are_what_the_code_generates() -> None:
    problems = drift(SCHEMAS, generated_files())
    assert not problems, (
        "schemas/ drifted from the models; run `python -m chatsync.schemas` and commit the "
        "result:\n" + "\n".join(problems)
    )


def test_check_reports_a_changed_a_missing_and_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schemas"
    assert main(["--out", str(out)]) == 0
    assert main(["--check", "--out", str(out)]) == 0
    changed = out / event_schema_path("deal.created")
    changed.write_text(changed.read_text().replace('"deal_id"', '"deal"', 1))
    (out / RAW_ENVELOPE_FILE).unlink()
    (out / "events" / "deal.archived.schema.json").write_text("{}\n")
    capsys.readouterr()
    assert main(["--check", "--out", str(out)]) == 1
    report = capsys.readouterr().out
    assert f"{changed}: differs" in report
    assert f"{out / RAW_ENVELOPE_FILE}: missing" in report
    assert "deal.archived.schema.json: not generated any more" in report
    assert "run `python -m chatsync.schemas`" in report
    assert main(["--out", str(out)]) == 0
    assert not (out / "events" / "deal.archived.schema.json").exists()
    assert drift(out, generated_files()) == []


def test_generation_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = generated_files()
    monkeypatch.setenv("TOPIC_DEALS", "elsewhere.deals")
    monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", "12")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9092")
    assert generated_files() == before


def test_files_are_stable_text_with_a_trailing_newline() -> None:
    files = generated_files()
    assert files == generated_files()
    for rel, text in files.items():
        assert text.endswith("\n"), rel
        assert not text.endswith("\n\n"), rel
        assert "\r" not in text, rel
        if rel.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, sort_keys=True,
                                      ensure_ascii=False) + "\n"  # fmt: skip
    assert "&id0" not in files[ASYNCAPI_FILE]  # no YAML anchors: every node is spelled out


# --- the JSON Schemas ---------------------------------------------------------------------


def test_every_schema_is_a_valid_draft_2020_12_schema(
    jsonschema: ModuleType, published: dict[str, Json]
) -> None:
    expected = {event_schema_path(t) for t in EVENT_TYPES} | {RAW_ENVELOPE_FILE}
    assert set(published) == expected
    for rel, schema in published.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == JSON_SCHEMA_DIALECT, rel
        assert schema["$id"] == SCHEMA_BASE_URI + rel, rel
        assert schema["title"], rel
        assert schema["description"], rel
        assert schema["type"] == "object", rel
        assert schema["additionalProperties"] is False, rel


def test_each_event_schema_requires_its_fixed_event_type(published: dict[str, Json]) -> None:
    for event_type in EVENT_TYPES:
        schema = published[event_schema_path(event_type)]
        assert schema["properties"]["event_type"]["const"] == event_type
        assert schema["properties"]["schema_version"]["const"] == 1
        assert {"event_type", "event_id", "schema_version", "data"} <= set(schema["required"])


def test_demo_events_cover_every_event_type(events: list[NormalisedEvent]) -> None:
    assert set(Counter(e.event_type for e in events)) == set(EVENT_TYPES)


def test_every_demo_event_validates_against_its_schema_only(
    events: list[NormalisedEvent], validator: Callable[[str], Any]
) -> None:
    validators = {t: validator(event_schema_path(t)) for t in EVENT_TYPES}
    for event in events:
        value = wire_value(event)
        errors = [e.message for e in validators[event.event_type].iter_errors(value)]
        assert not errors, f"{event.event_type} {event.event_id}: {errors}"
        others = [t for t, v in validators.items() if t != event.event_type and v.is_valid(value)]
        assert others == [], f"{event.event_type} also validates as {others}"


def _without(path: tuple[str, ...]) -> Callable[[Json], None]:
    def mutate(value: Json) -> None:
        for part in path[:-1]:
            value = value[part]
        del value[path[-1]]

    return mutate


def _set(path: tuple[str, ...], new: object) -> Callable[[Json], None]:
    def mutate(value: Json) -> None:
        for part in path[:-1]:
            value = value[part]
        value[path[-1]] = new

    return mutate


MUTATIONS: dict[str, Callable[[Json], None]] = {
    "missing event_id": _without(("event_id",)),
    "missing event_type": _without(("event_type",)),
    "unknown event_type": _set(("event_type",), "deal.archived"),
    "schema_version 2": _set(("schema_version",), 2),
    "event_id not a string": _set(("event_id",), 42),
    "missing data": _without(("data",)),
    "missing data.version": _without(("data", "version")),
    "unknown field": _set(("surprise",), True),
    "source.kind unknown": _set(("source", "kind"), "carrier-pigeon"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_broken_event_does_not_validate(
    mutation: str, events: list[NormalisedEvent], validator: Callable[[str], Any]
) -> None:
    for event_type in EVENT_TYPES:
        sample = next(e for e in events if e.event_type == event_type)
        value = wire_value(sample)
        assert validator(event_schema_path(event_type)).is_valid(value)
        MUTATIONS[mutation](value)
        assert not validator(event_schema_path(event_type)).is_valid(value), event_type


def test_an_event_of_another_type_does_not_validate(
    events: list[NormalisedEvent], validator: Callable[[str], Any]
) -> None:
    created = wire_value(next(e for e in events if e.event_type == "message.created"))
    created["event_type"] = "message.edited"  # the same shape, the wrong type for this schema
    assert not validator(event_schema_path("message.created")).is_valid(created)


def test_raw_envelopes_validate_and_broken_ones_do_not(validator: Callable[[str], Any]) -> None:
    envelope = validator(RAW_ENVELOPE_FILE)
    records = demo_records()
    mtproto = RawEnvelope(source="mtproto", update_type="new_message", account_user_id=5,
                          chat_id=7, payload={"id": 1})  # fmt: skip
    for record in [*records, mtproto.to_bytes()]:
        value = json.loads(record)
        errors = [e.message for e in envelope.iter_errors(value)]
        assert not errors, errors
    broken = json.loads(records[0])
    del broken["source"]
    assert not envelope.is_valid(broken)
    assert not envelope.is_valid({**json.loads(records[0]), "payload": "not an object"})
    assert not envelope.is_valid({**json.loads(records[0]), "schema_version": 2})


def test_each_topic_value_schema_takes_exactly_its_event_types(
    jsonschema: ModuleType,
    published: dict[str, Json],
    asyncapi: Json,
    events: list[NormalisedEvent],
) -> None:
    """``components.schemas`` holds each topic's ``oneOf``; its relative ``$ref``s, resolved
    against the document's published address, are the event schemas' ``$id``s."""
    referencing: ModuleType = pytest.importorskip("referencing")
    registry = referencing.Registry().with_resources(
        (schema["$id"], referencing.Resource.from_contents(schema)) for schema in published.values()
    )
    settings = default_settings()
    for field, union in EVENT_TOPICS.items():
        topic = getattr(settings, field)
        [value_schema] = [
            s
            for s in asyncapi["components"]["schemas"].values()
            if f"`{topic}`" in s["description"]
        ]
        validator = jsonschema.Draft202012Validator(
            {"$id": SCHEMA_BASE_URI + ASYNCAPI_FILE, **value_schema}, registry=registry
        )
        mine = {event_type_of(model) for model in get_args(union)}
        for event in events:
            assert validator.is_valid(wire_value(event)) == (event.event_type in mine), (
                topic,
                event.event_type,
            )


# --- the AsyncAPI document ----------------------------------------------------------------


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _pointer(document: Json, ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _channel(asyncapi: Json, topic: str) -> Json:
    channels: list[Json] = [c for c in asyncapi["channels"].values() if c["address"] == topic]
    assert len(channels) == 1, topic
    return channels[0]


def _payload_refs(asyncapi: Json, channel: Json) -> list[str]:
    """The files the channel's messages take their payload schema from."""
    payloads = [_pointer(asyncapi, m["$ref"])["payload"] for m in channel["messages"].values()]
    return [str(payload["$ref"]) for payload in payloads if "$ref" in payload]


def test_asyncapi_lists_every_declared_topic_with_its_key_and_cleanup(asyncapi: Json) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    specs = declared_topics(default_settings())
    assert sorted(c["address"] for c in asyncapi["channels"].values()) == sorted(
        s.name for s in specs
    )
    for spec in specs:
        channel = _channel(asyncapi, spec.name)
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == spec.partitions
        assert kafka["replicas"] == spec.replication_factor
        config = kafka["topicConfiguration"]
        assert config["cleanup.policy"] == spec.cleanup_policy.split(",")
        assert config.get("retention.ms") == (
            spec.retention_ms if "delete" in spec.cleanup_policy else None
        )
        assert f"Key: {spec.key}." in channel["description"]
        for ref in channel["messages"].values():
            message = _pointer(asyncapi, ref["$ref"])
            key = message["bindings"]["kafka"]["key"]
            assert key["description"], spec.name
            assert "type" in key, spec.name


def test_every_reference_resolves_to_a_node_or_an_existing_file(asyncapi: Json) -> None:
    refs = list(_refs(asyncapi))
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            _pointer(asyncapi, ref)  # KeyError when it points nowhere
        else:
            assert (SCHEMAS / ref).resolve().is_file(), ref
            assert (SCHEMAS / ref).resolve().is_relative_to(SCHEMAS), ref


def test_event_channels_carry_exactly_their_event_types(asyncapi: Json) -> None:
    settings = default_settings()
    for field, union in EVENT_TOPICS.items():
        topic = getattr(settings, field)
        expected = [f"./{event_schema_path(event_type_of(m))}" for m in get_args(union)]
        channel = _channel(asyncapi, topic)
        assert _payload_refs(asyncapi, channel) == expected
        [values] = [
            s
            for s in asyncapi["components"]["schemas"].values()
            if f"`{topic}`" in s["description"]
        ]
        assert [r["$ref"] for r in values["oneOf"]] == expected
    every = {
        ref for channel in asyncapi["channels"].values() for ref in _payload_refs(asyncapi, channel)
    }
    assert every == {f"./{event_schema_path(t)}" for t in EVENT_TYPES} | {f"./{RAW_ENVELOPE_FILE}"}


def test_operations_send_the_normalised_topics_and_receive_the_raw_ones(asyncapi: Json) -> None:
    settings = default_settings()
    actions: dict[str, set[str]] = {}
    for operation in asyncapi["operations"].values():
        channel = _pointer(asyncapi, operation["channel"]["$ref"])
        actions.setdefault(channel["address"], set()).add(operation["action"])
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            _pointer(asyncapi, ref["$ref"])
    for field in EVENT_TOPICS:
        assert actions[getattr(settings, field)] == {"send"}
    for field in ("topic_raw_botapi", "topic_raw_mtproto"):
        assert actions[getattr(settings, field)] == {"send", "receive"}
    assert actions[settings.topic_dlq] == {"send"}
    description = asyncapi["info"]["description"]
    assert "at least once" in description
    assert "deduplicate by `event_id`" in description


def test_the_dlq_headers_are_the_ones_the_code_writes(asyncapi: Json) -> None:
    message = _pointer(asyncapi, f"#/components/messages/{CHANNEL_ROLES['topic_dlq'].messages[0]}")
    headers = message["headers"]
    written = dead_letter_headers("normalise", "boom", topic="t", partition=1, offset=2)
    assert list(headers["properties"]) == [name for name, _ in written]
    assert headers["required"] == [name for name, _ in dead_letter_headers("webhook", "boom")]


def test_the_keys_the_code_writes_match_the_documented_key_schemas(
    asyncapi: Json, events: list[NormalisedEvent], jsonschema: ModuleType
) -> None:
    def key_schema(message: str) -> Json:
        schema: Json = asyncapi["components"]["messages"][message]["bindings"]["kafka"]["key"]
        return schema

    for event in events:
        jsonschema.validate(wire_key(event), key_schema(type(event).__name__))
    botapi = key_schema(CHANNEL_ROLES["topic_raw_botapi"].messages[0])
    for record in demo_records():
        jsonschema.validate(RawEnvelope.from_bytes(record).partition_key().decode(), botapi)
    mtproto = key_schema(CHANNEL_ROLES["topic_raw_mtproto"].messages[0])
    for chat_id in (7, -1001, None):
        envelope = RawEnvelope(source="mtproto", update_type="new_message", account_user_id=5,
                               chat_id=chat_id, payload={})  # fmt: skip
        jsonschema.validate(envelope.partition_key().decode(), mtproto)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("tg_42", key_schema("DealCreated"))
