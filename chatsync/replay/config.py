"""Defaults of the replay tools, read from the settings in one place.

The fields below are meant to live in ``chatsync.settings.Settings`` (names as shown, upper-cased
as environment variables). Until they do, ``from_settings`` falls back to these defaults, so the
commands work either way; once Settings declares them, the values come from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatsync.settings import Settings


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    archive_group: str = "chatsync-archiver"
    archive_prefix: str = "raw"
    archive_max_bytes: int = 64 * 1024 * 1024
    archive_max_span_s: int = 3600
    archive_idle_flush_s: int = 60
    var_dir: Path = Path("var")

    @property
    def replay_dir(self) -> Path:
        """Where replay checkpoints live: ``<CHATSYNC_VAR_DIR>/replay/<id>.json``."""
        return self.var_dir / "replay"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplayConfig:
        defaults = cls()

        def setting(name: str) -> Any:
            return getattr(settings, name, getattr(defaults, name))

        return cls(
            archive_group=setting("archive_group"),
            archive_prefix=setting("archive_prefix"),
            archive_max_bytes=setting("archive_max_bytes"),
            archive_max_span_s=setting("archive_max_span_s"),
            archive_idle_flush_s=setting("archive_idle_flush_s"),
            var_dir=settings.var_dir,
        )
