"""The live producer's health: held in memory and mirrored to ``health-<account>.json``.

A status API (or ``chatsync telethon status``) reads the file; the process itself reads the
object. The file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chatsync.envelopes import utc_now
from chatsync.producers.telethon.render import iso_utc
from chatsync.producers.telethon.vault import write_private


@dataclass
class LiveHealth:
    """What the live producer of one account is doing."""

    account_user_id: int | None = None
    connected: bool = False
    last_update_at: datetime | None = None
    reconnects: int = 0
    flood_wait_until: datetime | None = None
    published: int = 0
    pending: int = 0
    last_error: str | None = None
    updated_at: datetime = field(default_factory=utc_now)

    def to_json(self) -> dict[str, Any]:
        return {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in asdict(self).items()}


def health_path(var_dir: Path, account_user_id: int) -> Path:
    return var_dir / "telethon" / f"health-{account_user_id}.json"


class HealthFile:
    """Writes LiveHealth to a file; ``write`` is cheap enough to call on every change of state."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, health: LiveHealth) -> None:
        if self.path is None:
            return
        health.updated_at = utc_now()
        write_private(self.path, json.dumps(health.to_json(), indent=2).encode() + b"\n")

    @staticmethod
    def read(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None
