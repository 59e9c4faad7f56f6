"""``/docs/``: the OpenAPI document as a plain HTML page (no scripts, no external assets)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

_STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
h2{border-top:1px solid #ddd;padding-top:1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}
.m{font-weight:bold;display:inline-block;min-width:4rem}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}"""


def render(spec: dict[str, Any]) -> str:
    info = spec["info"]
    parts = [
        f"<!doctype html><meta charset=utf-8><title>{escape(info['title'])}</title>",
        f"<style>{_STYLE}</style><h1>{escape(info['title'])} {escape(info['version'])}</h1>",
        f"<p>{escape(info.get('description', ''))} Machine-readable: "
        '<a href="/openapi.json">/openapi.json</a>. Send <code>Authorization: Bearer '
        "&lt;token&gt;</code> (<code>chatsync tokens create</code>).</p>",
    ]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            parts.append(_operation(path, method, op))
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        body = escape(json.dumps(schema, indent=2, ensure_ascii=False))
        parts.append(
            f"<details id='{escape(name)}'><summary>{escape(name)}</summary>"
            f"<pre>{body}</pre></details>"
        )
    return "\n".join(parts)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    lock = " (bearer token)" if op.get("security") else ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{'yes' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in op.get("parameters", [])
    )
    params = (
        f"<table><tr><th>parameter</th><th>in</th><th>required</th><th></th></tr>{rows}</table>"
    )
    responses = ", ".join(
        f"<code>{escape(status)}</code> {escape(r.get('description', ''))}" + _schema_link(r)
        for status, r in op.get("responses", {}).items()
    )
    return (
        f"<h2><span class=m>{method.upper()}</span> <code>{escape(path)}</code></h2>"
        f"<p>{escape(op.get('summary', ''))}{lock}</p>{params if rows else ''}"
        f"<p>Responses: {responses}</p>"
    )


def _schema_link(response: dict[str, Any]) -> str:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    return f" (<a href='#{escape(name)}'>{escape(name)}</a>)" if name else ""


async def docs(request: Request) -> Response:
    return HTMLResponse(render(request.app.state.registry.document()))
