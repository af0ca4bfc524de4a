"""Collection metadata from the database: spatial and temporal extents."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from layers import Layer


async def bbox(conn: psycopg.AsyncConnection, layer: Layer) -> list[float] | None:
    """The layer's bounding box in CRS84 (None for an empty or non-spatial layer)."""
    if not layer.is_spatial:
        return None
    # The planner's estimate is instant and, after ANALYZE, close; fall back to a scan.
    cur = await conn.execute(
        sql.SQL(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT coalesce(ST_EstimatedExtent('public', {n}, 'geom'), "
            "(SELECT ST_Extent(geom) FROM {t})) AS e) s"
        ).format(n=sql.Literal(layer.name), t=sql.Identifier(layer.name))
    )
    row = await cur.fetchone()
    return [round(v, 6) for v in row] if row and row[0] is not None else None


async def extent(conn: psycopg.AsyncConnection, layer: Layer) -> dict[str, Any]:
    """The OGC ``extent`` member: bbox in CRS84 and the interval of the time field."""
    out: dict[str, Any] = {}
    box = await bbox(conn, layer)
    if box is not None:
        out["spatial"] = {"bbox": [box], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    if layer.time_field:
        column = sql.Identifier(layer.time_field)
        cur = await conn.execute(
            sql.SQL("SELECT min({c})::text, max({c})::text FROM {t}").format(
                c=column, t=sql.Identifier(layer.name)
            )
        )
        row = await cur.fetchone()
        if row and row[0] is not None:
            out["temporal"] = {"interval": [[row[0], row[1]]]}
    return out
