"""mark_read: the read mark to Telegram, then its outcome to the deal's raw topic.

``readBusinessMessage`` for Business deals, the account's read acknowledgement for account deals.
A command without ``up_to_message_id`` reads up to the deal's latest message as PostgreSQL knows it
when the command runs; when that message is outgoing, nothing is unread and nothing is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.models import MarkRead
from chatsync.agents.commands.outcomes import outcome_identity, read_outcome
from chatsync.agents.commands.ports import DealReads
from chatsync.producers.publisher import Publisher


@dataclass(frozen=True, slots=True)
class RawTopics:
    botapi: str
    mtproto: str


class ReadHandler:
    def __init__(
        self,
        edges: Edges,
        deals: DealReads,
        publisher: Publisher,
        topics: RawTopics,
        *,
        bot_id: int | None,
    ) -> None:
        self._edges, self._deals, self._publisher = edges, deals, publisher
        self._topics, self._bot_id = topics, bot_id

    async def __call__(self, command: MarkRead) -> str:
        """Carry the command out; return what it did, for the log."""
        edge = self._edges.edge(command.side, command.owner_user_id)
        max_id = command.up_to_message_id or await self._deals.latest_incoming(command.deal_id)
        if max_id is None:
            return "nothing unread"
        await edge.mark_read(command.chat_id, max_id, command.business_connection_id)
        envelope = read_outcome(command, max_id, self._bot_id)
        topic = self._topics.botapi if command.side == "botapi" else self._topics.mtproto
        await self._publisher.publish(
            topic, envelope.partition_key(), envelope.to_bytes(),
            headers=[("chatsync.command_id", command.command_id.encode())],
            dedupe_key=outcome_identity(envelope),
        )  # fmt: skip
        return f"read up to {max_id}"
