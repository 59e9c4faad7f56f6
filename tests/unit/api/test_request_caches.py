"""The API's two in-process caches: token principals (revocation bounded by their lifetime) and
presigned avatar links (renewed at half their lifetime)."""

from __future__ import annotations

from typing import Any

from chatsync.api.avatars import AVATAR_URL_SECONDS, AvatarUrls
from chatsync.infra.postgres.tokens import Principal, PrincipalCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_principal_is_trusted_for_its_lifetime_only() -> None:
    clock = Clock()
    cache = PrincipalCache(5.0, 100, clock)
    principal = Principal(token_id=1, user_id=42, is_admin=False)
    cache.put("hash-1", principal)
    clock.now = 4.99
    assert cache.get("hash-1") == principal
    clock.now = 5.0
    assert cache.get("hash-1") is None


def test_forgetting_a_token_id_drops_its_principal_at_once() -> None:
    cache = PrincipalCache(5.0, 100, Clock())
    cache.put("hash-1", Principal(1, 42, False))
    cache.put("hash-2", Principal(2, 43, True))
    cache.forget(1)
    assert cache.get("hash-1") is None
    assert cache.get("hash-2") == Principal(2, 43, True)


def test_the_least_recently_used_principal_goes_first_when_full() -> None:
    cache = PrincipalCache(5.0, 2, Clock())
    cache.put("a", Principal(1, 1, False))
    cache.put("b", Principal(2, 2, False))
    assert cache.get("a") is not None
    cache.put("c", Principal(3, 3, False))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None


class FakeS3:
    def __init__(self) -> None:
        self.signed: list[str] = []

    async def generate_presigned_url(self, operation: str, **kwargs: Any) -> str:
        assert operation == "get_object"
        assert kwargs["ExpiresIn"] == AVATAR_URL_SECONDS
        key = kwargs["Params"]["Key"]
        self.signed.append(key)
        return f"https://s3/{kwargs['Params']['Bucket']}/{key}?signature={len(self.signed)}"


async def test_an_avatar_link_is_reused_until_half_its_lifetime_is_gone() -> None:
    s3, clock = FakeS3(), Clock()
    urls = AvatarUrls(s3, "bucket", clock=clock)  # type: ignore[arg-type]
    first = await urls.url("avatars/a.jpg")
    clock.now = AVATAR_URL_SECONDS / 2 - 1
    assert await urls.url("avatars/a.jpg") == first
    clock.now = AVATAR_URL_SECONDS / 2
    renewed = await urls.url("avatars/a.jpg")
    assert renewed != first
    assert s3.signed == ["avatars/a.jpg", "avatars/a.jpg"]


async def test_avatar_links_beyond_the_limit_are_signed_again() -> None:
    s3 = FakeS3()
    urls = AvatarUrls(s3, "bucket", max_entries=1, clock=Clock())  # type: ignore[arg-type]
    await urls.url("avatars/a.jpg")
    await urls.url("avatars/b.jpg")
    await urls.url("avatars/a.jpg")
    assert s3.signed == ["avatars/a.jpg", "avatars/b.jpg", "avatars/a.jpg"]
