"""The AvatarStore contract over the in-memory store the unit tests use."""

from __future__ import annotations

import pytest

from tests.unit.commands.avatar_store_contract import AvatarStoreContract, StoreProbe
from tests.unit.commands.fakes import MemoryAvatarStore


@pytest.fixture
def avatars() -> StoreProbe:
    store = MemoryAvatarStore()

    async def read(key: str) -> bytes:
        return store.objects[key]

    return StoreProbe(store, lambda: store.puts, read)


class TestMemoryAvatarStore(AvatarStoreContract):
    """The fake keeps the contract the S3 store keeps."""
