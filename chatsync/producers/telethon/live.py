"""``chatsync telethon run``: one account's live updates, reconnected and caught up for ever.

The runner owns the connection's life: connect, catch up on what was missed (Telegram's update
state lives in the session), wait until the connection drops, reconnect with backoff. Telegram's
flood waits are obeyed and shown in the health object; Kafka outages are the ingest's business
(it retries, and holds back the session's update state meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from telethon import errors

from chatsync.envelopes import utc_now
from chatsync.producers.telethon.errors import NotAuthorized, TelethonError
from chatsync.producers.telethon.health import HealthFile, LiveHealth
from chatsync.producers.telethon.ingest import LiveIngest

log = logging.getLogger(__name__)
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 300.0
DRAIN_GRACE_S = 10.0


class LiveConnection(Protocol):
    """One account's connection to Telegram (TelethonConnection; a fake in unit tests)."""

    async def connect(self) -> int:
        """Connect and start delivering updates to the ingest; the account's user id.
        Raises NotAuthorized when the session is not signed in."""
        ...

    async def catch_up(self) -> None:
        """Fetch the updates missed since the session's saved update state."""
        ...

    async def wait_disconnected(self) -> None:
        """Return (or raise the cause) when the connection is lost."""
        ...

    async def disconnect(self) -> None: ...


class LiveRunner:
    """Connect, catch up, wait, reconnect; ``run`` returns after ``stop``."""

    def __init__(
        self,
        connection: LiveConnection,
        ingest: LiveIngest,
        health_file: HealthFile,
        *,
        first_backoff_s: float = FIRST_BACKOFF_S,
        drain_grace_s: float = DRAIN_GRACE_S,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._connection, self._ingest, self._health_file = connection, ingest, health_file
        self.health: LiveHealth = ingest.health
        self._first_backoff, self._grace = first_backoff_s, drain_grace_s
        self._stopping = asyncio.Event()
        self._sleep = sleep

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> bool:
        """Run until stopped; True when every received update reached Kafka."""
        worker = asyncio.create_task(self._ingest.run())
        loop = asyncio.create_task(self._connection_loop())
        try:
            done, _ = await asyncio.wait({worker, loop}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a worker that died, or a fatal connection error, ends the run
            return await self._ingest.close(self._grace)
        finally:
            for task in (loop, worker):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _connection_loop(self) -> None:
        backoff = self._first_backoff
        while not self._stopping.is_set():
            try:
                await self._session()
                backoff = self._first_backoff
            except errors.FloodWaitError as exc:
                await self._flood_wait(exc.seconds)
            except (errors.UnauthorizedError, NotAuthorized) as exc:
                raise NotAuthorized() from exc
            except errors.ApiIdInvalidError as exc:
                raise TelethonError("Telegram rejected TG_API_ID / TG_API_HASH") from exc
            except (OSError, errors.RPCError) as exc:
                self._note(f"{type(exc).__name__}: {exc}")
                log.warning("Telegram connection failed (%s); retrying in %.0f s", exc, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            if not self._stopping.is_set():
                self.health.reconnects += 1
                self._health_file.write(self.health)

    async def _session(self) -> None:
        """One connection: connect, catch up, wait for the drop or ``stop``, disconnect."""
        try:
            self.health.account_user_id = await self._connection.connect()
            self.health.connected, self.health.flood_wait_until = True, None
            self._health_file.write(self.health)
            await self._connection.catch_up()
            log.info("connected as %s; receiving updates", self.health.account_user_id)
            await self._until_dropped()
        finally:
            self.health.connected = False
            self._health_file.write(self.health)
            await self._connection.disconnect()

    async def _until_dropped(self) -> None:
        dropped = asyncio.create_task(self._connection.wait_disconnected())
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({dropped, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (dropped, stopping):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if dropped.done() and not dropped.cancelled():
            dropped.result()  # raises the cause of the drop, if there is one
            log.warning("Telegram connection lost; reconnecting")

    async def _flood_wait(self, seconds: int) -> None:
        self.health.flood_wait_until = utc_now() + timedelta(seconds=seconds)
        self._note(f"flood wait of {seconds} s")
        log.warning("Telegram asks to wait %d s (flood wait)", seconds)
        await self._pause(seconds)
        self.health.flood_wait_until = None

    def _note(self, error: str) -> None:
        self.health.last_error = error
        self._health_file.write(self.health)

    async def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
