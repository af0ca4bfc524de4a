"""Limits and headers every response gets, as plain ASGI middleware (no per-request task).

- ``BodyLimit``: request bodies above the limit are refused with 413 before a route sees
  them (by ``Content-Length``, and by counting when a body comes in chunks); file imports
  have their own, larger limit.
- ``SecurityHeaders``: ``nosniff`` on everything; the HTML pages also get a Content Security
  Policy that allows only this origin (plus the configured basemap), no framing by others.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON


def _too_large(limit: int) -> tuple[Message, Message]:
    body = json.dumps({
        "type": "about:blank", "title": "Payload Too Large", "status": 413,
        "detail": f"the request body is larger than {limit:,} bytes",
    }).encode()  # fmt: skip
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ],  # fmt: skip
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        upload = scope["path"].endswith("/imports")
        limit = self.max_upload_bytes if upload else self.max_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length", b"").decode()
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        if upload:  # too big to hold: the import route counts what it spools to disk
            await self.app(scope, receive, send)
            return
        # A JSON body is small: read it here (so a chunked one is measured too), then replay.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _refuse(send, limit)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send, limit: int) -> None:
    for message in _too_large(limit):
        await send(message)


def page_policy(basemap_url: str | None) -> str:
    """The pages' Content Security Policy (Folium writes inline scripts and styles)."""
    images = "'self' data: blob:"
    if basemap_url:
        parts = urlsplit(basemap_url)  # "{s}" subdomains become a wildcard
        images += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; font-src 'self' data:; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, basemap_url: str | None = None) -> None:
        self.app = app
        self.policy = page_policy(basemap_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", self.policy)
                    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                    headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, with_headers)
