"""Status (admin) and Prometheus metrics on the real stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatsync.infra.stack.stack import Stack
from tests.integration.api_factories import Api, new_owner, running_api

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(local_stack: Stack) -> AsyncIterator[Api]:
    async for running in running_api(local_stack.settings):
        yield running


async def test_status_is_for_admins_and_describes_the_pipeline(api: Api) -> None:
    owner_token = await api.store.token(new_owner())
    assert (await api.get("/api/v1/status/", owner_token)).status_code == 403
    admin = await api.store.token(1, admin=True)
    response = await api.get("/api/v1/status/", admin)
    assert response.status_code == 200, response.text
    body = response.json()
    settings = api.app.state.settings
    assert body["broker"]["reachable"] is True
    assert settings.topic_raw_botapi in body["topics"]
    assert set(body["topics"][settings.topic_raw_botapi]["end_offsets"]) == {
        str(p) for p in range(settings.kafka_topic_partitions)
    }
    assert body["dlq"]["records"] >= 0
    assert body["producers"]["webhook"]["kafka_connected"] is True
    assert body["counts"]["deals"] >= body["counts"]["deals_fully_synced"] >= 0
    assert isinstance(body["counts"]["messages"], int)


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    token = await api.store.token(new_owner())
    for _ in range(3):
        await api.get("/api/v1/deals/deal_unknown/", token)
    text = (await api.client.get("/metrics")).text
    labels = 'method="GET",route="/api/v1/deals/{deal_id}/",status="404"'
    assert f"chatsync_http_requests_total{{{labels}}} 3.0" in text
    assert "chatsync_broker_reachable 1.0" in text
    assert f'chatsync_topic_records{{topic="{api.app.state.settings.topic_raw_botapi}"}}' in text
