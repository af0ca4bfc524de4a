"""Typed dependencies shared by the routes."""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api.replicas import ReadPoolDep, read_pool
from api.state import state_of
from layers.errors import DatabaseUnavailable


async def take_slot(request: Request, slots: asyncio.Semaphore, what: str) -> None:
    """Take one of the process's ``slots`` for heavy work, or 503 past the pool timeout.

    The caller releases it.
    """
    try:
        await asyncio.wait_for(slots.acquire(), state_of(request).pools.timeout_s)
    except TimeoutError:
        raise DatabaseUnavailable(f"every {what} slot is busy; retry in a moment") from None


async def check_pooled_connection(conn: psycopg.AsyncConnection) -> None:
    """Check a connection as it leaves the pool, without a round trip when it is healthy.

    An idle connection has nothing to read. A readable socket means the server sent something
    (the FATAL of a shutdown) or closed it; only then is the connection asked (which fails,
    and the pool replaces it), so a database restart still costs no request.
    """
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != pq.ConnStatus.OK or _readable(pgconn.socket):
        await AsyncConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


@asynccontextmanager
async def pooled(
    pool: AsyncConnectionPool, timeout_s: float
) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection from ``pool`` (autocommit: each statement commits by itself).

    Taken and given back without ``async with conn``: that would COMMIT on the way out, and
    a database gone meanwhile would then fail a request whose answer is already made. The
    pool discards a broken connection when it comes back.
    """
    try:
        conn = await pool.getconn(timeout_s)
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise DatabaseUnavailable("the database is not reachable right now") from exc
    try:
        yield conn
    finally:
        await pool.putconn(conn)


async def get_connection(
    request: Request, pool: ReadPoolDep
) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection for reading: the replica, when there is one and it has caught up.

    An unreachable database becomes a 503, not a hung request.
    """
    async with pooled(pool, state_of(request).pools.timeout_s) as conn:
        yield conn


ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_connection)]


@asynccontextmanager
async def read_connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A read connection (as ``ConnDep``) that a route takes itself.

    FastAPI runs a dependency that yields through an exit stack, ~0.1 ms a request: the tile
    routes do without it.
    """
    async with pooled(await read_pool(request), state_of(request).pools.timeout_s) as conn:
        yield conn


async def primary_connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection to the primary, for writes (and the writer's own reads)."""
    pools = state_of(request).pools
    async with pooled(pools.primary, pools.timeout_s) as conn:
        yield conn


WriteConnDep = Annotated[psycopg.AsyncConnection, Depends(primary_connection)]
