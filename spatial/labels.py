"""Names written on the map: a point per labelled feature in view, biggest first.

Which layers carry labels, from which field and at which zooms, is the registry's
(``Layer.label``, ``Layer.label_zooms``). Areas are labelled at a point inside them
(``ST_PointOnSurface``); a road, drawn as many segments, once per name at the middle of its
longest segment in view. The page places them and drops those that would overlap.
"""

from __future__ import annotations

import math

from psycopg import sql

from layers import REGISTRY, Layer, Visibility
from spatial.cql import Compiled
from spatial.features import Bbox
from spatial.scope import StreetScope

MAX_PER_LAYER = 400  # more than fit on a screen without overlapping
# An area's weight is its area on a sphere at its latitude: within 0.15 % of the geodesic
# area for Beijing's districts, in a quarter of the time (the geodesic area of the district
# outlines was 45 of a zoomed-out view's 55 ms). It only orders the labels.
_M2 = sql.Literal((6_371_008.8 * math.pi / 180) ** 2)  # square metres in a square degree


def labelled_layers(level: Visibility, zoom: int, scope: StreetScope | None) -> list[Layer]:
    """The layers labelled at ``zoom`` for a caller: visible, and not limited to their streets.

    In the order the page places them (a later label overlapping an earlier one is dropped):
    the ones labelled from the lowest zoom first, areas before lines and points.
    """
    return sorted((
        la for la in REGISTRY.values()
        if la.label is not None and la.label_zooms[0] <= zoom <= la.label_zooms[1]
        and la.visibility <= level and la.fields_by_name[la.label].visibility <= level
        and not (scope is not None and scope.limits_rows(la))
    ), key=lambda la: (la.label_zooms[0], -(la.geometry_type.dimension if la.geometry_type
                                             else 0)))  # fmt: skip


def _layer_labels(layer: Layer) -> sql.Composed:
    text = sql.Identifier(layer.label or "")
    table = sql.Identifier(layer.name)
    in_view = sql.SQL("ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) "
                      "AND {t} IS NOT NULL AND {t} <> ''").format(t=text)  # fmt: skip
    if layer.geometry_type is not None and layer.geometry_type.dimension == 1:
        inner = sql.SQL(
            "SELECT DISTINCT ON ({t}) {t} AS text, "
            "ST_LineInterpolatePoint(ST_GeometryN(geom, 1), 0.5) AS place, "
            "ST_Length(geom::geography) AS weight FROM {table} WHERE {in_view} "
            "ORDER BY {t}, ST_Length(geom::geography) DESC"
        )
    else:
        inner = sql.SQL(
            "SELECT {t} AS text, ST_PointOnSurface(geom) AS place, "
            "ST_Area(geom) * {m2} * cos(radians((ST_YMin(geom) + ST_YMax(geom)) / 2)) AS weight "
            "FROM {table} WHERE {in_view}"
        )
    return sql.SQL(
        "(SELECT {name} AS layer, l.text, ST_AsGeoJSON(l.place, 6) AS place, l.weight "
        "FROM ({inner}) l ORDER BY l.weight DESC LIMIT {limit})"
    ).format(
        name=sql.Literal(layer.name), limit=sql.Literal(MAX_PER_LAYER),
        inner=inner.format(t=text, table=table, in_view=in_view, m2=_M2),
    )  # fmt: skip


def labels_sql(layers: list[Layer], bbox: Bbox) -> Compiled:
    """Rows (layer, text, GeoJSON point, weight) for ``layers`` in ``bbox`` (lon/lat)."""
    if not layers:
        return Compiled(sql.SQL("SELECT NULL, NULL, NULL, NULL WHERE FALSE"))
    return Compiled(
        sql.SQL(" UNION ALL ").join(_layer_labels(layer) for layer in layers),
        [value for _ in layers for value in bbox],
    )
