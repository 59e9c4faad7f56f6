"""Routes declared with their contract, and the OpenAPI 3.1 document generated from it.

``operation(...)`` builds a Starlette Route and records its query, body and response models; the
document's schemas come from those pydantic models, so the spec cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatsync import __version__
from chatsync.api.models import ErrorOut

Handler = Callable[[Request], Awaitable[Response]]
_ERROR_TEXT = {
    400: "Bad request",
    401: "Missing or invalid token",
    403: "Not allowed",
    404: "Not found",
    413: "Body too large",
    422: "Invalid parameters",
    503: "Unavailable, retry later",
}


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    summary: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    auth: bool = True
    path_params: dict[str, str] = field(default_factory=dict)


class Registry:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(self, handler: Handler, spec: Operation) -> Route:
        self.operations.append(spec)
        return Route(spec.path, handler, methods=[spec.method], name=handler.__name__)

    def document(self) -> dict[str, Any]:
        models: set[type[BaseModel]] = {ErrorOut}
        for op in self.operations:
            models.update(m for m in (op.response, op.body) if m is not None)
        _, schemas = models_json_schema(
            [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
        )
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "chatsync API",
                "version": __version__,
                "description": "Deals, customers and messages kept in sync with Telegram.",
            },
            "paths": paths,
            "components": {
                "schemas": schemas.get("$defs", {}),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        }


def _operation(op: Operation) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in op.path_params.items()
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "description": prop.get("description", ""),
                    "schema": prop,
                }
            )
    responses: dict[str, Any] = {
        str(op.status): {"description": "OK"}
        if op.response is None
        else {
            "description": "OK",
            "content": {"application/json": {"schema": _ref(op.response)}},
        }
    }
    for status in sorted({*op.errors, *((401,) if op.auth else ())}):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": _ref(ErrorOut)}},
        }
    result: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if op.body is not None:
        result["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    if op.auth:
        result["security"] = [{"bearer": []}]
    return result


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}
