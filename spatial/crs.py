"""The coordinate reference systems OneMap speaks (OGC API Features Part 2).

EPSG systems are reprojected by PostGIS. GCJ-02 and BD-09, the shifted datums of Chinese web
maps, have no EPSG code and are not in PROJ: their URIs are OneMap's own, and their
coordinates are converted in Python (``spatial.gcj02``) at the edges of a request.

Axis order follows each CRS's definition, as Part 2 requires: CRS84, Web Mercator and the
web-map datums are east/north; EPSG:4326 and EPSG:4490 are latitude/longitude, and the
CGCS2000 Gauss-Kruger systems of the city (EPSG:4527/4548 for Beijing) are northing/easting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import pyproj
import shapely

from layers.city import CITY
from layers.errors import InvalidInput, shown
from spatial import gcj02

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GCJ02 = "urn:onemap:def:crs:GCJ-02"
BD09 = "urn:onemap:def:crs:BD-09"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int  # the SRID PostGIS transforms to (4326 for the web-map datums)
    flip: bool = False  # coordinates are north/east in this CRS's axis order
    shift: str | None = None  # "gcj02" or "bd09": converted in Python from/to WGS84
    label: str = ""

    @property
    def in_sql(self) -> bool:
        return self.shift is None

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax), x = east, of the coordinates this CRS is meant for."""
        return _extent(self.srid) if self.shift is None else (-180.0, -90.0, 180.0, 90.0)


def _epsg(code: int, flip: bool, label: str) -> Crs:
    return Crs(f"http://www.opengis.net/def/crs/EPSG/0/{code}", code, flip, None, label)


SUPPORTED: tuple[Crs, ...] = (
    Crs(CRS84, 4326, False, None, "WGS 84 longitude/latitude"),
    _epsg(4326, True, "WGS 84 latitude/longitude"),
    _epsg(4490, True, "CGCS2000 latitude/longitude"),
    # The city's own Gauss-Kruger system, with and without the zone number (city profile).
    _epsg(CITY.zone_srid, True, f"CGCS2000 / 3-degree Gauss-Kruger zone {CITY.zone}"),
    _epsg(CITY.metric_srid, True, f"CGCS2000 / 3-degree Gauss-Kruger CM {CITY.central_meridian}E"),
    _epsg(3857, False, "WGS 84 / Pseudo-Mercator"),
    Crs(GCJ02, 4326, False, "gcj02", "GCJ-02 (Amap, Tencent) longitude/latitude"),
    Crs(BD09, 4326, False, "bd09", "BD-09 (Baidu) longitude/latitude"),
)
_BY_URI = {c.uri: c for c in SUPPORTED}
_ALIASES = {
    f"EPSG:{c.srid}": c.srid
    for c in SUPPORTED
    if c.uri.startswith("http://www.opengis.net/def/crs/EPSG")
}
DEFAULT = _BY_URI[CRS84]


@cache
def _extent(srid: int) -> tuple[float, float, float, float]:
    """The area of use of an EPSG system, one degree wider, in its own x/y units.

    Outside it a projection still computes, but the numbers mean nothing (longitude and
    latitude sent as Gauss-Kruger metres), or overflow PostGIS's transforms (1e300).
    """
    crs = pyproj.CRS.from_epsg(srid)
    if crs.is_geographic:
        return (-180.0, -90.0, 180.0, 90.0)
    area = crs.area_of_use
    if area is None:  # every system OneMap lists has one; without it, accept the projection's
        return (-4e7, -4e7, 4e7, 4e7)
    west, south = max(area.west - 1, -180.0), max(area.south - 1, -85.06)
    east, north = min(area.east + 1, 180.0), min(area.north + 1, 85.06)
    return transformer(4326, srid).transform_bounds(west, south, east, north)


@lru_cache(maxsize=64)
def transformer(source: int | str, target: int) -> pyproj.Transformer:
    """The transformer from ``source`` to ``target`` (x = east), made once per pair.

    Making one reads PROJ's database: 46 ms of CPU, which an edit or a ``bbox-crs`` query in
    Gauss-Kruger metres paid on every request. pyproj's transformers are thread-safe (3.1+).
    """
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


@lru_cache(maxsize=64)
def _to_wgs84_from(label: str) -> pyproj.Transformer | None:
    """The transformer from the CRS a file or request names to WGS84; None if it is WGS84."""
    wgs84 = pyproj.CRS.from_epsg(4326)
    try:
        source = pyproj.CRS.from_user_input(label)
        if source == wgs84 or source.equals(wgs84, ignore_axis_order=True):
            return None
        return pyproj.Transformer.from_crs(source, 4326, always_xy=True)
    except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError):
        # A damaged .prj can still parse as some CRS, one with no way to longitude/latitude.
        raise InvalidInput(
            f"the file's CRS ({label[:80]}) cannot be converted to longitude/latitude; "
            "fix its .prj or give the CRS with --crs"
        ) from None


def check_coordinates(geom: object, crs: Crs, what: str) -> None:
    """Refuse a geometry whose coordinates are not finite or outside its CRS's extent.

    ``geom`` is in ``crs`` with x = east. Without this, NaN reaches PostGIS (``ST_Buffer``
    of NaN crashes the server) and 1e300 overflows its transforms.
    """
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InvalidInput(f"{what}: coordinates must be finite numbers")
    xmin, ymin, xmax, ymax = crs.extent
    x, y = coords[:, 0], coords[:, 1]
    if ((x < xmin) | (x > xmax) | (y < ymin) | (y > ymax)).any():
        box = ", ".join(f"{v:.6g}" for v in crs.extent)
        raise InvalidInput(
            f"{what}: coordinates outside the extent of {crs.label or crs.uri} ({box}, x = east)"
        )


def parse(value: str | None) -> Crs:
    """The CRS named by an OGC URI (or ``EPSG:n``, ``CRS84``, ``GCJ-02``, ``BD-09``)."""
    if not value:
        return DEFAULT
    text = value.strip().strip("[]")
    if text in _BY_URI:
        return _BY_URI[text]
    upper = text.upper()
    if upper in ("CRS84", "OGC:CRS84"):
        return DEFAULT
    if upper in ("GCJ-02", "GCJ02"):
        return _BY_URI[GCJ02]
    if upper in ("BD-09", "BD09"):
        return _BY_URI[BD09]
    if upper in _ALIASES:
        return _BY_URI[f"http://www.opengis.net/def/crs/EPSG/0/{_ALIASES[upper]}"]
    supported = ", ".join(c.uri for c in SUPPORTED)
    raise InvalidInput(f"unsupported CRS {shown(value)}; supported: {supported}")


Shift = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _shift_functions(crs: Crs) -> tuple[Shift, Shift]:
    """(to WGS84, from WGS84) coordinate functions for a web-map datum."""
    if crs.shift == "gcj02":
        return gcj02.gcj02_to_wgs84, gcj02.wgs84_to_gcj02

    def bd_to_wgs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gcj02.gcj02_to_wgs84(*gcj02.bd09_to_gcj02(lon, lat))

    def wgs_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gcj02.gcj02_to_bd09(*gcj02.wgs84_to_gcj02(lon, lat))

    return bd_to_wgs, wgs_to_bd


def _apply(geoms: np.ndarray, func: Shift, decimals: int | None = None) -> np.ndarray:
    def transform(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        out = np.column_stack([lon, lat])
        return out if decimals is None else np.round(out, decimals)

    transformed: np.ndarray = shapely.transform(geoms, transform)
    return transformed


def from_wgs84(crs: Crs, geoms: np.ndarray) -> np.ndarray:
    """WGS84 geometries to a web-map datum (only for CRSs with a ``shift``), to about 1 cm."""
    return _apply(geoms, _shift_functions(crs)[1], decimals=7)


def to_wgs84(crs: Crs, geoms: np.ndarray) -> np.ndarray:
    """Web-map datum geometries to WGS84 (only for CRSs with a ``shift``)."""
    return _apply(geoms, _shift_functions(crs)[0])


def bbox_to_wgs84(crs: Crs, bbox: tuple[float, float, float, float]) -> tuple[float, ...]:
    """A GCJ-02/BD-09 box as the WGS84 box that covers it (outline densified to 0.01 deg).

    The box has width and height (``api.params.check_bbox``): GEOS refuses a collapsed one.
    """
    outline = shapely.segmentize(shapely.box(*bbox), 0.01)
    return tuple(shapely.bounds(to_wgs84(crs, np.array([outline]))[0]).tolist())


def bounds_from_wgs84(
    crs: Crs, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """A longitude/latitude box as the box that covers it in ``crs`` (x east, y north)."""
    west, south, east, north = transformer(4326, crs.srid).transform_bounds(*bounds, densify_pts=21)
    return west, south, east, north


def to_storage(geoms: np.ndarray, label: str, web: Crs | None) -> np.ndarray:
    """Geometries in EPSG:4326, east/north order."""
    if web is not None:
        return to_wgs84(web, geoms)
    from_label = _to_wgs84_from(label)
    if from_label is None:
        return geoms

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = from_label.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    projected: np.ndarray = shapely.transform(geoms, project)
    return projected
