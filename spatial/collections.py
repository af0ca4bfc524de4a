"""Collection metadata from the database: spatial and temporal extents."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from layers import Layer


async def extent(conn: psycopg.AsyncConnection, layer: Layer) -> dict[str, Any]:
    """The OGC ``extent`` member: bbox in CRS84 and the interval of the time field."""
    out: dict[str, Any] = {}
    table = sql.Identifier(layer.name)
    if layer.is_spatial:
        # The planner's estimate is instant and, after ANALYZE, close; fall back to a scan.
        cur = await conn.execute(
            sql.SQL(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT coalesce(ST_EstimatedExtent('public', {n}, 'geom'), "
                "(SELECT ST_Extent(geom) FROM {t})) AS e) s"
            ).format(n=sql.Literal(layer.name), t=table)
        )
        row = await cur.fetchone()
        if row and row[0] is not None:
            out["spatial"] = {
                "bbox": [[round(v, 6) for v in row]],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
    if layer.time_field:
        column = sql.Identifier(layer.time_field)
        cur = await conn.execute(
            sql.SQL("SELECT min({c})::text, max({c})::text FROM {t}").format(c=column, t=table)
        )
        row = await cur.fetchone()
        if row and row[0] is not None:
            out["temporal"] = {"interval": [[row[0], row[1]]]}
    return out
