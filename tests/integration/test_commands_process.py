"""The ``chatsync commands`` process as it is deployed: real settings, real stores, signals.

Without a bot token or a Telethon account, a command for either side is given up into the DLQ
with a reason that says what to configure; SIGTERM ends the process cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest

from chatsync.agents.commands.models import decode_command, fetch_avatar, mark_read
from chatsync.agents.commands.requests import publish_command
from chatsync.infra.stack.stack import Stack
from chatsync.producers.publisher import RawPublisher
from tests.conftest import ROOT, stack_environment
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
PROGRAM = (
    "from chatsync.agents.commands.cli import commands\n"
    "from chatsync.logs import configure_logging\n"
    "from chatsync.settings import load_settings\n"
    "settings = load_settings()\n"
    "configure_logging(settings)\n"
    "commands.main(args=[], obj={'settings': settings}, prog_name='chatsync commands')\n"
)


async def test_commands_for_sides_it_lacks_are_given_up_and_sigterm_stops_it(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    topics = {name: await topic_factory() for name in ("COMMANDS", "CUSTOMERS", "DLQ")}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TELEGRAM_", "TG_"))}  # fmt: skip
    env.update(stack_environment())
    env.update({f"TOPIC_{name}": topic for name, topic in topics.items()})
    env["LOG_LEVEL"] = "INFO"
    settings = local_stack.settings
    publisher = RawPublisher(settings.kafka_bootstrap_servers, ack_timeout_s=10,
                             client_id="test-commands-process")  # fmt: skip
    await publisher.start()
    avatar = fetch_avatar(customer_id="tg_1", user_id=1, owner_user_id=2, side="botapi",
                          cause="process-test")  # fmt: skip
    read = mark_read(deal_id="deal_x", owner_user_id=3, chat_id=4, side="mtproto",
                     business_connection_id=None, up_to_message_id=5)  # fmt: skip
    process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
        [sys.executable, "-c", PROGRAM], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for command in (avatar, read):
            await publish_command(publisher, topics["COMMANDS"], command)
        dead = await read_topic(settings.kafka_bootstrap_servers, topics["DLQ"], at_least=2,
                                timeout_ms=60_000)  # fmt: skip
        reasons = {decode_command(d.value).command_type: dict(d.headers)["dlq.error"] for d in dead}
        assert b"TELEGRAM_BOT_TOKEN is not set" in reasons["fetch_avatar"]
        assert b"account 3 is not signed in here" in reasons["mark_read"]
    finally:
        await publisher.stop()
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, output.decode()
    assert b"Traceback" not in output, output.decode()
