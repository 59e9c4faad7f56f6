"""The WebSocket clients of bench.realtime, in a process of their own.

They only read: for every frame the arrival time (``time.monotonic()``, CLOCK_MONOTONIC, the same
clock in every process of the machine) and the event id, cut out of the text without parsing the
JSON (the server writes ``{"type":...,"event_id":"<uuid>",...}``), so that the cost of the clients
stays small and apart from the process that sends the load. The parent asks for what arrived
since it last asked (``RemoteSockets.collect``) over a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.realtime.workload import EVENT_ID_CHARS

MARK = '"event_id":"'
Arrival = tuple[str, int, float]  # event id, socket index, monotonic time


@dataclass(slots=True)
class Received:
    """What the sockets saw since the last collection."""

    arrivals: list[Arrival] = field(default_factory=list)
    heartbeats: int = 0
    closed: list[tuple[int, int | None]] = field(default_factory=list)  # socket, close code


def serve(urls: list[str], token: str, control: Connection) -> None:
    """The child process: open every socket, say "ready", record until told to stop."""
    asyncio.run(_serve(urls, token, control))


async def _serve(urls: list[str], token: str, control: Connection) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        sockets = [await connect(url, additional_headers=headers, open_timeout=60) for url in urls]
    except (OSError, TimeoutError, WebSocketException) as error:
        control.send(("error", repr(error)))
        return
    received, stop = Received(), asyncio.Event()
    readers = [asyncio.create_task(_read(i, ws, received)) for i, ws in enumerate(sockets)]
    loop = asyncio.get_running_loop()
    loop.add_reader(control.fileno(), _command, control, received, stop)
    control.send(("ready", len(sockets)))
    await stop.wait()
    loop.remove_reader(control.fileno())
    for ws in sockets:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    control.send(("stopped", 0))


def _command(control: Connection, received: Received, stop: asyncio.Event) -> None:
    command = control.recv()
    if command == "collect":
        control.send((list(received.arrivals), received.heartbeats, list(received.closed)))
        received.arrivals.clear()
        received.heartbeats = 0
        received.closed.clear()
    elif command == "stop":
        stop.set()


async def _read(index: int, ws: ClientConnection, received: Received) -> None:
    try:
        async for message in ws:
            at = time.monotonic()
            text = message if isinstance(message, str) else message.decode()
            start = text.find(MARK)
            if start < 0:
                received.heartbeats += 1
                continue
            start += len(MARK)
            received.arrivals.append((text[start : start + EVENT_ID_CHARS], index, at))
    except ConnectionClosed:
        pass
    received.closed.append((index, ws.close_code))


class RemoteSockets:
    """The parent's handle on the client process."""

    def __init__(self, urls: list[str], token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(urls, token, child), name="bench-realtime-sockets", daemon=True
        )
        self._lock = asyncio.Lock()
        self.count = len(urls)

    async def start(self, timeout_s: float) -> None:
        self.process.start()
        kind, detail = await asyncio.to_thread(self._receive, timeout_s)
        if kind != "ready":
            raise RuntimeError(f"the WebSocket clients could not connect: {detail}")

    async def collect(self) -> Received:
        async with self._lock:
            self._control.send("collect")
            arrivals, heartbeats, closed = await asyncio.to_thread(self._receive, 60)
        return Received(arrivals, heartbeats, closed)

    def _receive(self, timeout_s: float) -> Any:
        if not self._control.poll(timeout_s):
            raise TimeoutError(f"the WebSocket clients did not answer within {timeout_s:.0f} s")
        return self._control.recv()

    async def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError, TimeoutError, EOFError):
                async with self._lock:
                    self._control.send("stop")
                    await asyncio.to_thread(self._receive, 15)
        await asyncio.to_thread(self.process.join, 5)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join, 5)
