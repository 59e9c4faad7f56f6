"""Producers: the Telegram edge (Bot API webhook and polling, Telethon) -> raw envelopes."""
