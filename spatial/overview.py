"""City-wide facts the pages need: district outlines' boxes and elevator counts."""

from __future__ import annotations

from typing import Any

import psycopg


async def districts(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT code, name_zh, name_en, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT code, name_zh, name_en, ST_Envelope(geom) AS e FROM districts) d "
        "ORDER BY code"
    )
    return [
        {"code": r[0], "name_zh": r[1], "name_en": r[2], "bbox": [round(v, 5) for v in r[3:]]}
        for r in await cur.fetchall()
    ]


def city_bbox(district_list: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    if not district_list:
        return (73.5, 18.0, 135.0, 53.5)  # no districts loaded yet: the whole country
    boxes = [d["bbox"] for d in district_list]
    return (
        min(b[0] for b in boxes), min(b[1] for b in boxes),
        max(b[2] for b in boxes), max(b[3] for b in boxes),
    )  # fmt: skip


async def elevator_counts(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Retrofits per district and stage, for the public map's side panel."""
    cur = await conn.execute(
        "SELECT r.district_code, d.name_zh, d.name_en, r.stage, count(*) "
        "FROM elevator_retrofits r JOIN districts d ON d.code = r.district_code "
        "GROUP BY 1, 2, 3, 4 ORDER BY 1, 4"
    )
    return [
        {"district_code": r[0], "name_zh": r[1], "name_en": r[2], "stage": r[3], "count": r[4]}
        for r in await cur.fetchall()
    ]
