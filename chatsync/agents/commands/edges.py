"""Which edge carries out a command: the Business bot (botapi), or the owner's account (mtproto)."""

from __future__ import annotations

from collections.abc import Mapping

from chatsync.agents.commands.errors import Refused
from chatsync.agents.commands.models import Side
from chatsync.agents.commands.ports import TelegramEdge


class Edges:
    """The edges this executor has: at most one bot, and the Telethon accounts signed in here."""

    def __init__(self, bot: TelegramEdge | None, accounts: Mapping[int, TelegramEdge]) -> None:
        self._bot, self._accounts = bot, dict(accounts)

    def edge(self, side: Side, owner_user_id: int) -> TelegramEdge:
        """The edge for a command; Refused when this executor has none for it."""
        if side == "botapi":
            if self._bot is None:
                raise Refused("no Business bot here: TELEGRAM_BOT_TOKEN is not set")
            return self._bot
        account = self._accounts.get(owner_user_id)
        if account is None:
            here = ", ".join(str(a) for a in self._accounts) or "none"
            raise Refused(
                f"the Telethon account {owner_user_id} is not signed in here (accounts: {here})"
            )
        return account
