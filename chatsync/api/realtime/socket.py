"""``/ws/chats/{user_id}/``: every deal.* and message.* event of one owner, live, gapless on resume.

Authentication: the API's bearer token in the ``Authorization`` header, or ``?token=`` (browsers
cannot set headers). A token opens only its own ``user_id`` (admins: any).

Frames (JSON): ``{"type", "event_id", "cursor", "deal_id", "data"}`` with ``data`` in the REST
API's shapes (a deal or a message); ``{"type": "heartbeat", "cursor"}`` every 15 s; and
``{"type": "error", "code", "message"}`` right before a close.

Resume: reconnect with ``?cursor=<the last cursor seen>``. The cursor is the Kafka position of
the stream (per topic and partition), so the server first replays from Kafka every event after it,
in order, then continues live, with no duplicate at the seam; heartbeats advance the cursor of a
quiet owner. A cursor older than the topics' retention is refused (4410): reload over REST.

Close codes: 4400 malformed cursor, 4401 no or bad token, 4403 another owner's stream,
4408 the client read too slowly (its bounded buffer filled), 4410 cursor too old, 1011 server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from chatsync.api.auth import authenticate, bearer_token
from chatsync.api.errors import ApiError
from chatsync.api.realtime.catchup import CursorExpired, replay_until
from chatsync.api.realtime.cursor import decode_stream_cursor, encode_stream_cursor
from chatsync.api.realtime.frames import FrameBuilder
from chatsync.api.realtime.hub import Hub, Position, Record, Subscription

log = logging.getLogger(__name__)
HEARTBEAT_S = 15.0
CLOSE_BAD_CURSOR, CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN = 4400, 4401, 4403
CLOSE_TOO_SLOW, CLOSE_CURSOR_EXPIRED = 4408, 4410


async def chats_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    token = bearer_token(websocket) or websocket.query_params.get("token")
    try:
        principal = await authenticate(websocket, token)
    except ApiError:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "unauthorized", "a valid token is required")
        return
    user_id = websocket.path_params["user_id"]
    if not principal.is_admin and user_id != principal.user_id:
        await _refuse(
            websocket, CLOSE_FORBIDDEN, "forbidden", "this token opens only its own chats"
        )
        return
    cursor_text = websocket.query_params.get("cursor")
    try:
        cursor = decode_stream_cursor(cursor_text) if cursor_text else None
    except ValueError:
        await _refuse(websocket, CLOSE_BAD_CURSOR, "invalid_cursor", "the cursor is not ours")
        return
    hub: Hub = websocket.app.state.hub
    subscription = await hub.subscribe(user_id)
    try:
        await _serve(websocket, subscription, cursor)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscription)


async def _serve(
    websocket: WebSocket, subscription: Subscription, cursor: dict[Position, int] | None
) -> None:
    frames = FrameBuilder(websocket.app.state)
    position = dict(subscription.start)
    if cursor is not None:
        try:
            async for record in replay_until(
                websocket.app.state.settings, cursor, subscription.start, subscription.owner_user_id
            ):
                position[(record.topic, record.partition)] = record.offset + 1
                await websocket.send_json(await frames.frame(record, position))
        except CursorExpired as exc:
            await _refuse(websocket, CLOSE_CURSOR_EXPIRED, "cursor_expired", str(exc))
            return
    receiver = asyncio.create_task(websocket.receive())  # notices the client leaving
    try:
        await _live(websocket, subscription, position, frames, receiver)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _live(
    websocket: WebSocket,
    subscription: Subscription,
    position: dict[Position, int],
    frames: FrameBuilder,
    receiver: asyncio.Task[Any],
) -> None:
    while True:
        if subscription.overflowed:
            await _refuse(websocket, CLOSE_TOO_SLOW, "too_slow", "the client read too slowly")
            return
        getter = asyncio.ensure_future(subscription.queue.get())
        done, _ = await asyncio.wait(
            {getter, receiver}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if receiver in done:
            getter.cancel()
            message = receiver.result()
            if message["type"] == "websocket.disconnect":
                return
            receiver = asyncio.create_task(websocket.receive())
            continue
        if getter not in done:
            getter.cancel()
            # Nothing queued: every record the hub read so far is delivered or not ours.
            hub: Hub = websocket.app.state.hub
            for key, offset in hub.positions.items():
                position[key] = max(position.get(key, 0), offset)
            await websocket.send_json(
                {"type": "heartbeat", "cursor": encode_stream_cursor(position)}
            )
            continue
        record: Record = getter.result()
        key = (record.topic, record.partition)
        if record.offset < position.get(key, 0):
            continue  # already delivered during the catch-up
        position[key] = record.offset + 1
        await websocket.send_json(await frames.frame(record, position))


async def _refuse(websocket: WebSocket, code: int, error: str, message: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json({"type": "error", "code": error, "message": message})
        await websocket.close(code)
