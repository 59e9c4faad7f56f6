"""What a message looks like to API and WebSocket clients: service messages say what happened."""

from __future__ import annotations

from chatsync.api.models import MessageOut, service_name
from chatsync.events import Media
from tests.unit.sinks.factories import message_data


def test_telethon_actions_become_snake_case_names() -> None:
    assert service_name("MessageActionPinMessage") == "pin_message"
    assert service_name("MessageActionChatEditPhoto") == "chat_edit_photo"
    assert service_name("unknown") == "unknown"
    assert service_name(None) is None
    assert service_name("MessageAction") is None


def test_a_service_message_carries_its_action_and_no_file_details() -> None:
    pinned = message_data(5, 1, "").model_copy(
        update={
            "text": None,
            "media": Media(type="other", extra={"service": "MessageActionPinMessage"}),
        }
    )
    out = MessageOut.from_data("deal_x", pinned, [])
    assert out.media is not None
    assert (out.media.type, out.media.service) == ("other", "pin_message")
    photo = message_data(6, 1, "").model_copy(update={"media": Media(type="photo")})
    media = MessageOut.from_data("deal_x", photo, []).media
    assert media is not None
    assert media.service is None
