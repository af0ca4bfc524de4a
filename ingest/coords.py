"""Which CRS a file is in: its own, the one asked for, or a refusal that names the likely one.

The file's own CRS wins unless ``--crs`` is given. With neither, coordinates that look like
longitude/latitude are taken as WGS84 (and said so); anything else is refused, with the likely
CGCS2000 Gauss-Kruger system named when the numbers look like its metres.
"""

from __future__ import annotations

import re

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import InvalidInput, shown
from spatial import crs as crs_mod


def _guess(bounds: np.ndarray) -> str:
    xmin, ymin, xmax, ymax = bounds
    if xmin >= 3.8e7 and xmax <= 4.2e7 and ymin >= 2e6 and ymax <= 6e6:
        zone = int(xmin // 1e6)
        return (f"they look like CGCS2000 3-degree Gauss-Kruger metres with the zone number "
                f"{zone} (try --crs EPSG:{4488 + zone})")  # fmt: skip
    if xmin >= 1e5 and xmax <= 9e5 and ymin >= 2e6 and ymax <= 6e6:
        return ("they look like Gauss-Kruger metres without a zone number "
                "(Beijing: try --crs EPSG:4548)")  # fmt: skip
    return "give the file's CRS with --crs"


# A CRS is named, never described: a PROJ string or WKT could name grid files to read.
_CRS_NAME = re.compile(
    r"(?i)^(?:(?:EPSG|ESRI|OGC|IAU_2015):\w+|CRS84|GCJ-?02|BD-?09|urn:onemap:def:crs:(?:GCJ-02|BD-09)"
    r"|https?://www\.opengis\.net/def/crs/(?:EPSG|OGC)/[\w.]+/\w+)$"
)


def check_crs_name(given: str | None) -> None:
    """Refuse a ``--crs`` that is not the name of a system (``EPSG:4548``, ``GCJ-02``, a URI)."""
    if given and not _CRS_NAME.match(given.strip()):
        raise InvalidInput(
            "--crs: give the name of a system, e.g. EPSG:4548, EPSG:4490, GCJ-02 or BD-09 "
            "(not a PROJ string or WKT)"
        )


def resolve(file_crs: str | None, given: str | None, geoms: np.ndarray,
            notes: list[str]) -> tuple[str, crs_mod.Crs | None]:  # fmt: skip
    """(a label for the report, the web-map datum if any) and checks plausibility."""
    present = geoms[~shapely.is_missing(geoms)]
    bounds = shapely.total_bounds(present) if len(present) else None
    if given:
        check_crs_name(given)
        web = crs_mod.parse(given) if given.upper().replace("-", "") in ("GCJ02", "BD09") else None
        if web is not None:
            return web.uri, web
        try:
            label = CRS.from_user_input(given).to_string()
        except CRSError:
            raise InvalidInput(
                f"--crs {shown(given)} is not a coordinate system PROJ knows"
            ) from None
        if file_crs and CRS.from_user_input(file_crs) != CRS.from_user_input(given):
            notes.append(f"the file says {file_crs}; using --crs {label} as asked")
        return label, None
    if file_crs:
        return file_crs, None
    if bounds is None or np.isnan(bounds).any():
        return "EPSG:4326", None
    if bounds[0] >= -180 and bounds[2] <= 180 and bounds[1] >= -90 and bounds[3] <= 90:
        notes.append("the file names no CRS; its coordinates look like WGS84 longitude/latitude")
        return "EPSG:4326", None
    raise InvalidInput(
        f"the file names no CRS and its coordinates ({bounds[0]:.0f}, {bounds[1]:.0f}) … "
        f"({bounds[2]:.0f}, {bounds[3]:.0f}) are not longitude/latitude: {_guess(bounds)}"
    )


def declarable_crs() -> list[tuple[str, str]]:
    """(name, label) of the systems the upload page offers to declare for a file.

    The web-map datums, longitude/latitude, and the CGCS2000 3-degree Gauss-Krüger zones (by
    central meridian, and with the zone number in front of x).
    """
    choices = [
        ("EPSG:4326", "WGS 84 经纬度 (GPS)"),
        ("EPSG:4490", "CGCS2000 经纬度"),
        ("GCJ-02", "GCJ-02 火星坐标 (高德、腾讯 Amap, Tencent)"),
        ("BD-09", "BD-09 百度坐标 (Baidu)"),
    ]
    for code in range(4534, 4555):  # CM 75E … 135E
        choices.append((f"EPSG:{code}", f"{CRS.from_epsg(code).name} (EPSG:{code})"))
    for code in range(4513, 4534):  # zones 25 … 45, zone number in front of x
        choices.append((f"EPSG:{code}", f"{CRS.from_epsg(code).name} (EPSG:{code})"))
    return choices
