"""Export service messages (``"type": "service"``) as TL message actions (pure).

Only actions that happen in a private chat and that Telethon would deliver as a
``MessageService`` there are mapped; ``service_action`` returns None for the others (group and
channel actions, payments, gifts, themes, ...), which the import leaves out with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telethon.tl import types

_DISCARD_REASONS = {
    "hangup": types.PhoneCallDiscardReasonHangup,
    "missed": types.PhoneCallDiscardReasonMissed,
    "busy": types.PhoneCallDiscardReasonBusy,
    "disconnect": types.PhoneCallDiscardReasonDisconnect,
}


def service_action(message: Mapping[str, Any]) -> Any | None:
    """The TL action of a service message, or None when it has no private-chat counterpart."""
    action = message.get("action")
    if action == "phone_call":
        reason = _DISCARD_REASONS.get(str(message.get("discard_reason")))
        duration = message.get("duration_seconds")
        return types.MessageActionPhoneCall(
            0, reason=reason() if reason else None, duration=int(duration) if duration else None
        )
    if action == "pin_message":
        return types.MessageActionPinMessage()
    if action == "clear_history":
        return types.MessageActionHistoryClear()
    if action in ("take_screenshot", "screenshot_taken"):
        return types.MessageActionScreenshotTaken()
    if action == "set_messages_ttl":
        return types.MessageActionSetMessagesTTL(int(message.get("period_seconds") or 0))
    if action == "joined_telegram":
        return types.MessageActionContactSignUp()
    return None


def pinned_message_id(message: Mapping[str, Any]) -> int | None:
    """The message a ``pin_message`` action pinned (its reply header in MTProto)."""
    value = message.get("message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
