"""A replay's progress on disk: ``<CHATSYNC_VAR_DIR>/replay/<replay id>.json``.

Written after every chunk the target acknowledged, atomically (a temporary file renamed over the
old one), so an interrupted replay resumes from its last saved positions. It records:

* ``params``: the options that define the replay; a resume with other options is refused;
* per source partition (``"<topic>:<partition>"``): the planned ``start`` and ``end`` offsets,
  ``next`` (the first source offset not yet copied) and ``replayed`` (records copied so far);
* ``target_marks``: the target's end offsets when the checkpoint was saved. Records a replay sent
  after its last checkpoint lie beyond these marks; on resume they are found by their
  ``chatsync.replay.id`` header and skipped, so even a kill -9 between an acknowledgement and a
  checkpoint leaves no duplicate in the target.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatsync.envelopes import utc_now
from chatsync.replay.errors import ReplayError
from chatsync.replay.plan import PartitionPlan

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class PartitionProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int
    end: int
    next: int
    replayed: int = 0

    @property
    def done(self) -> bool:
        return self.next >= self.end


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replay_id: str
    version: Literal[1] = 1
    params: dict[str, str]
    target: str
    partitions: dict[str, PartitionProgress]
    target_marks: dict[int, int] = Field(default_factory=dict)
    status: Literal["running", "done"] = "running"
    started_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def new(
        cls, replay_id: str, params: dict[str, str], target: str, plans: list[PartitionPlan]
    ) -> Checkpoint:
        progress = {p.key: PartitionProgress(start=p.start, end=p.end, next=p.start) for p in plans}
        return cls(replay_id=replay_id, params=params, target=target, partitions=progress)

    @property
    def replayed(self) -> dict[str, int]:
        return {key: p.replayed for key, p in self.partitions.items()}

    @property
    def remaining(self) -> int:
        return sum(max(0, p.end - p.next) for p in self.partitions.values())


class CheckpointFile:
    def __init__(self, directory: Path, replay_id: str) -> None:
        if not _ID.match(replay_id):
            raise ReplayError(
                f"replay id {replay_id!r}: use letters, digits, '.', '_' and '-' (max 128)"
            )
        self.path = directory / f"{replay_id}.json"

    def load(self) -> Checkpoint | None:
        if not self.path.exists():
            return None
        try:
            return Checkpoint.model_validate_json(self.path.read_bytes())
        except ValueError as exc:
            raise ReplayError(
                f"{self.path} is not a replay checkpoint ({exc}); move it away"
            ) from exc

    def save(self, checkpoint: Checkpoint) -> None:
        checkpoint.updated_at = utc_now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(checkpoint.model_dump_json(indent=2))
        os.replace(temporary, self.path)
