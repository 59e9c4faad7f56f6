"""Real time: the WebSocket stream of deal and message events (hub, catch-up, frames)."""
