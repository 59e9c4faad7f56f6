"""Links to customers' profile photos: presigned S3 URLs, reused while they are fresh enough.

Signing a URL costs botocore about 0.4 ms of CPU, so a page of twenty deals spent some 8 ms on
it. Photos are stored under content-addressed keys (``avatars/<sha256>.jpg``) that never change
meaning, so a key's URL only needs renewing as it ages: each URL is signed for
``AVATAR_URL_SECONDS`` and handed out until half of that is left, so a client always gets at least
``AVATAR_URL_SECONDS / 2`` of validity. Handing out the same URL also lets browsers cache the photo
instead of downloading it again with every page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cachetools import TTLCache

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

AVATAR_URL_SECONDS = 3600
AVATAR_URLS_KEPT = 10_000


class AvatarUrls:
    """Presigned GET URLs of photos in one bucket, the most recently used ``max_entries`` kept."""

    def __init__(
        self, s3: S3Client, bucket: str, max_entries: int = AVATAR_URLS_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._s3, self._bucket = s3, bucket
        # Handed out for half their validity: a client always gets at least the other half.
        self._urls: TTLCache[str, str] = TTLCache(max_entries, AVATAR_URL_SECONDS / 2, timer=clock)

    async def url(self, key: str) -> str:
        """A URL valid for at least half of ``AVATAR_URL_SECONDS`` from now."""
        url = self._urls.get(key)
        if url is None:
            url = self._urls[key] = await self._sign(key)
        return url

    async def _sign(self, key: str) -> str:
        url: str = await self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key},
            ExpiresIn=AVATAR_URL_SECONDS,
        )  # fmt: skip
        return url
