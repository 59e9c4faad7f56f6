"""One Bot API update in, one record out: the raw topic, or the DLQ when aiogram rejects its shape.

Shared by the webhook and the polling producer, so both write the same envelope to the same topic.
"""

from __future__ import annotations

import enum
import json
import logging
from datetime import datetime
from typing import Any

from chatsync.dlq import dead_letter_headers
from chatsync.envelopes import utc_now
from chatsync.producers.botapi.updates import (
    botapi_envelope,
    dedupe_key,
    describe_update,
    validation_error,
)
from chatsync.producers.publisher import Publisher

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DEAD_LETTERED = "dead_lettered"


class BotApiIngest:
    """Validate, wrap and publish Bot API updates for one bot."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        raw_topic: str,
        dlq_topic: str,
        bot_id: int | None,
        stage: str,
    ) -> None:
        self._publisher, self._raw_topic, self._dlq_topic = publisher, raw_topic, dlq_topic
        self._bot_id, self._stage = bot_id, stage
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self.last_accepted_at: datetime | None = None

    async def ingest(self, payload: dict[str, Any], raw: bytes | None = None) -> Outcome:
        """Publish one update (``raw``: its original JSON bytes, kept verbatim when given).

        Raises InvalidUpdate when it has no integer update_id, PublishUnavailable when Kafka
        did not acknowledge in time (then nothing may be acknowledged to Telegram).
        """
        info = describe_update(payload)
        identity = dedupe_key(self._bot_id, info.update_id)
        error = validation_error(payload)
        if error is not None:
            value = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
            await self.dead_letter(value, f"aiogram rejected the update: {error}", identity)
            log.warning("update %s (%s) dead-lettered: %s", info.update_id, info.update_type, error)
            self.counts[Outcome.DEAD_LETTERED] += 1
            return Outcome.DEAD_LETTERED
        envelope = botapi_envelope(payload, info, self._bot_id)
        await self._publisher.publish(
            self._raw_topic, envelope.partition_key(), envelope.to_bytes(raw), dedupe_key=identity
        )
        self.counts[Outcome.ACCEPTED] += 1
        self.last_accepted_at = utc_now()
        return Outcome.ACCEPTED

    async def dead_letter(self, value: bytes, reason: str, identity: str | None = None) -> None:
        """Keep a record that is not a valid update in the DLQ, with its original bytes."""
        headers = dead_letter_headers(self._stage, reason)
        dedupe = f"{identity}:dlq" if identity else None
        await self._publisher.publish(
            self._dlq_topic, None, value, headers=headers, dedupe_key=dedupe
        )
