"""gzip for JSON and tiles, but not for exports.

Compressing a 231 MB export costs more CPU than it saves on most networks a GIS tool pulls
from (it halved the export's speed on loopback); big downloads go out as they are, and a
reverse proxy can still compress them where bandwidth is scarce.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

UNCOMPRESSED_SUFFIXES = ("/export",)


class SelectiveGZip:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(UNCOMPRESSED_SUFFIXES):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)
