"""Idle space and services (seed items 10, 22–23).

Coverage gaps, the parcels that could fill them, and each district's "flow pool" of floor
area added by conversions.

Distances are straight lines (metres in the city's Gauss-Kruger system) from the estate's red
line: the roads layer has no network topology and pgRouting is not installed, so walking
distance along streets is not computed; set ``walk_m`` with that in mind (a 15-minute walk is
about 1,000 m on streets, 700–800 m as the crow flies).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from analyses.model import (
    ESTATES_IN_AREA,
    Area,
    Param,
    Row,
    area_values,
    collector_paused,
    column,
    fetch_rows,
    in_area,
    in_scope,
    query,
    statement,
)
from layers import get_layer, nearest_key
from layers.errors import InvalidInput
from layers.vocabulary import SERVICE_KIND

KNN = 8  # candidates by index order (degrees) before measuring them in metres
IDLE_PARCELS = get_layer("idle_parcels")
# The parcels offered: the free ones, which the registry gives a nearest-first index.
assert IDLE_PARCELS.nearest_among is not None
FREE_FIELD, FREE_TERMS = IDLE_PARCELS.nearest_among


def nearest_of_kinds(kinds: Sequence[str]) -> sql.Composed:
    """``VALUES (kind, metres), …``: estate ``e`` to the nearest facility of each kind.

    ``e`` has its point ``pt`` and its metric outline ``g``; the metres are NULL where the
    city has no facility of the kind.

    Each kind is a constant in its own scan, so the kind's own index serves it (``nearest_by``
    in the registry: one index per kind, on ``nearest_key``). With the kind a value from a
    join, only an index over every kind could: twice the time per scan at scale 1.
    """
    return sql.SQL(", ").join(
        statement(
            "({kind}, (SELECT min(ST_Distance(ST_Transform(c.geom, {srid}), e.g)) FROM ("
            "SELECT f.geom FROM service_facilities f WHERE f.kind = {kind} "
            "ORDER BY {facility} <-> {estate} LIMIT {knn}) c))",
            kind=sql.Literal(kind),
            facility=sql.SQL(nearest_key("f.geom")),
            estate=sql.SQL(nearest_key("e.pt")),
            knn=KNN,
        )  # fmt: skip
        for kind in kinds
    )


@functools.lru_cache(maxsize=64)
def coverage_gaps_statement(kinds: tuple[str, ...]) -> sql.Composed:
    """The coverage gaps of ``kinds`` (service kinds, checked by ``parse_kinds``).

    Estate by estate: the nearest facility of each kind, the kinds beyond the walk, the
    parcels once for all of them, then a row per gap. Nothing is kept or sorted, so memory
    stays flat at any size: the city's rows kept in CTEs and sorted for their joins wrote
    350 MB to disk at scale 40.
    """
    return statement(
        """
SELECT e.id::text || ':' || n.kind,
       json_build_object(
           'estate_id', e.id, 'estate_code', e.code, 'name_zh', e.name_zh,
           'district_code', e.district_code, 'street_code', e.street_code,
           'kind', n.kind, 'nearest_m', round(n.distance_m::numeric), 'walk_m', %(walk_m)s,
           'parcels', e.parcels),
       e.outline
FROM (
    SELECT e.id, e.code, e.name_zh, e.district_code, e.street_code, gap.kinds, gap.distances,
           ST_AsGeoJSON(e.geom, 7) AS outline,
           (SELECT coalesce(json_agg(x ORDER BY x.distance_m, x.id), '[]'::json) FROM (
               SELECT c.id, c.kind, c.status, c.floor_area_m2, c.land_area_m2,
                      round(ST_Distance(c.g, e.g)::numeric) AS distance_m
               FROM (SELECT p.id, p.kind, p.status, p.floor_area_m2, p.land_area_m2,
                            ST_Transform(p.geom, {srid}) AS g
                     FROM idle_parcels p
                     WHERE p.{free} IN ({free_terms}) AND {parcel_in_scope}
                       AND greatest(p.floor_area_m2, p.land_area_m2) >= %(min_area_m2)s
                     ORDER BY {parcel} <-> {estate} LIMIT {knn}) c
               WHERE ST_DWithin(c.g, e.g, %(search_m)s)
               ORDER BY 6, 1 LIMIT %(parcels)s) x) AS parcels
    FROM (
        SELECT e.id, e.code, e.name_zh, e.district_code, e.street_code, e.geom,
               ST_PointOnSurface(e.geom) AS pt, ST_Transform(e.geom, {srid}) AS g
        FROM estates e WHERE {estates_in_area}
        OFFSET 0  -- kept whole: pulled up, each use of pt and g computed them again
    ) e
    CROSS JOIN LATERAL (
        SELECT array_agg(k.kind) AS kinds, array_agg(k.distance_m) AS distances
        FROM (VALUES {nearest}) AS k(kind, distance_m)
        WHERE k.distance_m IS NULL OR k.distance_m > %(walk_m)s
    ) gap
    WHERE gap.kinds IS NOT NULL
    OFFSET 0  -- kept whole: the parcels looked for once per estate, before its gaps unnest
) e
CROSS JOIN LATERAL unnest(e.kinds, e.distances) AS n(kind, distance_m)
""",
        estates_in_area=ESTATES_IN_AREA,
        nearest=nearest_of_kinds(kinds),
        knn=KNN,
        parcel_in_scope=in_scope("idle_parcels", "p"),
        free=sql.Identifier(FREE_FIELD),
        free_terms=sql.SQL(", ").join(map(sql.Literal, FREE_TERMS)),
        parcel=sql.SQL(IDLE_PARCELS.nearest_point("p.geom")),
        estate=sql.SQL(nearest_key("e.pt")),
    )


def parse_kinds(text: str) -> tuple[str, ...]:
    """The service kinds of ``text`` (comma-separated), each once, in the order given."""
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in SERVICE_KIND.codes]
    if unknown or not kinds:
        raise InvalidInput(f"kinds: use service kinds from {', '.join(SERVICE_KIND.codes)}")
    return kinds


async def coverage_gaps(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> list[Row]:
    """(estate, service kind) pairs with no such service within ``walk_m``.

    Each comes with the idle parcels within ``search_m`` that could host the service: the
    nearest ``parcels`` (then by id) of the ``KNN`` free parcels nearest the estate's point.
    Measured again over every free parcel in Python, the sample's third parcel was a few
    metres farther than another in 2 rows of 9,617 (40 of 95,909 at scale 10).
    """
    values = await gap_values(conn, area, params)
    rows = await fetch_rows(conn, coverage_gaps_statement(values["kinds"]), values)
    # Ordered here: an ORDER BY sorted the city's rows with their outlines and parcels
    # (72 MB written to disk at scale 10), where these keys sort in milliseconds: with the
    # collector held off, as their keys are as many new objects as the rows.
    with collector_paused():
        return sorted(rows, key=lambda row: (row.properties["estate_id"], row.properties["kind"]))


async def gap_values(
    conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
) -> dict[str, Any]:
    """The values ``coverage_gaps_statement`` runs with for ``area`` and ``params``."""
    return {**await area_values(conn, area), **params, "kinds": parse_kinds(params["kinds"])}


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
           count(*) FILTER (WHERE status IN ('identified', 'planned')) AS available,
           round(coalesce(sum(floor_area_m2)
               FILTER (WHERE status IN ('identified', 'planned')), 0)::numeric, 1) AS available_m2
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
