"""Vector tiles of some layers over their data, written as one PMTiles archive (v3).

Any static host serves such a file by HTTP range requests (nginx, object storage, a CDN), so a
public map can run with no app behind it. The tiles are the app's own (``spatial.tiles``) at
the caller's visibility, gzip-compressed; only tiles that hold something are written, and a
reader draws nothing where there is no tile.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from psycopg import sql

from layers import STORAGE_SRID, WEB_MERCATOR_HALF, FieldType, Layer, Visibility
from layers.errors import InvalidInput
from spatial.tiles import (
    MAX_ZOOM,
    check_tile,
    cluster_field_description,
    tile_fields,
    tile_sql,
)

# Tiles of a whole city at one zoom past which a build is more likely a typo than a plan.
MAX_TILES = 2_000_000
_TILEJSON_TYPES = {FieldType.BOOLEAN: "Boolean", FieldType.INTEGER: "Number",
                   FieldType.BIGINT: "Number", FieldType.FLOAT: "Number"}  # fmt: skip


@dataclass
class ArchiveReport:
    """What a build wrote, for the person who ran it and for BENCHMARKS.md."""

    tiles: int = 0  # tiles with content, written
    empty: int = 0  # tiles asked whose layers had nothing there
    bytes: int = 0
    seconds: float = 0.0
    per_zoom: dict[int, int] = field(default_factory=dict)

    def to_text(self) -> str:
        zooms = ", ".join(f"z{z} {n:,}" for z, n in sorted(self.per_zoom.items()))
        return (
            f"{self.tiles:,} tiles ({zooms}), {self.bytes / 1e6:.1f} MB, "
            f"in {self.seconds:.1f} s ({self.empty:,} empty tiles left out)"
        )


def _cells(z: int) -> dict[str, sql.Composed]:
    """The tile columns and rows at ``z`` that a box ``e`` (in EPSG:3857) spans, clamped."""
    half = sql.Literal(WEB_MERCATOR_HALF)
    size, last = sql.Literal(2 * WEB_MERCATOR_HALF / 2**z), sql.Literal(2**z - 1)

    def cell(metres: str) -> sql.Composed:
        return sql.SQL("LEAST(GREATEST(floor(({}) / {})::int, 0), {})").format(
            sql.SQL(metres).format(half), size, last
        )

    return {
        "xmin": cell("ST_XMin(e) + {}"),
        "xmax": cell("ST_XMax(e) + {}"),
        "ymin": cell("{} - ST_YMax(e)"),
        "ymax": cell("{} - ST_YMin(e)"),
    }


def _span_sql(layer: Layer, z: int) -> sql.Composed:
    """How many tiles at ``z`` the layer's whole extent spans (an upper bound, asked first)."""
    return sql.SQL(
        "SELECT ({xmax} - {xmin} + 1)::bigint * ({ymax} - {ymin} + 1) FROM "
        "(SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, {srid}), 3857) AS e "
        "FROM {table}) b WHERE e IS NOT NULL"
    ).format(table=sql.Identifier(layer.name), srid=sql.Literal(STORAGE_SRID), **_cells(z))


def _occupied_sql(layer: Layer, z: int) -> sql.Composed:
    """(x, y) of every tile at ``z`` that a feature's bounding box touches."""
    return sql.SQL(
        "SELECT DISTINCT x, y FROM (SELECT ST_Transform(ST_Envelope(geom), 3857) AS e "
        "FROM {table} WHERE geom IS NOT NULL) b, "
        "generate_series({xmin}, {xmax}) AS x, generate_series({ymin}, {ymax}) AS y"
    ).format(table=sql.Identifier(layer.name), **_cells(z))


def tiles_to_write(
    conn: psycopg.Connection, zooms: Mapping[Layer, range]
) -> dict[tuple[int, int, int], list[Layer]]:
    """Each tile (z, x, y) a layer's data reaches within its zooms, with the layers it holds.

    Tiles are found at each layer's deepest zoom from its features' bounding boxes, and their
    ancestors above: one query a layer, not one a tile of the whole matrix.
    """
    wanted: dict[tuple[int, int, int], list[Layer]] = {}
    for layer, levels in zooms.items():
        if not levels:
            continue
        deepest = levels[-1]
        check_tile(deepest, 0, 0)
        span = conn.execute(_span_sql(layer, deepest)).fetchone()
        if span and span[0] > MAX_TILES:  # before listing them: z24 over a city is 10^10
            raise InvalidInput(
                f"{layer.name} at z{deepest} spans {span[0]:,} tiles (at most {MAX_TILES:,}): "
                "choose a lower deepest zoom"
            )
        occupied = conn.execute(_occupied_sql(layer, deepest)).fetchall()
        for z in levels:
            shift = deepest - z
            for x, y in {(x >> shift, y >> shift) for x, y in occupied}:
                wanted.setdefault((z, x, y), []).append(layer)
    return wanted


def _vector_layers(zooms: Mapping[Layer, range], level: Visibility) -> list[dict[str, object]]:
    """TileJSON's ``vector_layers``: each layer's id, fields and zooms (the PMTiles metadata)."""
    described = []
    for layer, levels in zooms.items():
        types = {f.name: f.type for f in layer.fields}
        names = ["fid", *tile_fields(layer, level), *cluster_field_description(layer)]
        fields = {n: _TILEJSON_TYPES.get(types.get(n, FieldType.BIGINT), "String") for n in names}
        described.append(
            {"id": layer.name, "fields": fields, "minzoom": levels[0], "maxzoom": levels[-1]}
        )
    return described


def write_archive(
    url: str,
    path: Path,
    zooms: Mapping[Layer, range],
    level: Visibility,
    bounds: tuple[float, float, float, float],
    name: str,
    workers: int = os.cpu_count() or 1,
) -> ArchiveReport:
    """Write ``zooms``' layers, as ``level`` may see them, into the PMTiles file ``path``.

    ``zooms`` gives each layer the zoom levels it has tiles at (a reader over-zooms past the
    last); ``bounds`` (lon/lat) is the area a reader is told to show. ``workers`` connections
    render tiles at once, all from one snapshot of the database.
    """
    for levels in zooms.values():
        if levels and not 0 <= levels[0] <= levels[-1] <= MAX_ZOOM:
            raise InvalidInput(f"zooms must lie within 0–{MAX_ZOOM}")
    started = time.perf_counter()
    report = ArchiveReport()
    partial = path.with_name(path.name + ".partial")  # a reader never sees half an archive
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        wanted = tiles_to_write(conn, zooms)
        # Written in tile-id order (the archive's Hilbert order): a "clustered" archive lets
        # a reader fetch neighbouring tiles in few ranges.
        order = sorted(wanted, key=lambda zxy: zxy_to_tileid(*zxy))
        try:
            with partial.open("wb") as out:
                writer = Writer(out)  # type: ignore[no-untyped-call]  # pmtiles: no hints
                # Its scratch file of tiles is closed by finalize() only: closed here on failure.
                with contextlib.closing(writer.tile_f):
                    _write_tiles(writer, _render_all(url, snapshot[0], wanted, order, level,
                                                     workers), report)  # fmt: skip
                    if not report.tiles:
                        raise InvalidInput("nothing to write: the layers have no features")
                    header, metadata = _header(zooms, bounds), _metadata(zooms, level, name)
                    writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    report.bytes = path.stat().st_size
    report.seconds = time.perf_counter() - started
    return report


Tile = tuple[int, int, int]


def _write_tiles(
    writer: Writer, rendered: Iterator[tuple[Tile, bytes]], report: ArchiveReport
) -> None:
    for (z, x, y), data in rendered:
        if not data:
            report.empty += 1
            continue
        tile = gzip.compress(data, mtime=0)
        writer.write_tile(zxy_to_tileid(z, x, y), tile)  # type: ignore[no-untyped-call]
        report.tiles += 1
        report.per_zoom[z] = report.per_zoom.get(z, 0) + 1


def _render_all(
    url: str, snapshot: str, wanted: Mapping[Tile, list[Layer]], order: list[Tile],
    level: Visibility, workers: int,
) -> Iterator[tuple[Tile, bytes]]:  # fmt: skip
    """Each tile of ``order`` rendered, in that order, by ``workers`` connections at once.

    Each connection reads the exporting transaction's ``snapshot``: an edit made during the
    build is in every tile or in none.
    """
    local = threading.local()
    opened: list[psycopg.Connection] = []

    def render(zxy: Tile) -> tuple[Tile, bytes]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url)
            opened.append(conn)
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        return zxy, _render(conn, wanted[zxy], level, *zxy)

    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="tile-archive")
    try:
        yield from pool.map(render, order)
    finally:
        pool.shutdown(cancel_futures=True)
        for conn in opened:
            conn.close()


def _render(
    conn: psycopg.Connection, layers: Iterable[Layer], level: Visibility, z: int, x: int, y: int
) -> bytes:
    statement = tile_sql(list(layers), level, z)
    row = conn.execute(statement, {"z": z, "x": x, "y": y}, binary=True).fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _header(
    zooms: Mapping[Layer, range], bounds: tuple[float, float, float, float]
) -> dict[str, object]:
    west, south, east, north = bounds
    first = min(levels[0] for levels in zooms.values() if levels)
    return {
        "tile_type": TileType.MVT,
        "tile_compression": Compression.GZIP,
        "min_lon_e7": round(west * 1e7),
        "min_lat_e7": round(south * 1e7),
        "max_lon_e7": round(east * 1e7),
        "max_lat_e7": round(north * 1e7),
        "center_zoom": first,
    }


def _metadata(zooms: Mapping[Layer, range], level: Visibility, name: str) -> dict[str, object]:
    return {
        "name": name,
        "format": "pbf",
        "type": "overlay",
        "generator": "OneMap",
        "vector_layers": _vector_layers(zooms, level),
    }
