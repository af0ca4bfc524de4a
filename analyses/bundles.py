"""Bundling (seed item 18): nearby estates of one street into candidate block projects.

``ST_ClusterDBSCAN`` in metres (EPSG:4548), street by street, over the estates not yet in a
project: estates within ``distance_m`` of each other (red line to red line) join a bundle of
at least ``min_estates``. Each bundle gets its totals and outline.
"""

from __future__ import annotations

from typing import Any

import psycopg

from analyses.model import ESTATES_IN_AREA, METRIC_SRID, Area, Param, Row, fetch_rows

BUNDLES = f"""
WITH e AS (
    SELECT e.*, ST_ClusterDBSCAN(ST_Transform(e.geom, {METRIC_SRID}),
                                 eps => %(distance_m)s, minpoints => %(min_estates)s)
                OVER (PARTITION BY e.street_code) AS cluster
    FROM estates e
    WHERE {ESTATES_IN_AREA} AND e.project_id IS NULL
      AND e.status NOT IN ('in_progress', 'completed', 'accepted')
)
SELECT e.street_code || '-' || e.cluster,
       json_build_object(
           'street_code', e.street_code, 'district_code', min(e.district_code),
           'bundle', e.cluster + 1, 'estates', count(*),
           'estate_ids', array_agg(e.id ORDER BY e.id),
           'estate_codes', array_agg(e.code ORDER BY e.id),
           'area_m2', round(sum(e.area_m2)::numeric), 'floor_area_m2',
           round(sum(e.floor_area_m2)::numeric), 'households', sum(e.households),
           'buildings', sum(e.building_count)),
       ST_AsGeoJSON(ST_ConvexHull(ST_Collect(e.geom)), 7)::json
FROM e WHERE e.cluster IS NOT NULL
GROUP BY e.street_code, e.cluster
ORDER BY count(*) DESC, 1
"""


async def bundles(conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]) -> list[Row]:
    return await fetch_rows(conn, BUNDLES, {**area.params, **params})


PARAMS = (
    Param("distance_m", float, 150.0, "Estates this close (red line to red line) bundle (m)",
          1, 2000),
    Param("min_estates", int, 2, "The fewest estates in a bundle", 2, 50),
)  # fmt: skip
