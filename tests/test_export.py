import csv
import io
import json

import pytest

from spatial.gdal import pyogrio
from tests_support import run_onemap

FORMATS = ["geojson", "geojsonseq", "csv", "gpkg", "fgb"]


def scalar(conn, query, *params):
    return conn.execute(query, params).fetchone()[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_opens_in_gdal_with_crs_and_count(client, conn, tmp_path, fmt):
    response = client.get(
        "/collections/buildings/export",
        params={"format": fmt, "crs": "EPSG:4548", "filter": "floors >= 6"},
    )
    assert response.status_code == 200, response.text[:300]
    assert "attachment" in response.headers["content-disposition"]
    path = tmp_path / f"out.{ {'geojsonseq': 'geojsons'}.get(fmt, fmt) }"
    path.write_bytes(response.content)
    expected = scalar(conn, "SELECT count(*) FROM buildings WHERE floors >= 6")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == expected
        first_x = float(rows[0]["wkt"].removeprefix("POLYGON ((").split()[0])
        assert 300_000 < first_x < 600_000  # x = easting comes first
        return
    info = pyogrio.read_info(path)
    assert info["features"] == expected
    if fmt != "geojsonseq":  # a text sequence carries no CRS member
        assert info["crs"] == "EPSG:4548"
    bounds = pyogrio.read_bounds(path)[1]
    assert 300_000 < bounds[0].min() < 600_000  # eastings, not northings


def test_geojson_export_matches_the_layer(client, conn):
    body = client.get("/collections/estates/export").json()
    assert len(body["features"]) == scalar(conn, "SELECT count(*) FROM estates")
    assert "crs" not in body  # CRS84 is the RFC 7946 default


def test_geojsonseq_records_are_rfc8142(client):
    text = client.get("/collections/districts/export?format=geojsonseq").text
    records = [r for r in text.split("\x1e") if r]
    assert len(records) == 16
    assert all(r.endswith("\n") and json.loads(r)["type"] == "Feature" for r in records)


def test_gcj02_is_refused_for_file_formats_but_served_as_geojson(client):
    bad = client.get("/collections/districts/export", params={"format": "gpkg", "crs": "GCJ-02"})
    assert bad.status_code == 400 and "GCJ-02" in bad.json()["detail"]
    good = client.get("/collections/districts/export", params={"crs": "GCJ-02"})
    assert good.status_code == 200 and len(good.json()["features"]) == 16


def test_unknown_format_and_private_layers(client, admin):
    assert client.get("/collections/estates/export?format=shp").status_code == 400
    assert client.get("/collections/pipelines/export").status_code == 404
    assert admin.get("/collections/pipelines/export?format=csv").status_code == 200


def test_cli_export_with_bbox_filter_and_crs(db_url, tmp_path, conn):
    out = tmp_path / "pipes.gpkg"
    result = run_onemap(
        "export", "pipelines", "-o", str(out), "--bbox", "116.3,39.8,116.5,40.0",
        "--filter", "network = 'gas'", "--crs", "EPSG:4527",
        env={"ONEMAP_DATABASE_URL": db_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = scalar(
        conn,
        "SELECT count(*) FROM pipelines WHERE network = 'gas' AND "
        "ST_Intersects(geom, ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326))",
    )
    info = pyogrio.read_info(out)
    assert info["features"] == expected > 0 and info["crs"] == "EPSG:4527"
    assert f"wrote {expected:,} features" in result.stderr


def test_cli_export_checks_its_box_as_the_api_does(db_url, tmp_path, conn):
    """A point box in Gauss-Kruger metres finds the estate under it (it was GEOS's error), and
    a box outside the CRS's extent is a one-line refusal (it was PROJ's)."""
    estate, north, east = conn.execute(
        "SELECT id, ST_Y(p), ST_X(p) FROM (SELECT id, ST_Transform(ST_PointOnSurface(geom), "
        "4548) p FROM estates ORDER BY id LIMIT 1) s"
    ).fetchone()
    env = {"ONEMAP_DATABASE_URL": db_url}
    out = tmp_path / "point.geojson"
    point = f"{north},{east},{north},{east}"
    result = run_onemap("export", "estates", "-o", str(out), "--bbox", point,
                        "--bbox-crs", "EPSG:4548", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert estate in [f["id"] for f in json.loads(out.read_text())["features"]]
    outside = run_onemap("export", "estates", "-o", str(tmp_path / "no.geojson"), "--bbox",
                         "1e300,1e300,2e300,2e300", "--bbox-crs", "EPSG:4548", env=env)  # fmt: skip
    assert outside.returncode != 0 and "bbox: outside the extent" in outside.stderr
    assert "Traceback" not in outside.stderr and not (tmp_path / "no.geojson").exists()


def test_whole_layer_exports_survive_backslashes_quotes_and_control_characters(conn):
    """Unfiltered GeoJSON exports go through COPY, whose text format escapes backslashes."""
    from layers import Visibility, get_layer
    from spatial import export
    from spatial.features import FeatureQuery

    tricky = 'C:\\path "quoted" \\n\nnew line\ttab \\\\ end'
    conn.execute("UPDATE estates SET address = %s WHERE id = 2", (tricky,))
    q = FeatureQuery(layer=get_layer("estates"), level=Visibility.PRIVATE)
    collection = json.loads(b"".join(export.iter_geojson(conn, q)))
    by_id = {f["id"]: f for f in collection["features"]}
    assert by_id[2]["properties"]["address"] == tricky
    records = b"".join(export.iter_geojsonseq(conn, q)).split(b"\x1e")[1:]
    assert json.loads(records[1])["properties"]["address"] == tricky
