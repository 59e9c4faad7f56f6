"""The backfill progress line and summary."""

from __future__ import annotations

from datetime import timedelta

from chatsync.producers.telethon.backfill import Progress
from chatsync.producers.telethon.progress import progress_line, summary
from chatsync.producers.telethon.synctasks import SyncState
from tests.fakes.telethon import T0


def test_the_line_shows_dialogs_messages_rate_chat_and_flood_wait() -> None:
    progress = Progress(
        dialogs_total=12,
        dialogs_done=3,
        messages_sent=1500,
        resumed_from=500,
        current_dialog=777,
        flood_wait_until=T0 + timedelta(seconds=28),
    )
    line = progress_line(progress, elapsed_s=20.0, now=T0)
    assert line == "dialogs 3/12 | messages 1,500 | 50.0 msg/s | chat 777 | flood wait 28 s"
    assert "flood" not in progress_line(progress, 20.0, T0 + timedelta(seconds=29))
    assert "0.0 msg/s" in progress_line(Progress(), 0.0, T0)


def test_the_summary_counts_this_run_and_mentions_a_resume_and_skips() -> None:
    progress = Progress(
        dialogs_total=4, dialogs_done=4, messages_sent=300, resumed_from=100, skipped=[43]
    )
    assert summary("t-1", SyncState.SUCCEEDED, progress, 10.0) == [
        "history sync t-1: succeeded",
        "dialogs: 4/4 (1 skipped)",
        "messages sent: 200 in 10 s (20.0 msg/s), 100 before a resume",
    ]
