"""Regression: a random cluster id starting with '-' made ``kafka-storage format`` read it as an
option, so ``chatsync infra up`` failed on about one fresh stack in 64."""

from __future__ import annotations

import base64
import string
import uuid

import pytest

from chatsync.infra.stack import kafka


def test_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    dashed = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "==")[:16])
    plain = uuid.UUID(int=1)
    drawn = iter([dashed, dashed, plain])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))

    cluster_id = kafka.new_cluster_id()

    assert not cluster_id.startswith("-")
    assert base64.urlsafe_b64decode(cluster_id + "==") == plain.bytes


def test_cluster_id_is_22_url_safe_characters() -> None:
    cluster_id = kafka.new_cluster_id()
    assert len(cluster_id) == 22
    assert set(cluster_id) <= set(string.ascii_letters + string.digits + "-_")
