"""Bundling (seed item 18): nearby estates of one street into candidate block projects.

``ST_ClusterDBSCAN`` in metres (the city's Gauss-Kruger system), street by street, over the
estates not yet in a project: estates within ``distance_m`` of each other (red line to red
line) join a bundle of at least ``min_estates``. Each bundle gets its totals and outline, and
can become a proposed project (``create_project``).
"""

from __future__ import annotations

import json

import psycopg

from analyses.model import ESTATES_IN_AREA, Param, query, statement
from layers import get_layer
from layers.errors import InvalidInput
from spatial import edits

BUNDLES = statement(
    """
WITH e AS (
    SELECT e.*, ST_ClusterDBSCAN(ST_Transform(e.geom, {srid}),
                                 eps => %(distance_m)s, minpoints => %(min_estates)s)
                OVER (PARTITION BY e.street_code) AS cluster
    FROM estates e
    WHERE {estates_in_area} AND e.project_id IS NULL
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
       ST_AsGeoJSON(ST_ConvexHull(ST_Collect(e.geom)), 7)
FROM e WHERE e.cluster IS NOT NULL
GROUP BY e.street_code, e.cluster
ORDER BY count(*) DESC, 1
""",
    estates_in_area=ESTATES_IN_AREA,
)


bundles = query(BUNDLES)


PARAMS = (
    Param("distance_m", float, 150.0, "Estates this close (red line to red line) bundle (m)",
          1, 2000),
    Param("min_estates", int, 2, "The fewest estates in a bundle", 2, 50),
)  # fmt: skip


async def create_project(
    conn: psycopg.AsyncConnection, editor: edits.Editor, estate_ids: list[int], name: str,
    plan_batch_id: int | None = None,
) -> int:  # fmt: skip
    """A proposed project over a bundle of estates, and the estates linked to it.

    One transaction: the project and each estate's new ``project_id`` go through the same
    checks and history as any other write (``spatial.edits``).
    """
    ids = sorted(set(estate_ids))
    if len(ids) < 1:
        raise InvalidInput("estate_ids: name at least one estate")
    async with conn.transaction():
        # Locked before they are checked: two planners bundling the same estates at once
        # both passed the check, and made two projects, the first left with no estate.
        await conn.execute("SELECT FROM estates WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))
        return await _create_project(conn, editor, ids, name, plan_batch_id)


async def _create_project(
    conn: psycopg.AsyncConnection, editor: edits.Editor, ids: list[int], name: str,
    plan_batch_id: int | None,
) -> int:  # fmt: skip
    cur = await conn.execute(
        "SELECT count(*), count(DISTINCT street_code), min(street_code), min(district_code), "
        "count(*) FILTER (WHERE project_id IS NOT NULL), "
        "ST_AsGeoJSON(ST_Multi(ST_Union(geom)), 7) FROM estates WHERE id = ANY(%s)",
        (ids,),
    )
    found, streets, street, district, taken, outline = await cur.fetchone()  # type: ignore[misc]
    if found != len(ids):
        raise InvalidInput("estate_ids: some of these estates do not exist")
    if streets != 1:
        raise InvalidInput("estate_ids: a bundle's estates lie in one street")
    if taken:
        raise InvalidInput("estate_ids: some of these estates are in a project already")
    feature = {
        "type": "Feature",
        "geometry": json.loads(outline),
        "properties": {"name_zh": name, "district_code": district, "street_code": street,
                       "status": "proposed", "plan_batch_id": plan_batch_id},
    }  # fmt: skip
    projects, estates = get_layer("projects"), get_layer("estates")
    project = await edits.create(conn, projects, editor, feature)
    for estate_id in ids:
        patch = {"type": "Feature", "geometry": ..., "properties": {"project_id": project.id}}
        await edits.update(conn, estates, editor, estate_id, patch, replace=False,
                           if_match=None)  # fmt: skip
    return project.id
