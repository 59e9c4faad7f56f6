"""The ``chatsync backfill`` progress line and summary (pure text from the engine's Progress)."""

from __future__ import annotations

from datetime import datetime

from chatsync.producers.telethon.backfill import Progress
from chatsync.producers.telethon.synctasks import SyncState


def progress_line(progress: Progress, elapsed_s: float, now: datetime) -> str:
    """``dialogs 3/12 | messages 1,234 | 41.2 msg/s | chat 777 | flood wait 28 s``."""
    parts = [
        f"dialogs {progress.dialogs_done}/{progress.dialogs_total}",
        f"messages {progress.messages_sent:,}",
        f"{rate(progress.messages_sent - progress.resumed_from, elapsed_s):.1f} msg/s",
    ]
    if progress.current_dialog is not None:
        parts.append(f"chat {progress.current_dialog}")
    if progress.flood_wait_until is not None and progress.flood_wait_until > now:
        parts.append(f"flood wait {(progress.flood_wait_until - now).total_seconds():.0f} s")
    return " | ".join(parts)


def summary(task_id: str, state: SyncState, progress: Progress, elapsed_s: float) -> list[str]:
    this_run = progress.messages_sent - progress.resumed_from
    skipped = f" ({len(progress.skipped)} skipped)" if progress.skipped else ""
    resumed = f", {progress.resumed_from:,} before a resume" if progress.resumed_from else ""
    return [
        f"history sync {task_id}: {state}",
        f"dialogs: {progress.dialogs_done}/{progress.dialogs_total}{skipped}",
        f"messages sent: {this_run:,} in {elapsed_s:.0f} s "
        f"({rate(this_run, elapsed_s):.1f} msg/s){resumed}",
    ]


def rate(count: int, elapsed_s: float) -> float:
    return count / elapsed_s if elapsed_s > 0 else 0.0
