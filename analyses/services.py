"""Idle space and services (seed items 10, 22–23).

Coverage gaps, the parcels that could fill them, and each district's "flow pool" of floor
area added by conversions.

Distances are straight lines (metres in the city's Gauss-Kruger system) from the estate's red
line: the roads layer has no network topology and pgRouting is not installed, so walking
distance along streets is not computed; set ``walk_m`` with that in mind (a 15-minute walk is
about 1,000 m on streets, 700–800 m as the crow flies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from analyses import nearness
from analyses.model import (
    ESTATES_IN_AREA,
    Area,
    Param,
    Row,
    area_values,
    collector_paused,
    column,
    in_area,
    in_scope,
    query,
    statement,
)
from layers.errors import InvalidInput
from layers.vocabulary import SERVICE_KIND

# The conversion statuses whose parcels are still free to host a new service (SQL list).
FREE_STATUSES = sql.SQL(", ").join(map(sql.Literal, ("identified", "planned")))
ESTATES_AT_ONCE = 2_000  # estates read and measured this many at a time

AREA_BOUNDS = statement(
    "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
    "SELECT ST_Extent(ST_Transform(e.geom, {srid})) AS b FROM estates e WHERE {estates_in_area}) x",
    estates_in_area=ESTATES_IN_AREA,
)
ESTATES = statement(
    "SELECT e.id, e.code, e.name_zh, e.district_code, e.street_code, "
    "ST_AsBinary(ST_Transform(e.geom, {srid})), ST_AsGeoJSON(e.geom, 7) "
    "FROM estates e WHERE {estates_in_area}",
    estates_in_area=ESTATES_IN_AREA,
)
_FREE_PARCELS = (
    "SELECT p.id, p.kind, p.status, p.floor_area_m2, p.land_area_m2, "
    "ST_AsBinary(ST_Transform(p.geom, {srid})) FROM idle_parcels p "
    "WHERE p.status IN ({free}) AND {in_scope} "
    "AND greatest(p.floor_area_m2, p.land_area_m2) >= %(min_area_m2)s"
)
FREE_PARCELS = {
    within_box: statement(
        _FREE_PARCELS + (" AND p.geom && {box}" if within_box else ""),
        free=FREE_STATUSES,
        in_scope=in_scope("idle_parcels", "p"),
        box=nearness.BOX,
    )
    for within_box in (False, True)
}


def parse_kinds(text: str) -> tuple[str, ...]:
    """The service kinds of ``text`` (comma-separated), each once, in the order given."""
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in SERVICE_KIND.codes]
    if unknown or not kinds:
        raise InvalidInput(f"kinds: use service kinds from {', '.join(SERVICE_KIND.codes)}")
    return kinds


@dataclass(frozen=True)
class FreeParcels:
    """The free parcels an estate may be offered, in metres, with what an offer shows."""

    tree: shapely.STRtree
    ids: np.ndarray
    shown: list[dict[str, Any]]  # id, kind, status and areas, by the tree's order


async def free_parcels(
    conn: psycopg.AsyncConnection, values: dict[str, Any], bounds: nearness.Bounds | None
) -> FreeParcels:
    """The free parcels big enough, visible to the caller, and (for an area) near it."""
    query_values = dict(values)
    if bounds is not None:
        reach = values["search_m"] + nearness.EDGE_MARGIN_M
        query_values.update(nearness.metric_box(bounds, reach))
    cur = await conn.execute(FREE_PARCELS[bounds is not None], query_values)
    rows = await cur.fetchall()
    shown = [{"id": r[0], "kind": r[1], "status": r[2], "floor_area_m2": r[3],
              "land_area_m2": r[4]} for r in rows]  # fmt: skip
    return FreeParcels(
        shapely.STRtree(shapely.from_wkb([r[5] for r in rows])),
        np.array([r[0] for r in rows], dtype=np.int64),
        shown,
    )


async def coverage_gaps(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """(estate, service kind) pairs with no such service within ``walk_m``.

    Each comes with the nearest free parcels (``parcels`` of them, then by id) within
    ``search_m`` of the estate that could host the service. Every distance is exact, from
    the red line in the city's metres (``analyses.nearness``).
    """
    values = await gap_values(conn, area, params)
    bounds: nearness.Bounds | None = None
    if not area.city_wide:
        cur = await conn.execute(AREA_BOUNDS, values)
        found = await cur.fetchone()
        if found is None or found[0] is None:
            return []
        bounds = tuple(found)
    facilities = nearness.FacilitiesAround(conn, values["kinds"], bounds)
    rows: list[Row] = []
    # Held off while the rows pile up, also while the next chunk is read: at scale 40 the
    # collector's passes over them cost 1.35 s of 12, the rest growing with the city.
    with collector_paused():
        async with nearness.serial(conn):
            parcels = await free_parcels(conn, values, bounds)
            await conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")  # read to the end
            async with conn.cursor(name="onemap_coverage_gaps") as cur:
                await cur.execute(ESTATES, values)
                while estates := await cur.fetchmany(ESTATES_AT_ONCE):
                    rows += await _gaps_of(estates, facilities, parcels, values)
        # Ordered here, where the keys sort in milliseconds.
        return sorted(rows, key=lambda row: (row.properties["estate_id"], row.properties["kind"]))


ESTATE_OUTLINE = statement(
    "SELECT ST_AsBinary(ST_Transform(geom, {srid})) FROM estates WHERE id = %(id)s"
)


async def services_nearby(
    conn: psycopg.AsyncConnection, estate_id: int, kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Metres from the estate's red line to the nearest facility of each kind.

    Measured as coverage gaps measures them; None where the city has none of the kind.
    """
    cur = await conn.execute(ESTATE_OUTLINE, {"id": estate_id})
    found = await cur.fetchone()
    if found is None:
        return []
    outline = shapely.from_wkb([found[0]])
    bounds = tuple(shapely.bounds(outline)[0].tolist())
    async with nearness.serial(conn):
        metres = await nearness.FacilitiesAround(conn, kinds, bounds).nearest_beyond(outline, 0.0)
    return [{"kind": kind, "nearest_m": nearness.whole_metres(m)[0]} for kind, m in metres.items()]


async def gap_values(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> dict[str, Any]:
    """The values coverage gaps' statements run with for ``area`` and ``params``."""
    return {**await area_values(conn, area), **params, "kinds": parse_kinds(params["kinds"])}


async def _gaps_of(
    estates: list[tuple[Any, ...]], facilities: nearness.FacilitiesAround, parcels: FreeParcels,
    values: dict[str, Any],
) -> list[Row]:  # fmt: skip
    """The rows of these estates' gaps.

    Each estate is (id, code, name, district, street, metric WKB, GeoJSON).
    """
    outlines = shapely.from_wkb([e[5] for e in estates])
    walk_m = values["walk_m"]
    metres = await facilities.nearest_beyond(outlines, walk_m)
    beyond = {kind: ~(m <= walk_m) for kind, m in metres.items()}  # NaN: none in the city
    with_gap = np.flatnonzero(np.logical_or.reduce(list(beyond.values())))
    lacking = {kind: gap.tolist() for kind, gap in beyond.items()}
    whole = {kind: nearness.whole_metres(m) for kind, m in metres.items()}
    offers = nearness.nearest_within(
        parcels.tree, parcels.ids, outlines[with_gap], values["search_m"], values["parcels"]
    )
    rows = []
    for i, offered in zip(with_gap.tolist(), offers, strict=True):
        estate_id, code, name_zh, district, street, _, outline = estates[i]
        shown = [{**parcels.shown[p], "distance_m": m} for p, m in offered]
        for kind in facilities.kinds:
            if not lacking[kind][i]:
                continue
            rows.append(Row(f"{estate_id}:{kind}", {
                "estate_id": estate_id, "estate_code": code, "name_zh": name_zh,
                "district_code": district, "street_code": street, "kind": kind,
                "nearest_m": whole[kind][i],
                "walk_m": walk_m, "parcels": shown,
            }, outline))  # fmt: skip
    return rows


FLOW_POOL = statement(
    """
WITH p AS (
    SELECT p.* FROM idle_parcels p WHERE {in_area}
),
-- Parcels summed per district first: grouping the joined rows by the district (and its
-- outline, tens of kB) hashed the outline once per parcel.
totals AS (
    SELECT district_code,
           round(coalesce(sum(added_floor_area_m2)
               FILTER (WHERE status IN ('converting', 'in_use')), 0)::numeric, 1) AS added_m2,
           count(*) AS parcels,
           count(*) FILTER (WHERE status = 'in_use') AS in_use,
           count(*) FILTER (WHERE status = 'converting') AS converting,
           count(*) FILTER (WHERE status IN ({free})) AS available,
           round(coalesce(sum(floor_area_m2)
               FILTER (WHERE status IN ({free})), 0)::numeric, 1) AS available_m2
    FROM p GROUP BY 1
),
uses AS (
    SELECT u.district_code, json_object_agg(u.use, u.m2 ORDER BY u.use) AS m2_by_use
    FROM (SELECT district_code, proposed_use AS use,
                 round(sum(added_floor_area_m2)::numeric, 1) AS m2
          FROM p WHERE proposed_use IS NOT NULL AND status IN ('converting', 'in_use')
          GROUP BY 1, 2) u
    GROUP BY 1
)
SELECT d.code,
       json_build_object(
           'district_code', d.code, 'name_zh', d.name_zh,
           'added_floor_area_m2', coalesce(t.added_m2, 0.0),
           'parcels', coalesce(t.parcels, 0),
           'parcels_in_use', coalesce(t.in_use, 0),
           'parcels_converting', coalesce(t.converting, 0),
           'parcels_available', coalesce(t.available, 0),
           'available_floor_area_m2', coalesce(t.available_m2, 0.0),
           'added_by_use', coalesce(u.m2_by_use, '{{}}'::json)),
       ST_AsGeoJSON(d.geom, 6)
FROM districts d
LEFT JOIN totals t ON t.district_code = d.code
LEFT JOIN uses u ON u.district_code = d.code
WHERE (%(district)s::text IS NULL OR d.code = %(district)s)
  AND (%(street)s::text IS NULL
       OR d.code = (SELECT district_code FROM streets WHERE code = %(street)s))
  AND (%(estate)s::bigint IS NULL
       OR d.code = (SELECT district_code FROM estates WHERE id = %(estate)s))
ORDER BY d.code
""",
    in_area=in_area(column("p", "geom")),
    free=FREE_STATUSES,
)


# Per district: floor area added by converting idle parcels (the "flow pool"), by use.
flow_pool = query(FLOW_POOL)


GAP_PARAMS = (
    Param("kinds", str, "elder_care,childcare,meal_aid,clinic", "Service kinds to check"),
    Param("walk_m", float, 800.0, "A service further than this is a gap (m, straight line)",
          50, 5000),
    Param("search_m", float, 1000.0, "Look for idle parcels this far from the estate (m)",
          0, 5000),
    Param("min_area_m2", float, 30.0, "Parcels smaller than this cannot host a service (m²)",
          0, 100_000),
    Param("parcels", int, 3, "How many parcels to offer per gap", 0, 20),
)  # fmt: skip
