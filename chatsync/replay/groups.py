"""Consumer groups: who is active, who reads what, and deleting a group's offsets.

aiokafka's admin client has no call for DeleteGroups, so ``delete_group`` sends Kafka's
DeleteGroups request (API 42) to the group's coordinator itself. The broker refuses it while the
group has members (``NON_EMPTY_GROUP``), which is a second guard behind ``members``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import DeleteGroupsRequest

from chatsync.replay.errors import ReplayError, UnsafeOperation

_GROUP_NOT_FOUND = 69
_NON_EMPTY_GROUP = 68


@dataclass(frozen=True, slots=True)
class GroupState:
    group: str
    state: str  # Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
    members: tuple[str, ...]  # client ids of the active members

    @property
    def active(self) -> bool:
        return bool(self.members) or self.state not in ("Empty", "Dead")


async def group_state(admin: AIOKafkaAdminClient, group: str) -> GroupState:
    """The group's state and members (one group per request: aiokafka misreads several)."""
    [response] = await admin.describe_consumer_groups([group])
    [described] = response.to_object()["groups"]
    members = tuple(str(m["client_id"]) for m in described["members"])
    return GroupState(group, str(described["state"]), members)


async def committed_topics(admin: AIOKafkaAdminClient, group: str) -> set[str]:
    """The topics the group has committed offsets on."""
    return {tp.topic for tp in await admin.list_consumer_group_offsets(group)}


async def groups_reading(admin: AIOKafkaAdminClient, topics: set[str]) -> dict[str, set[str]]:
    """Every consumer group with committed offsets on any of ``topics`` -> those topics."""
    found: dict[str, set[str]] = {}
    for group, *_ in await admin.list_consumer_groups():
        overlap = await committed_topics(admin, group) & topics
        if overlap:
            found[group] = overlap
    return found


async def delete_group(servers: str, admin: AIOKafkaAdminClient, group: str) -> bool:
    """Delete the group and its committed offsets; False when there was no such group."""
    node = await admin.find_coordinator(group)
    client = AIOKafkaClient(bootstrap_servers=servers)
    await client.bootstrap()
    try:
        response = await client.send(node, DeleteGroupsRequest([group]))
    finally:
        await client.close()
    [(_, error)] = response.results
    if error == _GROUP_NOT_FOUND:
        return False
    if error == _NON_EMPTY_GROUP:
        raise UnsafeOperation(f"consumer group {group} has active members: stop them first")
    if error:
        raise ReplayError(f"deleting consumer group {group} failed with Kafka error {error}")
    return True
