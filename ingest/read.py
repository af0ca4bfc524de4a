"""Reading other departments' files: vector formats through pyogrio, tables through pandas.

Returns the rows as a (Geo)DataFrame with the file's own CRS when it has one. Shapefiles
without a ``.cpg`` are tried as UTF-8 first and as GB18030 (the superset of GBK that Chinese
desktop GIS writes) when that fails; a given ``encoding`` always wins.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj.exceptions import CRSError

from ingest import sniff
from layers.errors import InvalidInput
from layers.files import input_file
from spatial.gdal import pyogrio

WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "几何", "空间信息")
X_COLUMNS = ("lon", "lng", "longitude", "x", "经度", "横坐标", "东坐标")
Y_COLUMNS = ("lat", "latitude", "y", "纬度", "纵坐标", "北坐标")


@dataclass(frozen=True)
class Limits:
    """How much one file may hold: checked while it is read, before it fills memory.

    These defaults are the CLI's (an operator on the server); the HTTP import passes the
    tighter ``ONEMAP_MAX_IMPORT_FEATURES`` and ``ONEMAP_MAX_UNPACKED_BYTES``.
    """

    max_features: int = 5_000_000
    max_unpacked_bytes: int = 4 << 30


@dataclass
class Source:
    frame: pd.DataFrame  # a GeoDataFrame when the file has geometry
    crs: str | None
    format: str
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    wkb: np.ndarray | None = None  # the file's own WKB, reused when nothing changes it


def _utf8_or_gb18030(
    read: Callable[[str], pd.DataFrame], notes: list[str], what: str
) -> tuple[pd.DataFrame, str]:
    """Read as UTF-8, or as GB18030 (the superset of GBK) when that fails, saying so."""
    try:
        return read("utf-8"), "utf-8"
    except UnicodeDecodeError:
        frame = read("gb18030")
        notes.append(f"{what}: text detected as GB18030 (GBK)")
        return frame, "gb18030"


def _read_arrow(
    path: Path, layer: str | None, encoding: str | None, max_features: int
) -> tuple[pd.DataFrame, Any]:
    """Read through Arrow (GDAL's fastest path), keeping the geometry's WKB as well.

    A geometry GEOS cannot build (a ring of two positions, or not closed) becomes missing:
    validation refuses its row, as it does a row without one.
    """
    meta, table = pyogrio.read_arrow(
        path, layer=layer, encoding=encoding, max_features=max_features
    )
    for column in table.columns:  # GDAL hands on bytes that are not UTF-8 as they are
        kind = getattr(column.type, "storage_type", column.type)  # JSON columns: an extension
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                raise UnicodeDecodeError(encoding or "utf-8", b"", 0, 1, "invalid text") from None
    name = meta.get("geometry_name") or "wkb_geometry"
    if name not in table.column_names:
        return table.to_pandas(), None
    wkb = np.array(table.column(name).to_pylist(), dtype=object)
    frame = gpd.GeoDataFrame(table.drop_columns([name]).to_pandas(),
                             geometry=shapely.from_wkb(wkb, on_invalid="ignore"),
                             crs=meta.get("crs"))  # fmt: skip
    return frame, wkb


def _too_many(path: Path, limits: Limits) -> InvalidInput:
    return InvalidInput(
        f"{path.name} holds more than {limits.max_features:,} features; split it, or raise "
        "the limit (ONEMAP_MAX_IMPORT_FEATURES)"
    )


def _read_vector(
    path: Path, fmt: sniff.Format, layer: str | None, encoding: str | None, at_most: int,
    notes: list[str],
) -> tuple[pd.DataFrame, Any, str | None]:  # fmt: skip
    """(frame, the geometries' WKB or None, the encoding used)."""
    if fmt is sniff.SHAPEFILE and encoding is None and not path.with_suffix(".cpg").exists():
        frame, encoding = _utf8_or_gb18030(
            lambda enc: pyogrio.read_dataframe(path, encoding=enc, max_features=at_most),
            notes, "no .cpg file",
        )  # fmt: skip
        return frame, None, encoding
    frame, wkb = _read_arrow(path, layer, encoding, at_most)
    return frame, wkb, encoding


def _gdal_remarks(said: list[warnings.WarningMessage], most: int = 5) -> list[str]:
    """GDAL's warnings while reading, once each and at most ``most``, as report notes.

    (A ring left open, a geometry it could not build: worth telling, but not as Python
    warnings on the console.)
    """
    remarks = list(dict.fromkeys(str(w.message).splitlines()[0][:200] for w in said
                                 if issubclass(w.category, RuntimeWarning)))  # fmt: skip
    notes = [f"GDAL: {r}" for r in remarks[:most]]
    if len(remarks) > most:
        notes.append(f"GDAL: … and {len(remarks) - most} more remarks")
    return notes


def _vector(path: Path, fmt: sniff.Format, layer: str | None, encoding: str | None,
            limits: Limits) -> Source:  # fmt: skip
    if fmt is sniff.GEOPACKAGE and layer is None:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if len(layers) > 1:
            raise InvalidInput(f"{path.name} has {len(layers)} layers; choose one of: "
                               f"{', '.join(layers)} (--source-layer)")  # fmt: skip
    notes: list[str] = []
    wkb = None
    at_most = limits.max_features + 1  # one more than allowed tells that there are too many
    try:
        with warnings.catch_warnings(record=True) as said:  # GDAL's remarks go in the report
            warnings.simplefilter("always", RuntimeWarning)
            frame, wkb, encoding = _read_vector(path, fmt, layer, encoding, at_most, notes)
        notes += _gdal_remarks(said)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: attribute text is not in {encoding or 'the declared'} "
                           "encoding; give the right one with --encoding") from None  # fmt: skip
    except CRSError:
        raise InvalidInput(
            f"cannot read {path.name}: its coordinate system (.prj or CRS member) "
            "is damaged; repair it, or remove it and give --crs"
        ) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:  # fmt: skip
        reason = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise InvalidInput(f"cannot read {path.name}: {reason}") from None
    if len(frame) > limits.max_features:
        raise _too_many(path, limits)
    crs = frame.crs.to_string() if getattr(frame, "crs", None) is not None else None
    return Source(frame, crs, fmt.name, encoding, notes, wkb)


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {c.strip().casefold(): c for c in columns}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _table(path: Path, fmt: sniff.Format, encoding: str | None, limits: Limits) -> Source:
    notes: list[str] = []
    at_most = limits.max_features + 1
    try:
        if fmt is sniff.XLSX:
            sniff.check_workbook(path, limits.max_unpacked_bytes)
            frame = pd.read_excel(path, engine="openpyxl", nrows=at_most)
        elif encoding:
            frame = pd.read_csv(path, encoding=encoding, nrows=at_most)
        else:
            frame, encoding = _utf8_or_gb18030(
                lambda enc: pd.read_csv(path, encoding="utf-8-sig" if enc == "utf-8" else enc,
                                        nrows=at_most),
                notes, "CSV",
            )  # fmt: skip
    except InvalidInput:
        raise
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path.name} is empty") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: text is not in {encoding}; use --encoding") from None
    except Exception as exc:  # zip/xml errors of a broken workbook, CSV parser errors
        raise InvalidInput(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None
    if len(frame) > limits.max_features:
        raise _too_many(path, limits)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    wkt = _find(columns, WKT_COLUMNS)
    x, y = _find(columns, X_COLUMNS), _find(columns, Y_COLUMNS)
    if wkt:
        geometry = shapely.from_wkt(frame[wkt].astype(object).where(frame[wkt].notna(), None),
                                    on_invalid="ignore")  # fmt: skip
        frame = frame.drop(columns=[wkt])
    elif x and y:
        xs = pd.to_numeric(frame[x], errors="coerce")
        ys = pd.to_numeric(frame[y], errors="coerce")
        geometry = shapely.points(xs.to_numpy(), ys.to_numpy())
        geometry[xs.isna().to_numpy() | ys.isna().to_numpy()] = None
        frame = frame.drop(columns=[x, y])
    else:
        return Source(frame, None, fmt.name, encoding, notes)
    return Source(gpd.GeoDataFrame(frame, geometry=geometry), None, fmt.name, encoding, notes)


def read_source(path: Path, *, source_layer: str | None = None, encoding: str | None = None,
                limits: Limits = Limits()) -> Source:  # fmt: skip
    """Read ``path`` as the format its name and first bytes agree on; else ``InvalidInput``.

    A zip is unpacked (checked and counted) into a folder of its own, read, and removed.
    """
    if path.is_dir():  # a folder holding one shapefile (the CLI)
        shapefiles = sorted(path.glob("*.shp"))
        if len(shapefiles) != 1:
            raise InvalidInput(f"{path} is a folder; it must hold exactly one .shp file")
        path = shapefiles[0]
    input_file(path)
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty (0 bytes)")
    if path.stat().st_size > limits.max_unpacked_bytes:
        raise InvalidInput(f"{path.name} is larger than {limits.max_unpacked_bytes:,} bytes")
    fmt = sniff.detect(path)
    if fmt is sniff.ZIP:
        with tempfile.TemporaryDirectory(prefix="onemap-unzip-") as folder:
            dataset, notes = sniff.unpack(path, Path(folder), limits.max_unpacked_bytes)
            source = _vector(dataset, sniff.detect(dataset), source_layer, encoding, limits)
        source.notes[:0] = notes
        return source
    if fmt.reader == "table":
        return _table(path, fmt, encoding, limits)
    return _vector(path, fmt, source_layer, encoding, limits)
