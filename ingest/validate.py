"""Rows checked against the layer registry.

Required fields, types, vocabularies, bounds, and geometry type, validity and place. Each
problem names the row (1-based, the order of features in the file), field and reason.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from layers import Field, FieldType, GeometryType, Layer


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


def convert(f: Field, value: Any) -> Any:
    """The value as ``f`` stores it; raises ValueError with the reason."""
    if f.type in (FieldType.INTEGER, FieldType.BIGINT):
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        out: Any = int(number)
    elif f.type is FieldType.FLOAT:
        out = float(value)
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
            raise ValueError(f"{value!r} is not yes/no")
    elif f.type is FieldType.DATE:
        if isinstance(value, dt.datetime | pd.Timestamp):
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
            raise ValueError(f"{bad[0]!r} is not one of {', '.join(f.vocabulary.codes)}")
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


def validate(
    frame: pd.DataFrame,
    geoms: np.ndarray | None,
    layer: Layer,
    *,
    make_valid: bool,
    extent: tuple[float, float, float, float] | None,
) -> tuple[list[dict[str, Any]], list[int], list[Problem]]:
    """(clean rows, their 1-based row numbers, problems); a row with a problem is left out."""
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    fields = [layer.fields_by_name[c] for c in frame.columns if c in layer.fields_by_name]
    present = {f.name for f in fields}
    for f in layer.fields:
        if f.required and f.name not in present:
            problems.append(Problem(None, f.name, "required field has no column in the file"))
    if problems:
        return [], [], problems
    records = frame[[f.name for f in fields]].to_dict("records")
    for index, record in enumerate(records):
        number = index + 1
        row: dict[str, Any] = {}
        ok = True
        for f in fields:
            value = record[f.name]
            if _missing(value):
                if f.required:
                    problems.append(Problem(number, f.name, "required value is missing"))
                    ok = False
                row[f.name] = None
                continue
            try:
                row[f.name] = convert(f, value)
            except (TypeError, ValueError, json.JSONDecodeError) as exc:
                problems.append(Problem(number, f.name, str(exc)))
                ok = False
        if layer.is_spatial:
            geom = None if geoms is None else geoms[index]
            reason = _geometry_problem(geom, layer, make_valid, extent)
            if isinstance(reason, str):
                problems.append(Problem(number, "geometry", reason))
                ok = False
            else:
                row["geom"] = reason
        if ok:
            rows.append(row)
            numbers.append(number)
    return rows, numbers, problems


def _geometry_problem(geom: Any, layer: Layer, make_valid: bool,
                      extent: tuple[float, float, float, float] | None) -> Any:  # fmt: skip
    """The conformed geometry, or a string saying what is wrong with it."""
    if geom is None or shapely.is_missing(geom) or geom.is_empty:
        return "geometry is missing"
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return "geometry has non-finite coordinates"
    if not geom.is_valid:
        if not make_valid:
            return f"invalid geometry ({shapely.is_valid_reason(geom)}); --make-valid repairs it"
        geom = shapely.make_valid(geom)
        if geom.geom_type == "GeometryCollection":
            parts = [
                g
                for g in geom.geoms
                if g.geom_type.endswith(layer.geometry_type.value.removeprefix("Multi"))
            ]  # type: ignore[union-attr]
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
