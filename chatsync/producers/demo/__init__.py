"""Demo Telegram Bot API Business updates: named sample shapes and a deterministic scenario feed."""
