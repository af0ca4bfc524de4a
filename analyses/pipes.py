"""Pipelines (seed items 8, 33).

Lengths inside and around each estate's red line, and the aging pipes to renovate first.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from analyses.model import (
    ESTATES_IN_AREA,
    Area,
    Param,
    Row,
    column,
    fetch_rows,
    in_area,
    query,
    statement,
    values_list,
)
from layers.vocabulary import MATERIAL_DESIGN_LIFE

SAFETY_NETWORKS = ("water_supply", "drainage_storm", "drainage_sewer", "drainage_combined", "gas")


def _part_length(area: sql.Composable) -> sql.Composed:
    """Metres of pipe ``p`` inside ``area``.

    Most segments lie wholly in or out, and the (prepared, cached) containment test is far
    cheaper than cutting every segment.
    """
    return statement(
        "CASE WHEN ST_Contains({area}, p.geom) THEN ST_Length(ST_Transform(p.geom, {srid})) "
        "WHEN ST_Intersects({area}, p.geom) "
        "THEN ST_Length(ST_Transform(ST_Intersection(p.geom, {area}), {srid})) ELSE 0 END",
        area=area,
    )


PIPES_BY_ESTATE = statement(
    """
WITH e AS (
    SELECT e.id, e.code, e.name_zh, e.district_code, e.street_code, e.geom,
           ST_Transform(ST_Buffer(ST_Transform(e.geom, {srid}), %(buffer_m)s), 4326) AS zone
    FROM estates e WHERE {estates_in_area}
), lengths AS (
    SELECT e.id AS estate_id, p.network,
           sum({inside}) AS inside_m,
           sum({in_zone}) AS zone_m
    FROM e JOIN pipelines p ON p.geom && e.zone AND ST_Intersects(p.geom, e.zone)
    GROUP BY 1, 2
)
SELECT e.id,
       json_build_object(
           'estate_code', e.code, 'name_zh', e.name_zh, 'district_code', e.district_code,
           'street_code', e.street_code,
           'inside_m', round(coalesce(sum(l.inside_m), 0)::numeric, 1),
           'outside_m', round(coalesce(sum(l.zone_m - l.inside_m), 0)::numeric, 1),
           'networks', coalesce(json_object_agg(l.network, json_build_object(
               'inside_m', round(l.inside_m::numeric, 1),
               'outside_m', round((l.zone_m - l.inside_m)::numeric, 1)))
               FILTER (WHERE l.network IS NOT NULL), '{{}}'::json)),
       ST_AsGeoJSON(e.geom, 7)::json
FROM e LEFT JOIN lengths l ON l.estate_id = e.id
GROUP BY e.id, e.code, e.name_zh, e.district_code, e.street_code, e.geom
ORDER BY e.id
""",
    estates_in_area=ESTATES_IN_AREA,
    inside=_part_length(column("e", "geom")),
    in_zone=_part_length(column("e", "zone")),
)


# Per estate and network: metres inside the red line, and within ``buffer_m`` outside it.
pipes_by_estate = query(PIPES_BY_ESTATE)


AGING_PIPES = statement(
    """
WITH life(material, years) AS (VALUES {life}),
p AS (
    SELECT p.*, l.years AS design_life,
           %(year)s - p.install_year - l.years AS over_by,
           p.network = ANY({safety}::text[]) AS safety
    FROM pipelines p JOIN life l USING (material)
    WHERE (p.install_year + l.years <= %(year)s + %(horizon_years)s
           OR p.condition IN ('poor', 'critical'))
      AND {in_area}
), ranked AS (
    SELECT p.*, CASE
        WHEN safety AND (condition = 'critical' OR (over_by >= 0 AND condition = 'poor')) THEN 1
        WHEN safety AND (over_by >= 0 OR condition = 'poor') THEN 2
        ELSE 3 END AS priority
    FROM p
)
SELECT id,
       json_build_object(
           'network', network, 'material', material, 'diameter_mm', diameter_mm,
           'install_year', install_year, 'condition', condition, 'design_life', design_life,
           'age', %(year)s - install_year, 'over_by', over_by, 'priority', priority,
           'length_m', round(ST_Length(geom::geography)::numeric, 1)),
       ST_AsGeoJSON(geom, 7)::json
FROM ranked
ORDER BY priority, over_by DESC, id
LIMIT %(limit)s
""",
    life=values_list(MATERIAL_DESIGN_LIFE),
    safety=list(SAFETY_NETWORKS),
    in_area=in_area(column("p", "geom")),
)


async def aging_pipes(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """Pipes past (or near) their material's design life, or in poor condition, ranked.

    1 = a safety network (water, drainage, gas) critical, or aged and poor; 2 = a safety
    network aged or poor; 3 = the rest.
    """
    year = params["today"].year
    return await fetch_rows(conn, AGING_PIPES, {**area.params, **params, "year": year})


PIPE_PARAMS = (
    Param("buffer_m", float, 50.0, "How far outside the red line counts as around it (m)", 0, 500),
)
AGING_PARAMS = (
    Param("horizon_years", int, 0, "Also list pipes this many years before their design life",
          0, 30),
    Param("limit", int, 5000, "At most this many pipes, most urgent first", 1, 200_000),
)  # fmt: skip
