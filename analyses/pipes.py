"""Pipelines (seed items 8, 33).

Lengths inside and around each estate's red line, and the aging pipes to renovate first.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from analyses.model import (
    AREA_SHAPE,
    ESTATES_IN_AREA,
    Area,
    Page,
    Param,
    area_values,
    column,
    fetch_rows,
    in_area,
    length_inside,
    midpoint_inside,
    query,
    statement,
)
from layers.vocabulary import MATERIAL_DESIGN_LIFE

PRIORITIES = (1, 2, 3)  # the ranks AGED gives, most urgent first
SAFETY_NETWORKS = ("water_supply", "drainage_storm", "drainage_sewer", "drainage_combined", "gas")


PIPES_BY_ESTATE = statement(
    """
SELECT e.id,
       json_build_object(
           'estate_code', e.code, 'name_zh', e.name_zh, 'district_code', e.district_code,
           'street_code', e.street_code,
           'inside_m', round(coalesce(l.inside_m, 0)::numeric, 1),
           'outside_m', round(coalesce(l.around_m, 0)::numeric, 1),
           'networks', coalesce(l.networks, '{{}}'::json)),
       ST_AsGeoJSON(e.geom, 7)
FROM estates e
CROSS JOIN LATERAL (
    SELECT ST_Transform(ST_Buffer(ST_Transform(e.geom, {srid}), %(buffer_m)s), 4326) AS zone
    OFFSET 0) z
CROSS JOIN LATERAL (  -- around: the zone outside every estate, so no metre counts for two
    SELECT coalesce(ST_Difference(z.zone, (
               SELECT ST_Union(o.geom) FROM estates o
               WHERE o.geom && z.zone AND ST_Intersects(o.geom, z.zone))), z.zone) AS around
    OFFSET 0) a
CROSS JOIN LATERAL (
    SELECT sum(n.inside_m) AS inside_m, sum(n.around_m) AS around_m,
           json_object_agg(n.network, json_build_object(
               'inside_m', round(n.inside_m::numeric, 1),
               'outside_m', round(n.around_m::numeric, 1)) ORDER BY n.network) AS networks
    FROM (SELECT p.network, sum({inside}) AS inside_m, sum({around}) AS around_m
          FROM pipelines p WHERE p.geom && z.zone AND ST_Intersects(p.geom, z.zone)
          GROUP BY 1) n) l
WHERE {estates_in_area}
ORDER BY e.id
""",
    estates_in_area=ESTATES_IN_AREA,
    inside=length_inside(column("e", "geom")),
    around=length_inside(column("a", "around")),
)


# Per estate and network: metres inside the red line, and within ``buffer_m`` around it but
# outside every estate (a neighbour's pipes are the neighbour's: sums over estates hold).
# Estate by estate in key order, nothing kept or sorted: with every estate's zones in a CTE
# and its sums joined back, the city of scale 10 wrote 248 MB to disk (101 → 89 s without).
pipes_by_estate = query(PIPES_BY_ESTATE)


# The aged pipes of the area, ranked: a priority and how far past its design life each is.
# The design life is a CASE, not a join with a VALUES list: the planner misjudged that join
# under a spatial filter and rescanned the area's pipes once per material.
AGED = """
WITH p AS NOT MATERIALIZED (
    SELECT p.id, p.network, p.material, p.diameter_mm, p.install_year, p.condition, p.geom,
           l.years AS design_life, %(year)s - p.install_year - l.years AS over_by,
           p.network = ANY({safety}::text[]) AS safety,
           p.network = 'gas' AND p.material = 'grey_cast_iron' AS gas_cast_iron
    FROM pipelines p CROSS JOIN LATERAL (SELECT CASE p.material {life} END AS years) l
    WHERE l.years IS NOT NULL
      AND (p.install_year + l.years <= %(year)s + %(horizon_years)s
           OR p.condition IN ('poor', 'critical')
           OR (p.network = 'gas' AND p.material = 'grey_cast_iron'))
      AND {in_area}
), ranked AS NOT MATERIALIZED (  -- a page reads it twice: for its keys, then its rows
    SELECT p.*, CASE
        WHEN gas_cast_iron THEN 1
        WHEN safety AND (condition = 'critical' OR (over_by >= 0 AND condition = 'poor')) THEN 1
        WHEN safety AND (over_by >= 0 OR condition = 'poor') THEN 2
        ELSE 3 END AS priority
    FROM p
)
"""
_AGED_PARTS = {
    "life": sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(m), sql.Literal(y))
        for m, y in MATERIAL_DESIGN_LIFE.items()
    ),  # fmt: skip
    "safety": list(SAFETY_NETWORKS),
    "in_area": in_area(column("p", "geom")),
}

# A page: its keys ranked first (the bounded sort keeps only offset + limit of them), then
# its rows made from those. Made before the ranking, every aged pipe's properties and
# outline were sorted and counted with it: 6 GB written to disk city-wide at scale 40.
AGING_PIPES = statement(
    AGED
    + """
, page AS MATERIALIZED (
    SELECT id, priority, over_by FROM ranked
    ORDER BY priority, over_by DESC, id
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT r.id,
       json_build_object(
           'network', r.network, 'material', r.material, 'diameter_mm', r.diameter_mm,
           'install_year', r.install_year, 'condition', r.condition,
           'design_life', r.design_life, 'age', %(year)s - r.install_year,
           'over_by', r.over_by, 'priority', r.priority, 'gas_cast_iron', r.gas_cast_iron,
           'length_m', round(ST_Length(ST_Transform(r.geom, {srid}))::numeric, 1)),
       ST_AsGeoJSON(r.geom, 7)
FROM page JOIN ranked r ON r.id = page.id
ORDER BY page.priority, page.over_by DESC, page.id
""",
    **_AGED_PARTS,
)

# How many in all, for a page after the first (the first has the totals by priority).
AGING_COUNT = statement(AGED + "SELECT count(*) FROM ranked", **_AGED_PARTS)

# How many, and how long, by priority: the whole answer, whatever page is asked for. What
# lies in the area, as its units below and the city's row for it measure it: metres cut at
# its outline, each segment counted where its midpoint is. (Whole segments touching it, a
# district's aged pipe read 1.5 % longer than the city's row for the same district.) Metres
# in the city's metric CRS, as every other analysis measures them: on the ellipsoid they were
# 0.003 % shorter city-wide. One row: the rows listed (every segment touching the area),
# then (count, metres) per priority in PRIORITIES' order: grouped by priority, the planner
# sorted every aged pipe to find three groups.
AGING_BY_PRIORITY = statement(
    AGED
    + """
SELECT count(*), {sums} FROM (
    SELECT p.priority,
           CASE WHEN {shape} IS NULL THEN ST_Length(ST_Transform(p.geom, {srid})) ELSE {part} END
             AS m,
           {shape} IS NULL OR {home} AS home
    FROM ranked p
) r
""",
    sums=sql.SQL(", ").join(
        sql.SQL(
            "count(*) FILTER (WHERE priority = {p} AND home), "
            "coalesce(sum(m) FILTER (WHERE priority = {p}), 0)"
        ).format(p=sql.Literal(p))
        for p in PRIORITIES
    ),  # fmt: skip
    shape=AREA_SHAPE,
    part=length_inside(AREA_SHAPE),
    home=midpoint_inside(AREA_SHAPE),
    **_AGED_PARTS,
)

# Metres of aged pipe in each unit one level below the area (districts of the city, streets
# of a district), each segment cut at the unit's outline and counted in the unit holding its
# midpoint: units add up to the area (counted in every unit it touched, the districts'
# counts were 0.7 % over the city's at scale 1). ``touching`` is what asking for the unit
# itself lists. Every unit is listed, one without aged pipe as 0: a ledger row missing reads
# as "not surveyed".
AGING_BY_UNIT = statement(
    AGED
    + """
, units AS (
    SELECT d.code, d.name_zh, d.geom FROM districts d
    WHERE %(district)s::text IS NULL AND %(street)s::text IS NULL AND %(estate)s::bigint IS NULL
    UNION ALL
    SELECT s.code, s.name_zh, s.geom FROM streets s
    WHERE s.district_code = %(district)s AND %(street)s::text IS NULL
      AND %(estate)s::bigint IS NULL
)
-- Unit by unit, each summed as its pipes are read: nothing kept (the city's aged pipes were
-- kept with their metres, then grouped).
SELECT u.code, u.name_zh, t.n, t.touching, t.m, t.m1
FROM units u CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE l.home) AS n, count(*) AS touching,
           coalesce(sum(l.m), 0) AS m, coalesce(sum(l.m) FILTER (WHERE l.priority = 1), 0) AS m1
    FROM (SELECT p.priority, {part} AS m,
                 {home} AS home
          FROM ranked p WHERE p.geom && u.geom AND ST_Intersects(u.geom, p.geom)) l
) t
ORDER BY u.code
""",
    part=length_inside(column("u", "geom")),
    home=midpoint_inside(column("u", "geom")),
    **_AGED_PARTS,
)


async def aging_values(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> dict[str, Any]:
    """The values aging pipes' statements run with for ``area`` and ``params``."""
    return {**await area_values(conn, area), **params, "year": params["today"].year}


async def aggregate_row(
    conn: psycopg.AsyncConnection, composed: sql.Composed, values: dict[str, Any]
) -> tuple[Any, ...]:
    """The one row of a statement that aggregates without ``GROUP BY``."""
    row = await (await conn.execute(composed, values)).fetchone()
    assert row is not None  # such an aggregate always gives one row, even over no rows
    return row


async def aging_pipes(conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]) -> Page:
    """Aged pipes, ranked: one page of them, and the whole answer's totals.

    The totals come with the first page (offset 0); later pages say how many in all.
    Aged: past (or near) their material's design life, in poor condition, or grey cast-iron
    gas mains (renewed whatever their age). Totals by priority and by district (city) or
    street (district). 1 = grey cast-iron gas, or a safety network (water, drainage, gas)
    critical or aged and poor; 2 = a safety network aged or poor; 3 = the rest.
    """
    values = await aging_values(conn, area, params)
    rows = await fetch_rows(conn, AGING_PIPES, values)
    if params["offset"] > 0:  # later pages: the count only (the totals are on page 1)
        (count,) = await aggregate_row(conn, AGING_COUNT, values)
        return Page(rows, count)
    # Each priority is in the totals, one without pipes as 0 (as each unit is below).
    listed, *sums = await aggregate_row(conn, AGING_BY_PRIORITY, values)
    by_priority: dict[int, tuple[int, float]] = {
        p: (sums[2 * i], sums[2 * i + 1]) for i, p in enumerate(PRIORITIES)
    }
    cur = await conn.execute(AGING_BY_UNIT, values)
    by_unit = [
        {"code": code, "name_zh": name, "count": n, "touching": touching,
         "length_m": round(m, 1), "priority_1_length_m": round(m1, 1)}
        for code, name, n, touching, m, m1 in await cur.fetchall()
    ]  # fmt: skip
    summary = {
        "count": sum(n for n, _ in by_priority.values()),
        "length_m": round(sum(m for _, m in by_priority.values()), 1),
        "by_priority": {
            str(p): {"count": n, "length_m": round(m, 1)} for p, (n, m) in by_priority.items()
        },
        "by_unit": by_unit,
    }
    return Page(rows, listed, summary)


PIPE_PARAMS = (
    Param("buffer_m", float, 50.0, "How far outside the red line counts as around it (m)", 0, 500),
)
AGING_PARAMS = (
    Param("horizon_years", int, 0, "Also list pipes this many years before their design life",
          0, 30),
)  # fmt: skip
