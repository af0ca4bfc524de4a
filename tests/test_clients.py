"""Real GIS clients against ``onemap serve``: GDAL's OAPIF and MVT drivers and OWSLib."""

import os
import subprocess

import httpx
import pyogrio
import pytest
from owslib.ogcapi.features import Features

from layers import REGISTRY, Visibility
from spatial.tiles import lonlat_to_tile
from tests_support import ADMIN_HEADER

pytestmark = pytest.mark.e2e

PUBLIC = [n for n, layer in REGISTRY.items() if layer.visibility is Visibility.PUBLIC]


def gdal(*args: str, admin: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if admin:
        env["GDAL_HTTP_HEADERS"] = ADMIN_HEADER
    return subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=300)


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
    response = httpx.get(
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
    response = httpx.get(
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
