"""The Telegram Bot API edge: webhook and polling producers, and webhook management."""
