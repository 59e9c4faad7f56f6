"""Telegram Desktop JSON exports as ``export`` records of the raw mtproto topic.

``reading`` validates a whole export and maps it (``mapping``: messages, ``text``: text and
UTF-16 entities, ``media``, ``service``) into envelopes shaped exactly like Telethon's, with a
``report`` of what was skipped, omitted or noted; ``cli`` publishes them only after that.
"""
