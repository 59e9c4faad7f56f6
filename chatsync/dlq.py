"""The dead-letter topic's contract: the record's original bytes as value, the reason as headers.

Headers (all UTF-8 strings):

==========================  ===========================================================
``dlq.stage``               where it failed: ``webhook``, ``polling``, ``normalise``, ...
``dlq.error``               the error class and message (no secrets, at most 1,000 chars)
``dlq.at``                  when it was dead-lettered, ISO-8601 UTC
``dlq.source.topic``        the topic the record was read from (when it was read from one)
``dlq.source.partition``    its partition
``dlq.source.offset``       its offset
==========================  ===========================================================

The key is the original record's key (or none). Nothing is retried from the DLQ by itself: an
operator inspects it (``chatsync topics tail chat.dlq``) and replays what a fix makes valid.
"""

from __future__ import annotations

from datetime import UTC, datetime

Headers = list[tuple[str, bytes]]
MAX_ERROR_CHARS = 1000


def dead_letter_headers(
    stage: str,
    error: str,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> Headers:
    headers = [
        ("dlq.stage", stage.encode()),
        ("dlq.error", error[:MAX_ERROR_CHARS].encode()),
        ("dlq.at", datetime.now(UTC).isoformat().encode()),
    ]
    if topic is not None:
        headers.append(("dlq.source.topic", topic.encode()))
    if partition is not None:
        headers.append(("dlq.source.partition", str(partition).encode()))
    if offset is not None:
        headers.append(("dlq.source.offset", str(offset).encode()))
    return headers
