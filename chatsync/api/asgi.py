"""ASGI entry point for servers that import the app (`uvicorn --factory ...asgi:create`)."""

from __future__ import annotations

from starlette.applications import Starlette

from chatsync.api.app import create_app
from chatsync.logs import configure_logging
from chatsync.settings import load_settings


def create() -> Starlette:
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
