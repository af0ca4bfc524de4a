"""An in-process cache of responses, exact to the layer versions they were read at.

A route that may be cached says so with :func:`offer`: which layers its answer was read from,
and their versions *no later than* the snapshot the answer came from (a tile reads them in its
own statement; a page on the primary takes the versions the watcher announced before the
query). The middleware, outermost, keeps the response as it left the server (compressed,
with every header) and replays it while the watcher announces the same versions: any write
to one of those layers, through OneMap or not, retires it. Answers are shared only between
callers of one visibility level who see it everywhere (see ``_shared_level``), so a replay
never shows anyone more than the route would. A replay answers ``If-None-Match`` with 304
and says ``X-OneMap-Source: cache``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import TOKEN_COOKIE, caller_of
from api.negotiation import accepts_gzip, etag_matches
from api.replicas import LSN_COOKIE, SOURCE_HEADER
from api.state import state_of
from api.versions import VersionWatcher
from layers import Visibility
from layers.errors import OneMapError
from spatial import catalog
from spatial.features import FeatureQuery
from spatial.scope import StreetScope

TICKET = "onemap_cache_ticket"
BODY_HEADERS = (b"content-length", b"content-encoding", b"content-type")
# Request headers a response may depend on (links follow the host; CORS follows the origin).
VARY = (b"host", b"accept", b"origin", b"x-forwarded-host", b"x-forwarded-proto",
        b"x-forwarded-prefix")  # fmt: skip


@dataclass(frozen=True)
class Ticket:
    """What a cacheable answer was read from: layers and their versions at that time."""

    versions: tuple[tuple[str, int], ...]


@dataclass
class Entry:
    ticket: Ticket
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes | None

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200


def offer(request: Request, versions: dict[str, int] | None, scope: StreetScope | None) -> None:
    """Let the middleware keep this answer, read at ``versions``.

    Not kept without versions, nor for a street scope: its condition reads other layers than
    the ones the versions cover.
    """
    if versions and scope is None:
        request.scope.setdefault("state", {})[TICKET] = Ticket(tuple(sorted(versions.items())))


def watched_versions(request: Request, layers: Iterable[str]) -> dict[str, int] | None:
    """The announced versions of ``layers``, or None when the watcher cannot vouch for them."""
    watcher: VersionWatcher = state_of(request).versions
    return watcher.current(layers)


async def offer_before_reading(
    request: Request, conn: psycopg.AsyncConnection, q: FeatureQuery
) -> None:
    """Offer the answer to ``q`` that is read next on ``conn``, at versions safe to key it with.

    On the primary, the announced versions are no newer than any snapshot taken after them.
    A replica may not have replayed them yet, so there they are read from the replica itself.
    """
    if q.scope is not None:
        return  # never kept (see offer): spare the replica a read
    names = [q.layer.name]
    versions = watched_versions(request, names)
    if versions and getattr(request.state, "source", "primary") != "primary":
        versions = await catalog.layer_versions(conn, names)
    offer(request, versions, q.scope)


@dataclass
class ResponseStore:
    """LRU of whole responses, up to ``max_bytes`` in total and ``max_entry_bytes`` each."""

    max_bytes: int
    max_entry_bytes: int
    entries: OrderedDict[tuple[bytes, ...], Entry] = field(default_factory=OrderedDict)
    size: int = 0
    hits: int = 0
    misses: int = 0

    def get(self, key: tuple[bytes, ...], watcher: VersionWatcher) -> Entry | None:
        """The entry for ``key`` if its layers are still at its versions (else dropped)."""
        entry = self.entries.get(key)
        if entry is not None:
            if watcher.current(name for name, _ in entry.ticket.versions) == dict(
                entry.ticket.versions
            ):
                self.entries.move_to_end(key)
                self.hits += 1
                return entry
            self.drop(key)
        self.misses += 1
        return None

    def put(self, key: tuple[bytes, ...], entry: Entry) -> None:
        if entry.size > min(self.max_entry_bytes, self.max_bytes):
            return
        self.drop(key)
        self.entries[key] = entry
        self.size += entry.size
        while self.size > self.max_bytes and self.entries:
            self.drop(next(iter(self.entries)))

    def drop(self, key: tuple[bytes, ...]) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.size -= entry.size

    def stats(self) -> dict[str, int]:
        return {"entries": len(self.entries), "bytes": self.size, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses}  # fmt: skip


class ResponseCache:
    """The middleware: replays kept responses, keeps the offered ones."""

    def __init__(self, app: ASGIApp, watcher: VersionWatcher, store: ResponseStore) -> None:
        self.app = app
        self.watcher = watcher
        self.store = store

    async def _key(self, scope: Scope) -> tuple[bytes, ...] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.store.max_bytes <= 0:
            return None
        level = _anonymous_level(scope["headers"])
        if level is None:
            level = await _shared_level(Request(scope))
            if level is None:
                return None
        headers = dict(scope["headers"])  # ASGI names are lower case
        gzip = accepts_gzip(headers.get(b"accept-encoding", b"").decode("latin-1"))
        return (scope["path"].encode(), scope["query_string"], scope["scheme"].encode(),
                scope.get("root_path", "").encode(), b"gzip" if gzip else b"", level,
                *(headers.get(name, b"") for name in VARY))  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = await self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        entry = self.store.get(key, self.watcher)
        if entry is not None:
            await _replay(entry, scope, send)
            return
        await self.app(scope, receive, self._keeper(key, scope, send))

    def _keeper(self, key: tuple[bytes, ...], scope: Scope, send: Send) -> Send:
        """``send``, keeping a copy of the response if the route offered it."""
        parts: list[bytes] = []
        started: list[Message] = []  # the response start, while the response is being kept
        limit = self.store.max_entry_bytes
        kept = 0

        async def keep(message: Message) -> None:
            nonlocal kept
            await send(message)
            if message["type"] == "http.response.start":
                if scope.get("state", {}).get(TICKET) is not None and _storable(message):
                    started.append(message)
            elif message["type"] == "http.response.body" and started:
                parts.append(message.get("body", b""))
                kept += len(parts[-1])
                if kept > limit:
                    started.clear()
                elif not message.get("more_body", False):
                    entry = _entry(scope["state"][TICKET], started[0], b"".join(parts))
                    self.store.put(key, entry)

        return keep


PUBLIC_LEVEL = b"level:%d" % Visibility.PUBLIC
# Any of these in a request's headers sends it the long way (_shared_level), which parses
# them: a lookalike (a cookie named "x_onemap_lsn") costs time, never a wrong level.
_CREDENTIALS = (b"authorization", b"x-api-key")
_CREDENTIAL_COOKIES = (LSN_COOKIE.encode(), TOKEN_COOKIE.encode())


def _anonymous_level(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The public level for a request with no credentials and no write to follow, else None.

    Most requests (the public map's tiles) take this path, without parsing cookies. Every
    header is looked at, repeated ones too.
    """
    for name, value in headers:
        if name in _CREDENTIALS or (
            name == b"cookie" and any(cookie in value for cookie in _CREDENTIAL_COOKIES)
        ):
            return None
    return PUBLIC_LEVEL


async def _shared_level(request: Request) -> bytes | None:
    """The level whose answers this request may share, or None to keep it out of the cache.

    Callers who see the same everywhere share answers: anonymous callers, planners, admins,
    each level apart. A responsible planner's answers depend on their streets (and on other
    layers than the ones read), a writer's reads must show their own writes (``onemap_lsn``),
    and a bad token must meet the route's 401: those are never replayed nor kept.
    """
    if LSN_COOKIE in request.cookies:
        return None
    try:  # without a credential (a lookalike cookie sent it here): anonymous, the public level
        caller = await caller_of(request)
    except OneMapError:
        return None
    if caller.scope is not None:
        return None
    return b"level:%d" % caller.level


def _entry(ticket: Ticket, start: Message, body: bytes) -> Entry:
    headers = MutableHeaders(raw=list(start["headers"]))
    headers[SOURCE_HEADER] = "cache"
    etag = headers.get("etag")
    return Entry(ticket, start["status"], headers.raw, body, etag.encode() if etag else None)


async def _replay(entry: Entry, scope: Scope, send: Send) -> None:
    asked = Headers(scope=scope).get("if-none-match")
    if entry.etag is not None and etag_matches(asked, entry.etag.decode()):
        headers = [(k, v) for k, v in entry.headers if k not in BODY_HEADERS]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})


def _storable(start: Message) -> bool:
    if start["status"] not in (200, 204):
        return False
    control = Headers(raw=start["headers"]).get("cache-control", "")
    return "no-store" not in control and "private" not in control
