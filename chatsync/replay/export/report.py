"""What an import did with every chat and message, for people and as JSON (``--report``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    """One message (or chat) and why it was skipped, omitted or noted."""

    reason: str
    message_id: int | None = None


@dataclass
class ChatReport:
    chat_id: int | None
    name: str | None
    type: str | None
    messages: int = 0
    imported: int = 0
    skipped: list[Entry] = field(default_factory=list)  # bad or partial data
    omitted: list[Entry] = field(default_factory=list)  # left out on purpose
    notes: list[Entry] = field(default_factory=list)  # imported, with a caveat


@dataclass
class ImportReport:
    """``skipped``: data that could not be imported (exit code 1 unless ``--allow-skips``);
    ``omitted``: chats and messages left out on purpose (not private chats, service actions
    without an MTProto counterpart); ``notes``: imported, with a caveat."""

    file: str
    owner_user_id: int
    chats: list[ChatReport] = field(default_factory=list)
    omitted_chats: list[ChatReport] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    published: int = 0
    dry_run: bool = False

    @property
    def imported(self) -> int:
        return sum(c.imported for c in self.chats)

    @property
    def skipped(self) -> int:
        return len(self.file_errors) + sum(len(c.skipped) for c in self.chats)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(imported=self.imported, skipped=self.skipped)
        return data

    def lines(self) -> list[str]:
        lines = [f"{self.file}: owner {self.owner_user_id}"]
        lines += [f"  error: {error}" for error in self.file_errors]
        for chat in self.chats:
            lines.append(
                f"  chat {chat.chat_id} ({chat.name}): {chat.imported} of {chat.messages} "
                f"messages importable, {len(chat.skipped)} skipped, {len(chat.omitted)} omitted"
            )
            lines += [f"    skipped {_which(e)}: {e.reason}" for e in chat.skipped]
            lines += [f"    omitted {_which(e)}: {e.reason}" for e in chat.omitted]
            lines += [f"    note {_which(e)}: {e.reason}" for e in chat.notes]
        for chat in self.omitted_chats:
            reason = chat.omitted[0].reason if chat.omitted else "omitted"
            lines.append(f"  omitted chat {chat.chat_id} ({chat.name}, {chat.type}): {reason}")
        verb = "would publish" if self.dry_run else "published"
        count = self.imported if self.dry_run else self.published
        lines.append(f"{verb} {count} records; {self.skipped} skipped")
        return lines


def _which(entry: Entry) -> str:
    return f"message {entry.message_id}" if entry.message_id is not None else "message ?"
