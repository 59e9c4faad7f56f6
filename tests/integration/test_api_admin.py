"""The read-only web admin: admin tokens only, tables listed, nothing writable, no token hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatsync.infra.postgres.tokens import hash_token
from chatsync.infra.stack.stack import Stack
from tests.integration.api_factories import Api, message, new_owner, running_api

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(local_stack: Stack) -> AsyncIterator[Api]:
    async for running in running_api(local_stack.settings):
        yield running


async def _login(api: Api, token: str) -> int:
    response = await api.client.post("/admin/login", data={"username": "x", "password": token})
    return response.status_code


async def test_only_admin_tokens_sign_in_and_nothing_is_writable(api: Api) -> None:
    assert (await api.client.get("/admin/deal/list")).status_code in (302, 303, 307)
    owner_token = await api.store.token(new_owner())
    assert await _login(api, owner_token) == 400
    assert (await api.client.get("/admin/deal/list")).status_code in (302, 303, 307)
    owner = new_owner()
    await api.store.customer(owner + 1)
    deal = await api.store.deal(owner, owner + 1, last=message(1))
    admin_token = await api.store.token(1, admin=True)
    assert await _login(api, admin_token) in (302, 303)
    listing = await api.client.get("/admin/deal/list?search=" + deal)
    assert listing.status_code == 200
    assert deal in listing.text
    tokens = await api.client.get("/admin/api-token/list")
    assert tokens.status_code == 200
    assert hash_token(admin_token) not in tokens.text
    assert (await api.client.get("/admin/deal/create")).status_code in (403, 404)
    assert (await api.client.get(f"/admin/deal/edit/{deal}")).status_code in (403, 404)
