"""The published contract of chatsync's topics, generated from the code: JSON Schemas and AsyncAPI.

Writes, under ``schemas/`` (run from the repository root):

=====================================  =============================================================
``events/<event_type>.schema.json``    one JSON Schema (draft 2020-12) per type of
                                       ``chatsync.events.EVENT_TYPES``
``raw-envelope.schema.json``           the raw envelope (``chatsync.envelopes.RawEnvelope``)
``asyncapi.yaml``                      AsyncAPI 3.0.0: every topic of ``chatsync.topics``, its key,
                                       cleanup, partitions, messages and the DLQ's headers
=====================================  =============================================================

``python -m chatsync.schemas`` (re)writes them; ``--check`` only compares, prints the files that
differ and exits 1 (``tests/unit/test_schemas.py`` does the same). The schemas describe the JSON the
code writes (pydantic's *serialization* mode): every field is always written, so every field is
required, ``null`` where the model allows it. Topics are described with the default settings
(names, partitions, retention), whatever the environment says, so the output is the same on every
machine.

The functions that build the documents are pure; only :func:`write_files` and :func:`main` touch
the file system.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

# PyYAML ships no type hints (types-PyYAML is not a dev dependency).
import yaml  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

import chatsync.dlq
from chatsync.dlq import dead_letter_headers
from chatsync.envelopes import ENVELOPE_SCHEMA_VERSION, RawEnvelope
from chatsync.events import (
    EVENT_SCHEMA_VERSION,
    EVENT_TYPES,
    CustomerEvent,
    DealEvent,
    MessageEvent,
)
from chatsync.settings import Settings
from chatsync.topics import TopicSpec, declared_topics

JsonObject = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Where the files are published: the same layout as the repository's ``schemas/`` folder, so an
# event schema's ``$id`` is what the AsyncAPI document's relative ``$ref`` resolves to.
SCHEMA_BASE_URI = "https://chatsync.example/schemas/"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DEFAULT_OUT = Path("schemas")
ASYNCAPI_FILE = "asyncapi.yaml"
RAW_ENVELOPE_FILE = "raw-envelope.schema.json"
EVENTS_DIR = "events"
REGENERATE = "python -m chatsync.schemas"

# What each event type says, for its schema's description and its AsyncAPI message.
EVENT_SUMMARIES: dict[str, str] = {
    "deal.created": (
        "A conversation between an owner account and a customer chat became a deal: its first "
        "message was accepted. `data` is the whole deal."
    ),
    "deal.updated": (
        "A deal changed (a new, edited or deleted last message, the message or unread count). "
        "`data` is the whole deal at its new `version`: the latest record per key is its state."
    ),
    "customer.created": (
        "A customer (the Telegram user on the other side of a deal) was seen for the first time. "
        "`data` is the whole profile."
    ),
    "customer.updated": (
        "A customer's profile really changed (name, username, language, premium). `data` is the "
        "whole profile at its new `version`: the latest record per key is the profile."
    ),
    "message.created": (
        "A message of a deal was accepted for the first time: incoming from the customer, or "
        "outgoing from the owner (or the bot on the owner's behalf)."
    ),
    "message.edited": (
        "A newer version of a message (text, caption, entities or media changed). `data` is the "
        "whole message at its new `version`."
    ),
    "message.deleted": (
        "A message was deleted; final. `data` is its last known content with `is_deleted: true`."
    ),
}

# The events on each normalised topic: the unions of ``chatsync.events``, by settings field.
EVENT_TOPICS: dict[str, Any] = {
    "topic_deals": DealEvent,
    "topic_customers": CustomerEvent,
    "topic_messages": MessageEvent,
}

_DEAL_ID = {"type": "string", "pattern": "^deal_[0-9a-f]{32}$"}
_CUSTOMER_ID = {"type": "string", "pattern": "^tg_[0-9]+$"}
DELIVERY_NOTE = (
    "chatsync's worker publishes at least once: after a crash it re-emits what it had published "
    "since its last commit, with the same `event_id` (ids are deterministic). Consumers "
    "deduplicate by `event_id`."
)


@dataclass(frozen=True, slots=True)
class ChannelRole:
    """How the AsyncAPI document describes one declared topic (found by its settings field)."""

    channel_id: str
    key: JsonObject
    messages: tuple[str, ...]
    sent_by: str | None = None
    received_by: str | None = None
    consumer_group: bool = False


CHANNEL_ROLES: dict[str, ChannelRole] = {
    "topic_raw_botapi": ChannelRole(
        "rawBotapi",
        {
            "type": "string",
            "pattern": "^(bc:.+|bot:[^:]+:(chat|update):-?[0-9]+)$",
            "description": (
                "`bc:<business connection id>`: every update of one Business connection has one "
                "key (one partition, one order), so the `business_connection` update that names "
                "the owner is ordered with its messages. Without a connection "
                "`bot:<bot id>:chat:<chat id>`, or `bot:<bot id>:update:<update id>` for no chat."
            ),
        },
        ("RawBotapiEnvelope",),
        sent_by="the Bot API producers (`chatsync api` webhook, `chatsync polling`)",
        received_by="the worker's `resolve` agent",
        consumer_group=True,
    ),
    "topic_raw_mtproto": ChannelRole(
        "rawMtproto",
        {
            "type": "string",
            "pattern": "^acct:[0-9]+(:chat:-?[0-9]+)?$",
            "description": (
                "`acct:<account user id>:chat:<chat id>`: every update of one chat of one Telethon "
                "account has one key (one partition, one order); `acct:<account user id>` for an "
                "update of no known chat."
            ),
        },
        ("RawMtprotoEnvelope",),
        sent_by="the Telethon producers (`chatsync telethon run`, `chatsync backfill`, imports)",
        received_by="the worker's `resolve` agent",
        consumer_group=True,
    ),
    "topic_deals": ChannelRole(
        "deals",
        {**_DEAL_ID, "description": "The deal id (`deal_<uuid5 hex>`), the event's `deal_id`."},
        ("DealCreated", "DealUpdated"),
        sent_by="the worker's `deals` agent",
    ),
    "topic_customers": ChannelRole(
        "customers",
        {
            **_CUSTOMER_ID,
            "description": "The customer id (`tg_<Telegram user id>`), the event's "
            "`data.customer_id`.",
        },
        ("CustomerCreated", "CustomerUpdated"),
        sent_by="the worker's `customers` agent",
    ),
    "topic_messages": ChannelRole(
        "messages",
        {**_DEAL_ID, "description": "The deal id (`deal_<uuid5 hex>`), the event's `deal_id`."},
        ("MessageCreated", "MessageEdited", "MessageDeleted"),
        sent_by="the worker's `deals` agent",
    ),
    "topic_commands": ChannelRole(
        "commands",
        {
            "type": "string",
            "pattern": "^(deal_[0-9a-f]{32}|tg_[0-9]+)$",
            "description": "The deal id or the customer id the command is about.",
        },
        ("Command",),
    ),
    "topic_dlq": ChannelRole(
        "deadLetters",
        {
            "type": ["string", "null"],
            "description": "The original record's key, unchanged; null when it had none.",
        },
        ("DeadLetter",),
        sent_by="any stage that cannot process a record (webhook, polling, the worker's agents)",
    ),
}


class WireJsonSchema(GenerateJsonSchema):
    """Serialization mode as ``model_dump_json`` writes it: every field is present, so required."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            excluded = field.get("serialization_exclude") or field.get("serialization_exclude_if")
            return not excluded
        return super().field_is_required(field, total)


def default_settings() -> Settings:
    """The settings' defaults, ignoring the environment and ``.env``: the published names."""
    return Settings.model_construct()


def event_type_of(model: type[BaseModel]) -> str:
    default = model.model_fields["event_type"].default
    if not isinstance(default, str):
        raise TypeError(f"{model.__name__}.event_type has no fixed default")
    return default


def event_topics(settings: Settings) -> dict[str, TopicSpec]:
    """Event type -> the declared topic it is published on."""
    topics = {spec.name: spec for spec in declared_topics(settings)}
    found: dict[str, TopicSpec] = {}
    for field, union in EVENT_TOPICS.items():
        spec = topics[getattr(settings, field)]
        for model in get_args(union):
            found[event_type_of(model)] = spec
    missing = sorted(set(EVENT_TYPES) - set(found))
    if missing:
        raise LookupError(f"event types on no topic: {missing}; add them to EVENT_TOPICS")
    return found


def _model_schema(model: type[BaseModel]) -> JsonObject:
    schema = model.model_json_schema(mode="serialization", schema_generator=WireJsonSchema)
    schema.pop("title", None)
    schema.pop("description", None)
    return schema


def event_schema(event_type: str, settings: Settings | None = None) -> JsonObject:
    """The JSON Schema (draft 2020-12) of one event type's record value."""
    settings = settings or default_settings()
    model = EVENT_TYPES[event_type]
    if event_type_of(model) != event_type:
        raise ValueError(f"EVENT_TYPES[{event_type!r}] is {model.__name__}, of another type")
    if event_type not in EVENT_SUMMARIES:
        raise LookupError(f"no summary for {event_type!r}: add it to EVENT_SUMMARIES")
    spec = event_topics(settings)[event_type]
    body = _model_schema(model)
    fixed = body["properties"]["event_type"]
    if fixed.get("const") != event_type or "event_type" not in body.get("required", []):
        raise ValueError(f"{model.__name__}: event_type is not a required constant")
    fixed["description"] = "The event's type: always this value for this schema."
    description = (
        f"{EVENT_SUMMARIES[event_type]}\n\n"
        f"One UTF-8 JSON object per record on `{spec.name}` (key: {spec.key}), schema version "
        f"{EVENT_SCHEMA_VERSION}. {DELIVERY_NOTE}\n\n"
        f"Generated from `chatsync.events.{model.__name__}` by `{REGENERATE}`; do not edit."
    )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{event_schema_path(event_type)}",
        "title": event_type,
        "description": description,
        **body,
    }


def event_schemas(settings: Settings | None = None) -> dict[str, JsonObject]:
    """Every event type's JSON Schema, by event type."""
    return {event_type: event_schema(event_type, settings) for event_type in EVENT_TYPES}


def raw_envelope_schema() -> JsonObject:
    """The JSON Schema (draft 2020-12) of a raw topic's record value."""
    description = (
        "A Telegram update with its routing metadata, one UTF-8 JSON object per record on the raw "
        f"topics, envelope schema version {ENVELOPE_SCHEMA_VERSION}. `payload` is the update: for "
        "the Bot API the request body exactly as Telegram sent it (spliced in verbatim), for "
        "MTProto sources a JSON rendering (bytes as base64, datetimes as ISO-8601 UTC).\n\n"
        f"Generated from `chatsync.envelopes.RawEnvelope` by `{REGENERATE}`; do not edit."
    )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{RAW_ENVELOPE_FILE}",
        "title": "raw envelope",
        "description": description,
        **_model_schema(RawEnvelope),
    }


def event_schema_path(event_type: str) -> str:
    """The event schema's file, relative to the schemas folder (and to the AsyncAPI document)."""
    return f"{EVENTS_DIR}/{event_type}.schema.json"


def dlq_headers() -> list[tuple[str, str, bool]]:
    """(name, description, always present) of each DLQ header documented in ``chatsync.dlq``.

    The names documented must be the names ``dead_letter_headers`` writes; the ones it writes
    without a source record are always present.
    """
    rows = re.findall(r"^``(dlq\.[\w.]+)``\s+(.+?)\s*$", chatsync.dlq.__doc__ or "", re.MULTILINE)
    written = [name for name, _ in dead_letter_headers("s", "e", topic="t", partition=0, offset=0)]
    always = {name for name, _ in dead_letter_headers("s", "e")}
    if [name for name, _ in rows] != written:
        raise ValueError(
            f"chatsync.dlq documents headers {[n for n, _ in rows]} but writes {written}"
        )
    return [(name, text.replace("``", "`"), name in always) for name, text in rows]


def _ref(*parts: str) -> JsonObject:
    return {"$ref": "#/" + "/".join(parts)}


def _capitalised(channel_id: str) -> str:
    return channel_id[:1].upper() + channel_id[1:]


def _event_messages(settings: Settings) -> dict[str, JsonObject]:
    topics = event_topics(settings)
    roles = {getattr(settings, field): role for field, role in CHANNEL_ROLES.items()}
    messages: dict[str, JsonObject] = {}
    for event_type, model in EVENT_TYPES.items():
        spec = topics[event_type]
        messages[model.__name__] = {
            "name": event_type,
            "title": event_type,
            "summary": EVENT_SUMMARIES[event_type],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "event_type": {
                        "type": "string",
                        "const": event_type,
                        "description": "The value's `event_type`, as a UTF-8 header.",
                    }
                },
                "required": ["event_type"],
            },
            "payload": {"$ref": f"./{event_schema_path(event_type)}"},
            "bindings": _kafka_key(roles[spec.name]),
        }
    return messages


def _kafka_key(role: ChannelRole) -> JsonObject:
    return {"kafka": {"key": role.key, "bindingVersion": KAFKA_BINDING_VERSION}}


def _other_messages(settings: Settings) -> dict[str, JsonObject]:
    """The messages of the raw topics, the commands topic and the DLQ."""

    def envelope(sources: str, role: ChannelRole) -> JsonObject:
        return {
            "name": "raw-envelope",
            "title": "raw envelope",
            "summary": "A Telegram update, as received, with its routing metadata.",
            "description": f"An envelope of source {sources}.",
            "contentType": "application/json",
            "payload": {"$ref": f"./{RAW_ENVELOPE_FILE}"},
            "bindings": _kafka_key(role),
        }

    raw_botapi, raw_mtproto = CHANNEL_ROLES["topic_raw_botapi"], CHANNEL_ROLES["topic_raw_mtproto"]
    commands, dead_letters = CHANNEL_ROLES["topic_commands"], CHANNEL_ROLES["topic_dlq"]
    headers = dlq_headers()
    return {
        raw_botapi.messages[0]: envelope("`botapi`", raw_botapi),
        raw_mtproto.messages[0]: envelope("`mtproto`, `backfill` or `export`", raw_mtproto),
        commands.messages[0]: {
            "name": "command",
            "title": "command",
            "summary": "A command for the Telegram edge (fetch an avatar, mark a chat read).",
            "description": (
                "Reserved: no command is published in this version; its schema will be generated "
                "here with the first one."
            ),
            "contentType": "application/json",
            "payload": {"type": "object"},
            "bindings": _kafka_key(commands),
        },
        dead_letters.messages[0]: {
            "name": "dead-letter",
            "title": "dead letter",
            "summary": "A record that could not be processed, with its original bytes.",
            "description": (
                "The value is the original record's bytes, unchanged (usually, not always, JSON); "
                "the headers say why and where from. Nothing is retried from here by itself: an "
                f"operator inspects `{settings.topic_dlq}` and replays what a fix makes valid."
            ),
            "contentType": "application/octet-stream",
            "headers": {
                "type": "object",
                "description": "UTF-8 string headers, documented in `chatsync.dlq`.",
                "properties": {
                    name: {"type": "string", "description": text} for name, text, _ in headers
                },
                "required": [name for name, _, always in headers if always],
            },
            "payload": {"description": "The original record's bytes."},
            "bindings": _kafka_key(dead_letters),
        },
    }


def _markdown(text: str, width: int = 96) -> str:
    """Paragraphs refilled to ``width``; headings and fenced code blocks kept as they are."""
    blocks = []
    for block in text.strip().split("\n\n"):
        if block.startswith(("#", "```")):
            blocks.append(block)
        else:
            blocks.append(
                textwrap.fill(
                    " ".join(block.split()),
                    width,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return "\n\n".join(blocks) + "\n"


def _description(settings: Settings) -> str:
    deals, customers = f"`{settings.topic_deals}`", f"`{settings.topic_customers}`"
    messages = f"`{settings.topic_messages}`"
    servers = settings.kafka_bootstrap_servers
    return _markdown(f"""
The Kafka topics of chatsync, a public contract: the raw topics, where the Telegram edge writes
every update unchanged in an envelope, and the normalised topics of deal, customer and message
events that downstream services consume and replays rebuild every derived store from.

Generated by `{REGENERATE}` from `chatsync/events.py`, `chatsync/envelopes.py`,
`chatsync/topics.py` and `chatsync/dlq.py`; do not edit: a test fails when this document or the
JSON Schemas beside it drift from the code.

## Operations: chatsync's point of view

This document describes chatsync as one application (its producers, its worker, its API). Each
operation is what chatsync does: `send` where chatsync writes a topic, `receive` where it reads
one. The raw topics have both (the Telegram edge sends, the worker receives). The normalised
topics and the dead-letter topic are only sent by chatsync: a downstream service is their
receiver. The commands topic is reserved and has no operation yet.

## Values, keys and headers

A value on {deals}, {customers} or {messages} is one UTF-8 JSON object: an event whose
`event_type` names its JSON Schema (`events/<event_type>.schema.json`, JSON Schema draft 2020-12)
and whose `schema_version` is {EVENT_SCHEMA_VERSION}. Each channel lists one message per event
type; `components.schemas` has each topic's `oneOf` of them. The record also has an `event_type`
header. Keys are UTF-8 strings: the deal id on {deals} and {messages}, the customer id on
{customers}, so the events of one deal (of one customer) are in one partition, in order. {deals}
and {customers} are compacted: the latest record per key is the current state. A change that
breaks a consumer gets a new schema version.

## Delivery: at least once, deduplicate by `event_id`

{DELIVERY_NOTE} `event_id` is a UUIDv5 over what the event says, so a replay of the raw topics
emits the same ids too. Apply an event once per `event_id`, or keep the highest `data.version`
per deal, customer or message.

## Settings

Topic names, partitions, replicas and retention are deployment settings (`TOPIC_*`,
`KAFKA_TOPIC_PARTITIONS`, `KAFKA_REPLICATION_FACTOR`, `KAFKA_*_RETENTION_MS`); this document
shows their defaults.

## Reading without chatsync

Every value validates against its event type's JSON Schema; for example, keys and values with
kcat:

```
kcat -b {servers} -C -t {settings.topic_deals} -o beginning -e -f '%k %s\\n'
```
""")


def asyncapi_document(settings: Settings | None = None) -> JsonObject:
    """The AsyncAPI 3.0.0 document of every declared topic."""
    settings = settings or default_settings()
    roles = {getattr(settings, field): role for field, role in CHANNEL_ROLES.items()}
    specs = declared_topics(settings)
    undescribed = [spec.name for spec in specs if spec.name not in roles]
    if undescribed:
        raise LookupError(f"declared topics without a role: {undescribed}; add to CHANNEL_ROLES")
    channels: JsonObject = {}
    operations: JsonObject = {}
    for spec in specs:
        role = roles[spec.name]
        topic_config: JsonObject = {"cleanup.policy": spec.cleanup_policy.split(",")}
        if "retention.ms" in spec.configs():
            topic_config["retention.ms"] = spec.retention_ms
        channels[role.channel_id] = {
            "address": spec.name,
            "title": spec.name,
            "description": (
                f"{spec.description}\n\nKey: {spec.key}. Cleanup: {spec.cleanup_policy}."
            ),
            "messages": {name: _ref("components", "messages", name) for name in role.messages},
            "bindings": {
                "kafka": {
                    "topic": spec.name,
                    "partitions": spec.partitions,
                    "replicas": spec.replication_factor,
                    "topicConfiguration": topic_config,
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        message_refs = [_ref("channels", role.channel_id, "messages", n) for n in role.messages]
        name = _capitalised(role.channel_id)
        if role.sent_by:
            operations[f"send{name}"] = {
                "action": "send",
                "channel": _ref("channels", role.channel_id),
                "title": f"chatsync writes {spec.name}",
                "description": f"Sent by {role.sent_by}."
                + (f" {DELIVERY_NOTE}" if spec.name in _event_topic_names(settings) else ""),
                "messages": message_refs,
            }
        if role.received_by:
            receive: JsonObject = {
                "action": "receive",
                "channel": _ref("channels", role.channel_id),
                "title": f"chatsync reads {spec.name}",
                "description": f"Received by {role.received_by}.",
                "messages": message_refs,
            }
            if role.consumer_group:
                receive["bindings"] = {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [settings.worker_app_id]},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                }
            operations[f"receive{name}"] = receive
    topic_values = {
        f"{_capitalised(roles[getattr(settings, field)].channel_id)}Value": {
            "description": f"Any value on `{getattr(settings, field)}`.",
            "oneOf": [
                {"$ref": f"./{event_schema_path(event_type_of(model))}"}
                for model in get_args(union)
            ],
        }
        for field, union in EVENT_TOPICS.items()
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "chatsync topics",
            "version": f"{EVENT_SCHEMA_VERSION}.0.0",
            "description": _description(settings),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": settings.kafka_bootstrap_servers,
                "protocol": "kafka",
                "description": (
                    "The local stack (`chatsync infra up`); elsewhere KAFKA_BOOTSTRAP_SERVERS."
                ),
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": topic_values,
            "messages": {**_event_messages(settings), **_other_messages(settings)},
        },
    }


def _event_topic_names(settings: Settings) -> set[str]:
    return {getattr(settings, field) for field in EVENT_TOPICS}


def dump_json(document: JsonObject) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _no_aliases(dumper: Any, data: Any) -> bool:
    return True


def _represent_str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def dump_yaml(document: JsonObject) -> str:
    """Block YAML in the document's own order (sections as AsyncAPI lists them)."""
    dumper: Any = type("_Dumper", (yaml.SafeDumper,), {"ignore_aliases": _no_aliases})
    dumper.add_representer(str, _represent_str)
    text: str = yaml.dump(
        document, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    return text if text.endswith("\n") else text + "\n"


def generated_files(settings: Settings | None = None) -> dict[str, str]:
    """Relative path -> the exact text of each generated file."""
    settings = settings or default_settings()
    files = {
        event_schema_path(event_type): dump_json(schema)
        for event_type, schema in event_schemas(settings).items()
    }
    files[RAW_ENVELOPE_FILE] = dump_json(raw_envelope_schema())
    files[ASYNCAPI_FILE] = dump_yaml(asyncapi_document(settings))
    return dict(sorted(files.items()))


def _present(out: Path) -> set[str]:
    """Files under ``out`` that this module owns (generated, or stale leftovers of it)."""
    owned = [*out.glob(f"{EVENTS_DIR}/*.schema.json"), out / RAW_ENVELOPE_FILE, out / ASYNCAPI_FILE]
    return {path.relative_to(out).as_posix() for path in owned if path.is_file()}


def drift(out: Path, files: dict[str, str]) -> list[str]:
    """One line per file under ``out`` that is not what ``files`` says it must be."""
    problems = []
    for rel, text in files.items():
        path = out / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the code")
    for rel in sorted(_present(out) - set(files)):
        problems.append(f"{out / rel}: not generated any more (stale)")
    return problems


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write what changed, remove stale event schemas; the paths written or removed."""
    touched = []
    for rel, text in files.items():
        path = out / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        touched.append(path)
    for rel in sorted(_present(out) - set(files)):
        (out / rel).unlink()
        touched.append(out / rel)
    return touched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chatsync.schemas",
        description="Generate the JSON Schemas and the AsyncAPI document of chatsync's topics.",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare only; exit 1 when a file differs"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="the schemas folder (default: ./schemas)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    files = generated_files()
    if args.check:
        problems = drift(out, files)
        for line in problems:
            print(line)
        if problems:
            print(f"{len(problems)} file(s) out of date: run `{REGENERATE}`")
            return 1
        print(f"{out}: {len(files)} files up to date")
        return 0
    touched = write_files(out, files)
    for path in touched:
        print(f"wrote {path}" if path.exists() else f"removed {path}")
    print(f"{out}: {len(files)} files, {len(touched)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
