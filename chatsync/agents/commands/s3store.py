"""Avatars in S3, content-addressed: ``avatars/<sha256 of the bytes>.jpg``.

The same photo always has the same key, so a photo that did not change is not uploaded again
(HEAD first), two customers with one photo share one object, and a changed photo gets a new key
while the old object stays for whoever still points at it. The API serves presigned URLs of
the key in ``customers.avatar_key``.

HEAD-then-PUT is not atomic: within a process, puts of one key wait for each other, so the second
finds the object; two processes may both upload the same bytes under the same key, which is
harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chatsync.agents.commands.errors import StoreUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

AVATAR_PREFIX = "avatars/"
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def avatar_key(photo: bytes) -> str:
    return f"{AVATAR_PREFIX}{hashlib.sha256(photo).hexdigest()}.jpg"


class S3AvatarStore:
    """AvatarStore over an S3 client (the caller owns the client's lifetime)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client, self._bucket = client, bucket
        self._uploading: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def put(self, photo: bytes) -> str:
        key = avatar_key(photo)
        lock = self._uploading.setdefault(key, asyncio.Lock())
        async with lock:
            await self._put_once(key, photo)
        return key

    async def _put_once(self, key: str, photo: bytes) -> None:
        try:
            if not await self._exists(key):
                await self._client.put_object(
                    Bucket=self._bucket, Key=key, Body=photo, ContentType="image/jpeg",
                    CacheControl="public, max-age=31536000, immutable",
                )  # fmt: skip
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"S3 bucket {self._bucket}: {exc}") from exc

    async def _exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return False
            raise
        return True
