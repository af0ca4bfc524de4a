import json

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from layers import Visibility, get_layer
from spatial import crs as crs_mod
from spatial import gcj02
from spatial.features import DENSIFY_SEGMENTS, FeatureQuery, count_sql, densify_step

GEOD = Geod(ellps="WGS84")


def to_wgs84(crs: crs_mod.Crs, coords: np.ndarray) -> np.ndarray:
    """Independent inverse of each output CRS, with pyproj (not PostGIS)."""
    if crs.flip:
        coords = coords[:, ::-1]
    if crs.shift == "gcj02":
        return np.column_stack(gcj02.gcj02_to_wgs84(coords[:, 0], coords[:, 1]))
    if crs.shift == "bd09":
        g = gcj02.bd09_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack(gcj02.gcj02_to_wgs84(*g))
    if crs.srid in (4326, 4490):
        return coords
    back = Transformer.from_crs(crs.srid, 4326, always_xy=True)
    return np.column_stack(back.transform(coords[:, 0], coords[:, 1]))


@pytest.mark.parametrize("crs", crs_mod.SUPPORTED, ids=lambda c: c.uri.rsplit("/", 1)[-1])
def test_every_crs_round_trips_within_a_metre(client, conn, crs):
    response = client.get("/collections/buildings/items/7", params={"crs": crs.uri})
    assert response.status_code == 200
    assert response.headers["content-crs"] == f"<{crs.uri}>"
    got = np.array(response.json()["geometry"]["coordinates"][0])
    truth = shapely.from_wkt(
        conn.execute("SELECT ST_AsText(geom) FROM buildings WHERE id = 7").fetchone()[0]
    )
    expected = shapely.get_coordinates(truth)
    back = to_wgs84(crs, got)
    distances = GEOD.inv(back[:, 0], back[:, 1], expected[:, 0], expected[:, 1])[2]
    assert np.max(np.abs(distances)) < 1.0


def test_projected_output_is_in_metres_with_northing_first(client):
    feature = client.get("/collections/buildings/items/7", params={"crs": "EPSG:4548"}).json()
    north, east = feature["geometry"]["coordinates"][0][0]
    assert 4_300_000 < north < 4_600_000 and 300_000 < east < 600_000


def test_unsupported_crs_is_400_listing_the_supported(client):
    response = client.get("/collections/buildings/items", params={"crs": "EPSG:2000"})
    assert response.status_code == 400
    assert "EPSG/0/4548" in response.json()["detail"]


def test_bbox_crs_in_gauss_kruger_metres(client, conn):
    e1, n1, e2, n2 = 445_000, 4_415_000, 452_000, 4_422_000
    body = client.get(
        "/collections/buildings/items",
        params={"bbox": f"{n1},{e1},{n2},{e2}", "bbox-crs": "EPSG:4548", "limit": 1},
    ).json()
    expected = conn.execute(
        "SELECT count(*) FROM buildings WHERE ST_Intersects(geom, "
        "ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, 4548), 50), 4326))",
        (e1, n1, e2, n2),
    ).fetchone()[0]
    assert body["numberMatched"] == expected > 0


def test_bbox_crs_in_gcj02_finds_the_building_under_it(client, conn):
    lon, lat = conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM buildings WHERE id = 11) s"
    ).fetchone()
    g_lon, g_lat = gcj02.wgs84_to_gcj02(lon, lat)
    box = f"{g_lon - 0.0001},{g_lat - 0.0001},{g_lon + 0.0001},{g_lat + 0.0001}"
    body = client.get(
        "/collections/buildings/items", params={"bbox": box, "bbox-crs": crs_mod.GCJ02}
    ).json()
    assert 11 in [f["id"] for f in body["features"]]
    plain = client.get("/collections/buildings/items", params={"bbox": box}).json()
    assert 11 not in [f["id"] for f in plain["features"]]  # 500 m off without the shift


@pytest.mark.parametrize("bbox_crs", ["CRS84", "EPSG:4548", "EPSG:3857", "GCJ-02"])
def test_bbox_query_can_use_the_gist_index(conn, bbox_crs):
    crs = crs_mod.parse(bbox_crs)
    box = {
        "CRS84": (116.3, 39.8, 116.4, 39.9),
        "EPSG:4548": (4_415_000, 445_000, 4_422_000, 452_000),
        "EPSG:3857": (12_950_000, 4_840_000, 12_960_000, 4_850_000),
        "GCJ-02": (116.3, 39.8, 116.4, 39.9),
    }[bbox_crs]
    q = FeatureQuery(
        layer=get_layer("buildings"), level=Visibility.PUBLIC, bbox=box, bbox_crs=crs, limit=10
    )
    statement = count_sql(q)
    conn.execute("SET LOCAL enable_seqscan = off")
    plan = conn.execute(
        b"EXPLAIN (FORMAT JSON) " + statement.sql.as_bytes(conn), statement.params
    ).fetchone()[0]
    assert "idx_buildings_geom" in json.dumps(plan)


def _in_crs(crs: crs_mod.Crs, lon: float, lat: float) -> tuple[float, float]:
    """A point of the city in ``crs``'s own axis order (pyproj and the shift formulas)."""
    if crs.shift == "gcj02":
        x, y = gcj02.wgs84_to_gcj02(lon, lat)
    elif crs.shift == "bd09":
        x, y = gcj02.gcj02_to_bd09(*gcj02.wgs84_to_gcj02(lon, lat))
    elif crs.srid in (4326, 4490):
        x, y = lon, lat
    else:
        x, y = Transformer.from_crs(4326, crs.srid, always_xy=True).transform(lon, lat)
    return (float(y), float(x)) if crs.flip else (float(x), float(y))


@pytest.mark.parametrize("crs", crs_mod.SUPPORTED, ids=lambda c: c.uri.rsplit("/", 1)[-1])
def test_a_box_of_no_width_or_height_is_still_a_box(client, conn, crs):
    """A point or a line as ``bbox``, in every CRS: the features on it, never a 500.

    Such a box was a 500 in every CRS but CRS84 (GEOS refused the collapsed polygon; for
    GCJ-02 and BD-09 in Python, for the others in PostGIS), and found nothing in CRS84.
    """
    lon, lat = conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM estates "
        "ORDER BY id LIMIT 1) s"
    ).fetchone()
    a, b = _in_crs(crs, lon, lat)
    for box in ((a, b, a, b), (a, b, a, b + abs(b) * 1e-6), (a, b, a + abs(a) * 1e-6, b)):
        response = client.get(
            "/collections/estates/items",
            params={"bbox": ",".join(map(repr, box)), "bbox-crs": crs.uri, "limit": 5},
        )
        assert response.status_code == 200, (box, response.text[:300])
    assert response.json()["numberMatched"] >= 1  # a line across the estate meets it


@pytest.mark.parametrize(
    "crs", [c for c in crs_mod.SUPPORTED if c.in_sql and c.srid not in (4326, 4490)],
    ids=lambda c: c.uri.rsplit("/", 1)[-1],
)  # fmt: skip
def test_a_box_as_large_as_its_crs_allows_is_cut_into_few_segments(client, conn, crs):
    """The whole extent of a projected CRS as ``bbox``: every estate, from a box of at most
    ~1,000 vertices (it was 150,000 at 50 m a segment: 6 s of CPU for one count)."""
    xmin, ymin, xmax, ymax = crs.extent  # x = east
    box = (ymin, xmin, ymax, xmax) if crs.flip else (xmin, ymin, xmax, ymax)
    response = client.get(
        "/collections/estates/items",
        params={"bbox": ",".join(map(repr, box)), "bbox-crs": crs.uri, "limit": 1},
    )
    assert response.status_code == 200, response.text[:300]
    everything = conn.execute("SELECT count(*) FROM estates").fetchone()[0]
    assert response.json()["numberMatched"] == everything
    vertices = conn.execute(
        "SELECT ST_NPoints(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s))",
        (xmin, ymin, xmax, ymax, crs.srid, densify_step(box, crs.srid)),
    ).fetchone()[0]
    assert vertices <= 4 * DENSIFY_SEGMENTS + 5
