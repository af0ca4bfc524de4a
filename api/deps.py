"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import PoolTimeout

from api.routing import ReadPoolDep
from layers.errors import DatabaseUnavailable


async def get_connection(
    request: Request, pool: ReadPoolDep
) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection for reading: the replica, when there is one and it has caught up.

    An unreachable database becomes a 503, not a hung request.
    """
    try:
        async with pool.connection(request.app.state.pools.timeout_s) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise DatabaseUnavailable("the database is not reachable right now") from exc


ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_connection)]
