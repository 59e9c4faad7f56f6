"""Normalisation: pure functions from raw updates and current state to new state and events.

Three stages, each keyed so that the state it needs lives in one partition:

1. ``connections``: a raw record -> who owns the conversation (Business connection or Telethon
   account) -> DealInput (keyed by deal id) and CustomerInput (keyed by customer id).
2. ``deals``: DealInput + deal state + message versions -> deal.* and message.* events.
3. ``customers``: CustomerInput + profile -> customer.* events (only on a real change).

The two producers differ only in their adapters (``botapi``, ``mtproto``), which turn a payload into
the same inputs. Nothing here does I/O; the Faust agents and the replay tools call these functions.
"""
