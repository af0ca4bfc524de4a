"""Cross-origin access: anyone may read, configured origins may also write as a signed-in user.

A MapLibre or OpenLayers page on another site reads tiles, TileJSON, styles, items and
exports with ``Access-Control-Allow-Origin: *`` — never with credentials, so a browser
sends no cookie and the answer is what the public sees. Origins listed in
``ONEMAP_CORS_ORIGINS`` get credentialed CORS for every method (the login cookie goes along;
``api.hardening.CallerBoundary`` trusts the same list for cookie writes). Preflights are
answered here, before routing (the routes answer OPTIONS with 405).
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, problem_document

READS = ("GET", "HEAD")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Request headers a cross-origin reader may send; a trusted origin may also authenticate
# and write.
READ_HEADERS = ("Accept", "Accept-Language", "If-None-Match", "If-Modified-Since", "Range")
WRITE_HEADERS = (*READ_HEADERS, "Authorization", "X-API-Key", "Content-Type", "If-Match",
                 "Content-Crs")  # fmt: skip
EXPOSED = "ETag, Location, Content-Crs, Content-Disposition, Link, X-OneMap-Source"
MAX_AGE = "600"


class OriginAware:
    """An HTTP middleware that knows the trusted origins (``ONEMAP_CORS_ORIGINS``)."""

    def __init__(self, app: ASGIApp, trusted_origins: list[str] | None = None) -> None:
        self.app = app
        self.trusted = {o.rstrip("/") for o in trusted_origins or []}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, Headers(scope=scope))

    async def handle(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        raise NotImplementedError


class Cors(OriginAware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        trusted = origin.rstrip("/") in self.trusted
        method = scope["method"]
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, receive, send, headers, origin, trusted)
            return
        if not trusted and method not in READS:  # no CORS: the browser keeps the answer
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                _allow(MutableHeaders(scope=message), origin, trusted)
                MutableHeaders(scope=message)["Access-Control-Expose-Headers"] = EXPOSED
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, headers: Headers,
                         origin: str, trusted: bool) -> None:  # fmt: skip
        asked = headers["access-control-request-method"].upper()
        methods = (*READS, *WRITES) if trusted else READS
        if asked not in methods:
            detail = (f"a page on {origin[:100]} may only read here (GET); writes need an "
                      "origin in ONEMAP_CORS_ORIGINS")  # fmt: skip
            refused = Response(json.dumps(problem_document(403, detail=detail)), status_code=403,
                               media_type=PROBLEM_JSON)  # fmt: skip
            await refused(scope, receive, send)
            return
        allowed = {h.lower(): h for h in (WRITE_HEADERS if trusted else READ_HEADERS)}
        requested = [
            h.strip() for h in headers.get("access-control-request-headers", "").split(",")
        ]
        response = Response(status_code=204)
        _allow(response.headers, origin, trusted)
        response.headers["Access-Control-Allow-Methods"] = ", ".join((*methods, "OPTIONS"))
        response.headers["Access-Control-Allow-Headers"] = ", ".join(
            allowed[h.lower()] for h in requested if h.lower() in allowed
        ) or ", ".join(allowed.values())
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        await response(scope, receive, send)


def _allow(headers: MutableHeaders, origin: str, trusted: bool) -> None:
    if trusted:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
        headers.add_vary_header("Origin")
    else:
        headers["Access-Control-Allow-Origin"] = "*"
