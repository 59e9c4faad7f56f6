"""fetch_avatar: the customer's current profile photo -> S3 -> ``customers.avatar_key``.

The customer row is checked first, so a customer the PostgreSQL sink has not stored yet costs no
Telegram request (NotStoredYet: the executor tries again later). A customer without a photo is a
normal outcome: ``avatar_key`` null, ``avatar_checked_at`` set. Running the command twice stores
nothing new (content-addressed keys) and writes the same key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.errors import NotStoredYet
from chatsync.agents.commands.models import FetchAvatar
from chatsync.agents.commands.ports import AvatarStore, CustomerAvatars
from chatsync.envelopes import utc_now


class AvatarHandler:
    def __init__(
        self,
        edges: Edges,
        store: AvatarStore,
        customers: CustomerAvatars,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._edges, self._store, self._customers, self._clock = edges, store, customers, clock

    async def __call__(self, command: FetchAvatar) -> str:
        """Carry the command out; return what it did, for the log."""
        edge = self._edges.edge(command.side, command.owner_user_id)
        if not await self._customers.exists(command.customer_id):
            raise NotStoredYet(f"customer {command.customer_id} is not stored in PostgreSQL yet")
        photo = await edge.profile_photo(command.user_id)
        key = await self._store.put(photo) if photo is not None else None
        if not await self._customers.record(command.customer_id, key, self._clock()):
            raise NotStoredYet(f"customer {command.customer_id} is no longer in PostgreSQL")
        return f"avatar {key}" if key else "no profile photo"
