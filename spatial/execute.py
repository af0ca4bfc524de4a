"""Running feature SQL: database errors in a user's words, and streams over server-side cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from layers.errors import DatabaseUnavailable, InvalidInput, OneMapError, QueryTimeout
from spatial.cql import Compiled


def translate(exc: Exception) -> OneMapError | None:
    """The domain error a database failure means for the caller, or None for a real bug."""
    if isinstance(exc, pg_errors.QueryCanceled):
        return QueryTimeout("the query took longer than the statement timeout")
    if isinstance(exc, pg_errors.ProgramLimitExceeded | pg_errors.StatementTooComplex):
        # An OperationalError too, but the request's fault (too many columns, too deep).
        return InvalidInput("the request is too large for the database; ask for less")
    if isinstance(exc, PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError):
        return DatabaseUnavailable("the database is not reachable right now")
    if isinstance(exc, pg_errors.UniqueViolation):
        name = exc.diag.constraint_name or "a unique field"
        return InvalidInput(f"a feature with this value exists already ({name})")
    if isinstance(exc, pg_errors.ForeignKeyViolation | pg_errors.CheckViolation):
        name = exc.diag.constraint_name or "a constraint"
        return InvalidInput(f"the change breaks {name}")
    if isinstance(exc, pg_errors.NumericValueOutOfRange):
        return InvalidInput("a number is out of range for its field")
    if isinstance(exc, pg_errors.DataError | pg_errors.InvalidParameterValue):
        # The database's own words name its internals: the caller gets the kind of mistake.
        return InvalidInput("a value is not valid for its field (type, range or format)")
    return None


class RowStream:
    """Rows of one statement, fetched in batches from a server-side cursor.

    ``open`` acquires a pooled connection, runs the statement and fetches the first batch, so
    that errors surface before an HTTP response has started; iterating yields that batch and
    the rest; the connection goes back to the pool when the stream is exhausted or closed.
    """

    def __init__(
        self, pool: AsyncConnectionPool, statement: Compiled, batch_size: int = 2000,
        timeout_s: float = 5.0, at_most: int | None = None,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.statement = statement
        self.batch_size = batch_size
        # A statement that returns at most one batch (a LIMITed page) runs as a plain query:
        # a server-side cursor would add BEGIN, DECLARE, CLOSE and COMMIT round trips.
        self.at_once = at_most is not None and at_most < batch_size
        self.timeout_s = timeout_s
        self._stack = AsyncExitStack()
        self._cursor: Any = None
        self._first: list[tuple[Any, ...]] = []
        self.after_first_result: Any = None

    async def open(
        self,
        prelude: Callable[[psycopg.AsyncConnection], Awaitable[Any]] | None = None,
        after_first: Callable[[psycopg.AsyncConnection, int | None], Awaitable[Any]] | None = None,
    ) -> RowStream:
        """Run the statement and fetch the first batch.

        ``prelude`` runs first and ``after_first`` after the first batch, on the same
        connection, so a page and its count take one connection, not two. ``after_first`` is
        told how many rows the statement returned when the first batch holds them all, else
        None; its result is kept in ``after_first_result``.
        """
        try:
            conn = await self._stack.enter_async_context(self.pool.connection(self.timeout_s))
            if prelude is not None:
                await prelude(conn)
            if self.at_once:
                cur = await conn.execute(self.statement.sql, self.statement.params)
                self._first = await cur.fetchall()
            else:
                await self._stack.enter_async_context(conn.transaction())
                cursor = conn.cursor(name="onemap_rows")
                self._cursor = await self._stack.enter_async_context(cursor)
                await self._cursor.execute(self.statement.sql, self.statement.params)
                self._first = await self._cursor.fetchmany(self.batch_size)
            if after_first is not None:
                total = len(self._first) if self.complete else None
                self.after_first_result = await after_first(conn, total)
        except Exception as exc:
            await self._release()
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        if self.complete:  # all rows are here: give the connection back
            await self._release()
        return self

    @property
    def complete(self) -> bool:
        """Whether the first batch holds every row of the statement."""
        return self.at_once or len(self._first) < self.batch_size

    async def _release(self) -> None:
        """Close the cursor and return the connection; the rows read are kept either way.

        If the database went away meanwhile, closing fails: that must not break a response
        whose rows have all been read.
        """
        with suppress(psycopg.Error, PoolTimeout):
            await self._stack.aclose()

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The first batch, then the rest; a short batch means the cursor is exhausted."""
        try:
            rows = self._first
            while rows:
                yield rows
                if len(rows) < self.batch_size:
                    break
                rows = await self._cursor.fetchmany(self.batch_size)
        finally:
            await self._release()

    async def close(self) -> None:
        await self._release()
