"""MemoizedPartitioner puts every key where aiokafka's (and Java's) default partitioner does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from chatsync.infra.kafka import MemoizedPartitioner


def test_keys_land_in_the_default_partitioners_partition_also_when_remembered() -> None:
    memoized, default = MemoizedPartitioner(size=16), DefaultPartitioner()
    keys = [f"deal_{i:032x}".encode() for i in range(200)] + [b"", b"tg_1", "é".encode()]
    for partitions in ([0, 1, 2, 3], [0, 1, 2], list(range(12))):
        for key in keys + keys:  # the second round partly from the cache (16 entries)
            assert memoized(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert MemoizedPartitioner()(None, [0, 1, 2, 3], [2]) == 2
