"""gzip for JSON and tiles, made by ISA-L at its level 2, but not for exports.

Starlette's gzip runs zlib at level 9, which spent 14 ms on a 250 kB city-view tile. zlib at
level 5 took 3.7 ms on that tile; ISA-L (Intel's igzip, the ``isal`` bindings) takes 0.36 ms
for output 6–12 % larger (z10 city-view tiles: 36 % of their size instead of 32 %;
1,000-feature pages 14 % instead of 13 %). A tenth of the CPU for a little more on the wire:
on a computed tile or page the compression was the largest cost after the query itself.

Compressing a 231 MB export costs more CPU than it saves on most networks a GIS tool pulls
from (it halved the export's speed on loopback); big downloads go out as they are, and a
reverse proxy can still compress them where bandwidth is scarce.
"""

from __future__ import annotations

from typing import Any

from isal import isal_zlib
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

from api.negotiation import accepts_gzip

UNCOMPRESSED_SUFFIXES = ("/export",)
COMPRESS_LEVEL = 2  # ISA-L's levels run 0–3; 2 compresses as well as 3 here, and faster
# Bodies this big are compressed in a thread so the event loop keeps serving: at ~0.7 GB/s
# the loop is held at most ~1.5 ms, less than the thread hop costs a smaller body.
THREAD_MINIMUM_SIZE = 1 << 20


class _IsalGZipResponder(GZipResponder):
    """Starlette's responder (streaming, Vary, Content-Length) with ISA-L's compressor."""

    @property
    def compressor(self) -> Any:  # isal's compressobj, with zlib's interface
        if self._compressor is None:
            self._compressor = isal_zlib.compressobj(  # type: ignore[assignment]
                self.compresslevel, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS
            )
        return self._compressor


class SelectiveGZip:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(UNCOMPRESSED_SUFFIXES):
            await self.app(scope, receive, send)
            return
        responder: ASGIApp
        if accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            responder = _IsalGZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=COMPRESS_LEVEL,
                thread_minimum_size=THREAD_MINIMUM_SIZE,
            )
        else:
            responder = IdentityResponder(self.app, self.minimum_size)
        await responder(scope, receive, send)
