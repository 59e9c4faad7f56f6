"""One contract for every AvatarStore (memory here, S3 in the integration tests).

A subclass provides the ``avatars`` fixture: a StoreProbe over a fresh store.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatsync.agents.commands.ports import AvatarStore


@dataclass
class StoreProbe:
    store: AvatarStore
    uploads: Callable[[], int]
    read: Callable[[str], Awaitable[bytes]]


def _photo() -> bytes:
    return b"\xff\xd8\xff\xe0" + random.randbytes(48)


class AvatarStoreContract:
    async def test_a_photo_is_stored_under_its_sha256(self, avatars: StoreProbe) -> None:
        photo = _photo()
        key = await avatars.store.put(photo)
        assert key == f"avatars/{hashlib.sha256(photo).hexdigest()}.jpg"
        assert await avatars.read(key) == photo

    async def test_the_same_photo_again_is_not_uploaded_again(self, avatars: StoreProbe) -> None:
        photo = _photo()
        assert await avatars.store.put(photo) == await avatars.store.put(photo)
        assert avatars.uploads() == 1

    async def test_a_changed_photo_gets_a_new_key_and_the_old_one_stays(
        self, avatars: StoreProbe
    ) -> None:
        old, new = _photo(), _photo()
        old_key, new_key = await avatars.store.put(old), await avatars.store.put(new)
        assert old_key != new_key
        assert (await avatars.read(old_key), await avatars.read(new_key)) == (old, new)

    async def test_concurrent_puts_of_one_photo_upload_it_once(self, avatars: StoreProbe) -> None:
        photo = _photo()
        keys = await asyncio.gather(*(avatars.store.put(photo) for _ in range(4)))
        assert len(set(keys)) == 1
        assert avatars.uploads() == 1
