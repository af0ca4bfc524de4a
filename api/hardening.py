"""Limits and headers every response gets, as plain ASGI middleware (no per-request task).

- ``BodyLimit``: request bodies above the limit are refused with 413 before a route sees
  them (by ``Content-Length``, and by counting when a body comes in chunks); the file
  import route has its own, larger limit, counted as it reads; JSON bodies must be strict.
- ``OneValueEach``: a query parameter given twice is refused with 400, not resolved by
  taking the last: two answers to "which limit, which filter?" is how a check in front of
  the app (a proxy, a gateway) and the app come to read different requests.
- ``SecurityHeaders``: ``nosniff`` on everything; the HTML pages also get a Content Security
  Policy that allows only this origin (plus the configured basemap), no framing by others.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import TOKEN_COOKIE
from api.cors import OriginAware
from api.errors import PROBLEM_JSON, problem_document
from layers.errors import TooLarge, TooSlow


def _problem(status: int, title: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps(problem_document(status, title, detail)).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ],  # fmt: skip
    }
    return start, {"type": "http.response.body", "body": body}


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # no body, no change
# The one route that takes files: it has the larger limit and reads its body itself.
UPLOAD_PATH = re.compile(r"/collections/[^/]+/imports")
MAX_JSON_DEPTH = 64


def _json_depth_exceeded(value: object, limit: int) -> bool:
    """Whether a parsed JSON value nests deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def json_body_problem(body: bytes) -> str | None:
    """Why a JSON body is refused, or None.

    Strict JSON only (no NaN, no Infinity, no 1e999), nested at most ``MAX_JSON_DEPTH``
    levels, each name once per object: Python's own parser takes NaN and Infinity, which
    then reach the database.
    """
    if not body.strip():
        return None  # the route says what it needs
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return (
            f"the body is not valid JSON ({str(exc).split(':')[0]}); NaN and Infinity are not JSON"
        )
    if _json_depth_exceeded(value, MAX_JSON_DEPTH):
        return f"the body nests deeper than {MAX_JSON_DEPTH} levels"
    try:  # orjson keeps the last of a repeated name; a proxy or a log reader may keep the first
        json.loads(body, object_pairs_hook=_unique_names)
    except _RepeatedName as exc:
        return f"the body names {exc.args[0]!r} twice in one object (RFC 7493)"
    return None


class _RepeatedName(ValueError):
    pass


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise _RepeatedName(next(n for n in names if names.count(n) > 1)[:60])
    return dict(pairs)


class BodyLimit:
    """Request bodies: size limits on every route before a route reads them, strict JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int,
                 chunk_timeout_s: float = 30.0) -> None:  # fmt: skip
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.chunk_timeout_s = chunk_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and UPLOAD_PATH.fullmatch(scope["path"]) is not None
        limit = self.max_upload_bytes if upload else self.max_bytes
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, TooLarge(_too_large(limit)))
            return
        receive = _counting(_patient(receive, self.chunk_timeout_s), limit)
        if upload:  # too big to hold: counted as the route reads it
            await self.app(scope, receive, send)
            return
        # A JSON body is small: read it here (so a chunked one is measured too), then replay.
        chunks = []
        while True:
            try:
                message = await receive()
            except (TooSlow, TooLarge) as exc:
                await _refuse(send, exc)
                return
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False
        if "json" in headers.get("content-type", ""):
            why = json_body_problem(body)
            if why is not None:
                for message in _problem(400, "Invalid body", why):
                    await send(message)
                return

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def repeated_parameter(query_string: bytes) -> str | None:
    """The first query parameter given more than once (lists are comma-separated), if any."""
    if b"&" not in query_string:  # the common case, a tile: nothing to parse
        return None
    seen: set[str] = set()
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None


class OneValueEach:
    """Each query parameter once: ``limit=5&limit=500`` is a 400, on every route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = repeated_parameter(scope.get("query_string", b""))
            if name is not None:
                detail = f"{name!r} is given more than once; give each parameter once"
                for message in _problem(400, "Invalid parameter", detail):
                    await send(message)
                return
        await self.app(scope, receive, send)


def _patient(receive: Receive, timeout_s: float) -> Receive:
    """``receive``, raising ``TooSlow`` (408) when the next part of the body takes too long.

    A client that opens a body and sends a byte a minute would hold a worker's connection
    (and an upload's temporary file) for as long as it likes.
    """

    async def within() -> Message:
        try:
            return await asyncio.wait_for(receive(), timeout_s)
        except TimeoutError:
            raise TooSlow(f"no part of the body came within {timeout_s:g} s") from None

    return within


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive``, raising ``TooLarge`` (413) once more than ``limit`` bytes came in."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise TooLarge(_too_large(limit))
        return message

    return counted


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes"


async def _refuse(send: Send, exc: TooLarge | TooSlow) -> None:
    """Answer a body refused before any route saw it: 413 too large, 408 too slow."""
    status, title = (413, "Payload Too Large") if isinstance(exc, TooLarge) else (
        408, "Request timeout")  # fmt: skip
    for message in _problem(status, title, str(exc)):
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


PRIVATE = "private, no-store"


class CallerBoundary(OriginAware):
    """What a request that carries credentials may do, and what its answer says to caches.

    - An answer computed for a caller (a token in ``Authorization``, ``X-API-Key`` or the
      login cookie) is ``private, no-store`` whatever the route said, replayed or not: no
      shared cache (a CDN) may keep a planner's pipelines for the next visitor.
    - A write authenticated by the cookie alone must come from this site or a configured
      origin (``Origin``, else ``Referer``): a browser sends the cookie on a forged
      cross-site form too. Token headers are never sent by a browser on its own.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        by_header = "authorization" in headers or "x-api-key" in headers
        # Read as api.access reads it (Starlette's parser), so both agree on who is signed in.
        by_cookie = TOKEN_COOKIE in HTTPConnection(scope).cookies
        if by_cookie and not by_header and scope["method"] not in SAFE_METHODS:
            why = self._foreign(scope, headers)
            if why is not None:
                for message in _problem(403, "Forbidden", why):
                    await send(message)
                return
        if not (by_header or by_cookie):
            await self.app(scope, receive, send)
            return

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy: the response cache inside still reads the route's own headers.
                message = {**message, "headers": list(message.get("headers", []))}
                response_headers = MutableHeaders(scope=message)
                response_headers["Cache-Control"] = PRIVATE
                response_headers.append("Vary", "Authorization, X-API-Key, Cookie")
            await send(message)

        await self.app(scope, receive, private)

    def _foreign(self, scope: Scope, headers: Headers) -> str | None:
        """Why a cookie-authenticated write is refused, or None when it comes from here."""
        origin = headers.get("origin")
        if origin is None and "referer" in headers:
            parts = urlsplit(headers["referer"])
            origin = f"{parts.scheme}://{parts.netloc}"
        if origin is None:
            return "a write signed in by cookie must say where it comes from (Origin header)"
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if origin.rstrip("/") == own or origin.rstrip("/") in self.trusted:
            return None
        return f"a write signed in by cookie must come from this site, not {origin[:100]}"
