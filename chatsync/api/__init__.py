"""The Starlette application: webhook, REST API, WebSocket and web pages."""
