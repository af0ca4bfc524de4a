"""Feature queries: SQL that makes GeoJSON in PostGIS, for pages, single items and exports.

One ``FeatureQuery`` describes what a request wants; ``select_sql`` turns it into a single
parameterised statement. PostGIS writes each feature's GeoJSON text, so Python only joins
strings; for the web-map datums (GCJ-02, BD-09) it fetches WKB and shifts coordinates in
numpy, batch by batch.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from layers import STORAGE_SRID, Field, FieldType, Layer, Visibility, get_layer
from layers.city import CITY
from layers.errors import InvalidInput, shown
from spatial import crs as crs_mod
from spatial.cql import Compiled, SqlText, rendered
from spatial.scope import StreetScope, condition
from spatial.search import matching_ids

Bbox = tuple[float, float, float, float]
DatetimeRange = tuple[dt.datetime | dt.date | None, dt.datetime | dt.date | None]


@dataclass(frozen=True)
class FeatureQuery:
    layer: Layer
    level: Visibility
    bbox: Bbox | None = None
    bbox_crs: crs_mod.Crs = crs_mod.DEFAULT
    datetime: DatetimeRange | None = None
    equals: tuple[tuple[str, Any], ...] = ()
    filter: Compiled | None = None
    text: tuple[tuple[str, ...], ...] | None = None  # q=: alternatives of terms (spatial.search)
    sortby: tuple[tuple[str, bool], ...] = ()  # (field, ascending)
    properties: tuple[str, ...] | None = None
    skip_geometry: bool = False
    crs: crs_mod.Crs = crs_mod.DEFAULT
    limit: int | None = None
    offset: int = 0
    ids: tuple[int, ...] | None = None
    scope: StreetScope | None = None  # a responsible planner's streets (see spatial.scope)
    fields: tuple[Field, ...] = field(init=False)

    def __post_init__(self) -> None:
        visible = self.layer.visible_fields(self.level)
        if self.properties is not None:
            by_name = {f.name: f for f in visible}
            unknown = [p for p in self.properties if p not in by_name]
            if unknown:
                raise InvalidInput(f"unknown properties: {', '.join(unknown)}")
            visible = tuple(by_name[p] for p in self.properties)
        object.__setattr__(self, "fields", visible)
        sortable = {f.name for f in self.layer.visible_fields(self.level)}
        for name, _ in self.sortby:  # checked here: an export must fail before it streams
            if name not in sortable:
                raise InvalidInput(f"sortby: unknown property {shown(name)}")

    @property
    def has_values(self) -> bool:
        """Whether the request's own values (a box, dates, filters, words) select rows."""
        return self.bbox is not None or self.written_per_request

    @property
    def written_per_request(self) -> bool:
        """Whether values shape the statement's text (a box's are parameters only)."""
        return (
            self.datetime is not None or bool(self.equals) or self.filter is not None
            or self.text is not None
        )  # fmt: skip

    @property
    def unfiltered(self) -> bool:
        return not self.has_values and self.ids is None and not self.in_scope_only

    @property
    def in_scope_only(self) -> bool:
        """Only rows inside the scope's streets.

        True when the layer, or a field the query reads, is shown only there: filtering or
        sorting by a hidden value would reveal it.
        """
        if self.scope is None:
            return False
        if self.scope.limits_rows(self.layer):
            return True
        hidden = {f.name for f in self.scope.inside_only(self.layer.fields)}
        read = {name for name, _ in self.equals} | {name for name, _ in self.sortby}
        if self.filter is not None:
            read |= self.filter.properties
        return bool(hidden & read)

    @property
    def with_geometry(self) -> bool:
        return self.layer.is_spatial and not self.skip_geometry


def where_sql(q: FeatureQuery) -> Compiled:
    """The WHERE conditions of a query (``TRUE`` when there are none)."""
    parts: list[SqlText] = []
    params: list[Any] = []
    if q.bbox is not None:
        if not q.layer.is_spatial:
            raise InvalidInput("bbox: this collection has no geometry")
        parts.append(_bbox_condition(q.bbox, q.bbox_crs))
        params += list(_bbox_values(q.bbox, q.bbox_crs))
    if q.datetime is not None:
        if q.layer.time_field is None:
            raise InvalidInput("datetime: this collection has no time field")
        start, end = q.datetime
        column = sql.Identifier(q.layer.time_field)
        if start is not None:
            parts.append(sql.SQL("{} >= %s").format(column))
            params.append(start)
        if end is not None:
            parts.append(sql.SQL("{} <= %s").format(column))
            params.append(end)
    for name, value in q.equals:
        parts.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
        params.append(value)
    if q.ids is not None:
        parts.append(sql.SQL("id = ANY(%s)"))
        params.append(list(q.ids))
    if q.filter is not None:
        parts.append(sql.SQL("({})").format(q.filter.sql))
        params += q.filter.params
    if q.text is not None:
        matching = matching_ids(q.layer, q.text)
        parts.append(matching.sql)
        params += matching.params
    if q.in_scope_only:
        assert q.scope is not None
        parts.append(condition(q.layer, q.scope))
    if not parts:
        return Compiled(sql.SQL("TRUE"))
    return Compiled(sql.SQL(" AND ").join(parts), params)


def _bbox_values(bbox: Bbox, bbox_crs: crs_mod.Crs) -> Bbox:
    if bbox_crs.shift:
        return crs_mod.bbox_to_wgs84(bbox_crs, bbox)  # type: ignore[return-value]
    if bbox_crs.flip:  # north/east axis order: (minN, minE, maxN, maxE)
        return (bbox[1], bbox[0], bbox[3], bbox[2])
    return bbox


def _bbox_condition(bbox: Bbox, bbox_crs: crs_mod.Crs) -> SqlText:
    srid = STORAGE_SRID if bbox_crs.shift else bbox_crs.srid
    envelope = sql.SQL("ST_MakeEnvelope(%s, %s, %s, %s, {})").format(sql.Literal(srid))
    if srid != STORAGE_SRID:
        # Transform the query box (densified), never the column: the GiST index stays usable.
        envelope = sql.SQL("ST_Transform(ST_Segmentize({}, {}), {})").format(
            envelope, sql.Literal(densify_step(bbox, srid)), sql.Literal(STORAGE_SRID)
        )
    return sql.SQL("ST_Intersects(geom, {})").format(envelope)


DENSIFY_SEGMENTS = 256  # per side of a box larger than a city's


def densify_step(bbox: Bbox, srid: int) -> float:
    """The segment length a box in ``srid`` is cut into before it is transformed.

    Its edges are curves in longitude/latitude: 50 m (0.001° in CGCS2000 degrees) follows
    them for a city's boxes. A larger box gets a 256th of its longer side — at 3,000 km a
    15 km chord departs from the curve by a few metres — because a box as large as the
    CRS's extent made at 50 m a polygon of 150,000 vertices: 6 s of CPU for one count.
    """
    finest = 0.001 if srid == 4490 else 50.0
    side = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
    return max(finest, float(side) / DENSIFY_SEGMENTS)


def order_sql(q: FeatureQuery) -> SqlText:
    terms: list[sql.Composable] = []
    for name, ascending in q.sortby:
        terms.append(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL("ASC" if ascending else "DESC"))
        )
    terms.append(sql.SQL("id"))
    return sql.SQL(", ").join(terms)


def _geometry_expr(target: crs_mod.Crs) -> SqlText:
    expr: SqlText = sql.SQL("geom")
    if target.in_sql and target.srid != STORAGE_SRID:
        expr = sql.SQL("ST_Transform(geom, {})").format(sql.Literal(target.srid))
    if target.flip:
        expr = sql.SQL("ST_FlipCoordinates({})").format(expr)
    return expr


def _decimals(target: crs_mod.Crs) -> int:
    return 3 if target.srid in (3857, CITY.zone_srid, CITY.metric_srid) else 7


def properties_sql(q: FeatureQuery) -> SqlText:
    """The properties object of a query's rows.

    Fields a scope shows only inside its streets are left out of the rows outside them.
    """
    fields, scope = q.fields, q.scope
    hidden = scope.inside_only(fields) if scope is not None else ()
    if scope is not None and hidden and not scope.limits_rows(q.layer):
        shown = tuple(f for f in fields if f not in hidden)
        return sql.SQL(
            "(jsonb_build_object({}) || CASE WHEN {} THEN jsonb_build_object({}) "
            "ELSE '{{}}'::jsonb END)::json"
        ).format(_pairs(shown), condition(q.layer, scope), _pairs(hidden))
    if not fields:
        return sql.SQL("'{}'::json")
    # row_to_json looks each column's type up once per statement; json_build_object did so
    # for every value of every row (a fifth more of an export's database time), and takes
    # at most 50 fields.
    columns = sql.SQL(", ").join(sql.Identifier(f.name) for f in fields)
    return sql.SQL("row_to_json((SELECT r FROM (SELECT {}) AS r))").format(columns)


def _pairs(fields: tuple[Field, ...]) -> SqlText:
    return sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(f.name), sql.Identifier(f.name)) for f in fields
    )


def select_sql(q: FeatureQuery) -> Compiled:
    """One row per feature: its GeoJSON text, or (id, properties, WKB) for shifted datums.

    A query whose values are all parameters (a plain page, a single item, a box) has a
    statement that depends on its shape only: rendered once per shape and kept, as composing
    it cost more than a single item's query (and a third of a box's page in Python).
    """
    if q.written_per_request:
        return _compose_select(q)
    paged = q.limit is not None or q.offset > 0
    statement = _plain_select(
        q.layer.name, q.level, q.crs, q.properties, q.skip_geometry, q.sortby, q.scope,
        q.bbox_crs if q.bbox is not None else None, q.ids is not None, paged,
    )  # fmt: skip
    # In where_sql's order: the box, then the ids; the page last.
    params: list[Any] = list(_bbox_values(q.bbox, q.bbox_crs)) if q.bbox is not None else []
    if q.ids is not None:
        params.append(list(q.ids))
    if paged:
        params += [q.limit, q.offset]
    return Compiled(statement, params)


@functools.lru_cache(maxsize=1024)
def _plain_select(
    name: str, level: Visibility, crs: crs_mod.Crs, properties: tuple[str, ...] | None,
    skip_geometry: bool, sortby: tuple[tuple[str, bool], ...], scope: StreetScope | None,
    bbox_crs: crs_mod.Crs | None, by_ids: bool, paged: bool,
) -> SqlText:  # fmt: skip
    # Any values do: they are parameters, in the order select_sql passes them.
    shape = FeatureQuery(
        layer=get_layer(name), level=level, crs=crs, properties=properties,
        skip_geometry=skip_geometry, sortby=sortby, scope=scope,
        bbox=None if bbox_crs is None else (0.0, 0.0, 1.0, 1.0),
        bbox_crs=bbox_crs or crs_mod.DEFAULT,
        ids=(1,) if by_ids else None, limit=1 if paged else None,
    )  # fmt: skip
    return rendered(_compose_select(shape).sql)


def _compose_select(q: FeatureQuery) -> Compiled:
    where = where_sql(q)
    table = sql.Identifier(q.layer.name)
    props = properties_sql(q)
    if q.crs.in_sql or not q.with_geometry:
        geometry: SqlText = sql.SQL("'null'")
        if q.with_geometry:
            geometry = sql.SQL("coalesce(ST_AsGeoJSON({}, {}), 'null')").format(
                _geometry_expr(q.crs), sql.Literal(_decimals(q.crs))
            )
        # The feature's text joined around its geometry's own GeoJSON text: json_build_object
        # parsed that back into json to print it again (a third of an export's database time).
        columns = sql.SQL(
            """concat('{{"type":"Feature","id":', id, ',"geometry":', {}, """
            """',"properties":', {}, '}}')"""
        ).format(geometry, props)
    else:
        columns = sql.SQL("id, {}::text, ST_AsBinary(geom)").format(props)
    order = order_sql(q)
    params = list(where.params)
    if q.limit is None and not q.offset:
        statement = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
            columns, table, where.sql, order
        )
        return Compiled(statement, params)
    # Page on ids first: PostgreSQL computes the select list of rows an OFFSET skips, so deep
    # pages would build (and throw away) the GeoJSON of every feature before them.
    page = sql.SQL("SELECT id FROM {} WHERE {} ORDER BY {} LIMIT %s OFFSET %s").format(
        table, where.sql, order
    )
    params += [q.limit, q.offset]
    statement = sql.SQL("SELECT {} FROM {} JOIN ({}) AS page USING (id) ORDER BY {}").format(
        columns, table, page, order
    )
    return Compiled(statement, params)


def shifted_features(crs: crs_mod.Crs, rows: list[tuple[int, str, bytes]]) -> list[str]:
    """GeoJSON features for rows of (id, properties JSON, WKB) in a web-map datum."""
    geoms = crs_mod.from_wgs84(crs, shapely.from_wkb(np.array([r[2] for r in rows], dtype=object)))
    texts = shapely.to_geojson(geoms)
    return [
        f'{{"type":"Feature","id":{r[0]},"geometry":{g},"properties":{r[1]}}}'
        for r, g in zip(rows, texts, strict=True)
    ]


def count_sql(q: FeatureQuery) -> Compiled:
    where = where_sql(q)
    return Compiled(
        sql.SQL("SELECT count(*) FROM {} WHERE {}").format(sql.Identifier(q.layer.name), where.sql),
        where.params,
    )


def estimate_sql(q: FeatureQuery) -> Compiled:
    where = where_sql(q)
    return Compiled(
        sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(
            sql.Identifier(q.layer.name), where.sql
        ),
        where.params,
    )


def field_json_schema(f: Field) -> dict[str, Any]:
    """JSON Schema of a field, for queryables and response models."""
    schema: dict[str, Any] = {"title": f.label_en, "description": f.label_zh}
    kinds: dict[FieldType, dict[str, Any]] = {
        FieldType.TEXT: {"type": "string"},
        FieldType.INTEGER: {"type": "integer"},
        FieldType.BIGINT: {"type": "integer"},
        FieldType.FLOAT: {"type": "number"},
        FieldType.BOOLEAN: {"type": "boolean"},
        FieldType.DATE: {"type": "string", "format": "date"},
        FieldType.DATETIME: {"type": "string", "format": "date-time"},
        FieldType.JSON: {"type": ["object", "array"]},
        FieldType.TEXT_ARRAY: {"type": "array", "items": {"type": "string"}},
    }
    kind = kinds[f.type]
    schema.update(kind)
    if f.vocabulary is not None:
        target = schema["items"] if f.type is FieldType.TEXT_ARRAY else schema
        target["enum"] = list(f.vocabulary.codes)
    if f.minimum is not None:
        schema["minimum"] = f.minimum
    if f.maximum is not None:
        schema["maximum"] = f.maximum
    return schema


async def feature_text(conn: psycopg.AsyncConnection, q: FeatureQuery) -> str | None:
    """The GeoJSON text of the one feature ``q`` selects (by id), or None."""
    statement = select_sql(q)
    cur = await conn.execute(statement.sql, statement.params)
    row = await cur.fetchone()
    return texts_of(q, [row])[0] if row else None


def texts_of(q: FeatureQuery, rows: list[tuple[Any, ...]]) -> list[str]:
    """GeoJSON feature texts from ``select_sql`` rows."""
    if q.crs.in_sql or not q.with_geometry:
        return [r[0] for r in rows]
    return shifted_features(q.crs, rows)


def representation_tag(content: str | bytes) -> str:
    """A strong ETag of exactly what a caller receives (a feature's text, a tile's bytes).

    Made from the content alone, it moves only when what the caller sees moves: an edit of
    a field hidden from them, or the database's transaction counter, cannot be read from it.
    """
    data = content.encode() if isinstance(content, str) else content
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
