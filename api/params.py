"""Query parameters of the OGC routes: each parsed and checked in one function.

Each raises ``InvalidInput`` (400 problem+json) naming the parameter; routes receive typed
values through the ``*Dep`` aliases.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from api.state import state_of
from layers import numerals
from layers.city import CITY
from layers.errors import InvalidInput, UnsupportedMediaType, shown
from spatial import crs as crs_mod
from spatial.features import Bbox, DatetimeRange

# Integer parameters in ASCII digits only (``layers.numerals``): pydantic reads ``5_0``, `` 5``
# and ``5.0`` as 5 and 50 where a proxy in front would not.
DIGITS = BeforeValidator(numerals.checked_integer)


def path_integers(request: Request, bounds: dict[str, tuple[int, int | None]]) -> list[int]:
    """Integer path parameters read without FastAPI's solving (the tile routes' hot path).

    ``bounds`` maps each name to its (minimum, maximum or None). A bad value answers as
    FastAPI's validation would: one 400 naming every bad parameter.
    """
    values, errors = [], []
    for name, (low, high) in bounds.items():
        text = request.path_params[name]
        try:
            value = numerals.integer(text)
        except ValueError as exc:
            errors.append(_path_error(name, f"Value error, {exc}"))
            continue
        if value < low:
            errors.append(_path_error(name, f"Input should be greater than or equal to {low}"))
        elif high is not None and value > high:
            errors.append(_path_error(name, f"Input should be less than or equal to {high}"))
        values.append(value)
    if errors:
        raise RequestValidationError(errors)
    return values


def required_query_text(request: Request, name: str) -> str:
    """A query parameter a route reads itself and cannot do without: a 400, as FastAPI's."""
    value = request.query_params.get(name)
    if value is None:
        raise RequestValidationError([_error("query", name, "Field required", "missing")])
    return value


def _path_error(name: str, message: str) -> dict[str, Any]:
    return _error("path", name, message, "value_error")


def _error(where: str, name: str, message: str, kind: str) -> dict[str, Any]:
    """One of FastAPI's validation errors, which ``api.errors`` answers as problem+json."""
    return {"loc": (where, name), "msg": message, "type": kind}


def path_integer_parameter(name: str, low: int, high: int | None = None) -> dict[str, Any]:
    """The OpenAPI description of a parameter that ``path_integers`` reads."""
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return {"name": name, "in": "path", "required": True, "schema": schema}


def path_text_parameter(name: str) -> dict[str, Any]:
    """The OpenAPI description of a text path parameter a route reads itself."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query_text_parameter(name: str, description: str, required: bool = False) -> dict[str, Any]:
    """The OpenAPI description of a text query parameter a route reads itself."""
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string"}}  # fmt: skip


MAX_LIST_TERMS = 100  # fields in properties= or sortby=: more than any layer has

# Dependencies are ``async def`` although they do not wait for anything: FastAPI runs plain
# ``def`` dependencies in a thread pool, a hop per parameter per request.


async def bbox_query(
    bbox: Annotated[
        str | None,
        Query(description="minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs"),
    ] = None,
) -> Bbox | None:
    return parse_bbox(bbox)


def parse_bbox(bbox: str | None) -> Bbox | None:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights) as a box; InvalidInput otherwise."""
    if bbox is None:
        return None
    try:
        values = [numerals.decimal(v.strip()) for v in bbox.split(",")]  # "a, b" as typed
    except ValueError:
        raise InvalidInput("bbox: expected 4 or 6 comma-separated numbers") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox: expected 4 or 6 comma-separated numbers")
    if values[0] > values[2] or values[1] > values[3]:
        raise InvalidInput("bbox: the minimum corner must come before the maximum corner")
    return (values[0], values[1], values[2], values[3])


_M2_PER_DEG2 = CITY.m2_per_deg2  # near the city: a rough bound is all a limit needs


class BboxTooLarge(InvalidInput):
    """A bbox over the area limit: cut to the city when its extent is at hand."""


def check_bbox(
    bbox: Bbox, bbox_crs: crs_mod.Crs, max_area_deg2: float, city: Bbox | None = None
) -> Bbox:
    """The box to query: refused outside its CRS's range, cut to the city when too large.

    A projected box is cut to its CRS's extent (a zoomed-out client's view reaches past it;
    1e300 would overflow the transform). A box over the limit — OpenLayers or QGIS zoomed out
    to the whole country — is cut to ``city`` (the districts' extent, in longitude/latitude):
    every feature lies inside it, so the answer is the same, and bounded. Without a city it is
    refused.
    """
    x0, y0, x1, y1 = (bbox[1], bbox[0], bbox[3], bbox[2]) if bbox_crs.flip else bbox
    geographic = bbox_crs.srid in (4326, 4490) or bbox_crs.shift is not None
    if geographic:
        if not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
            raise InvalidInput(
                "bbox: the numbers are not longitude/latitude; name the CRS with bbox-crs"
            )
    else:
        xmin, ymin, xmax, ymax = bbox_crs.extent
        x0, y0, x1, y1 = max(x0, xmin), max(y0, ymin), min(x1, xmax), min(y1, ymax)
        if x0 > x1 or y0 > y1:
            raise InvalidInput(f"bbox: outside the extent of {bbox_crs.label or bbox_crs.uri}")
    if _area_deg2(x0, y0, x1, y1, geographic) > max_area_deg2:
        if city is None:
            raise BboxTooLarge(
                f"bbox: larger than {max_area_deg2:g} square degrees; ask for a smaller area "
                "(or none, and page through the layer)"
            )
        cx0, cy0, cx1, cy1 = city if geographic else crs_mod.bounds_from_wgs84(bbox_crs, city)
        x0, y0, x1, y1 = max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1)
        if x0 > x1 or y0 > y1:  # nothing of the city in it: an empty answer, not an error
            x1, y1 = x0, y0
    # A box of no width or height (a point, a line) is one a client may send, and PostGIS and
    # GEOS refuse it as a polygon (a 500) or find nothing in it: a centimetre makes it a box.
    least = 1e-7 if geographic else 0.01
    if x1 - x0 < least:
        x0, x1 = x0 - least / 2, x1 + least / 2
    if y1 - y0 < least:
        y0, y1 = y0 - least / 2, y1 + least / 2
    return (y0, x0, y1, x1) if bbox_crs.flip else (x0, y0, x1, y1)


def _area_deg2(x0: float, y0: float, x1: float, y1: float, geographic: bool) -> float:
    area = (x1 - x0) * (y1 - y0)
    return area if geographic else area / _M2_PER_DEG2


CRS_DESCRIPTION = "CRS URI of the response geometries"
CrsParam = Annotated[str | None, Query(description=CRS_DESCRIPTION)]


async def crs_query(crs: CrsParam = None) -> crs_mod.Crs:
    return crs_mod.parse(crs)


async def bbox_crs_query(
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS URI of bbox")] = None,
) -> crs_mod.Crs:
    return crs_mod.parse(bbox_crs)


async def filter_crs_query(
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description="CRS URI of filter geometries")
    ] = None,
) -> crs_mod.Crs:
    return crs_mod.parse(filter_crs)


def _instant(text: str) -> dt.datetime | dt.date | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"datetime: {shown(text)} is not an RFC 3339 date or date-time"
        ) from None


async def datetime_query(
    datetime: Annotated[
        str | None, Query(description="An instant or an interval a/b (open ends: ..)")
    ] = None,
) -> DatetimeRange | None:
    if datetime is None:
        return None
    if "/" in datetime:
        start_text, _, end_text = datetime.partition("/")
        start, end = _instant(start_text), _instant(end_text)
        if start is not None and end is not None and str(start) > str(end):
            raise InvalidInput("datetime: the interval ends before it starts")
        return (start, end)
    instant = _instant(datetime)
    if instant is None:
        raise InvalidInput("datetime: an instant is required")
    return (instant, instant)


async def sortby_query(
    sortby: Annotated[str | None, Query(description="Fields, each with +/- for order")] = None,
) -> tuple[tuple[str, bool], ...]:
    if not sortby:
        return ()
    terms = []
    if sortby.count(",") >= MAX_LIST_TERMS:
        raise InvalidInput(f"sortby: at most {MAX_LIST_TERMS} terms")
    for raw in sortby.split(","):
        term = raw.strip()
        if not term:
            raise InvalidInput("sortby: empty term")
        ascending = not term.startswith("-")
        terms.append((term.lstrip("+-").strip(), ascending))
    return tuple(terms)


async def properties_query(
    properties: Annotated[str | None, Query(description="Comma-separated fields to return")] = None,
) -> tuple[str, ...] | None:
    if properties is None:
        return None
    names = tuple(dict.fromkeys(p.strip() for p in properties.split(",") if p.strip()))
    if len(names) > MAX_LIST_TERMS:  # more than any layer has fields
        raise InvalidInput(f"properties: at most {MAX_LIST_TERMS} fields")
    return names


async def limit_query(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, description="Features per page"), DIGITS] = None,
) -> int:
    settings = state_of(request).features
    if limit is None:
        return int(settings.default_limit)
    if limit > settings.max_limit:
        raise InvalidInput(f"limit: at most {settings.max_limit}")
    return limit


BboxDep = Annotated[Bbox | None, Depends(bbox_query)]
CrsDep = Annotated[crs_mod.Crs, Depends(crs_query)]
BboxCrsDep = Annotated[crs_mod.Crs, Depends(bbox_crs_query)]
FilterCrsDep = Annotated[crs_mod.Crs, Depends(filter_crs_query)]
DatetimeDep = Annotated[DatetimeRange | None, Depends(datetime_query)]
SortbyDep = Annotated[tuple[tuple[str, bool], ...], Depends(sortby_query)]
PropertiesDep = Annotated[tuple[str, ...] | None, Depends(properties_query)]
LimitDep = Annotated[int, Depends(limit_query)]


# The query parameters each route's endpoint takes. Keyed by the endpoint, a module's function
# that every app shares, not by id(route): an app's routes go with it, and a later app's route
# could take the id with other parameters.
_DECLARED: dict[Any, frozenset[str]] = {}


def _query_names(dependant: Any) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def declared_parameters_only(request: Request) -> None:
    """A query parameter the route does not take is a 400 naming it.

    ``/ledger?distrct=110101`` answered the whole city's ledger, read as the district's.
    For the routes that serve data to read; pages and tiles leave parameters they do not
    know alone (a shared link gets ``?from=singlemessage`` in WeChat, a client a cache
    buster), and items and analyses check theirs against the layer or the analysis.
    """
    route = request.scope.get("route")
    if route is None:
        return
    names = _DECLARED.get(route.endpoint)
    if names is None:
        names = _DECLARED[route.endpoint] = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        takes = ", ".join(sorted(names)) or "none"
        raise InvalidInput(f"unknown parameter {shown(unknown[0])}; this route takes: {takes}")


DeclaredOnly = [Depends(declared_parameters_only)]


def json_body(expected: str) -> Any:
    """A route dependency: a body of a type other than JSON is a 415 naming ``expected``.

    ``application/json``, any ``…+json`` and a body of no declared type are read. A feature
    sent as ``text/plain`` was a 400 saying "Input should be a valid dictionary".
    """

    async def check(request: Request) -> None:
        declared = request.headers.get("content-type")
        if declared is None:
            return
        media_type = declared.split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType(f"the body is {media_type or 'of no type'}; send {expected}")

    return Depends(check)
