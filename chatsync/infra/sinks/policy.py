"""How the sink runner batches and retries: its options and the backoff between attempts."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatsync.settings import Settings


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial_s * multiplier ** attempt``, capped at ``max_s``.

    ``jitter`` (0..1) scales the delay down by up to that fraction, so many sinks coming back after
    one outage do not all hit the store in the same instant. A store's own retry-after wins when
    it is longer.
    """

    initial_s: float = 0.2
    max_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, *, retry_after: float = 0.0, spread: float = 0.0) -> float:
        """Seconds to wait before attempt ``attempt + 1``; ``spread`` is a random draw in [0, 1)."""
        exponential = self.initial_s * self.multiplier ** min(attempt, 64)
        capped = min(self.max_s, exponential)
        return max(retry_after, capped * (1.0 - self.jitter * spread))


@dataclass(frozen=True, slots=True)
class SinkOptions:
    """Batching and retrying of one sink runner."""

    batch_max_records: int = 5000
    batch_max_wait_s: float = 0.5
    backoff: Backoff = field(default_factory=Backoff)
    lag_refresh_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SinkOptions:
        """The options SINK_* settings name, or the defaults above where a setting is not defined.

        (``getattr`` so that this module works before and after the SINK_* fields are added to
        ``Settings``; afterwards it is plain attribute access.)
        """
        defaults = cls()
        max_records = getattr(settings, "sink_batch_max_records", defaults.batch_max_records)
        max_wait_ms = getattr(settings, "sink_batch_max_wait_ms", defaults.batch_max_wait_s * 1000)
        initial_ms = getattr(settings, "sink_retry_initial_ms", defaults.backoff.initial_s * 1000)
        max_ms = getattr(settings, "sink_retry_max_ms", defaults.backoff.max_s * 1000)
        return cls(
            batch_max_records=int(max_records),
            batch_max_wait_s=float(max_wait_ms) / 1000,
            backoff=Backoff(initial_s=float(initial_ms) / 1000, max_s=float(max_ms) / 1000),
        )
