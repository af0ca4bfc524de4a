"""Reads from a replica, writes to the primary, and a writer always reads its own writes.

With ``ONEMAP_DATABASE_READ_URL`` set, read routes take connections from the replica's pool.
The rule for read-after-write: a write answers with the primary's WAL position after its
commit (``pg_current_wal_insert_lsn()``, ``spatial.catalog.WAL_POSITION``), kept by the
client in the ``onemap_lsn`` cookie; while that cookie names a position the replica has not
replayed yet (``pg_last_wal_replay_lsn()``), the caller's reads go to the primary. Everyone
else reads the replica, which may lag a little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.state import state_of

LSN_COOKIE = "onemap_lsn"
SOURCE_HEADER = "X-OneMap-Source"
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


@dataclass
class Pools:
    primary: AsyncConnectionPool
    replica: AsyncConnectionPool | None
    primary_url: str
    read_url: str
    timeout_s: float

    async def replica_has(self, lsn: str) -> bool:
        assert self.replica is not None
        async with self.replica.connection(self.timeout_s) as conn:
            cur = await conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))
            row = await cur.fetchone()
        return bool(row and row[0])

    async def for_reading(self, request: Request) -> tuple[AsyncConnectionPool, str]:
        """The pool a read should use, and its name for the ``X-OneMap-Source`` header."""
        if self.replica is None:
            return self.primary, "primary"
        lsn = request.cookies.get(LSN_COOKIE, "")
        if _LSN.match(lsn) and not await self.replica_has(lsn):
            return self.primary, "primary"
        return self.replica, "replica"


async def read_pool(request: Request) -> AsyncConnectionPool:
    pools: Pools = state_of(request).pools
    pool, source = await pools.for_reading(request)
    request.state.source = source
    request.state.read_url = pools.read_url if source == "replica" else pools.primary_url
    return pool


ReadPoolDep = Annotated[AsyncConnectionPool, Depends(read_pool)]


class SourceHeader:
    """Says in ``X-OneMap-Source`` which database answered a read.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` costs a task and a queue
    per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_source(message: Message) -> None:
            if message["type"] == "http.response.start":
                source = scope.get("state", {}).get("source")
                if source:
                    headers = MutableHeaders(scope=message)
                    headers[SOURCE_HEADER] = source
            await send(message)

        await self.app(scope, receive, send_with_source)
