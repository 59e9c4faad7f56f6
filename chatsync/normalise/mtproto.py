"""Adapter: a Telethon (MTProto) envelope -> an Observation (pure)."""

from __future__ import annotations

from chatsync.envelopes import RawEnvelope
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.observations import Observation


def observe_mtproto(envelope: RawEnvelope) -> Observation | None:
    raise NormaliseError(f"{envelope.source} records are not normalised yet")
