"""Elevator retrofit screening (seed items 9, 31–33): can a shaft stand at a building?

For each walk-up without an elevator, a shaft footprint (``shaft_width_m`` × ``shaft_depth_m``)
is placed outside the middle of the building's north long side — where the stair entrances
of Beijing's slab blocks are (the south side has the living rooms and their sunlight). The
footprint is then checked in PostGIS, in metres (the city's Gauss-Kruger system):

- it must lie inside the estate's red line;
- it must keep ``min_clearance_m`` from every other building (6 m: the fire separation of
  multi-storey residential buildings, GB 50016-2014 table 5.2.2);
- a survey that recorded the building ``not_feasible`` stands (it knows the structure and the
  underground, which the map does not);
- any pipe within ``pipe_margin_m`` must be moved — the gas pipe on the north wall and the
  building sewer usually are — with its length and a cost from unit prices;
- the owners' consent recorded with the retrofit request must reach two thirds (by floor area
  and by number of owners); short of it the site may be fine but the answer is to gather
  consent first;
- the shaft's shadow: the distance to the building north of it beside what the sunlight
  spacing (``sunlight_spacing`` × the shaft's height) asks. Elevators added to existing homes
  are exempt from the sunlight rule (GB 50180-2018 §4.0.9), so this is a note for talking to
  the neighbours, not a reason to refuse.

A building that fails a site rule is offered the stair-climbing aid instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from analyses.model import (
    ESTATES_IN_AREA,
    Area,
    Param,
    Row,
    check_area_exists,
    collector_paused,
    statement,
)
from layers import get_layer
from layers.city import CITY
from layers.errors import InvalidInput, shown
from spatial import audit

CONSENT_NEEDED = 2 / 3  # of the owners, by floor area and by number (DOMAIN.md, consent)
FLOOR_HEIGHT_M = 2.9  # a shaft rises about as high as the building it serves
CHECKS_BATCH = 20_000  # shafts checked per statement: a district's in one, the city's in several

# Relocation cost per metre of pipe, by network (CNY/m): the city profile's; override with
# ``unit_prices``.
UNIT_PRICES = CITY.unit_prices

CANDIDATES = statement(
    """
SELECT b.id, b.name_zh, b.floors, b.estate_id, e.code, e.name_zh,
       ST_AsBinary(ST_Transform(b.geom, {srid}))
FROM buildings b JOIN estates e ON e.id = b.estate_id
WHERE {estates_in_area} AND b.floors >= %(min_floors)s AND NOT b.has_elevator
""",
    estates_in_area=ESTATES_IN_AREA,
)

CHECKS = statement("""
-- The candidates' estates and floors come with them: joined here, the planner hashed every
-- building and estate of the city for one district's shafts.
WITH s AS MATERIALIZED (  -- inlined, each use of the shaft parsed it again
    SELECT t.id, ST_GeomFromWKB(t.w, {srid}) AS g, t.estate_id,
           t.floors * %(floor_height_m)s AS height
    FROM unnest(%(ids)s::bigint[], %(wkb)s::bytea[], %(estate_ids)s::bigint[],
                %(floors)s::int[]) AS t(id, w, estate_id, floors)
), red AS MATERIALIZED (  -- each estate's red line in metres once, not once per shaft
    SELECT id, ST_Transform(geom, {srid}) AS g FROM estates WHERE id IN (SELECT estate_id FROM s)
)
SELECT s.id,
       ST_Within(s.g, red.g),
       ST_Distance(s.g, ST_Boundary(red.g)),
       (SELECT min(ST_Distance(s.g, ST_Transform(o.geom, {srid}))) FROM buildings o
        WHERE o.id <> s.id
          AND o.geom && ST_Transform(ST_Expand(s.g, %(search_m)s), 4326)),
       (SELECT json_object_agg(network, round(m::numeric, 1)) FROM (
            SELECT p.network,
                   sum(ST_Length(ST_Intersection(ST_Transform(p.geom, {srid}), z.zone))) AS m
            FROM pipelines p
            WHERE p.geom && ST_Transform(ST_Envelope(z.zone), 4326)
              AND ST_Intersects(ST_Transform(p.geom, {srid}), z.zone)
            GROUP BY 1) c),
       ST_AsGeoJSON(ST_Transform(s.g, 4326), 7),
       (SELECT json_build_object('stage', r.stage, 'consent', r.consent_ratio)
        FROM elevator_retrofits r WHERE r.building_id = s.id ORDER BY r.id DESC LIMIT 1),
       -- the building north of the shaft, looked for three times as far as the sunlight rule asks
       (SELECT min(ST_Distance(s.g, ST_Transform(o.geom, {srid}))) FROM buildings o, (
            SELECT ST_MakeEnvelope(ST_XMin(s.g), ST_YMax(s.g), ST_XMax(s.g),
                                   ST_YMax(s.g) + 3 * %(sunlight_spacing)s * s.height, {srid}) AS c
        ) north
        WHERE o.id <> s.id AND o.geom && ST_Transform(north.c, 4326)
          AND ST_Intersects(ST_Transform(o.geom, {srid}), north.c))
FROM s JOIN red ON red.id = s.estate_id
-- The pipe zone once per shaft (OFFSET 0 keeps it a subquery; inlined, it was buffered
-- again for the index, for each pipe found and for each length).
CROSS JOIN LATERAL (SELECT ST_Buffer(s.g, %(pipe_margin_m)s) AS zone OFFSET 0) z
""")


def shaft_footprints(buildings: np.ndarray, width: float, depth: float) -> np.ndarray:
    """A ``width`` × ``depth`` rectangle outside the middle of each building's north long side.

    ``buildings`` are polygons in metres (y = north). The side is a long side of the oriented
    minimum rectangle; the shaft stands against it, its depth pointing away from the building.
    """
    rects = shapely.oriented_envelope(buildings)
    corners = shapely.get_coordinates(rects).reshape(len(buildings), 5, 2)[:, :4]
    starts, ends = corners, np.roll(corners, -1, axis=1)
    lengths = np.linalg.norm(ends - starts, axis=2)
    long_pair = np.where(lengths[:, 0] >= lengths[:, 1], 0, 1)  # edges k and k+2 are the long ones
    index = np.arange(len(buildings))
    middles = (starts + ends) / 2
    first, second = middles[index, long_pair], middles[index, long_pair + 2]
    side = np.where((first[:, 1] >= second[:, 1])[:, None], first, second)  # the northern one
    k = np.where(first[:, 1] >= second[:, 1], long_pair, long_pair + 2)
    along = ends[index, k] - starts[index, k]
    along /= np.linalg.norm(along, axis=1)[:, None]
    centre = corners.mean(axis=1)
    normal = np.column_stack([-along[:, 1], along[:, 0]])
    away = np.sign(np.einsum("ij,ij->i", side - centre, normal))[:, None]
    normal *= np.where(away == 0, 1.0, away)
    half = along * (width / 2)
    ring = np.stack(
        [side - half, side + half, side + half + normal * depth, side - half + normal * depth],
        axis=1,
    )
    return shapely.polygons(ring)


def parse_prices(text: str) -> dict[str, float]:
    prices = dict(UNIT_PRICES)
    for part in filter(None, (p.strip() for p in text.split(","))):
        network, _, value = part.partition("=")
        if network.strip() not in UNIT_PRICES:
            raise InvalidInput(f"unit_prices: unknown network {shown(network.strip())}")
        try:
            price = float(value)
        except ValueError:
            price = math.nan
        if not 0 <= price <= 1e7:  # NaN and infinity fail this too
            raise InvalidInput(f"unit_prices: {part[:40]!r} is not network=CNY per metre "
                               "(0 to 10,000,000)")  # fmt: skip
        prices[network.strip()] = price
    return prices


async def elevator_screening(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    prices = parse_prices(params["unit_prices"])
    cur = await conn.execute(CANDIDATES, {**area.params, **params})
    # Ordered here, not by the statement: for an ORDER BY the planner walked every building
    # of the city in id order to pick a district's (0.51 s at scale 10 for Chaoyang; 0.13 s
    # from the district's estates, then sorted).
    with collector_paused():
        candidates = sorted(await cur.fetchall(), key=lambda row: row[0])
    if not candidates:
        return []
    shapes = shapely.from_wkb([r[6] for r in candidates])
    shafts = shaft_footprints(shapes, params["shaft_width_m"], params["shaft_depth_m"])
    wkb = shapely.to_wkb(shafts)
    rules = {
        "search_m": params["min_clearance_m"] + 1.0, "pipe_margin_m": params["pipe_margin_m"],
        "sunlight_spacing": params["sunlight_spacing"], "floor_height_m": FLOOR_HEIGHT_M,
    }  # fmt: skip
    checks = {}
    # In batches: in one statement the city's shafts spilled to disk (350-460 MB at scale 10).
    for start in range(0, len(candidates), CHECKS_BATCH):
        batch = candidates[start : start + CHECKS_BATCH]
        cur = await conn.execute(CHECKS, {
            "ids": [r[0] for r in batch], "wkb": list(wkb[start : start + CHECKS_BATCH]),
            "estate_ids": [r[3] for r in batch], "floors": [r[2] for r in batch], **rules,
        })  # fmt: skip
        with collector_paused():
            checks.update({r[0]: r[1:] for r in await cur.fetchall()})
    with collector_paused():
        return [screened(row, checks[row[0]], params, prices) for row in candidates]


def screened(
    candidate: tuple[Any, ...],
    checked: tuple[Any, ...],
    params: dict[str, Any],
    prices: dict[str, float],
) -> Row:
    """The screening's row for one building: its shaft checked, its recommendation made."""
    building_id, name, floors, estate_id, estate_code, estate_name, _ = candidate
    inside, boundary_m, neighbour_m, conflicts, shaft, record, north_m = checked
    reasons = []  # in Chinese and English, as data_checks' titles: planners read both
    if not inside:
        reasons.append("井道越出小区红线 The shaft would cross the estate's red line")
    if neighbour_m is not None and neighbour_m < params["min_clearance_m"]:
        need = params["min_clearance_m"]
        reasons.append(f"距相邻楼 {neighbour_m:.1f} 米（需 {need:g} 米） {neighbour_m:.1f} m "
                       f"to the next building (needs {need:g} m)")  # fmt: skip
    if record and record["stage"] == "not_feasible":
        reasons.append("已勘察并记录为不具备条件 Surveyed and recorded not feasible")
    consent = record["consent"] if record else None
    conflicts = conflicts or {}
    cost = sum(length * prices[network] for network, length in conflicts.items())
    feasible = not reasons
    needed_m = params["sunlight_spacing"] * floors * FLOOR_HEIGHT_M
    shades = north_m is not None and north_m < needed_m
    recommendation = (
        "stair_climbing_aid" if not feasible
        else "gather_consent" if consent is not None and consent < CONSENT_NEEDED
        else "elevator"
    )  # fmt: skip
    return Row(building_id, {
        "building_id": building_id, "name_zh": name, "floors": floors,
        "estate_id": estate_id, "estate_code": estate_code, "estate_name": estate_name,
        "feasible": feasible, "reasons": reasons, "recommendation": recommendation,
        "consent_ratio": consent,
        "boundary_m": round(boundary_m, 1) if inside else 0.0,
        "neighbour_m": None if neighbour_m is None else round(neighbour_m, 1),
        "north_neighbour_m": None if north_m is None else round(north_m, 1),
        "sunlight_spacing_m": round(needed_m, 1), "shades_north_neighbour": shades,
        "pipes_to_move_m": conflicts, "relocation_cost_cny": round(cost),
    }, shaft)  # fmt: skip


PARAMS = (
    Param("min_floors", int, 4, "Screen buildings with at least this many floors", 2, 30),
    Param("shaft_width_m", float, 2.6, "Shaft footprint along the facade (m)", 1.5, 6),
    Param("shaft_depth_m", float, 2.4, "Shaft footprint out from the facade (m)", 1.5, 6),
    Param("min_clearance_m", float, 6.0, "Clearance to any other building (m)", 0, 30),
    Param("pipe_margin_m", float, 1.0, "Pipes this close to the shaft must move (m)", 0, 10),
    Param("unit_prices", str, "", "Relocation CNY/m overrides, e.g. gas=3500,heating=2800"),
    Param(
        "sunlight_spacing",
        float,
        1.6,
        "Sunlight spacing coefficient: distance north ÷ shaft height (Beijing old city 1.6)",
        0.5,
        3,
    ),
)


APPLY = (
    sql.SQL("""
WITH s AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(feasible)s::boolean[]) AS t(building_id, feasible)
), added AS (
    INSERT INTO elevator_retrofits
        (building_id, estate_id, district_code, stage, stair_climbing_aid, address, geom)
    SELECT b.id, b.estate_id, e.district_code,
           CASE WHEN s.feasible THEN 'candidate' ELSE 'not_feasible' END, NOT s.feasible,
           e.address, ST_PointOnSurface(b.geom)
    FROM s JOIN buildings b ON b.id = s.building_id JOIN estates e ON e.id = b.estate_id
    WHERE NOT EXISTS (SELECT 1 FROM elevator_retrofits r WHERE r.building_id = b.id)
    -- Two planners recording at once: the second finds the first's records (kept), where the
    -- race raised the unique constraint and read as a 400 for the whole screening.
    ON CONFLICT (building_id) DO NOTHING
    RETURNING *
)
""")
    + audit.INSERT_HISTORY
    + sql.SQL("""
SELECT 'elevator_retrofits', added.id, 'insert', %(actor)s, now(), NULL, {after},
       'elevator screening'
FROM added
RETURNING after ->> 'stage'
""").format(after=audit.snapshot(get_layer("elevator_retrofits"), "added"))
)


async def apply_screening(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any], actor: str
) -> dict[str, int]:
    """Record the screening on the buildings that have no retrofit record yet.

    Feasible buildings become ``candidate`` (the public map shows them), the others
    ``not_feasible`` with the stair-climbing aid offered. Buildings whose residents' process
    has started keep their record. One statement, one history row per record.
    """
    await check_area_exists(conn, area)
    rows = await elevator_screening(conn, area, params)
    async with conn.transaction():
        cur = await conn.execute(APPLY, {
            "ids": [r.id for r in rows], "feasible": [r.properties["feasible"] for r in rows],
            "actor": actor,
        })  # fmt: skip
        stages = [r[0] for r in await cur.fetchall()]
    return {
        "screened": len(rows),
        "candidate": stages.count("candidate"),
        "not_feasible": stages.count("not_feasible"),
        "kept": len(rows) - len(stages),
    }
