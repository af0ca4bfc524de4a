"""uvicorn's HTTP protocol with a deadline for a request's headers.

uvicorn arms no timer while a new connection sends its first request line and headers, and
any byte cancels its keep-alive timer: a client sending a header byte every few seconds
holds a connection (and a slot of ``limit_concurrency``) for as long as it likes. Here a
request's headers must be complete within ``ONEMAP_HEADER_TIMEOUT_S`` of its first byte (or
of the connection); otherwise the server answers 408 and closes. Bodies have their own
timeout per part (``api.hardening.BodyLimit``).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import ServerSettings

_TIMEOUT_BODY = b"the request headers came too slowly\n"
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol closing connections whose request headers come too slowly."""

    header_timeout_s = ServerSettings().header_timeout_s  # each worker reads its settings
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()
