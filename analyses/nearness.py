"""How far the nearest service of each kind is from an estate's red line, in exact metres.

Coverage gaps and the estate dossier ask it for every estate and kind. In SQL it was a
nearest-first scan per estate and kind into a quad-tree of planar degrees, the first eight
then measured in metres: a scan cost 6.4 µs in the sample city and 7.8 µs in one ten times
as big (the tree one level deeper), so the city-wide analysis grew ×11 for ten times the
data, and the nearest in metres was not always among the eight nearest in degrees.

Here PostGIS moves the facilities around the area to metres once, and shapely's STRtree (C,
no Python per pair) measures each red line against them: first "any within ``walk_m``" (the
most pairs, a bounded search), then the nearest only for the rest. For a district the
facilities are read out to a ``reach`` from its estates; a nearest found within the reach
is exact (anything not read lies farther), the others are asked again with four times the
reach, then of the whole city. The whole city's tree is a level deeper for every fourfold
city, so each chunk of estates is first measured against its own part of it, the same way.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
import psycopg
import shapely
from psycopg import sql

from analyses.model import METRIC_SRID, statement
from layers.model import STORAGE_SRID

FIRST_REACH_M = 2_000.0  # facilities first read this far around a part of the city
REACH_GROWTH = 4.0
LAST_REACH_M = 128_000.0  # past this, the whole city
# The box goes to the stored degrees with a vertex every this many metres: between two, its
# edge bends by far less than a millimetre, and a reach counts one metre less.
BOX_SEGMENT_M = 1_000.0
EDGE_MARGIN_M = 1.0

Bounds = tuple[float, float, float, float]

# The area's box in metres (values of ``metric_box``), as a geometry in the stored degrees.
BOX = sql.SQL(
    "ST_Transform(ST_Segmentize(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, {srid}), "
    "{segment}), {storage})"
).format(srid=sql.Literal(METRIC_SRID), segment=sql.Literal(BOX_SEGMENT_M),
         storage=sql.Literal(STORAGE_SRID))  # fmt: skip
_FACILITIES = "SELECT f.kind, ST_AsBinary(ST_Transform(f.geom, {srid})) FROM service_facilities f "
FACILITIES_IN_CITY = statement(_FACILITIES + "WHERE f.kind = ANY(%(kinds)s)")
FACILITIES_IN_BOX = statement(
    _FACILITIES + "WHERE f.kind = ANY(%(kinds)s) AND f.geom && {box}", box=BOX
)


@asynccontextmanager
async def serial(conn: psycopg.AsyncConnection) -> AsyncIterator[None]:
    """A transaction on ``conn`` whose statements start no parallel workers.

    A worker is a new backend, which loads PROJ before its first ``ST_Transform``: 45 ms,
    where moving the city's 17,661 facilities of four kinds to metres takes 4. PostgreSQL
    planned a worker for them at scale 10, and reading them went from 4 to 99 ms.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def metric_box(bounds: Bounds, reach: float) -> dict[str, float]:
    """``bounds`` (metres) grown by ``reach`` on every side, as the box statements' values."""
    x0, y0, x1, y1 = bounds
    return {"x0": x0 - reach, "y0": y0 - reach, "x1": x1 + reach, "y1": y1 + reach}


@dataclass
class FacilitiesAround:
    """The service facilities of ``kinds`` around ``bounds`` (metres; None: the whole city).

    Read once per reach, kept for the estates measured next (an area's are read in chunks).
    """

    conn: psycopg.AsyncConnection
    kinds: tuple[str, ...]
    bounds: Bounds | None
    _trees: dict[float, dict[str, shapely.STRtree]] = field(default_factory=dict)

    def reaches(self) -> list[float]:
        """The reaches asked in turn; the last (infinite) is the whole city."""
        if self.bounds is None:
            return [math.inf]
        steps = int(math.log(LAST_REACH_M / FIRST_REACH_M, REACH_GROWTH)) + 1
        return [FIRST_REACH_M * REACH_GROWTH**i for i in range(steps)] + [math.inf]

    async def trees(self, reach: float) -> dict[str, shapely.STRtree]:
        """A tree of each kind's facilities (metric points) read out to ``reach``."""
        if reach not in self._trees:
            values: dict[str, object] = {"kinds": list(self.kinds)}
            query: sql.Composed = FACILITIES_IN_CITY
            if math.isfinite(reach):
                assert self.bounds is not None
                values.update(metric_box(self.bounds, reach))
                query = FACILITIES_IN_BOX
            cur = await self.conn.execute(query, values)
            points: dict[str, list[bytes]] = {kind: [] for kind in self.kinds}
            for kind, wkb in await cur.fetchall():
                points[kind].append(wkb)
            self._trees[reach] = {
                kind: shapely.STRtree(shapely.from_wkb(wkbs)) for kind, wkbs in points.items()
            }
        return self._trees[reach]

    async def nearest_beyond(self, outlines: np.ndarray, walk_m: float) -> dict[str, np.ndarray]:
        """Per kind, metres from each outline to its nearest facility beyond ``walk_m``.

        At most ``walk_m`` where one is within it, NaN where the city has none; with
        ``walk_m`` 0 every distance is the nearest's.
        """
        metres: dict[str, np.ndarray] = {}
        for kind in self.kinds:
            found = np.full(len(outlines), np.nan)
            for reach in self.reaches():
                if not np.isnan(found).any():
                    break
                tree = (await self.trees(reach))[kind]
                if math.isinf(reach):
                    # The city's tree is a level deeper for every fourfold city, and each
                    # search descends it: the part around these outlines first.
                    part = max(FIRST_REACH_M, walk_m)
                    settle(found, around(tree, outlines, part), outlines, walk_m, part)
                settle(found, tree, outlines, walk_m, reach)
            metres[kind] = found
        return metres


def settle(
    found: np.ndarray, tree: shapely.STRtree, outlines: np.ndarray, walk_m: float, reach: float
) -> None:
    """Fill in the open (NaN) entries of ``found`` that ``tree`` answers for certain.

    ``tree`` holds every geometry within ``reach`` of the outlines: one within ``walk_m``
    (when that is within ``reach``) settles an outline at ``walk_m``, a nearest within
    ``reach`` at its metres.
    """
    open_ = np.flatnonzero(np.isnan(found))
    if not len(open_):
        return
    if 0 < walk_m <= reach:
        hit = within(tree, outlines[open_], walk_m)
        found[open_[hit]] = walk_m
        open_ = open_[~hit]
    near = nearest(tree, outlines[open_])
    exact = ~np.isnan(near) if math.isinf(reach) else near <= reach - EDGE_MARGIN_M
    found[open_[exact]] = near[exact]


def around(tree: shapely.STRtree, outlines: np.ndarray, reach: float) -> shapely.STRtree:
    """A tree of the geometries of ``tree`` within ``reach`` of the outlines' box."""
    x0, y0, x1, y1 = shapely.total_bounds(outlines)
    inside = tree.query(shapely.box(x0 - reach, y0 - reach, x1 + reach, y1 + reach))
    return shapely.STRtree(tree.geometries[inside])


def within(tree: shapely.STRtree, outlines: np.ndarray, distance: float) -> np.ndarray:
    """Whether each outline has a geometry of ``tree`` within ``distance`` (booleans)."""
    hit = np.zeros(len(outlines), dtype=bool)
    if len(outlines) and len(tree.geometries):
        hit[tree.query(outlines, predicate="dwithin", distance=distance)[0]] = True
    return hit


def nearest(tree: shapely.STRtree, outlines: np.ndarray) -> np.ndarray:
    """Metres from each outline to the nearest geometry of ``tree`` (NaN: it has none)."""
    metres = np.full(len(outlines), np.nan)
    if len(outlines) and len(tree.geometries):
        (which, _), distances = tree.query_nearest(
            outlines, return_distance=True, all_matches=False
        )
        metres[which] = distances
    return metres


def nearest_within(
    tree: shapely.STRtree, ids: np.ndarray, outlines: np.ndarray, distance: float, count: int
) -> list[list[tuple[int, int]]]:
    """For each outline, the ``count`` geometries of ``tree`` within ``distance`` nearest it.

    As (index in the tree, metres rounded), ordered by those metres and then ``ids``.
    """
    offers: list[list[tuple[int, int]]] = [[] for _ in range(len(outlines))]
    if not (len(outlines) and len(tree.geometries) and count):
        return offers
    outline, which = tree.query(outlines, predicate="dwithin", distance=distance)
    metres = rounded(shapely.distance(outlines[outline], tree.geometries[which]))
    order = np.lexsort((ids[which], metres, outline))
    outline, which, metres = outline[order], which[order], metres[order]
    # Each outline's pairs are together now: keep the first ``count`` of each.
    starts = np.flatnonzero(np.r_[True, outline[1:] != outline[:-1]])
    rank = np.arange(len(outline)) - np.repeat(starts, np.diff(np.r_[starts, len(outline)]))
    kept = rank < count
    for o, w, m in zip(outline[kept].tolist(), which[kept].tolist(), metres[kept].tolist(),
                       strict=True):  # fmt: skip
        offers[o].append((w, int(m)))
    return offers


def rounded(metres: np.ndarray | Sequence[float]) -> np.ndarray:
    """Whole metres, halves away from zero, as PostgreSQL's ``round(numeric)`` gives them."""
    return np.floor(np.asarray(metres, dtype=float) + 0.5)


def whole_metres(metres: np.ndarray) -> list[int | None]:
    """``metres`` as an answer gives them: ``rounded`` integers, None for NaN (none)."""
    return [None if m != m else int(m) for m in rounded(metres).tolist()]  # m != m: NaN
