"""Real GIS clients against ``onemap serve``: GDAL's OAPIF and MVT drivers and OWSLib."""

import os
import subprocess

import pytest
from owslib.ogcapi.features import Features

from layers import REGISTRY, Visibility
from spatial.gdal import pyogrio
from spatial.tiles import lonlat_to_tile
from tests_support import ADMIN_HEADER, local_get

pytestmark = pytest.mark.e2e

PUBLIC = [n for n, layer in REGISTRY.items() if layer.visibility is Visibility.PUBLIC]


def gdal(*args: str, admin: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if admin:
        env["GDAL_HTTP_HEADERS"] = ADMIN_HEADER
    return subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=300)


def test_the_server_does_not_name_its_software(live_server):
    """No ``Server: uvicorn``: with the versions kept to admins (``test_access``), a scanner
    learns nothing to look up."""
    for path in ("/health", "/nowhere", "/collections/estates/items?limit=1"):
        response = local_get(f"{live_server}{path}")
        assert "server" not in response.headers, (path, response.headers)
    assert set(local_get(f"{live_server}/health").json()) == {"status", "layers"}


def test_ogrinfo_lists_every_public_layer(live_server):
    result = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server}")
    assert result.returncode == 0, result.stderr
    listed = [
        line.split(":")[1].split("(")[0].strip()
        for line in result.stdout.splitlines()
        if line[:1].isdigit()
    ]
    assert listed == PUBLIC


def test_ogrinfo_with_the_admin_token_lists_every_layer(live_server):
    result = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server}", admin=True)
    assert result.returncode == 0, result.stderr
    assert sum(line[:1].isdigit() for line in result.stdout.splitlines()) == len(REGISTRY)


def test_ogrinfo_reads_counts_and_extent_without_paging(live_server, conn):
    result = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}", "pipelines", admin=True)
    assert result.returncode == 0, result.stderr
    count = conn.execute("SELECT count(*) FROM pipelines").fetchone()[0]
    assert f"Feature Count: {count}" in result.stdout


def test_ogr2ogr_copies_a_layer_out_with_a_bbox(live_server, conn, tmp_path):
    out = tmp_path / "buildings.gpkg"
    result = gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(out),
        f"OAPIF:{live_server}",
        "buildings",
        "-spat",
        "116.3",
        "39.85",
        "116.5",
        "39.95",
        "-oo",
        "PAGE_SIZE=1000",
    )
    assert result.returncode == 0, result.stderr
    expected = conn.execute(
        "SELECT count(*) FROM buildings WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(116.3, 39.85, 116.5, 39.95, 4326))"
    ).fetchone()[0]
    info = pyogrio.read_info(out)
    assert info["features"] == expected > 0
    assert info["crs"] == "EPSG:4326"


def test_owslib_reads_collections_items_and_queryables(live_server, conn):
    api = Features(live_server)
    assert set(PUBLIC) <= set(api.feature_collections())
    items = api.collection_items("estates", limit=5, status="completed")
    assert items["numberReturned"] == 5
    assert all(f["properties"]["status"] == "completed" for f in items["features"])
    assert (
        items["numberMatched"]
        == conn.execute("SELECT count(*) FROM estates WHERE status = 'completed'").fetchone()[0]
    )
    queryables = api.collection_queryables("estates")
    assert {"status", "name_zh", "geom"} <= set(queryables["properties"])


def test_gdal_mvt_driver_opens_a_tile(live_server, conn, tmp_path):
    lon, lat = conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM estates WHERE id = 1) s"
    ).fetchone()
    x, y = lonlat_to_tile(lon, lat, 14)
    response = local_get(
        f"{live_server}/tiles/WebMercatorQuad/14/{y}/{x}",
        params={"collections": "estates,buildings"},
    )
    assert response.status_code == 200
    path = tmp_path / "tile.mvt"
    path.write_bytes(response.content)
    result = gdal(
        "ogrinfo", "-ro", "-al", "-so", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", "Z=14", str(path)
    )
    assert result.returncode == 0, result.stderr
    assert "Layer name: estates" in result.stdout and "Layer name: buildings" in result.stdout


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "geojson"])
def test_exported_files_open_in_gdal(live_server, conn, tmp_path, fmt):
    response = local_get(
        f"{live_server}/collections/roads/export",
        params={"format": fmt, "crs": "EPSG:3857"},
        timeout=120,
    )
    assert response.status_code == 200
    path = tmp_path / f"roads.{fmt}"
    path.write_bytes(response.content)
    result = gdal("ogrinfo", "-ro", "-so", "-al", str(path))
    assert result.returncode == 0, result.stderr
    count = conn.execute("SELECT count(*) FROM roads").fetchone()[0]
    assert f"Feature Count: {count}" in result.stdout
    assert 'ID["EPSG",3857]' in result.stdout


@pytest.mark.parametrize(("layer", "where", "sql", "admin"), [
    ("elevator_retrofits", "stage='in_service'", "stage = 'in_service'", False),
    ("buildings", "floors=6", "floors = 6", False),
    ("pipelines", "network='gas' AND material='grey_cast_iron'",
     "network = 'gas' AND material = 'grey_cast_iron'", True),
])  # fmt: skip
def test_ogr2ogr_where_is_answered_by_the_server(live_server, conn, tmp_path, layer, where, sql,
                                                 admin):  # fmt: skip
    """GDAL finds the layer's properties as query parameters in the API document and sends
    the filter to the server, instead of downloading every feature to filter them itself."""
    out = tmp_path / f"{layer}.geojson"
    result = gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}", layer, "-where",
                  where, "-oo", "PAGE_SIZE=1000", "--debug", "on", admin=admin)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "evaluated on client side" not in result.stderr
    fetched = [line for line in result.stderr.splitlines() if "/items?" in line]
    first = sql.split(" = ")[0]
    # The first page is GDAL reading the layer's schema; every page of the copy is filtered.
    assert len(fetched) >= 2 and all(f"{first}=" in line for line in fetched[1:]), fetched[:3]
    expected = conn.execute(f"SELECT count(*) FROM {layer} WHERE {sql}").fetchone()[0]
    assert pyogrio.read_info(out)["features"] == expected > 0


def test_the_api_document_names_only_what_the_caller_sees(live_server):
    public = local_get(f"{live_server}/api").json()
    assert "/collections/buildings/items" in public["paths"]
    assert "/collections/pipelines/items" not in public["paths"]  # an internal layer
    names = {p.get("name") for p in public["paths"]["/collections/buildings/items"]["get"]
             ["parameters"]}  # fmt: skip
    assert "floors" in names and "households" not in names  # households is internal
    headers = dict([ADMIN_HEADER.split(": ", 1)])
    planner = local_get(f"{live_server}/api", headers=headers).json()
    assert "/collections/pipelines/items" in planner["paths"]
    typed = local_get(f"{live_server}/api")
    assert typed.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.1"
    assert public["openapi"].startswith("3.1")
    landing = local_get(live_server).json()
    desc = next(link for link in landing["links"] if link["rel"] == "service-desc")
    assert desc["type"] == typed.headers["content-type"]
    sortables = local_get(f"{live_server}/collections/buildings/sortables").json()
    assert "floors" in sortables["properties"] and "households" not in sortables["properties"]
