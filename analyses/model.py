"""What an analysis is: a named query over an area, with typed parameters, giving features.

Every analysis runs for the whole city or for a district, a street or one estate (``Area``),
returns rows of (id, properties, geometry) that the API serves as JSON or GeoJSON and the CLI
prints, and declares the level a caller needs to run it (its rows carry internal data).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from analyses.fields import row_names
from layers import Visibility, numerals
from layers.city import CITY
from layers.errors import InvalidInput, shown
from spatial import scope

METRIC_SRID = CITY.metric_srid  # metres: the city's CGCS2000 Gauss-Kruger system


@dataclass(frozen=True, slots=True)
class Area:
    """Where an analysis looks: the whole city, or a district, street or estate."""

    district: str | None = None
    street: str | None = None
    estate: int | None = None
    # A responsible planner's streets: what an analysis finds beyond the area (parcels
    # near an estate) is kept to them. None: the caller sees internal data everywhere.
    scope_streets: tuple[str, ...] | None = None

    @property
    def city_wide(self) -> bool:
        return self.district is None and self.street is None and self.estate is None

    @property
    def params(self) -> dict[str, Any]:
        streets = list(self.scope_streets) if self.scope_streets is not None else None
        return {"district": self.district, "street": self.street, "estate": self.estate,
                "scope_streets": streets}  # fmt: skip

    def label(self) -> str:
        parts = [
            f"{k} {v}" for k, v in self.params.items() if v is not None and k != "scope_streets"
        ]
        return ", ".join(parts) or "the whole city"


def statement(text: str, **parts: Any) -> sql.Composed:
    """An analysis's SQL: ``text`` with its ``{name}`` slots filled from ``parts``.

    Parts that are not SQL already (numbers, text, lists) go in as literals; ``{srid}`` is the
    metric CRS. Values that come from callers stay ``%(name)s`` parameters.
    """
    return sql.SQL(text).format(srid=sql.Literal(METRIC_SRID), **parts)


# Estates of the area, as a condition on an ``estates`` row called ``e``.
ESTATES_IN_AREA = sql.SQL(
    "(%(district)s::text IS NULL OR e.district_code = %(district)s) "
    "AND (%(street)s::text IS NULL OR e.street_code = %(street)s) "
    "AND (%(estate)s::bigint IS NULL OR e.id = %(estate)s)"
)

# The area's outline (NULL for the whole city), for layers that only have a geometry. It is
# looked up first (``area_values``) and sent as a value: in ``shape IS NULL OR ST_Intersects``
# a constant lets the planner drop the test and use the spatial index, where a subquery made
# every district's run scan every pipe (linear in the city's size).
AREA_SHAPE = sql.SQL("%(area_shape)s::geometry")
_AREA_OUTLINE = sql.SQL(
    "SELECT coalesce(CASE WHEN %(estate)s::bigint IS NOT NULL "
    "THEN (SELECT geom FROM estates WHERE id = %(estate)s) "
    "WHEN %(street)s::text IS NOT NULL THEN (SELECT geom FROM streets WHERE code = %(street)s) "
    "ELSE (SELECT geom FROM districts WHERE code = %(district)s) END, "
    "'GEOMETRYCOLLECTION EMPTY'::geometry)"  # an unknown unit holds nothing, not the city
)


# Whether each part of an area exists, and whether the parts lie in one another.
_AREA_KNOWN = sql.SQL(
    "SELECT %(district)s::text IS NULL OR EXISTS (SELECT FROM districts WHERE code = %(district)s),"
    " %(street)s::text IS NULL OR EXISTS (SELECT FROM streets WHERE code = %(street)s),"
    " %(estate)s::bigint IS NULL OR EXISTS (SELECT FROM estates WHERE id = %(estate)s),"
    " %(district)s::text IS NULL OR %(street)s::text IS NULL OR EXISTS (SELECT FROM streets"
    "  WHERE code = %(street)s AND district_code = %(district)s),"
    " %(estate)s::bigint IS NULL OR EXISTS (SELECT FROM estates e WHERE {estates_in_area})"
).format(estates_in_area=ESTATES_IN_AREA)


async def check_area_exists(conn: psycopg.AsyncConnection, area: Area) -> None:
    """Refuse an area that names a district, street or estate the city does not have.

    Run as given, such an area holds nothing: a mistyped district code answered "no rows",
    which reads as "nothing to do there".
    """
    if area.city_wide:
        return
    cur = await conn.execute(_AREA_KNOWN, area.params, prepare=False)  # as analyses' (Analysis.run)
    district, street, estate, street_in_district, estate_inside = await cur.fetchone() or ()
    if not district:
        raise InvalidInput(f"district: no district has the code {shown(area.district or '')} "
                           "(the codes are in the districts layer)")  # fmt: skip
    if not street:
        raise InvalidInput(f"street: no street has the code {shown(area.street or '')} "
                           "(the codes are in the streets layer)")  # fmt: skip
    if not estate:
        raise InvalidInput(f"estate: no estate has the id {area.estate}")
    if not street_in_district:
        raise InvalidInput(f"street {area.street} is not in district {area.district}")
    if not estate_inside:
        where = Area(area.district, area.street).label()
        raise InvalidInput(f"estate {area.estate} is not in {where}")


async def area_values(conn: psycopg.AsyncConnection, area: Area) -> dict[str, Any]:
    """The area's parameters and its outline (``area_shape``; None for the whole city)."""
    values = area.params
    shape = None
    if area.district is not None or area.street is not None or area.estate is not None:
        cur = await conn.execute(_AREA_OUTLINE, values)
        shape = (await cur.fetchone() or (None,))[0]
    return {**values, "area_shape": shape}


def column(alias: str, name: str) -> sql.Identifier:
    """``alias.name``, quoted."""
    return sql.Identifier(alias, name)


def in_scope(layer: str, alias: str) -> sql.Composed:
    """A condition: row ``alias`` of ``layer`` is one the caller may see internally.

    Always true for callers without a street scope; otherwise the scope rule of
    ``spatial.scope`` (the one the routes apply), over ``%(scope_streets)s``.
    """
    streets = sql.Placeholder("scope_streets")
    return sql.SQL("({streets}::text[] IS NULL OR {id} IN (SELECT id FROM {layer} WHERE {inside}))"
                   ).format(streets=streets, id=column(alias, "id"), layer=sql.Identifier(layer),
                            inside=scope.condition_over(layer, streets))  # fmt: skip


def in_area(geometry: sql.Composable) -> sql.Composed:
    """A condition: ``geometry`` lies in the area (always true for the city)."""
    return sql.SQL("({shape} IS NULL OR ST_Intersects({geometry}, {shape}))").format(
        shape=AREA_SHAPE, geometry=geometry
    )


def length_inside(area: sql.Composable) -> sql.Composed:
    """Metres of pipe ``p`` inside ``area``, cut at its outline: units add up to the whole.

    Most segments lie wholly in or out, and the (prepared, cached) containment test is far
    cheaper than cutting every segment.
    """
    return statement(
        "CASE WHEN ST_Contains({area}, p.geom) THEN ST_Length(ST_Transform(p.geom, {srid})) "
        "WHEN ST_Intersects({area}, p.geom) "
        "THEN ST_Length(ST_Transform(ST_Intersection(p.geom, {area}), {srid})) ELSE 0 END",
        area=area,
    )


def midpoint_inside(area: sql.Composable) -> sql.Composed:
    """A condition: pipe ``p``'s midpoint lies in ``area``.

    A segment crossing outlines is counted in the one unit holding its midpoint, as its metres
    are cut (``length_inside``): counts add up over units as metres do. A midpoint exactly on
    a shared outline would count in both units; no segment of the sample city has one.
    """
    return sql.SQL("ST_Intersects({area}, ST_LineInterpolatePoint(p.geom, 0.5))").format(area=area)


def values_list(pairs: dict[str, Any]) -> sql.Composed:
    """``('key', value), …`` for a ``VALUES`` list of constants."""
    return sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(k), sql.Literal(v)) for k, v in pairs.items()
    )


_WANTED = {int: "an integer in the digits 0-9", float: "a finite number in the digits 0-9"}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: type  # int, float or str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, raw: Any) -> Any:
        if raw is None:
            return self.default
        value: Any
        try:  # numbers as text in ASCII digits only (layers.numerals)
            if isinstance(raw, str) and self.kind in (int, float):
                value = numerals.integer(raw) if self.kind is int else numerals.decimal(raw)
            else:
                value = self.kind(raw)
        except (TypeError, ValueError, OverflowError):
            value = None
        # NaN passes every bound below (each comparison is false) and crashed PostGIS.
        if value is None or (self.kind is float and not math.isfinite(value)):
            wanted = _WANTED.get(self.kind, self.kind.__name__)
            raise InvalidInput(f"{self.name}: expected {wanted}, got {str(raw)[:40]!r}") from None
        if self.kind is str and len(value) > 200:
            raise InvalidInput(f"{self.name}: at most 200 characters")
        if self.minimum is not None and value < self.minimum:
            raise InvalidInput(f"{self.name}: at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidInput(f"{self.name}: at most {self.maximum:g}")
        return value


@dataclass(frozen=True, slots=True)
class Row:
    id: Any
    properties: dict[str, Any]
    # GeoJSON text as PostGIS wrote it (``ST_AsGeoJSON``), passed through to the answer
    # unparsed: parsing a city's polygons into Python lists cost more than the query, and
    # their millions of small objects made the collector's pauses grow with the city.
    geometry: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of an analysis's rows, with how many there are in all.

    Analyses whose rows could run to hundreds of thousands (aging pipes) page in SQL and
    return one of these; the others return every row and are paged by ``page_of``.
    """

    rows: list[Row]
    total: int
    summary: dict[str, Any] | None = None


Runner = Callable[[psycopg.AsyncConnection, Area, dict[str, Any]], Awaitable[list[Row] | Page]]
# Every answer is paged: ``limit`` rows from ``offset``; the answer says how many there are.
PAGING = (
    Param("limit", int, 1000, "Rows in one answer (the answer says how many there are)",
          1, 10_000),
    Param("offset", int, 0, "Rows to skip: the next page starts at offset + limit", 0, 10**9),
)  # fmt: skip


@contextmanager
def unprepared(conn: psycopg.AsyncConnection) -> Iterator[None]:
    """No statement prepared (or run as prepared) on ``conn`` meanwhile: each is planned anew."""
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


# PostgreSQL prices starting a parallel plan's workers at 1,000 cost units; here they take
# ~20 ms. For one district of a 40-city sample it started them to read ~1,000 idle parcels
# (flow_pool 8 → 25 ms; BENCHMARKS, "As the data grows"). For an area, a plan must be worth
# twenty times that before it goes parallel: the district pipe analyses still do (aging_pipes
# takes a fifth longer without workers), the small ones no longer.
AREA_PARALLEL_SETUP_COST = 20_000


@asynccontextmanager
async def planned_for(conn: psycopg.AsyncConnection, area: Area) -> AsyncIterator[None]:
    """Meanwhile, parallel plans on ``conn`` only when they pay for a part of the city."""
    if area.city_wide:
        yield  # the whole city: PostgreSQL's own prices
        return
    await conn.execute(
        sql.SQL("SET parallel_setup_cost = {}").format(sql.Literal(AREA_PARALLEL_SETUP_COST))
    )
    try:
        yield
    finally:  # autocommit: idle again after a failed statement; a closed one is dropped
        if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            await conn.execute("RESET parallel_setup_cost")


def rows_of(result: list[Row] | Page) -> list[Row]:
    """The rows a runner returned (for callers that need no paging: a single estate)."""
    return result.rows if isinstance(result, Page) else result


def page_of(result: list[Row] | Page, params: dict[str, Any]) -> Page:
    """The page ``params`` ask for (``limit`` rows from ``offset``) of an analysis's result."""
    if isinstance(result, Page):
        return result
    start = params["offset"]
    return Page(result[start : start + params["limit"]], len(result))


@dataclass(frozen=True)
class Theme:
    """The property a map colours an analysis's features by, and how to read it.

    ``attention``: which end needs a planner's attention, drawn darkest — "high" (large
    values; ``true``) or "low" (priority 1, a fund's low ratio; ``false``) — or None for
    kinds without an order. ``labels``: a property of each row that names its kind. Its
    title and the kinds' names and colours are the property's (``analyses.fields``).
    """

    name: str
    attention: str | None = "high"
    labels: str | None = None

    def __post_init__(self) -> None:
        if self.attention not in ("high", "low", None):
            raise ValueError(f"theme {self.name}: attention is 'high', 'low' or None")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "attention": self.attention, "labels": self.labels}


@dataclass(frozen=True)
class Analysis:
    name: str
    title_zh: str
    title_en: str
    description: str
    seed_items: tuple[int, ...]
    runner: Runner
    params: tuple[Param, ...] = ()
    level: Visibility = Visibility.INTERNAL
    pages_itself: bool = False  # the runner applies limit/offset (in SQL) and returns a Page
    geometry: str | None = "Polygon"  # what the rows' geometries are, for the map
    theme: Theme | None = None  # the property a map colours the features by
    layer: str | None = None  # the layer whose features the rows are: their fields' names
    # The order its rows come in (zh, en): what the first page of a longer answer holds.
    order: tuple[str, str] = ("按编号", "in id order")
    params_by_name: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        every = (*self.params, *PAGING)
        object.__setattr__(self, "params_by_name", {p.name: p for p in every})

    async def run(
        self, conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]
    ) -> list[Row] | Page:
        """The analysis over ``area``, each statement planned for this area's values.

        Its statements serve every area (``%(district)s IS NULL OR …``). Prepared, they end
        on a generic plan once a connection has run them for the city and for districts (the
        city's expensive custom plans make the generic one look as good): one district scans
        the whole city, 1.4 → 3.5 ms for ``overruns`` at scale 10 (BENCHMARKS, "As the data
        grows"). For a part of the city, parallel plans only when they pay (``planned_for``).
        """
        await check_area_exists(conn, area)
        with unprepared(conn):
            async with planned_for(conn, area):
                return await self.runner(conn, area, params)

    def parse_params(self, raw: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
        unknown = sorted(set(raw) - set(self.params_by_name))
        if unknown:
            raise InvalidInput(f"{self.name}: unknown parameters {', '.join(unknown)}")
        values = {p.name: p.parse(raw.get(p.name)) for p in self.params_by_name.values()}
        values["today"] = today or dt.date.today()
        return values

    def fields_of(self, rows: list[Row]) -> dict[str, list[Any]]:
        """What the rows' properties are called: {property: [zh, en, terms or None]}."""
        return row_names(self.layer, [r.properties for r in rows])

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": [self.title_zh, self.title_en],
            "description": self.description,
            "seedItems": list(self.seed_items),
            "geometry": self.geometry,
            "theme": self.theme.describe() if self.theme else None,
            "order": list(self.order),
            "parameters": [
                {
                    "name": p.name,
                    "type": p.kind.__name__,
                    "default": p.default,
                    "description": p.description,
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                }
                for p in self.params_by_name.values()
            ],  # fmt: skip
        }


def query(composed: sql.Composed) -> Runner:
    """An analysis that is one statement over the area and its parameters."""
    # Only statements cut by the outline (``in_area``) need it looked up before they run.
    outline = AREA_SHAPE.as_string(None) in composed.as_string(None)

    async def run(conn: psycopg.AsyncConnection, area: Area, params: dict[str, Any]) -> list[Row]:
        values = await area_values(conn, area) if outline else area.params
        return await fetch_rows(conn, composed, {**values, **params})

    return run


def plain(value: Any) -> Any:
    """A database value as JSON has it: numeric sums as numbers, dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@dataclass
class _Pauses:
    """The blocks inside ``collector_paused`` now, and whether the collector was on before."""

    held: int = 0
    was_enabled: bool = False


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a block builds a result's rows.

    Rows decoded from JSON are trees, so the collector can free none of them while they are
    built; but every pass it makes meanwhile walks the growing heap, and its cost grew
    faster than the city (coverage gaps city-wide: 0.24 s of Python at scale 1, 2.6 s at
    scale 10, and 1.4 s with the collector held off). Most blocks build rows from a result
    already received and never wait. One that waits for its own reads (coverage gaps reads
    the city a chunk at a time: the passes cost it 1.35 s of 12 at scale 40) lets other
    requests run with the collector off too, which only delays their cyclic garbage to the
    block's end; reference counting frees the rest. Blocks may overlap: the collector comes
    back when the last one ends, if it was on before the first began.
    """
    if _PAUSES.held == 0:
        _PAUSES.was_enabled = gc.isenabled()
        gc.disable()
    _PAUSES.held += 1
    try:
        yield
    finally:
        _PAUSES.held -= 1
        if _PAUSES.held == 0 and _PAUSES.was_enabled:
            gc.enable()


async def fetch_rows(
    conn: psycopg.AsyncConnection, composed: sql.Composed, params: dict[str, Any]
) -> list[Row]:
    """Rows of a statement whose columns are (id, properties json, GeoJSON text or NULL)."""
    cur = await conn.execute(composed, params)
    with collector_paused():
        return [Row(r[0], r[1], r[2]) for r in await cur.fetchall()]
