"""At-least-once publishing of envelopes: retry PublishUnavailable with backoff, never drop.

Shared by the live producer and the history sync. ``pause(seconds)`` waits between attempts and
answers False when the caller is stopping; then the last PublishUnavailable is raised, and the
caller must not record the envelope as sent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from chatsync.envelopes import RawEnvelope
from chatsync.producers.errors import PublishUnavailable
from chatsync.producers.publisher import Publisher
from chatsync.producers.telethon.events import dedupe_key

log = logging.getLogger(__name__)
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0

Pause = Callable[[float], Awaitable[bool]]


async def publish_envelope(
    publisher: Publisher,
    topic: str,
    envelope: RawEnvelope,
    pause: Pause,
    *,
    first_backoff_s: float = FIRST_BACKOFF_S,
    on_retry: Callable[[str], None] | None = None,
) -> None:
    """Return once Kafka acknowledged ``envelope``; retry for as long as ``pause`` allows."""
    backoff = first_backoff_s
    while True:
        try:
            await publisher.publish(
                topic,
                envelope.partition_key(),
                envelope.to_bytes(),
                dedupe_key=dedupe_key(envelope),
            )
            return
        except PublishUnavailable as exc:
            log.warning("Kafka unavailable (%s); retrying in %.1f s", exc, backoff)
            if on_retry is not None:
                on_retry(str(exc))
            if not await pause(backoff):
                raise
            backoff = min(backoff * 2, MAX_BACKOFF_S)
