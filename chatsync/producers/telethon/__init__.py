"""The Telethon (MTProto) edge: user accounts' private chats -> the raw mtproto topic.

``session`` keeps the account's encrypted session, ``login`` signs it in, ``render`` and
``events`` turn Telegram's TL objects into raw envelopes (pure), ``ingest`` and ``live`` publish
live updates, ``backfill`` walks the history, ``commands`` acts on Telegram for other parts.
The network edge (``client``, ``history``) is thin and sits behind small Protocols.
"""
