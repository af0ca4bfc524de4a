"""Rows checked against the layer registry.

Required fields, types, vocabularies, bounds, and geometry type, validity and place. Each
problem names the row (1-based, the order of features in the file), field and reason.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
import shapely
from psycopg.types.json import Jsonb

from layers import INTEGER_RANGES, Field, FieldType, GeometryType, Layer
from layers.errors import shown

if TYPE_CHECKING:  # pandas takes 0.2 s to import; the command line rarely validates a file
    import pandas as pd

Extent = tuple[float, float, float, float]


def as_parameter(field: Field, value: Any) -> Any:
    """A checked value as psycopg is to send it: a JSON field's as jsonb.

    An array as much as an object: a Python list would go as a PostgreSQL array, and one of
    objects cannot (a retrofit's stage history made every PATCH of it a 500).
    """
    return Jsonb(value) if value is not None and field.type is FieldType.JSON else value


# Features must lie near the city (this catches swapped axes and a wrong CRS).
EXTENT_MARGIN_DEG = 0.5
CITY_EXTENT_SQL = (
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
    "FROM (SELECT ST_Extent(geom) AS e FROM districts) s"
)


def city_extent(row: tuple[Any, ...] | None) -> Extent | None:
    """The districts' extent (a ``CITY_EXTENT_SQL`` row) with the margin, or None if empty."""
    if row is None or row[0] is None:
        return None
    m = EXTENT_MARGIN_DEG
    return (row[0] - m, row[1] - m, row[2] + m, row[3] + m)


async def city_extent_async(conn: psycopg.AsyncConnection) -> Extent | None:
    """``city_extent`` read over an async connection."""
    cur = await conn.execute(CITY_EXTENT_SQL)
    return city_extent(await cur.fetchone())


@dataclass
class Validated:
    """The good rows, column by column (field -> values), with their 1-based row numbers."""

    columns: dict[str, list[Any]]
    numbers: list[int]
    wkb: list[bytes | None] | None = None  # the source WKB of each geometry left as it was

    def __len__(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True)
class Problem:
    row: int | None
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def number_for(f: Field, value: Any) -> int | float:
    """``value`` as the number field ``f`` holds; ValueError with the reason otherwise.

    Integers must be whole and fit their column; floats must be finite (NaN or infinity
    would reach PostGIS). Writes, imports and filters all convert numbers here.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if f.type in INTEGER_RANGES:
        low, high = INTEGER_RANGES[f.type]
        if isinstance(value, int):
            whole = value
        else:
            number = _float(value)
            if math.isinf(number):  # also digits too many for a float, as a CQL2 parser reads
                raise ValueError(f"the number is out of range ({low} to {high})")
            if not number.is_integer():  # NaN is not a whole number either
                raise ValueError(f"{str(value)[:40]!r} is not a whole number")
            whole = int(number)
        if not low <= whole <= high:
            raise ValueError(f"{shown(str(whole), quoted=False)} is out of range ({low} to {high})")
        return whole
    real = _float(value)
    if not math.isfinite(real):
        raise ValueError(f"{str(value)[:40]!r} is not a finite number")
    return real


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{str(value)[:40]!r} is not a number") from None


def convert(f: Field, value: Any) -> Any:
    """The value as ``f`` stores it; raises ValueError with the reason."""
    if f.type in INTEGER_RANGES or f.type is FieldType.FLOAT:
        out: Any = number_for(f, value)
    elif f.type is FieldType.BOOLEAN:
        text = str(value).strip().casefold()
        truth = {
            "true": True,
            "1": True,
            "yes": True,
            "是": True,
            "有": True,
            "y": True,
            "false": False,
            "0": False,
            "no": False,
            "否": False,
            "无": False,
            "n": False,
        }
        if isinstance(value, bool):
            out = value
        elif text in truth:
            out = truth[text]
        else:
            raise ValueError(f"{shown(str(value))} is not yes/no")
    elif f.type is FieldType.DATE:
        if isinstance(value, dt.datetime):  # pandas' Timestamp is one too
            out = value.date()
        elif isinstance(value, dt.date):
            out = value
        else:
            out = dt.date.fromisoformat(str(value).strip()[:10].replace("/", "-"))
    elif f.type is FieldType.DATETIME:
        out = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    elif f.type is FieldType.JSON:
        out = json.loads(value) if isinstance(value, str) else value
    elif f.type is FieldType.TEXT_ARRAY:
        items = value if isinstance(value, list) else str(value).replace("、", ",").split(",")
        out = [str(i).strip() for i in items if str(i).strip()]
    else:
        out = (
            str(value).strip()
            if not isinstance(value, float) or not value.is_integer()
            else str(int(value))
        )
    if f.vocabulary is not None:
        values = out if isinstance(out, list) else [out]
        codes = [f.vocabulary.match(str(v)) for v in values]
        bad = [v for v, c in zip(values, codes, strict=True) if c is None]
        if bad:
            raise ValueError(f"{shown(str(bad[0]))} is not one of {', '.join(f.vocabulary.codes)}")
        out = codes if isinstance(out, list) else codes[0]
    if f.minimum is not None and out < f.minimum:
        raise ValueError(f"{out} is below the minimum {f.minimum:g}")
    if f.maximum is not None and out > f.maximum:
        raise ValueError(f"{out} is above the maximum {f.maximum:g}")
    return out


_SINGLE = {GeometryType.POINT: "MultiPoint", GeometryType.LINESTRING: "MultiLineString",
           GeometryType.POLYGON: "MultiPolygon"}  # fmt: skip


def conform(geom: Any, wanted: GeometryType) -> Any:
    """Promote a single geometry to multi, or take the only part of a multi; else None."""
    kind = geom.geom_type
    if kind == wanted.value:
        return geom
    if wanted is GeometryType.MULTIPOLYGON and kind == "Polygon":
        return shapely.MultiPolygon([geom])
    if _SINGLE.get(wanted) == kind and len(geom.geoms) == 1:
        return geom.geoms[0]
    return None


def _column(f: Field, values: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """Convert one column; returns (converted values, {row index: reason}).

    Conversion is cached per distinct value: vocabularies, years and flags repeat a lot, so a
    100,000-row file costs a few thousand conversions, not 100,000 per column.
    """
    out: list[Any] = []
    bad: dict[int, str] = {}
    cache: dict[Any, tuple[bool, Any]] = {}
    for index, value in enumerate(values):
        if _missing(value):
            if f.required:
                bad[index] = "required value is missing"
            out.append(None)
            continue
        try:
            key: Any = value if not isinstance(value, list | dict) else json.dumps(value)
            hit = cache.get(key)
        except TypeError:  # unhashable
            key, hit = None, None
        if hit is None:
            try:
                hit = (True, convert(f, value))
            except (TypeError, ValueError, json.JSONDecodeError) as exc:
                hit = (False, str(exc))
            if key is not None and len(cache) < 50_000:
                cache[key] = hit
        if hit[0]:
            out.append(hit[1])
        else:
            bad[index] = hit[1]
            out.append(None)
    return out, bad


_NUMBERS = (FieldType.INTEGER, FieldType.BIGINT, FieldType.FLOAT)


def _numeric_column(f: Field, series: pd.Series) -> tuple[list[Any], dict[int, str]]:
    """A numeric column checked with numpy in one pass (the common case for big files)."""
    values = series.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(values)
    reasons = np.full(len(values), "", dtype=object)
    if f.required:
        reasons[missing] = "required value is missing"
    present = ~missing
    infinite = present & ~np.isfinite(values)
    reasons[infinite] = "not a finite number"
    present &= ~infinite
    if f.type is not FieldType.FLOAT:
        fractional = present & (values != np.round(values))
        reasons[fractional] = [f"{v!r} is not a whole number" for v in values[fractional]]
        low_bound, high_bound = INTEGER_RANGES[f.type]
        outside = present & ((values < low_bound) | (values > high_bound))
        reasons[outside] = [f"{v:g} is out of range for a {f.type.value}" for v in values[outside]]
        present &= ~outside
    if f.minimum is not None:
        low = present & (values < f.minimum)
        reasons[low] = [f"{v:g} is below the minimum {f.minimum:g}" for v in values[low]]
    if f.maximum is not None:
        high = present & (values > f.maximum)
        reasons[high] = [f"{v:g} is above the maximum {f.maximum:g}" for v in values[high]]
    cast = int if f.type is not FieldType.FLOAT else float
    skip = (missing | infinite).tolist()
    out = [None if m else cast(v) for v, m in zip(values.tolist(), skip, strict=True)]
    return out, {int(i): str(reasons[i]) for i in np.flatnonzero(reasons != "")}


def _text_column(f: Field, series: pd.Series) -> tuple[list[Any], dict[int, str]]:
    """Convert each distinct value once and map the column in pandas (vocabularies, names)."""
    values = series.astype(object)
    blank = values.isna().to_numpy()
    text = values.where(~blank, "").astype(str).str.strip()
    missing = blank | (text == "").to_numpy()
    converted: dict[Any, Any] = {}
    reasons: dict[Any, str] = {}
    for value in values[~missing].unique():
        try:
            converted[value] = convert(f, value)
        except (TypeError, ValueError, json.JSONDecodeError) as exc:
            reasons[value] = str(exc)
    out = [None if m else converted.get(v) for v, m in zip(values.tolist(), missing, strict=True)]
    bad = {}
    if f.required:
        bad.update({int(i): "required value is missing" for i in np.flatnonzero(missing)})
    if reasons:
        for i in np.flatnonzero(values.isin(list(reasons)).to_numpy() & ~missing):
            bad[int(i)] = reasons[values.iat[i]]
    return out, bad


def validate(
    frame: pd.DataFrame,
    geoms: np.ndarray | None,
    layer: Layer,
    *,
    make_valid: bool,
    extent: tuple[float, float, float, float] | None,
) -> tuple[Validated, list[Problem]]:
    """The good rows and every problem; a row with a problem is left out."""
    from pandas.api.types import is_numeric_dtype

    fields = [layer.fields_by_name[c] for c in frame.columns if c in layer.fields_by_name]
    present = {f.name for f in fields}
    missing = [f.name for f in layer.fields if f.required and f.name not in present]
    if missing:
        return Validated({}, []), [Problem(None, name, "required field has no column in the file")
                                   for name in missing]  # fmt: skip
    columns: dict[str, list[Any]] = {}
    bad_by_row: dict[int, list[Problem]] = {}
    for f in fields:
        series = frame[f.name]
        if f.type in _NUMBERS and f.vocabulary is None and is_numeric_dtype(series):
            columns[f.name], bad = _numeric_column(f, series)
        else:
            try:
                if f.type not in (FieldType.TEXT, FieldType.BOOLEAN, FieldType.DATE):
                    raise TypeError
                columns[f.name], bad = _text_column(f, series)
            except TypeError:  # lists or dicts in the column: convert value by value
                raw = series.astype(object).where(series.notna(), None).tolist()
                columns[f.name], bad = _column(f, raw)
        for index, reason in bad.items():
            bad_by_row.setdefault(index, []).append(Problem(index + 1, f.name, reason))
    if layer.is_spatial:
        columns["geom"], bad_geoms = _geometries(geoms, layer, make_valid, extent, len(frame))
        for index, reason in bad_geoms.items():
            bad_by_row.setdefault(index, []).append(Problem(index + 1, "geometry", reason))
    problems = [p for index in sorted(bad_by_row) for p in bad_by_row[index]]
    if bad_by_row:
        keep = [i not in bad_by_row for i in range(len(frame))]
        columns = {k: list(compress(v, keep)) for k, v in columns.items()}
        numbers = [i + 1 for i, ok in enumerate(keep) if ok]
    else:
        numbers = list(range(1, len(frame) + 1))
    return Validated(columns, numbers), problems


def _geometries(geoms: np.ndarray | None, layer: Layer, make_valid: bool,
                extent: tuple[float, float, float, float] | None,
                count: int) -> tuple[list[Any], dict[int, str]]:  # fmt: skip
    """Vectorised checks for the common case; the per-row path only for rows that need it."""
    if geoms is None:
        return [None] * count, dict.fromkeys(range(count), "geometry is missing")
    assert layer.geometry_type is not None
    wanted = shapely.GeometryType[layer.geometry_type.value.upper()].value
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    ok[ok] &= shapely.get_type_id(geoms[ok]) == wanted
    ok[ok] &= shapely.is_valid(geoms[ok])
    if extent is not None and ok.any():
        b = shapely.bounds(geoms[ok])
        inside = (
            (b[:, 2] >= extent[0])
            & (b[:, 0] <= extent[2])
            & (b[:, 3] >= extent[1])
            & (b[:, 1] <= extent[3])
        )
        ok[ok] &= inside & np.isfinite(b).all(axis=1)
    out = list(geoms)
    bad: dict[int, str] = {}
    for index in np.flatnonzero(~ok):
        result = _geometry_problem(geoms[index], layer, make_valid, extent)
        if isinstance(result, str):
            bad[int(index)] = result
            out[index] = None
        else:
            out[index] = result
    return out, bad


def _geometry_problem(geom: Any, layer: Layer, make_valid: bool,
                      extent: tuple[float, float, float, float] | None) -> Any:  # fmt: skip
    """The conformed geometry, or a string saying what is wrong with it."""
    if geom is None or shapely.is_missing(geom) or geom.is_empty:
        return "geometry is missing or cannot be read (a ring needs 4 positions, closed)"
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return "geometry has non-finite coordinates"
    if not geom.is_valid:
        if not make_valid:
            return f"invalid geometry ({shapely.is_valid_reason(geom)}); --make-valid repairs it"
        geom = shapely.make_valid(geom)
        if geom.geom_type == "GeometryCollection" and layer.geometry_type is not None:
            wanted = layer.geometry_type.value.removeprefix("Multi")
            parts = [g for g in geom.geoms if g.geom_type.endswith(wanted)]
            geom = shapely.union_all(parts) if parts else geom
    assert layer.geometry_type is not None
    conformed = conform(geom, layer.geometry_type)
    if conformed is None:
        return f"a {geom.geom_type} cannot go into a {layer.geometry_type.value} layer"
    if extent is not None:
        xmin, ymin, xmax, ymax = conformed.bounds
        if xmax < extent[0] or xmin > extent[2] or ymax < extent[1] or ymin > extent[3]:
            return f"outside the city's extent (at {xmin:.4f}, {ymin:.4f}): wrong CRS?"
    return conformed
