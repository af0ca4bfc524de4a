"""Mapbox vector tiles from PostGIS (``ST_AsMVT``) in the WebMercatorQuad tile matrix set.

Each layer's tile keeps the fields the caller may see that MVT can carry (no arrays or JSON),
plus ``fid``, the feature id as a property for clients that cannot read MVT feature ids,
cuts lines and polygons to the tile and simplifies them to a tile unit at the tile's zoom
(unless the layer's ``tile_simplify`` is off), and selects rows with the tile envelope
transformed to the table's SRID, so the GiST index does the work.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from layers import (
    DISTRICT_FIELD,
    STORAGE_SRID,
    TILE_EXTENT,
    WEB_MERCATOR_COLUMN,
    WEB_MERCATOR_HALF,
    FieldType,
    GeometryType,
    Layer,
    Visibility,
    band_column,
    get_layer,
    tile_unit_m,
)
from layers.errors import NotFound
from spatial.cql import SqlText, rendered
from spatial.scope import StreetScope, condition

BUFFER = 64
CLUSTER_CELL = 512  # tile units a cluster gathers, each way: 32 pixels of a 256-pixel tile
MAX_ZOOM = 24
_MVT_TYPES = (FieldType.TEXT, FieldType.INTEGER, FieldType.BIGINT, FieldType.FLOAT,
              FieldType.BOOLEAN, FieldType.DATE, FieldType.DATETIME)  # fmt: skip


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"tile {z}/{y}/{x} is outside WebMercatorQuad")


def tile_fields(layer: Layer, level: Visibility) -> list[str]:
    return [f.name for f in layer.visible_fields(level) if f.type in _MVT_TYPES]


def _tile_box(margin: int = 0, srid: int = 3857) -> SqlText:
    """The asked tile's envelope, ``margin`` tile units wider each way, in ``srid``."""
    box: SqlText = sql.SQL("ST_TileEnvelope(%(z)s, %(x)s, %(y)s)")
    if margin:
        box = sql.SQL("ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {})").format(
            sql.Literal(margin / TILE_EXTENT)
        )
    return box if srid == 3857 else sql.SQL("ST_Transform({}, {})").format(box, sql.Literal(srid))


def _layer_sql(layer: Layer, level: Visibility, z: int, scope: StreetScope | None) -> SqlText:
    names = tile_fields(layer, level)
    columns: list[sql.Composable] = [sql.Identifier(name) for name in names]
    where: SqlText = sql.SQL("")
    if scope is not None and scope.limits_rows(layer):
        where = sql.SQL(" AND {}").format(condition(layer, scope))
    elif scope is not None:  # fields shown only inside the streets: empty (absent) elsewhere
        hidden = {f.name for f in scope.inside_only(layer.fields)}
        columns = [
            sql.SQL("CASE WHEN {} THEN {} END AS {}").format(condition(layer, scope), c, c)
            if name in hidden else c
            for name, c in zip(names, columns, strict=True)
        ]  # fmt: skip
    for name, code, first in layer.tile_from_zoom:
        if z < first:
            where = sql.SQL("{} AND {} IS DISTINCT FROM {}").format(
                where, sql.Identifier(name), sql.Literal(code)
            )
    if layer.clusters_at(z):
        return _cluster_sql(layer, names, columns, where)
    margin_3857, margin = _tile_box(BUFFER), _tile_box(BUFFER, STORAGE_SRID)
    simplified = layer.geometry_type is not GeometryType.POINT and layer.tile_simplify
    # Where the layer keeps one, a Web Mercator copy: its zoom band's simplified outline, or
    # the stored copy of the geometry. Either way no transform per feature.
    band = layer.tile_band(z) if simplified else None
    column = band_column(band) if band is not None else WEB_MERCATOR_COLUMN
    in_3857 = band is not None or layer.stores_web_mercator
    geom: SqlText = sql.SQL(column if in_3857 else "geom")
    if simplified:
        # Cut to the tile and its margin first (a subquery: one box per tile, not per row):
        # transforming and simplifying a whole district's outline for a tile that shows a
        # corner of it cost 1-4 ms at z14. Simplified piece by piece, neighbouring tiles may
        # keep different vertices, within one tile unit of the line: a sixteenth of a pixel.
        geom = sql.SQL("ST_ClipByBox2D({}, (SELECT {}))").format(
            geom, margin_3857 if in_3857 else margin
        )
    if not in_3857:
        geom = sql.SQL("ST_Transform({}, 3857)").format(geom)
    if simplified:
        geom = sql.SQL("ST_Simplify({}, {}, true)").format(geom, sql.Literal(tile_unit_m(z)))
    inner = sql.SQL(
        "SELECT id, id AS fid, {cols}ST_AsMVTGeom({geom}, {env}, {extent}, {buffer}, true) AS geom "
        "FROM {table} WHERE geom && {margin}{where} OFFSET 0"
    ).format(
        cols=sql.SQL("").join(sql.SQL("{}, ").format(c) for c in columns),
        geom=geom,
        env=_tile_box(),
        extent=sql.Literal(TILE_EXTENT),
        buffer=sql.Literal(BUFFER),
        table=sql.Identifier(layer.name),
        margin=margin,
        where=where,
    )
    # OFFSET 0 keeps the subquery from being flattened into the outer one, where the planner
    # would compute ST_AsMVTGeom twice per feature: once for the IS NOT NULL filter and again
    # for ST_AsMVT (a z14 buildings tile 2.2 -> 1.2 ms, the same bytes).
    return sql.SQL(
        "(SELECT ST_AsMVT(t, {name}, {extent}, 'geom', 'id') FROM ({inner}) t "
        "WHERE t.geom IS NOT NULL)"
    ).format(name=sql.Literal(layer.name), extent=sql.Literal(TILE_EXTENT), inner=inner)


CLUSTER_COUNT = "cluster_count"


def cluster_field_description(layer: Layer) -> dict[str, str]:
    """TileJSON's word for the count a clustered layer's low-zoom tiles carry (or nothing)."""
    if layer.cluster_below is None:
        return {}
    return {CLUSTER_COUNT: f"聚合点数 / Points in the cluster (below z{layer.cluster_below})"}


def _cluster_sql(
    layer: Layer, names: list[str], columns: list[sql.Composable], where: SqlText
) -> SqlText:
    """Points as clusters: one per cell of CLUSTER_CELL tile units and per district.

    A cluster carries how many points it holds and their most common theme value (ties: the
    first in code order); the pages draw one of several points grey. Cells line up with the
    tiles (eight across each), and a tile
    reads a whole ring of cells beyond its edge: a cell across two tiles is the same cluster,
    at the same place, in both, so its circle is drawn whole.
    """
    visible = dict(zip(names, columns, strict=True))
    district = [DISTRICT_FIELD] if DISTRICT_FIELD in visible else []
    themes = [n for n in layer.themes if n in visible]
    stored = sql.SQL(
        WEB_MERCATOR_COLUMN if layer.stores_web_mercator else "ST_Transform(geom, 3857)"
    )
    inner = sql.SQL(
        "SELECT id{cols}, ST_AsMVTGeom({stored}, {env}, {extent}, {cell}, false) AS geom "
        "FROM {table} WHERE geom && {ring}{where} OFFSET 0"
    ).format(
        stored=stored,
        env=_tile_box(),
        cols=sql.SQL("").join(sql.SQL(", {}").format(visible[n]) for n in district + themes),
        extent=sql.Literal(TILE_EXTENT),
        cell=sql.Literal(CLUSTER_CELL),
        table=sql.Identifier(layer.name),
        ring=_tile_box(CLUSTER_CELL, STORAGE_SRID),
        where=where,
    )
    common = sql.SQL("").join(
        sql.SQL(", mode() WITHIN GROUP (ORDER BY {n}) AS {n}").format(n=sql.Identifier(n))
        for n in themes
    )
    by_district = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(n)) for n in district)
    clusters = sql.SQL(
        "SELECT min(id) AS id, count(*)::int AS {count}{by_district}{common}, "
        "ST_SnapToGrid(ST_Centroid(ST_Collect(geom)), 1) AS geom "
        "FROM ({inner}) p WHERE geom IS NOT NULL "
        "GROUP BY floor(ST_X(geom) / {cell}), floor(ST_Y(geom) / {cell}){by_district}"
    ).format(
        count=sql.Identifier(CLUSTER_COUNT),
        by_district=by_district,
        common=common,
        inner=inner,
        cell=sql.Literal(CLUSTER_CELL),
    )
    return sql.SQL(
        "(SELECT ST_AsMVT(t, {name}, {extent}, 'geom', 'id') FROM ({clusters}) t)"
    ).format(name=sql.Literal(layer.name), extent=sql.Literal(TILE_EXTENT), clusters=clusters)


def tile_sql(
    layers: Sequence[Layer], level: Visibility, z: int, scope: StreetScope | None = None
) -> SqlText:
    """One statement whose single bytea is the tile: the layers' MVTs concatenated.

    Rendered once per (layers, level, zoom) and kept: composing it costed more than a small
    tile's query.
    """
    return _tile_sql(tuple(la.name for la in layers), level, z, scope)


@functools.lru_cache(maxsize=1024)
def _tile_sql(
    names: tuple[str, ...], level: Visibility, z: int, scope: StreetScope | None
) -> SqlText:
    layers = [get_layer(n) for n in names]
    shown = [layer for layer in layers if z >= layer.min_zoom]
    if not shown:
        return sql.SQL("SELECT ''::bytea")
    parts = [
        sql.SQL("coalesce({}, '')").format(_layer_sql(layer, level, z, scope)) for layer in shown
    ]
    statement = sql.SQL("SELECT {}").format(sql.SQL(" || ").join(parts))
    return rendered(statement)


def served_tile_sql(
    layers: Sequence[Layer], level: Visibility, z: int, scope: StreetScope | None = None
) -> SqlText:
    """The statement a tile route runs (``render_with_versions``): the tile and its versions.

    Its parameters: ``z``, ``x``, ``y`` and ``names`` (the layers' names).
    """
    return _tile_with_versions_sql(tuple(la.name for la in layers), level, z, scope)


@functools.lru_cache(maxsize=1024)
def _tile_with_versions_sql(
    names: tuple[str, ...], level: Visibility, z: int, scope: StreetScope | None
) -> SqlText:
    statement = sql.SQL(
        "SELECT (SELECT coalesce(json_object_agg(layer, version), '{{}}') FROM layer_versions "
        "WHERE layer = ANY(%(names)s)), t.tile FROM ({}) AS t(tile)"
    ).format(_tile_sql(names, level, z, scope))
    return rendered(statement)


async def render_with_versions(
    conn: psycopg.AsyncConnection, layers: Sequence[Layer], level: Visibility,
    z: int, x: int, y: int, scope: StreetScope | None = None,
) -> tuple[bytes, dict[str, int]]:  # fmt: skip
    """The tile and its layers' versions from one statement: one round trip, one snapshot.

    Both read in binary: a tile as text is hex, twice its size, decoded in Python (a 230 kB
    city-view tile −0.26 ms, a 13 kB z14 one −0.1 ms).
    """
    check_tile(z, x, y)
    names = tuple(la.name for la in layers)
    statement = _tile_with_versions_sql(names, level, z, scope)
    cur = await conn.execute(statement, {"z": z, "x": x, "y": y, "names": list(names)}, binary=True)
    row = await cur.fetchone()
    assert row is not None
    versions = {name: int(v) for name, v in row[0].items()}
    return (bytes(row[1]) if row[1] else b""), versions


def tile_matrix_set() -> dict[str, object]:
    """The WebMercatorQuad definition (OGC 17-083r4), generated rather than copied."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * WEB_MERCATOR_HALF / (256 * 2**z)
        matrices.append({
            "id": str(z),
            "scaleDenominator": cell / 0.00028,
            "cellSize": cell,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-WEB_MERCATOR_HALF, WEB_MERCATOR_HALF],
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": 2**z,
            "matrixHeight": 2**z,
        })  # fmt: skip
    return {
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }


def tile_matrix_set_limits(
    bounds: Sequence[float], min_zoom: int, max_zoom: int
) -> list[dict[str, Any]]:
    """OGC ``tileMatrixSetLimits``: per zoom, the rows and columns of tiles that hold data.

    Clients (OpenLayers, QGIS) then ask for no tile outside them: no 204 for empty sea.
    """
    west, south, east, north = bounds
    limits = []
    for z in range(min_zoom, max_zoom + 1):
        min_col, min_row = lonlat_to_tile(west, north, z)
        max_col, max_row = lonlat_to_tile(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": min_row, "maxTileRow": max_row,
                       "minTileCol": min_col, "maxTileCol": max_col})  # fmt: skip
    return limits


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (x, y) of the tile containing a point, for tests and seeding."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)
