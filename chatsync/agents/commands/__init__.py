"""Side effects at the Telegram edge, driven by commands on ``chat.commands``.

``models``: the command contract. ``requests``: asking for commands (``request_read`` for the API;
fetch_avatar for each customer event). ``executor`` with its handlers (``avatars``, ``reads``) and
ports (``ports``; Bot API and Telethon edges, S3 and PostgreSQL stores) carries them out; the
consumer loops (``consumer``, ``records``) and the composition root (``service``) make the
``chatsync commands`` process.
"""
