"""``numberMatched`` without a full count on every page of a large layer.

The planner's row estimate for the query comes first (EXPLAIN, well under a millisecond).
If it is at most the threshold, an exact ``count(*)`` runs and is returned; otherwise the
number is left out of the response, as OGC API Features allows, and clients page with the
``next`` links.
"""

from __future__ import annotations

import psycopg

from spatial.features import FeatureQuery, count_sql, estimate_sql


async def estimated_rows(conn: psycopg.AsyncConnection, q: FeatureQuery) -> int:
    statement = estimate_sql(q)
    cur = await conn.execute(statement.sql, statement.params)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0][0]["Plan"]["Plan Rows"])


async def number_matched(
    conn: psycopg.AsyncConnection, q: FeatureQuery, exact_threshold: int
) -> int | None:
    if await estimated_rows(conn, q) > exact_threshold:
        return None
    statement = count_sql(q)
    cur = await conn.execute(statement.sql, statement.params)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])
