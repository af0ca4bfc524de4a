"""Gathering what a page shows from the database, for the live pages and the static site."""

from __future__ import annotations

import psycopg

from layers import Visibility
from spatial import catalog, overview
from viewer.pages import PageData


async def gather(
    conn: psycopg.AsyncConnection,
    level: Visibility,
    *,
    basemap_url: str | None = None,
    elevator_counts: bool = False,
) -> PageData:
    district_list = await overview.districts(conn)
    data = PageData(
        level=level,
        districts=district_list,
        city_bbox=overview.city_bbox(district_list),
        versions=await catalog.layer_versions(conn),
        basemap_url=basemap_url,
    )
    if elevator_counts:
        data.counts = await overview.elevator_counts(conn)
    return data
