"""The reset plan of ``chatsync reprocess``: its steps and its refusals (pure parts)."""

from __future__ import annotations

from pathlib import Path

from chatsync.replay.groups import GroupState
from chatsync.replay.reprocess import ResetPlan, reset_lines
from chatsync.replay.worker_state import worker_state
from chatsync.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, worker_app_id="w1", chatsync_var_dir=tmp_path)


def _plan(tmp_path: Path, state: str = "Empty", members: tuple[str, ...] = ()) -> ResetPlan:
    worker = worker_state(_settings(tmp_path))
    return ResetPlan(worker, GroupState("w1", state, members), ["w1-deal-inputs"], False)


def test_the_worker_state_names_every_internal_topic_and_its_directory(tmp_path: Path) -> None:
    state = worker_state(_settings(tmp_path))
    assert state.internal_topics == (
        "w1-__assignor-__leader",
        "w1-connections-changelog",
        "w1-customer-inputs",
        "w1-customers-changelog",
        "w1-deal-inputs",
        "w1-deals-changelog",
        "w1-message-versions-changelog",
    )
    assert state.state_dir == tmp_path.resolve() / "worker" / "w1"
    assert [t.name for t in state.outputs] == ["chat.deals", "chat.customers", "chat.messages"]
    assert not state.state_dir.exists()  # naming them creates nothing


def test_an_active_worker_group_refuses_the_reset(tmp_path: Path) -> None:
    assert _plan(tmp_path).refusal() is None
    refusal = _plan(tmp_path, "Stable", ("chatsync-worker-1",)).refusal()
    assert refusal is not None
    assert "is active (chatsync-worker-1)" in refusal
    assert _plan(tmp_path, "PreparingRebalance").refusal() is not None


def test_truncation_waits_for_every_reader_of_the_outputs(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    plan.truncate_outputs = True
    plan.output_readers = {"sinks": GroupState("sinks", "Stable", ("sink-1",))}
    refusal = plan.refusal()
    assert refusal is not None
    assert "sinks" in refusal


def test_the_steps_are_listed_in_order(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    plan.trimmed_raw = ["tg.raw.botapi:0"]
    lines = reset_lines(plan)
    assert [line.strip()[:2] for line in lines[1:4]] == ["1.", "2.", "3."]
    assert "w1-deal-inputs" in lines[2]
    assert "(absent)" in lines[3]
    assert "normalised topics kept" in lines[4]
    assert "tg.raw.botapi:0" in lines[5]
    plan.truncate_outputs = True
    assert (
        "4. delete and recreate chat.deals, chat.customers, chat.messages" in reset_lines(plan)[4]
    )
