"""Where archive objects live and what they contain: names, bodies, metadata (pure).

Layout (Hive-style ``partition=`` folders, so query engines see the partition as a column)::

    <prefix>/<topic>/partition=<p>/<first offset>-<last offset>.jsonl.gz

Both offsets are zero-padded to 20 digits (any 64-bit offset fits): names sort in offset order,
and the objects of one partition tile its offsets without overlapping. The body is the records'
JSON lines (``chatsync.replay.records``) in offset order, gzip-compressed with a zero mtime and a
fixed level, so the same records always make the same bytes; a rewrite after a crash replaces the
object with identical content. Each object carries user metadata (``x-amz-meta-*``): the format,
the record count and the smallest and largest record timestamp (ms), which ``chatsync replay
--from-archive`` reads to pick the objects of a time range without downloading them.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

OFFSET_DIGITS = 20
GZIP_LEVEL = 6
FORMAT = "chatsync-raw-archive-1"
CONTENT_TYPE = "application/gzip"
_NAME = re.compile(r"^(?P<first>\d{20})-(?P<last>\d{20})\.jsonl\.gz$")


@dataclass(frozen=True, slots=True, order=True)
class ObjectRange:
    """The offsets one archive object holds (both inclusive)."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What an object's metadata says about it."""

    records: int
    min_timestamp: int
    max_timestamp: int

    def metadata(self) -> dict[str, str]:
        return {
            "format": FORMAT,
            "records": str(self.records),
            "min-timestamp": str(self.min_timestamp),
            "max-timestamp": str(self.max_timestamp),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> ObjectInfo | None:
        try:
            return cls(
                int(metadata["records"]),
                int(metadata["min-timestamp"]),
                int(metadata["max-timestamp"]),
            )
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class ArchiveLayout:
    """Object names under one prefix (``raw`` unless configured otherwise)."""

    prefix: str = "raw"

    def topic_prefix(self, topic: str) -> str:
        return f"{self._root()}{topic}/"

    def partition_prefix(self, topic: str, partition: int) -> str:
        return f"{self.topic_prefix(topic)}partition={partition}/"

    def object_key(self, topic: str, partition: int, first: int, last: int) -> str:
        name = f"{first:0{OFFSET_DIGITS}d}-{last:0{OFFSET_DIGITS}d}.jsonl.gz"
        return self.partition_prefix(topic, partition) + name

    def start_after(self, topic: str, partition: int, offset: int) -> str:
        """A listing marker: keys after it are the objects whose first offset is >= ``offset``."""
        return f"{self.partition_prefix(topic, partition)}{offset:0{OFFSET_DIGITS}d}"

    def parse(self, key: str) -> tuple[str, int, ObjectRange] | None:
        """(topic, partition, offsets) of an object key of this layout, else None."""
        root = self._root()
        if not key.startswith(root):
            return None
        topic, _, rest = key[len(root) :].partition("/partition=")
        partition, _, name = rest.partition("/")
        match = _NAME.match(name)
        if not topic or not partition.isdigit() or match is None:
            return None
        return topic, int(partition), ObjectRange(int(match["first"]), int(match["last"]))

    def _root(self) -> str:
        return f"{self.prefix.strip('/')}/" if self.prefix.strip("/") else ""


def object_body(lines: list[bytes]) -> bytes:
    """The gzip body of an object: deterministic for the same lines."""
    return gzip.compress(b"".join(lines), compresslevel=GZIP_LEVEL, mtime=0)


def object_lines(body: bytes) -> list[bytes]:
    """The JSON lines of an object body."""
    return gzip.decompress(body).splitlines()
