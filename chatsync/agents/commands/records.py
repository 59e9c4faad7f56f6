"""From records to commands and back: the handlers the consumer loops run, and the DLQ.

``CommandRecords`` executes each record of ``chat.commands``; a record that is not a command, or a
command given up, goes to ``chat.dlq`` with its original bytes (stage ``commands``), so an operator
can replay it once the cause is fixed. ``AvatarRequests`` turns each customer event of
``chat.customers`` into a ``fetch_avatar`` command.
"""

from __future__ import annotations

import logging

from pydantic import TypeAdapter, ValidationError

from chatsync.agents.commands.consumer import Record
from chatsync.agents.commands.errors import BadCommand
from chatsync.agents.commands.executor import Executor
from chatsync.agents.commands.models import decode_command
from chatsync.agents.commands.requests import avatar_command, publish_command
from chatsync.dlq import dead_letter_headers
from chatsync.events import CustomerCreated, CustomerUpdated, Event
from chatsync.producers.publisher import Publisher

log = logging.getLogger(__name__)
_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)


class DeadLetters:
    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher, self._topic = publisher, topic

    async def put(self, record: Record, stage: str, reason: str) -> None:
        headers = dead_letter_headers(stage, reason, topic=record.topic,
                                      partition=record.partition, offset=record.offset)  # fmt: skip
        await self._publisher.publish(self._topic, record.key, record.value, headers=headers)


class CommandRecords:
    def __init__(self, executor: Executor, dead_letters: DeadLetters) -> None:
        self._executor, self._dead_letters = executor, dead_letters

    async def __call__(self, record: Record) -> None:
        try:
            command = decode_command(record.value)
        except BadCommand as exc:
            log.warning("%s[%d]@%d dead-lettered: %s", record.topic, record.partition,
                        record.offset, exc)  # fmt: skip
            await self._dead_letters.put(record, "commands", str(exc))
            return
        outcome = await self._executor.execute(command)
        if outcome.status == "given_up":
            reason = f"given up after {outcome.attempts} attempt(s): {outcome.detail}"
            await self._dead_letters.put(record, "commands", reason)


class AvatarRequests:
    def __init__(self, publisher: Publisher, commands_topic: str, dead_letters: DeadLetters):
        self._publisher, self._topic, self._dead_letters = publisher, commands_topic, dead_letters

    async def __call__(self, record: Record) -> None:
        try:
            event = _EVENTS.validate_json(record.value)
        except ValidationError as exc:
            reason = f"not an event: {exc.errors()[0]['msg']}"
            log.warning("%s[%d]@%d dead-lettered: %s", record.topic, record.partition,
                        record.offset, reason)  # fmt: skip
            await self._dead_letters.put(record, "avatar-requests", reason)
            return
        if isinstance(event, CustomerCreated | CustomerUpdated):
            await publish_command(self._publisher, self._topic, avatar_command(event))
