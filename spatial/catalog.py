"""What is in the database: versions, and how many features each layer holds.

Each query is built once as SQL and run by a sync helper (CLI, loaders) or an async one (API).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

VERSIONS = sql.SQL(
    "SELECT current_setting('server_version') AS postgresql, postgis_lib_version() AS postgis"
)


def counts_query(tables: Sequence[str]) -> sql.Composed:
    """One statement counting every table, as rows of (table, count)."""
    return sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name}, count(*) FROM {table}").format(
            name=sql.Literal(t), table=sql.Identifier(t)
        )
        for t in tables
    )


def any_rows_query(tables: Sequence[str]) -> sql.Composed:
    return sql.SQL("SELECT {}").format(
        sql.SQL(" OR ").join(
            sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t)) for t in tables
        )
    )


def layer_counts(conn: psycopg.Connection, tables: Sequence[str]) -> dict[str, int]:
    """Feature count per table, in the order of ``tables``."""
    counts: dict[str, int] = dict(conn.execute(counts_query(tables)).fetchall())
    return {t: counts[t] for t in tables}


async def layer_counts_async(
    conn: psycopg.AsyncConnection, tables: Sequence[str]
) -> dict[str, int]:
    cur = await conn.execute(counts_query(tables))
    counts: dict[str, int] = dict(await cur.fetchall())
    return {t: counts[t] for t in tables}


# Where the primary's WAL ends: after a commit, the position a replica must replay to show it.
# The insert position, not the write position (``pg_current_wal_lsn``): with asynchronous
# commit the commit record may still sit in WAL buffers, and a replica that had replayed up
# to the write position answered without the write (the replica test, once in a few loaded
# runs).
WAL_POSITION = sql.SQL("SELECT pg_current_wal_insert_lsn()::text")


def wal_position(conn: psycopg.Connection) -> str | None:
    row = conn.execute(WAL_POSITION).fetchone()
    return row[0] if row else None


async def wal_position_async(conn: psycopg.AsyncConnection) -> str | None:
    cur = await conn.execute(WAL_POSITION)
    row = await cur.fetchone()
    return row[0] if row else None


def versions(conn: psycopg.Connection) -> dict[str, str]:
    row = conn.execute(VERSIONS).fetchone()
    assert row is not None
    return {"postgresql": row[0], "postgis": row[1]}


async def versions_async(conn: psycopg.AsyncConnection) -> dict[str, str]:
    cur = await conn.execute(VERSIONS)
    row = await cur.fetchone()
    assert row is not None
    return {"postgresql": row[0], "postgis": row[1]}


async def layer_versions(
    conn: psycopg.AsyncConnection, names: Sequence[str] | None = None
) -> dict[str, int]:
    """Each layer's version (bumped by a trigger on every write); all layers, or ``names``."""
    if names is None:
        cur = await conn.execute("SELECT layer, version FROM layer_versions")
    else:
        cur = await conn.execute(
            "SELECT layer, version FROM layer_versions WHERE layer = ANY(%s)", (list(names),)
        )
    return {r[0]: int(r[1]) for r in await cur.fetchall()}


def table_exists(conn: psycopg.Connection, table: str) -> bool:
    """Whether ``table`` exists yet (a schema may be migrated only part of the way)."""
    return conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,)


def layers_empty(conn: psycopg.Connection, tables: Sequence[str]) -> bool:
    row = conn.execute(any_rows_query(tables)).fetchone()
    return not (row and row[0])
