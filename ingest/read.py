"""Reading other departments' files: vector formats through pyogrio, tables through pandas.

Returns the rows as a (Geo)DataFrame with the file's own CRS when it has one. Shapefiles
without a ``.cpg`` are tried as UTF-8 first and as GB18030 (the superset of GBK that Chinese
desktop GIS writes) when that fails; a given ``encoding`` always wins.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.errors import InvalidInput

VECTOR = {".geojson", ".json", ".geojsonl", ".geojsons", ".geojsonseq", ".jsonl", ".shp", ".zip",
          ".gpkg", ".fgb", ".kml"}  # fmt: skip
TABLES = {".csv", ".xlsx"}
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "几何", "空间信息")
X_COLUMNS = ("lon", "lng", "longitude", "x", "经度", "横坐标", "东坐标")
Y_COLUMNS = ("lat", "latitude", "y", "纬度", "纵坐标", "北坐标")


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


def _read_arrow(path: Path, layer: str | None, encoding: str | None) -> tuple[pd.DataFrame, Any]:
    """Read through Arrow (GDAL's fastest path), keeping the geometry's WKB as well."""
    meta, table = pyogrio.read_arrow(path, layer=layer, encoding=encoding)
    name = meta.get("geometry_name") or "wkb_geometry"
    if name not in table.column_names:
        return table.to_pandas(), None
    wkb = np.array(table.column(name).to_pylist(), dtype=object)
    frame = gpd.GeoDataFrame(table.drop_columns([name]).to_pandas(),
                             geometry=shapely.from_wkb(wkb), crs=meta.get("crs"))  # fmt: skip
    return frame, wkb


def _has_cpg(path: Path) -> bool:
    """Whether a shapefile (or the zip holding one) declares its encoding in a .cpg file."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                return any(name.lower().endswith(".cpg") for name in archive.namelist())
        except zipfile.BadZipFile:
            raise InvalidInput(f"{path.name} is not a readable zip file") from None
    return path.with_suffix(".cpg").exists()


def _vector(path: Path, layer: str | None, encoding: str | None) -> Source:
    suffix = path.suffix.lower()
    if suffix == ".gpkg" and layer is None:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if len(layers) > 1:
            raise InvalidInput(f"{path.name} has {len(layers)} layers; choose one of: "
                               f"{', '.join(layers)} (--source-layer)")  # fmt: skip
    notes: list[str] = []
    wkb = None
    is_shapefile = suffix in (".shp", ".zip")
    has_cpg = _has_cpg(path)
    try:
        if is_shapefile and encoding is None and not has_cpg:
            frame, encoding = _utf8_or_gb18030(
                lambda enc: pyogrio.read_dataframe(path, encoding=enc), notes, "no .cpg file"
            )
        else:
            frame, wkb = _read_arrow(path, layer, encoding)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: attribute text is not in {encoding or 'the declared'} "
                           "encoding; give the right one with --encoding") from None  # fmt: skip
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise InvalidInput(f"cannot read {path.name}: {reason}") from None
    crs = frame.crs.to_string() if getattr(frame, "crs", None) is not None else None
    return Source(frame, crs, suffix.lstrip("."), encoding, notes, wkb)


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {c.strip().casefold(): c for c in columns}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _table(path: Path, encoding: str | None) -> Source:
    notes = []
    try:
        if path.suffix.lower() == ".xlsx":
            frame = pd.read_excel(path, engine="openpyxl")
        elif encoding:
            frame = pd.read_csv(path, encoding=encoding)
        else:
            frame, encoding = _utf8_or_gb18030(
                lambda enc: pd.read_csv(path, encoding="utf-8-sig" if enc == "utf-8" else enc),
                notes, "CSV",
            )  # fmt: skip
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path.name} is empty") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: text is not in {encoding}; use --encoding") from None
    except Exception as exc:  # zip/xml errors of a broken workbook, CSV parser errors
        raise InvalidInput(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from None
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
        return Source(frame, None, path.suffix.lstrip(".").lower(), encoding, notes)
    return Source(gpd.GeoDataFrame(frame, geometry=geometry), None,
                  path.suffix.lstrip(".").lower(), encoding, notes)  # fmt: skip


def read_source(path: Path, *, source_layer: str | None = None,
                encoding: str | None = None) -> Source:  # fmt: skip
    """Read ``path`` by its extension; raise ``InvalidInput`` saying why it cannot be read."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty (0 bytes)")
    suffix = path.suffix.lower()
    if path.is_dir():  # a folder holding one shapefile
        shapefiles = sorted(path.glob("*.shp"))
        if len(shapefiles) != 1:
            raise InvalidInput(f"{path} must hold exactly one .shp file")
        return _vector(shapefiles[0], None, encoding)
    if suffix in VECTOR:
        return _vector(path, source_layer, encoding)
    if suffix in TABLES:
        return _table(path, encoding)
    known = ", ".join(sorted(VECTOR | TABLES))
    raise InvalidInput(f"{path.name}: unknown format {suffix!r}; OneMap reads {known}")
