"""Replay target "a fresh consumer group of the worker": the worker under a new WORKER_APP_ID.

Nothing is copied. A worker started with ``WORKER_APP_ID=<worker app id>-replay-<replay id>``
is a new consumer group with new internal and changelog topics and a new RocksDB directory
(``<CHATSYNC_VAR_DIR>/worker/<app id>``); it reads both raw topics from their earliest retained
record (``auto.offset.reset=earliest``) and derives everything again. It publishes to the
configured normalised topics: event ids are deterministic, so events the first worker already
published come out with the same ids and idempotent consumers apply them once. To compare
instead of merge, point TOPIC_DEALS, TOPIC_CUSTOMERS and TOPIC_MESSAGES at other topics (they
must exist: ``chatsync infra provision`` creates them) for that worker.

The group itself is the checkpoint: the same replay id runs the same group, which resumes
where it stopped.
"""

from __future__ import annotations

import os
import shlex
import sys

from chatsync.replay.groups import GroupState
from chatsync.settings import Settings


def worker_group(settings: Settings, replay_id: str) -> str:
    return f"{settings.worker_app_id}-replay-{replay_id}"


def worker_environment(group: str) -> dict[str, str]:
    """What differs from the current environment for the fresh worker."""
    return {"WORKER_APP_ID": group}


def worker_lines(settings: Settings, group: str, state: GroupState) -> list[str]:
    """What will happen, and the command that does it."""
    if state.active:
        status = f"group {group} is running now ({len(state.members)} member(s))"
    elif state.state == "Empty":
        status = f"group {group} exists: the worker resumes where it stopped"
    else:
        status = f"group {group} is new: the worker starts at the earliest retained records"
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in worker_environment(group).items())
    return [
        status,
        f"reads {settings.topic_raw_botapi} and {settings.topic_raw_mtproto}; "
        f"state under {settings.var_dir / 'worker' / group}",
        f"publishes to {settings.topic_deals}, {settings.topic_customers}, "
        f"{settings.topic_messages} (same event ids as the running worker)",
        f"run: {command} chatsync worker",
    ]


def launch_worker(group: str) -> None:
    """Replace this process by ``chatsync worker`` under the fresh group (does not return)."""
    environment = {**os.environ, **worker_environment(group)}
    argv = [sys.executable, "-m", "chatsync", "worker"]
    os.execvpe(argv[0], argv, environment)  # noqa: S606 - our own interpreter, fixed arguments
