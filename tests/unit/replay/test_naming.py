"""Archive object names and bodies."""

from __future__ import annotations

import gzip

import pytest

from chatsync.replay.naming import ArchiveLayout, ObjectInfo, ObjectRange, object_body


def test_names_are_hive_style_with_zero_padded_offsets() -> None:
    key = ArchiveLayout("raw").object_key("tg.raw.botapi", 3, 0, 1234)
    assert key == "raw/tg.raw.botapi/partition=3/00000000000000000000-00000000000000001234.jsonl.gz"


def test_names_sort_in_offset_order() -> None:
    layout = ArchiveLayout()
    keys = [layout.object_key("t", 0, first, first + 9) for first in (0, 10, 100, 1000, 2**62)]
    assert sorted(keys) == keys


@pytest.mark.parametrize("prefix", ["raw", "raw/", "/archive/raw/", ""])
def test_a_name_parses_back(prefix: str) -> None:
    layout = ArchiveLayout(prefix)
    key = layout.object_key("tg.raw.mtproto", 11, 5, 9)
    assert layout.parse(key) == ("tg.raw.mtproto", 11, ObjectRange(5, 9))


@pytest.mark.parametrize(
    "key",
    [
        "raw/t/partition=1/5-9.jsonl.gz",
        "raw/t/partition=x/00000000000000000005-00000000000000000009.jsonl.gz",
        "other/t/partition=1/00000000000000000005-00000000000000000009.jsonl.gz",
        "raw/t/partition=1/00000000000000000005-00000000000000000009.json",
    ],
)
def test_other_keys_are_not_archive_objects(key: str) -> None:
    assert ArchiveLayout("raw").parse(key) is None


def test_start_after_lists_objects_from_an_offset() -> None:
    layout = ArchiveLayout()
    marker = layout.start_after("t", 0, 10)
    before, at, after = (layout.object_key("t", 0, f, f + 4) for f in (5, 10, 15))
    assert before < marker < at < after


def test_the_body_is_deterministic_gzip() -> None:
    lines = [b'{"a":1}\n', b'{"b":2}\n']
    body = object_body(lines)
    assert body == object_body(list(lines))
    assert body[4:8] == b"\x00\x00\x00\x00"  # mtime zero
    assert gzip.decompress(body) == b"".join(lines)


def test_metadata_round_trip() -> None:
    info = ObjectInfo(records=3, min_timestamp=10, max_timestamp=20)
    assert ObjectInfo.from_metadata(info.metadata()) == info
    assert ObjectInfo.from_metadata({"records": "x"}) is None
