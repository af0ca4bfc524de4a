"""uvicorn's HTTP protocol with a deadline for a request's headers and a bound on its URL.

uvicorn arms no timer while a new connection sends its first request line and headers, and
any byte cancels its keep-alive timer: a client sending a header byte every few seconds
holds a connection (and a slot of ``limit_concurrency``) for as long as it likes. Here a
request's headers must be complete within ``ONEMAP_HEADER_TIMEOUT_S`` of its first byte (or
of the connection); otherwise the server answers 408 and closes. Bodies have their own
timeout per part (``api.hardening.BodyLimit``). A request line longer than ``MAX_URL_BYTES``
is refused with a 414 as it arrives (uvicorn would gather megabytes of it), and what the
parser refuses is answered as problem+json like every other error, not uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import problem_document
from api.settings import ServerSettings

MAX_URL_BYTES = 64 * 1024  # a 16 KiB filter, percent-encoded, fits


def problem_response(status: int, reason: bytes, detail: str) -> bytes:
    """A whole HTTP/1.1 problem+json answer that closes the connection."""
    body = json.dumps(problem_document(status, detail=detail)).encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (status, reason, len(body), body)
    )


TIMEOUT_RESPONSE = problem_response(408, b"Request Timeout", "the request headers came too slowly")
URL_TOO_LONG_RESPONSE = problem_response(
    414, b"URI Too Long", f"the URL is longer than {MAX_URL_BYTES} bytes"
)
INVALID_RESPONSE = problem_response(400, b"Bad Request", "the request is not valid HTTP/1.1")


class _UrlTooLong(Exception):
    pass


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol closing connections whose request headers come too slowly."""

    header_timeout_s = ServerSettings().header_timeout_s  # each worker reads its settings
    _deadline: asyncio.TimerHandle | None = None
    _url_too_long = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._url_too_long = True
            raise _UrlTooLong  # the parser stops and reports an error: send_400_response
        super().on_url(url)

    def send_400_response(self, msg: str) -> None:
        self.transport.write(URL_TOO_LONG_RESPONSE if self._url_too_long else INVALID_RESPONSE)
        self.transport.close()

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
