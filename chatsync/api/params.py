"""Query strings and JSON bodies validated by pydantic models: 422 says exactly what was wrong."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from chatsync.api.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


def _details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]), "problem": error["msg"]}
        for error in exc.errors()
    ]


def query(request: Request, model: type[Model]) -> Model:
    unknown = set(request.query_params) - set(model.model_fields)
    if unknown:
        fields = [{"field": name, "problem": "unknown parameter"} for name in sorted(unknown)]
        raise ApiError(422, "invalid_parameters", "unknown query parameter", fields)
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ApiError(
            422, "invalid_parameters", "invalid query parameters", _details(exc)
        ) from None


async def body(request: Request, model: type[Model]) -> Model:
    """The JSON body (an empty body counts as ``{}``)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_parameters", "invalid request body", _details(exc)) from None
