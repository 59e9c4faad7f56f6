"""A whole Telegram Desktop export -> envelopes and a report, validated before anything is
published (pure).

Two shapes are read: the export of one chat (``result.json`` with ``name``, ``type``, ``id``,
``messages``) and the full account export (``chats.list`` of such chats; ``left_chats`` are
groups and channels and are omitted). Only ``personal_chat`` chats are conversations with a
customer; the others are omitted with their type. A chat's ``id`` is the other user's id. When
the full export names its account (``personal_information.user_id``) it must be the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from chatsync.envelopes import RawEnvelope
from chatsync.replay.export.mapping import ChatContext, map_message, message_id
from chatsync.replay.export.report import ChatReport, Entry, ImportReport

PRIVATE_CHAT = "personal_chat"


@dataclass
class ReadExport:
    report: ImportReport
    envelopes: list[RawEnvelope] = field(default_factory=list)


def read_export(
    data: Any,
    file: str,
    owner_user_id: int,
    *,
    local_timezone: tzinfo = UTC,
    keep_service: bool = True,
) -> ReadExport:
    result = ReadExport(ImportReport(file=file, owner_user_id=owner_user_id))
    chats = _chats(data, owner_user_id, result.report)
    for chat in chats:
        _read_chat(chat, result, local_timezone, keep_service)
    if not result.report.file_errors and not result.envelopes:
        result.report.file_errors.append("no message of a private chat to import")
    return result


def _chats(data: Any, owner_user_id: int, report: ImportReport) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        report.file_errors.append("not a Telegram Desktop export: the top level is not an object")
        return []
    account = (data.get("personal_information") or {}).get("user_id")
    if isinstance(account, int) and account != owner_user_id:
        report.file_errors.append(
            f"the export belongs to user {account}, not to --owner-user-id {owner_user_id}"
        )
        return []
    if isinstance(data.get("messages"), list):
        return [data]
    listed = (data.get("chats") or {}).get("list")
    if not isinstance(listed, list):
        report.file_errors.append("no `messages` (one chat) and no `chats.list` (full export)")
        return []
    left = (data.get("left_chats") or {}).get("list") or []
    return [c for c in listed if isinstance(c, dict)] + [c for c in left if isinstance(c, dict)]


def _read_chat(chat: dict[str, Any], result: ReadExport, zone: tzinfo, keep_service: bool) -> None:
    chat_id, name, kind = chat.get("id"), chat.get("name"), chat.get("type")
    listed = chat.get("messages")
    messages: list[Any] = listed if isinstance(listed, list) else []
    report = ChatReport(chat_id if isinstance(chat_id, int) else None, name, kind, len(messages))
    if kind != PRIVATE_CHAT:
        report.omitted.append(Entry(f"not a private chat with a person ({kind})"))
        result.report.omitted_chats.append(report)
        return
    result.report.chats.append(report)
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or chat_id <= 0:
        report.skipped.append(Entry(f"chat id {chat_id!r} is not a user id"))
        return
    context = ChatContext(result.report.owner_user_id, chat_id, name, zone, keep_service)
    seen: set[int] = set()
    for message in messages:
        mid = message_id(message)
        if mid is not None and mid in seen:
            report.skipped.append(Entry("the same id appears twice in this chat", mid))
            continue
        mapped = map_message(message, context)
        if mid is not None:
            seen.add(mid)
        report.notes += [Entry(note, mid) for note in mapped.notes]
        if mapped.skipped:
            report.skipped.append(Entry(mapped.skipped, mid))
        elif mapped.omitted:
            report.omitted.append(Entry(mapped.omitted, mid))
        elif mapped.envelope is not None:
            result.envelopes.append(mapped.envelope)
            report.imported += 1
