"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import PoolTimeout

from layers.errors import DatabaseUnavailable


async def get_connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection; an unreachable database becomes a 503, not a hung request."""
    try:
        async with request.app.state.pool.connection(request.app.state.pool_timeout) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise DatabaseUnavailable("the database is not reachable right now") from exc


ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_connection)]
