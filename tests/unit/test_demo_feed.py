"""The demo Bot API feed: samples and scenario are valid updates with the promised shapes."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.types import (
    MessageOriginChannel,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)

from chatsync.producers.demo import shapes
from chatsync.producers.demo.scenario import demo_updates, stream_updates
from chatsync.producers.demo.shapes import MULTI_SAMPLES, SAMPLES, JsonDict

REQUIRED_SAMPLES = {
    "business_connection",
    "business_connection_disabled",
    "text",
    "text_with_entities",
    "photo_with_caption",
    "voice",
    "document",
    "sticker",
    "reply",
    "forward_from_user",
    "forward_from_hidden_user",
    "forward_from_channel",
    "long_text_4096",
    "rtl_text",
    "sent_by_owner",
    "sent_by_bot_for_owner",
    "edited_business_message",
    "deleted_business_messages",
    "future_update_type",
}
MESSAGE_KINDS = ("business_message", "edited_business_message")

# --- helpers ----------------------------------------------------------------------------------


def kind_of(update: JsonDict) -> str:
    """The update's one field besides update_id."""
    fields = [key for key in update if key != "update_id"]
    assert len(fields) == 1, fields
    return fields[0]


def utf16_slice(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def scripts_in(text: str) -> set[str]:
    """The writing systems used in ``text`` (a coarse grouping of Unicode character names)."""
    found = set()
    for char in text:
        if ord(char) >= 0x1F000 or unicodedata.category(char) == "So":
            found.add("emoji")
            continue
        name = unicodedata.name(char, "")
        for script in ("CYRILLIC", "ARABIC", "HEBREW", "DEVANAGARI", "HANGUL", "GREEK", "LATIN"):
            if name.startswith(script):
                found.add(script.lower())
        if name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA")):
            found.add("cjk")
    return found


def walk(value: Any) -> Iterable[tuple[str, Any]]:
    """Every (key, value) pair of nested JSON-like data."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def assert_wire_shape(update: JsonDict) -> None:
    """What a webhook body looks like: JSON round-trips, no nulls, ``from``, int dates."""
    assert json.loads(json.dumps(update, ensure_ascii=False)) == update
    assert isinstance(update["update_id"], int)
    kind_of(update)
    for key, value in walk(update):
        assert value is not None, f"{key} is null: absent fields must be omitted"
        assert key != "from_user"
        if key in ("date", "edit_date", "forward_date", "expiration_date"):
            assert type(value) is int, (key, value)
            assert value > 1_500_000_000, (key, value)
        if key == "chat" and isinstance(value, dict) and value["type"] == "private":
            assert isinstance(value["id"], int)
            assert value["id"] > 0


def validate(update: JsonDict) -> Update:
    parsed = Update.model_validate(update)
    assert parsed.update_id == update["update_id"]
    kind = kind_of(update)
    if kind in Update.model_fields:
        assert getattr(parsed, kind) is not None
    return parsed


def message_of(update: JsonDict) -> JsonDict:
    value = update[kind_of(update)]
    assert isinstance(value, dict)
    return value


def all_samples() -> list[tuple[str, JsonDict]]:
    singles = [(name, make()) for name, make in SAMPLES.items()]
    multis = [
        (f"{name}[{index}]", item)
        for name, make in MULTI_SAMPLES.items()
        for index, item in enumerate(make())
    ]
    return singles + multis


# --- (a) every sample is a valid update -------------------------------------------------------


def test_every_required_sample_exists() -> None:
    assert SAMPLES.keys() >= REQUIRED_SAMPLES
    assert "video_in_album" in MULTI_SAMPLES


@pytest.mark.parametrize(("name", "update"), all_samples(), ids=[n for n, _ in all_samples()])
def test_sample_validates_with_aiogram_and_round_trips(name: str, update: JsonDict) -> None:
    assert_wire_shape(update)
    validate(update)


def test_sample_update_ids_are_distinct() -> None:
    ids = [update["update_id"] for _, update in all_samples()]
    assert len(ids) == len(set(ids))


def test_samples_are_fresh_dicts() -> None:
    for make in SAMPLES.values():
        first, second = make(), make()
        assert first == second
        first[kind_of(first)].clear()
        assert make() == second


def test_business_messages_carry_their_connection_and_a_private_chat() -> None:
    for name, update in all_samples():
        kind = kind_of(update)
        if kind in (*MESSAGE_KINDS, "deleted_business_messages"):
            value = message_of(update)
            assert value["business_connection_id"] in (shapes.CONNECTION_ID, shapes.CONNECTION_2_ID)
            assert value["chat"]["type"] == "private", name


# --- (b) each sample has the property it is named for -----------------------------------------


def test_business_connection_enabled_and_disabled() -> None:
    enabled = SAMPLES["business_connection"]()["business_connection"]
    disabled = SAMPLES["business_connection_disabled"]()["business_connection"]
    assert enabled["is_enabled"] is True
    assert disabled["is_enabled"] is False
    assert enabled["id"] == disabled["id"] == shapes.CONNECTION_ID
    assert enabled["user_chat_id"] == enabled["user"]["id"] == shapes.OWNER_ID
    assert enabled["rights"]["can_reply"] is True
    assert disabled["date"] > enabled["date"]
    legacy = SAMPLES["business_connection_legacy"]()["business_connection"]
    assert legacy["can_reply"] is True
    assert "rights" not in legacy


def test_incoming_text_comes_from_the_customer_in_his_own_chat() -> None:
    message = SAMPLES["text"]()["business_message"]
    assert message["from"]["id"] == message["chat"]["id"] == shapes.CUSTOMER_ID
    assert message["from"]["is_bot"] is False
    assert message["text"] == shapes.TEXT
    assert "sender_business_bot" not in message


def test_entities_are_counted_in_utf16_units_and_cover_their_part() -> None:
    update = SAMPLES["text_with_entities"]()
    message = update["business_message"]
    value = message["text"]
    by_type = {item["type"]: item for item in message["entities"]}
    assert {"bold", "url", "mention", "custom_emoji"} <= by_type.keys()
    assert by_type.keys() == shapes.TEXT_WITH_ENTITIES_PARTS.keys()
    for kind, part in shapes.TEXT_WITH_ENTITIES_PARTS.items():
        item = by_type[kind]
        assert utf16_slice(value, item["offset"], item["length"]) == part, kind
    # The family emoji in front is 5 code points but 8 UTF-16 units: offsets differ from indexes.
    bold_part = shapes.TEXT_WITH_ENTITIES_PARTS["bold"]
    assert by_type["bold"]["offset"] == value.index(bold_part) + 3
    assert by_type["custom_emoji"]["length"] == 2
    offsets = [item["offset"] for item in message["entities"]]
    assert offsets == sorted(offsets)
    parsed = validate(update).business_message
    assert parsed is not None
    assert parsed.entities is not None
    assert parsed.text is not None
    extracted = {item.type: item.extract_from(parsed.text) for item in parsed.entities}
    assert extracted == shapes.TEXT_WITH_ENTITIES_PARTS


def test_photo_has_sizes_smallest_first_and_a_caption() -> None:
    message = SAMPLES["photo_with_caption"]()["business_message"]
    sizes = message["photo"]
    assert len(sizes) >= 3
    assert [size["width"] for size in sizes] == sorted(size["width"] for size in sizes)
    assert len({size["file_unique_id"] for size in sizes}) == len(sizes)
    for size in sizes:
        assert {"file_id", "file_unique_id", "width", "height", "file_size"} <= size.keys()
    assert message["caption"]
    assert "text" not in message


def test_voice_document_and_sticker_media() -> None:
    voice = SAMPLES["voice"]()["business_message"]["voice"]
    assert voice["mime_type"] == "audio/ogg"
    assert voice["duration"] > 0
    document = SAMPLES["document"]()["business_message"]["document"]
    assert document["file_name"].endswith(".pdf")
    assert not document["file_name"].isascii()
    assert document["thumbnail"]["file_id"].startswith("AAMC")
    sticker = SAMPLES["sticker"]()["business_message"]["sticker"]
    assert sticker["type"] == "regular"
    assert sticker["emoji"] == "👍"
    for item in (voice, document, sticker):
        assert item["file_id"] != item["file_unique_id"]


def test_album_is_two_updates_sharing_one_media_group() -> None:
    first, second = (message_of(update) for update in MULTI_SAMPLES["video_in_album"]())
    assert first["media_group_id"] == second["media_group_id"] == shapes.MEDIA_GROUP_ID
    assert second["message_id"] == first["message_id"] + 1
    assert first["date"] == second["date"]
    assert "video" in first
    assert "photo" in second
    assert "caption" in first
    assert "caption" not in second


def test_reply_embeds_the_earlier_message_without_nesting() -> None:
    original = SAMPLES["text"]()["business_message"]
    message = SAMPLES["reply"]()["business_message"]
    quoted = message["reply_to_message"]
    assert quoted == original
    assert "reply_to_message" not in quoted
    assert message["message_id"] > quoted["message_id"]
    assert message["chat"]["id"] == quoted["chat"]["id"]


@pytest.mark.parametrize(
    ("name", "origin_type", "model"),
    [
        ("forward_from_user", "user", MessageOriginUser),
        ("forward_from_hidden_user", "hidden_user", MessageOriginHiddenUser),
        ("forward_from_channel", "channel", MessageOriginChannel),
    ],
)
def test_forwards_carry_their_origin(name: str, origin_type: str, model: type[Any]) -> None:
    update = SAMPLES[name]()
    origin = update["business_message"]["forward_origin"]
    assert origin["type"] == origin_type
    assert origin["date"] < update["business_message"]["date"]
    assert update["business_message"]["forward_date"] == origin["date"]
    parsed = validate(update).business_message
    assert parsed is not None
    assert isinstance(parsed.forward_origin, model)
    if origin_type == "user":
        assert origin["sender_user"]["id"] == shapes.FORWARDED_USER_ID
    elif origin_type == "hidden_user":
        assert origin["sender_user_name"]
    else:
        assert origin["chat"]["type"] == "channel"
        assert origin["chat"]["id"] == shapes.CHANNEL_ID
        assert origin["message_id"] > 0


def test_long_text_is_exactly_4096_characters_of_mixed_scripts() -> None:
    value = SAMPLES["long_text_4096"]()["business_message"]["text"]
    assert len(value) == 4096
    assert shapes.utf16_len(value) == 4096
    assert {"cyrillic", "latin", "arabic", "hebrew", "cjk", "devanagari"} <= scripts_in(value)


def test_rtl_text_has_arabic_and_hebrew_from_a_customer_without_username() -> None:
    message = SAMPLES["rtl_text"]()["business_message"]
    assert {"arabic", "hebrew"} <= scripts_in(message["text"])
    assert "username" not in message["from"]
    assert "last_name" not in message["from"]
    assert "username" not in message["chat"]
    assert message["from"]["id"] == message["chat"]["id"] == shapes.CUSTOMER_RTL_ID


def test_sent_by_owner_is_outgoing_to_the_customer_chat() -> None:
    message = SAMPLES["sent_by_owner"]()["business_message"]
    assert message["from"]["id"] == shapes.OWNER_ID
    assert message["from"]["is_premium"] is True
    assert message["chat"]["id"] == shapes.CUSTOMER_ID
    assert "sender_business_bot" not in message


def test_sent_by_bot_names_the_bot_and_keeps_the_owner_as_sender() -> None:
    message = SAMPLES["sent_by_bot_for_owner"]()["business_message"]
    bot = message["sender_business_bot"]
    assert bot["id"] == shapes.BOT_ID
    assert bot["is_bot"] is True
    assert bot["username"] == shapes.BOT_USERNAME
    assert message["from"]["id"] == shapes.OWNER_ID
    assert message["chat"]["id"] == shapes.CUSTOMER_ID


def test_edit_keeps_id_and_date_and_sets_a_later_edit_date() -> None:
    original = SAMPLES["text"]()["business_message"]
    edited = SAMPLES["edited_business_message"]()["edited_business_message"]
    assert edited["message_id"] == original["message_id"]
    assert edited["date"] == original["date"]
    assert edited["edit_date"] > edited["date"]
    assert edited["text"] != original["text"]
    assert edited["from"] == original["from"]


def test_delete_lists_message_ids_of_one_chat() -> None:
    value = SAMPLES["deleted_business_messages"]()["deleted_business_messages"]
    assert value["chat"]["id"] == shapes.CUSTOMER_ID
    assert value["message_ids"]
    assert all(isinstance(mid, int) for mid in value["message_ids"])
    assert set(value.keys()) == {"business_connection_id", "chat", "message_ids"}


def test_future_update_type_and_unknown_message_fields_pass_validation() -> None:
    update = SAMPLES["future_update_type"]()
    assert kind_of(update) == "business_story"
    assert "business_story" not in Update.model_fields
    assert validate(update).model_extra == {"business_story": update["business_story"]}
    message = SAMPLES["future_message_field"]()
    assert message["business_message"]["paid_star_count"] == 5
    parsed = validate(message).business_message
    assert parsed is not None
    assert parsed.model_extra is not None
    assert "translation" in parsed.model_extra


def test_away_message_is_from_offline() -> None:
    message = SAMPLES["away_message_offline"]()["business_message"]
    assert message["is_from_offline"] is True
    assert message["from"]["id"] == shapes.OWNER_2_ID
    assert message["business_connection_id"] == shapes.CONNECTION_2_ID


# --- (c) the scenario's invariants ------------------------------------------------------------


@dataclass
class FeedFacts:
    """What a pass over a feed saw."""

    kinds: Counter[str] = field(default_factory=Counter)
    owners: dict[str, int] = field(default_factory=dict)
    incoming: int = 0
    outgoing: int = 0
    by_bot: int = 0
    offline: int = 0
    replies: int = 0
    media: Counter[str] = field(default_factory=Counter)
    forwards: Counter[str] = field(default_factory=Counter)
    media_groups: Counter[str] = field(default_factory=Counter)
    scripts: set[str] = field(default_factory=set)
    customers: dict[int, JsonDict] = field(default_factory=dict)
    chats_by_customer: dict[int, set[str]] = field(default_factory=dict)
    disabled_at: dict[str, int] = field(default_factory=dict)


class FeedChecker:
    """Checks, update by update, the invariants every feed must keep."""

    def __init__(self) -> None:
        self.facts = FeedFacts()
        self.last_update_id: int | None = None
        self.last_time = 0
        self.enabled: dict[str, bool] = {}
        self.messages: dict[tuple[str, int], dict[int, JsonDict]] = {}
        self.last_message_id: dict[tuple[str, int], int] = {}
        self.deleted: dict[tuple[str, int], set[int]] = {}
        self.albums: dict[str, tuple[tuple[str, int], int, int]] = {}

    def check(self, position: int, update: JsonDict) -> None:
        update_id = update["update_id"]
        assert self.last_update_id is None or update_id > self.last_update_id
        self.last_update_id = update_id
        kind = kind_of(update)
        self.facts.kinds[kind] += 1
        value = update[kind]
        if kind == "business_connection":
            self._connection(position, value)
        elif kind == "business_message":
            self._new_message(value)
        elif kind == "edited_business_message":
            self._edit(value)
        else:
            assert kind == "deleted_business_messages"
            self._delete(value)

    def _clock(self, moment: int) -> None:
        assert moment >= self.last_time, "event times go backwards"
        self.last_time = moment

    def _connection(self, position: int, value: JsonDict) -> None:
        self._clock(value["date"])
        owner_id = value["user"]["id"]
        assert value["user"]["is_bot"] is False
        assert value["user_chat_id"] == owner_id
        assert self.facts.owners.setdefault(value["id"], owner_id) == owner_id
        self.enabled[value["id"]] = value["is_enabled"]
        if not value["is_enabled"]:
            self.facts.disabled_at[value["id"]] = position

    def _key(self, value: JsonDict) -> tuple[str, int]:
        connection = value["business_connection_id"]
        assert self.enabled.get(connection) is True, "message on a connection that is not enabled"
        assert value["chat"]["type"] == "private"
        return connection, value["chat"]["id"]

    def _new_message(self, value: JsonDict) -> None:
        key = self._key(value)
        self._clock(value["date"])
        assert "edit_date" not in value
        assert value["message_id"] > self.last_message_id.get(key, 0)
        self.last_message_id[key] = value["message_id"]
        self._direction(key, value)
        self._content(value)
        self._album(key, value)
        quoted = value.get("reply_to_message")
        if quoted is not None:
            self.facts.replies += 1
            assert quoted["message_id"] in self.messages.get(key, {}), "reply to an unknown message"
            assert quoted["message_id"] not in self.deleted.get(key, set())
            assert quoted["chat"] == value["chat"]
            assert "reply_to_message" not in quoted
            current = self.messages[key][quoted["message_id"]]
            assert quoted == {k: v for k, v in current.items() if k != "reply_to_message"}
        self.messages.setdefault(key, {})[value["message_id"]] = value

    def _album(self, key: tuple[str, int], value: JsonDict) -> None:
        """Messages of one album have consecutive ids and one date, in one chat."""
        group = value.get("media_group_id")
        if group is None:
            return
        previous = self.albums.get(group)
        if previous is not None:
            assert previous[0] == key
            assert value["message_id"] == previous[1] + 1
            assert value["date"] == previous[2]
        self.albums[group] = (key, value["message_id"], value["date"])

    def _direction(self, key: tuple[str, int], value: JsonDict) -> None:
        sender = value["from"]
        owner_id = self.facts.owners[key[0]]
        if sender["id"] == owner_id:
            self.facts.outgoing += 1
            if "sender_business_bot" in value:
                assert value["sender_business_bot"]["id"] == shapes.BOT_ID
                assert value["sender_business_bot"]["is_bot"] is True
                self.facts.by_bot += 1
            self.facts.offline += value.get("is_from_offline", False)
        else:
            assert sender["id"] == key[1], "incoming messages come from the chat's user"
            assert sender["is_bot"] is False
            assert "sender_business_bot" not in value
            self.facts.incoming += 1
            self.facts.customers[sender["id"]] = sender
            self.facts.chats_by_customer.setdefault(sender["id"], set()).add(key[0])

    def _content(self, value: JsonDict) -> None:
        for media in ("photo", "video", "voice", "document", "sticker"):
            if media in value:
                self.facts.media[media] += 1
        if "forward_origin" in value:
            self.facts.forwards[value["forward_origin"]["type"]] += 1
        if "media_group_id" in value:
            self.facts.media_groups[value["media_group_id"]] += 1
        for text_key in ("text", "caption"):
            self.facts.scripts |= scripts_in(value.get(text_key, ""))
        for entity_key, text_key in (("entities", "text"), ("caption_entities", "caption")):
            for item in value.get(entity_key, []):
                end = item["offset"] + item["length"]
                assert end <= shapes.utf16_len(value[text_key])
                assert utf16_slice(value[text_key], item["offset"], item["length"]).strip()

    def _edit(self, value: JsonDict) -> None:
        key = self._key(value)
        self._clock(value["edit_date"])
        original = self.messages.get(key, {}).get(value["message_id"])
        assert original is not None, "edit of a message never sent in this chat"
        assert value["message_id"] not in self.deleted.get(key, set())
        assert value["date"] == original["date"]
        assert value["from"] == original["from"]
        assert value["edit_date"] > original.get("edit_date", original["date"])
        assert value.get("text", value.get("caption")) != original.get(
            "text", original.get("caption")
        )
        self.messages[key][value["message_id"]] = value

    def _delete(self, value: JsonDict) -> None:
        key = self._key(value)
        known = self.messages.get(key, {})
        gone = self.deleted.setdefault(key, set())
        assert value["message_ids"] == sorted(value["message_ids"])
        for message_id in value["message_ids"]:
            assert message_id in known
            assert message_id not in gone
            gone.add(message_id)


def check_feed(updates: Iterable[JsonDict]) -> FeedFacts:
    checker = FeedChecker()
    for position, update in enumerate(updates):
        checker.check(position, update)
    return checker.facts


@pytest.fixture(scope="module")
def demo() -> list[JsonDict]:
    return demo_updates()


@pytest.fixture(scope="module")
def demo_facts(demo: list[JsonDict]) -> FeedFacts:
    return check_feed(demo)


def test_every_demo_update_validates_with_aiogram_and_round_trips(demo: list[JsonDict]) -> None:
    assert len(demo) > 100
    for update in demo:
        assert_wire_shape(update)
        validate(update)


def test_demo_starts_with_the_connections_of_at_least_three_owners(
    demo: list[JsonDict], demo_facts: FeedFacts
) -> None:
    owners = len(demo_facts.owners)
    assert owners >= 3
    assert len(set(demo_facts.owners.values())) == owners
    assert [kind_of(update) for update in demo[:owners]] == ["business_connection"] * owners
    assert all(update["business_connection"]["is_enabled"] for update in demo[:owners])
    assert demo[0]["update_id"] == 100_000_000
    assert demo[0]["business_connection"]["date"] >= 1_763_700_000


def test_demo_disables_one_connection_near_the_end(
    demo: list[JsonDict], demo_facts: FeedFacts
) -> None:
    assert len(demo_facts.disabled_at) == 1
    ((connection, position),) = demo_facts.disabled_at.items()
    assert position >= len(demo) * 0.8
    for update in demo[position + 1 :]:
        assert message_of(update).get("business_connection_id") != connection


def test_demo_has_both_directions_and_the_bot_acting_for_owners(demo_facts: FeedFacts) -> None:
    assert demo_facts.incoming >= 20
    assert demo_facts.outgoing >= 20
    assert demo_facts.by_bot >= 1
    assert demo_facts.offline >= 1


def test_demo_has_every_kind_of_content(demo_facts: FeedFacts) -> None:
    assert demo_facts.media.keys() == {"photo", "video", "voice", "document", "sticker"}
    assert demo_facts.forwards.keys() == {"user", "hidden_user", "channel"}
    assert any(count >= 2 for count in demo_facts.media_groups.values()), "no album"
    assert demo_facts.replies >= 1
    assert demo_facts.kinds["edited_business_message"] >= 2
    assert demo_facts.kinds["deleted_business_messages"] >= 1


def test_demo_speaks_several_scripts(demo_facts: FeedFacts) -> None:
    expected = {"cyrillic", "arabic", "hebrew", "cjk", "devanagari", "emoji", "latin"}
    assert expected <= demo_facts.scripts


def test_demo_customers_are_people_some_without_username_or_last_name(
    demo_facts: FeedFacts,
) -> None:
    customers = demo_facts.customers.values()
    assert len(customers) >= 8
    assert all(person["is_bot"] is False for person in customers)
    assert any("username" not in person for person in customers)
    assert any("last_name" not in person for person in customers)
    assert not set(demo_facts.customers) & set(demo_facts.owners.values())
    assert any(len(chats) >= 2 for chats in demo_facts.chats_by_customer.values())


def test_demo_edits_get_increasing_edit_dates(demo: list[JsonDict]) -> None:
    last: dict[tuple[str, int], int] = {}
    for update in demo:
        if kind_of(update) == "edited_business_message":
            value = update["edited_business_message"]
            key = (value["business_connection_id"], value["message_id"])
            assert value["edit_date"] > last.get(key, value["date"])
            last[key] = value["edit_date"]
    assert last


@pytest.mark.parametrize(
    ("owners", "customers", "messages"), [(1, 1, 1), (1, 3, 2), (5, 1, 4), (4, 6, 12)]
)
def test_demo_invariants_hold_for_other_sizes(owners: int, customers: int, messages: int) -> None:
    updates = demo_updates(
        seed=owners * 100 + messages,
        owners=owners,
        customers_per_owner=customers,
        messages_per_chat=messages,
    )
    facts = check_feed(updates)
    assert len(facts.owners) == owners
    assert len(facts.disabled_at) == 1
    assert facts.kinds["business_message"] >= owners * customers * messages


def test_demo_rejects_empty_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        demo_updates(owners=0)


# --- (d) determinism and the stream -----------------------------------------------------------


def test_demo_is_deterministic_per_seed(demo: list[JsonDict]) -> None:
    assert demo_updates() == demo
    other = demo_updates(seed=8)
    assert other != demo
    check_feed(other)


def test_demo_honours_start_update_id_and_date() -> None:
    updates = demo_updates(start_update_id=5, start_date=1_800_000_000)
    assert [update["update_id"] for update in updates] == list(range(5, 5 + len(updates)))
    assert updates[0]["business_connection"]["date"] >= 1_800_000_000


def test_stream_yields_exactly_count_valid_updates() -> None:
    updates = list(stream_updates(1000))
    assert len(updates) == 1000
    for update in updates:
        assert_wire_shape(update)
        validate(update)
    facts = check_feed(updates)
    assert facts.kinds["business_connection"] >= 50
    assert facts.incoming
    assert facts.outgoing
    assert list(stream_updates(1000)) == updates
    assert list(stream_updates(1000, seed=1)) != updates


def test_stream_keeps_the_invariants_over_many_updates_and_reconnects() -> None:
    facts = check_feed(stream_updates(30_000, owners=4, customers_per_owner=5))
    assert facts.disabled_at, "no owner disconnected in 30k updates"
    assert facts.kinds["business_connection"] > 4 + len(facts.disabled_at)
    assert facts.kinds["edited_business_message"]
    assert facts.kinds["deleted_business_messages"]
    assert facts.media.keys() == {"photo", "video", "voice", "document", "sticker"}


def test_stream_is_lazy() -> None:
    """Speed and memory of the stream are measured by bench/, not asserted here."""
    updates = stream_updates(10**9)
    assert iter(updates) is updates, "a generator, not a list"
    assert sum(1 for _ in zip(range(2_000), updates, strict=False)) == 2_000


def test_stream_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        stream_updates(-1)
