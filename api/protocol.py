"""uvicorn's HTTP protocol with a deadline for a request's headers and a bound on its URL.

uvicorn arms no timer while a new connection sends its first request line and headers, and
any byte cancels its keep-alive timer: a client sending a header byte every few seconds
holds a connection (and a slot of ``limit_concurrency``) for as long as it likes. Here a
request's headers must be complete within ``ONEMAP_HEADER_TIMEOUT_S`` of its first byte (or
of the connection); otherwise the server answers 408 and closes. Bodies have their own
timeout per part (``api.hardening.BodyLimit``). A request line longer than ``MAX_URL_BYTES``
is refused with a 414 as it arrives (uvicorn would gather megabytes of it). Headers are
bounded too, in bytes and in number, with a 431: uvicorn and httptools took a 50 MB header or
200,000 of them, held in memory until the request was done (the server grew by 100 MB for
one such request). What the parser refuses is answered as problem+json like every other
error, not uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import problem_document
from api.settings import ServerSettings

MAX_URL_BYTES = 64 * 1024  # a 16 KiB filter, percent-encoded, fits
MAX_HEAD_BYTES = 2 * MAX_URL_BYTES  # request line and headers: the URL and 64 KiB of headers
MAX_HEADERS = 100  # browsers send about 20; Apache's default limit is 100
LINGER_S = 2.0  # after a refusal, how long what the client still sends is read and dropped


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
HEADERS_TOO_LARGE_RESPONSE = problem_response(
    431, b"Request Header Fields Too Large",
    f"the request line and headers are larger than {MAX_HEAD_BYTES:,} bytes, "
    f"or there are more than {MAX_HEADERS} headers",
)  # fmt: skip
INVALID_RESPONSE = problem_response(400, b"Bad Request", "the request is not valid HTTP/1.1")


class _Refused(Exception):
    """Raised in a parser callback: the parser stops and uvicorn calls send_400_response."""


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a deadline and bounds for each request's line and headers."""

    header_timeout_s = ServerSettings().header_timeout_s  # each worker reads its settings
    _deadline: asyncio.TimerHandle | None = None
    _refusal: bytes = INVALID_RESPONSE  # what send_400_response sends
    _in_head = False  # a request line or headers have begun and are not complete
    _head_bytes = 0  # bytes received while they were incomplete (whole reads: an upper bound)
    _header_bytes = 0  # the headers' bytes the parser has handed over (the URL's are apart)
    _header_count = 0
    _refused = False  # answered with a refusal: what still comes is dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        # httptools gathers a header's value whole before on_header sees it: a value that
        # never ends is bounded here, as it arrives, and the exact count is on_header's.
        if self._in_head and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(HEADERS_TOO_LARGE_RESPONSE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._header_bytes, self._header_count = True, 0, 0, 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._refusal = URL_TOO_LONG_RESPONSE
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if (self._header_count > MAX_HEADERS
                or len(self.url) + self._header_bytes > MAX_HEAD_BYTES):  # fmt: skip
            self._refusal = HEADERS_TOO_LARGE_RESPONSE
            raise _Refused
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        self._refuse(self._refusal)

    def on_headers_complete(self) -> None:
        self._in_head = False
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
        self._refuse(TIMEOUT_RESPONSE)

    def _refuse(self, response: bytes) -> None:
        """Answer ``response`` and close, once: the request is not read further.

        Closing a socket with unread bytes makes the kernel send a reset, and the client
        loses the answer before reading it (a 200 KB header got "connection reset", not its
        431). So the answer goes with a FIN, and what the client still sends is dropped for
        ``LINGER_S`` before the close, as nginx's lingering close does.
        """
        self._in_head = False
        self._disarm()
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self.transport.write(response)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()
