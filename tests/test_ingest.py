"""Ingest: every format and CRS lands within a metre of the truth; bad files change nothing."""

import json
import subprocess
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from api import database
from data_samples.loader import load_city
from ingest import pipeline
from layers.errors import InvalidInput
from spatial import gcj02
from tests_support import ADMIN_TOKEN, ONEMAP, clean_env

INPUTS = Path(__file__).resolve().parent.parent / "data_samples" / "inputs"


@pytest.fixture(scope="module")
def ingest_url(fresh_database, sample_city):
    url = fresh_database("onemap_ingest")
    database.migrate(url)
    load_city(url, sample_city)
    return url


def state(url, layer):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '' ORDER BY id), '')) "
            f"FROM {layer} t"
        ).fetchone()


def run(url, path, layer, **options):
    return pipeline.run(url, Path(path), pipeline.Options(layer=layer, **options))


def truth(url, layer, n=8):
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT ST_AsBinary(geom) FROM {layer} ORDER BY id LIMIT {n}")
        return shapely.from_wkb([bytes(r[0]) for r in rows])


def project(geoms, epsg):
    t = Transformer.from_crs(4326, epsg, always_xy=True)
    return shapely.transform(geoms, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def shift(geoms, to):
    def move(c):
        lon, lat = gcj02.wgs84_to_gcj02(c[:, 0], c[:, 1])
        if to == "bd09":
            lon, lat = gcj02.gcj02_to_bd09(lon, lat)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, move)


def max_error_m(url, layer, marker_field, marker, expected):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT ST_AsBinary(geom) FROM {layer} WHERE {marker_field} LIKE %s "
            f"ORDER BY {marker_field}",
            (f"{marker}%",),
        ).fetchall()
    got = shapely.from_wkb([bytes(r[0]) for r in rows])
    assert len(got) == len(expected)
    a, b = project(got, 4548), project(expected, 4548)
    return max(shapely.hausdorff_distance(x, y) for x, y in zip(a, b, strict=True))


def write_vector(frame, path, driver, **kwargs):
    pyogrio.write_dataframe(frame, path, driver=driver, **kwargs)
    return path


CASES = [  # (layer, marker field, file kind, source CRS, --crs given)
    ("service_facilities", "name_zh", "geojson", 4326, None),
    ("pipelines", "operator", "geojsonseq", 4326, None),
    ("idle_parcels", "owner_name", "shp-zip", 4548, None),
    ("idle_parcels", "owner_name", "shp-folder-no-prj", 4527, "EPSG:4527"),
    ("service_facilities", "name_zh", "gpkg", 4490, None),
    ("pipelines", "operator", "fgb", 3857, None),
    ("service_facilities", "name_zh", "kml", 4326, None),
    ("service_facilities", "name_zh", "csv-lonlat", "gcj02", "GCJ-02"),
    ("pipelines", "operator", "csv-wkt", "bd09", "BD-09"),
    ("service_facilities", "name_zh", "xlsx-xy", 4548, "EPSG:4548"),
]
SOURCE = {
    "service_facilities": "service_facilities",
    "pipelines": "pipelines",
    "idle_parcels": "buildings",
}
ATTRIBUTES = {
    "service_facilities": {"kind": "clinic"},
    "pipelines": {"network": "gas"},
    "idle_parcels": {"kind": "bike_shed"},
}


@pytest.mark.parametrize(
    ("layer", "marker_field", "kind", "source_crs", "given"), CASES, ids=[c[2] for c in CASES]
)
def test_every_format_and_crs_lands_within_a_metre(
    ingest_url, tmp_path, layer, marker_field, kind, source_crs, given
):
    expected = truth(ingest_url, SOURCE[layer])
    if source_crs in ("gcj02", "bd09"):
        geoms, crs = shift(expected, source_crs), None
    else:
        geoms, crs = (
            (expected, 4326) if source_crs == 4326 else (project(expected, source_crs), source_crs)
        )
    if layer == "idle_parcels":
        geoms = geoms  # building footprints stand in for parcels
    marker = f"case-{kind}"
    names = [f"{marker}-{i}" for i in range(len(expected))]
    frame = gpd.GeoDataFrame(
        {marker_field: names, **{k: [v] * len(names) for k, v in ATTRIBUTES[layer].items()}},
        geometry=list(geoms),
        crs=crs,
    )
    if kind == "geojson":
        path = write_vector(frame, tmp_path / "f.geojson", "GeoJSON")
    elif kind == "geojsonseq":
        path = write_vector(frame, tmp_path / "f.geojsonl", "GeoJSONSeq")
    elif kind == "shp-zip":
        write_vector(frame, tmp_path / "f.shp", "ESRI Shapefile")
        path = tmp_path / "f.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in tmp_path.glob("f.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
    elif kind == "shp-folder-no-prj":
        folder = tmp_path / "shapefile"
        folder.mkdir()
        write_vector(frame, folder / "f.shp", "ESRI Shapefile")
        (folder / "f.prj").unlink()
        path = folder
    elif kind == "gpkg":
        path = write_vector(frame, tmp_path / "f.gpkg", "GPKG")
    elif kind == "fgb":
        path = write_vector(frame, tmp_path / "f.fgb", "FlatGeobuf")
    elif kind == "kml":
        path = write_vector(frame.rename(columns={marker_field: "Name"}), tmp_path / "f.kml", "KML")
    elif kind == "csv-lonlat":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["经度"], table["纬度"] = shapely.get_x(geoms), shapely.get_y(geoms)
        path = tmp_path / "f.csv"
        table.to_csv(path, index=False)
    elif kind == "csv-wkt":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["WKT"] = shapely.to_wkt(geoms, rounding_precision=-1)
        path = tmp_path / "f.csv"
        table.to_csv(path, index=False)
    else:  # xlsx with x/y metres
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["x"], table["y"] = shapely.get_x(geoms), shapely.get_y(geoms)
        path = tmp_path / "f.xlsx"
        table.to_excel(path, index=False)
    report = run(ingest_url, path, layer, crs=given)
    assert report.committed, report.to_text()
    assert report.inserted == len(expected)
    assert max_error_m(ingest_url, layer, marker_field, marker, expected) < 1.0


def test_the_department_shapefile_with_a_mapping_file(ingest_url):
    before = state(ingest_url, "pipelines")[0]
    report = run(
        ingest_url,
        INPUTS / "pipelines_4548_gbk.zip",
        "pipelines",
        mapping=INPUTS / "pipelines_mapping.yaml",
    )
    assert report.committed and report.inserted == 300
    assert report.columns["类别"] == "network" and report.columns["材质"] == "material"
    assert state(ingest_url, "pipelines")[0] == before + 300
    with psycopg.connect(ingest_url) as conn:
        networks = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT network FROM pipelines "
                "WHERE id > (SELECT max(id) - 300 FROM pipelines)"
            )
        }
        assert networks <= {
            "water_supply",
            "gas",
            "heating",
            "power",
            "telecom",
            "drainage_sewer",
            "drainage_storm",
            "drainage_combined",
        }
        history = conn.execute(
            "SELECT action, after->>'inserted' FROM change_history "
            "WHERE layer = 'pipelines' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert history == ("ingest", "300")


def test_gbk_is_detected_without_a_cpg(ingest_url):
    report = run(
        ingest_url,
        INPUTS / "pipelines_4548_gbk_no_cpg.zip",
        "pipelines",
        mapping=INPUTS / "pipelines_mapping.yaml",
        dry_run=True,
    )
    assert report.ok and report.encoding == "gb18030"
    assert any("GB18030" in note for note in report.notes)


def test_xlsx_of_elevator_requests_in_gcj02_upserts_by_building(ingest_url):
    report = run(
        ingest_url,
        INPUTS / "elevator_requests_gcj02.xlsx",
        "elevator_retrofits",
        crs="GCJ-02",
        mode="upsert",
        key="building_id",
    )
    assert report.committed, report.to_text()
    assert report.columns["进展阶段"] == "stage"
    assert report.inserted + report.updated == report.rows_read
    with psycopg.connect(ingest_url) as conn:
        stage = conn.execute(
            "SELECT b.elevator_stage = r.stage FROM elevator_retrofits r "
            "JOIN buildings b ON b.id = r.building_id LIMIT 1"
        ).fetchone()[0]
    assert stage  # the trigger mirrored the stage onto the building


def test_a_geopackage_with_several_layers_needs_a_choice(ingest_url):
    with pytest.raises(InvalidInput, match="idle_parcels, survey_notes"):
        run(ingest_url, INPUTS / "idle_parcels_4490.gpkg", "idle_parcels")
    report = run(
        ingest_url,
        INPUTS / "idle_parcels_4490.gpkg",
        "idle_parcels",
        source_layer="idle_parcels",
        dry_run=True,
    )
    assert report.ok and report.crs == "EPSG:4490"


BROKEN = [  # (file, layer, options, what the user is told)
    ("broken_truncated.geojson", "service_facilities", {}, "cannot read"),
    ("broken_empty.geojson", "service_facilities", {}, "no features"),
    ("broken_zero_bytes.geojson", "service_facilities", {}, "0 bytes"),
    ("broken_bad_geometry.geojson", "idle_parcels", {}, "invalid geometry"),
    ("broken_huge_coordinates.geojson", "service_facilities", {}, "outside the city"),
    (
        "broken_pipelines_no_prj.zip",
        "pipelines",
        {"mapping": INPUTS / "pipelines_mapping.yaml"},
        "EPSG:4548",
    ),
    ("broken_wrong_encoding.csv", "service_facilities", {"encoding": "utf-8"}, "not in utf-8"),
    (
        "broken_elevator_requests_wrong_enum.xlsx",
        "elevator_retrofits",
        {"crs": "GCJ-02"},
        "'飞天' is not one of",
    ),
]


@pytest.mark.parametrize(
    ("name", "layer", "options", "message"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_broken_files_are_reported_and_change_nothing(ingest_url, name, layer, options, message):
    before = state(ingest_url, layer)
    try:
        report = run(ingest_url, INPUTS / name, layer, **options)
    except InvalidInput as exc:
        text = str(exc)
    else:
        assert not report.ok
        text = report.to_text()
        assert "REJECTED" in text
    assert message in text
    assert state(ingest_url, layer) == before


def test_rows_are_numbered_and_skip_invalid_loads_the_rest(ingest_url):
    path = INPUTS / "broken_elevator_requests_wrong_enum.xlsx"
    report = run(
        ingest_url,
        path,
        "elevator_retrofits",
        crs="GCJ-02",
        mode="upsert",
        key="building_id",
        skip_invalid=True,
    )
    assert report.committed
    assert [(p.row, p.field) for p in report.problems] == [(4, "stage")]
    assert report.skipped == 1 and report.inserted + report.updated == report.rows_read - 1
    assert json.loads(report.to_json())["problems"][0]["row"] == 4


def test_make_valid_repairs_when_asked(ingest_url, tmp_path):
    x, y, d = 116.40, 39.90, 0.0005  # a parcel with a spike: invalid, repairable in one piece
    ring = [
        (x, y),
        (x + 2 * d, y),
        (x + 2 * d, y + 2 * d),
        (x + d, y + 2 * d),
        (x + d, y + 3 * d),
        (x + d, y + 2 * d),
        (x, y + 2 * d),
        (x, y),
    ]
    frame = gpd.GeoDataFrame({"kind": ["coal_shed"]}, geometry=[shapely.Polygon(ring)], crs=4326)
    path = write_vector(frame, tmp_path / "spike.geojson", "GeoJSON")
    rejected = run(ingest_url, path, "idle_parcels", dry_run=True)
    assert not rejected.ok and "invalid geometry" in rejected.to_text()
    repaired = run(ingest_url, path, "idle_parcels", make_valid=True, dry_run=True)
    assert repaired.ok, repaired.to_text()
    bowtie = run(
        ingest_url,
        INPUTS / "broken_bad_geometry.geojson",
        "idle_parcels",
        make_valid=True,
        dry_run=True,
    )  # repaired into two pieces: still not a Polygon
    assert not bowtie.ok and "MultiPolygon cannot go into a Polygon layer" in bowtie.to_text()


def test_references_are_checked_in_sql_and_reject_the_file(ingest_url, tmp_path):
    before = state(ingest_url, "buildings")
    frame = gpd.GeoDataFrame(
        {
            "estate_id": [1, 999999],
            "name_zh": ["A", "B"],
            "floors": [6, 6],
            "has_elevator": [False, False],
        },
        geometry=list(truth(ingest_url, "buildings", 2)),
        crs=4326,
    )
    path = write_vector(frame, tmp_path / "b.geojson", "GeoJSON")
    report = run(ingest_url, path, "buildings")
    assert not report.ok
    assert [(p.row, p.field) for p in report.problems] == [(2, "estate_id")]
    assert state(ingest_url, "buildings") == before


def test_replace_refuses_when_other_layers_refer_to_the_rows(ingest_url, tmp_path):
    before = state(ingest_url, "estates")
    with pytest.raises(InvalidInput, match="other layers refer"):
        frame = gpd.GeoDataFrame(
            {
                "code": ["X-1"],
                "name_zh": ["新小区"],
                "district_code": ["110101"],
                "street_code": ["110101001"],
                "status": ["reserve"],
                "property_nature": ["commodity"],
            },
            geometry=[shapely.box(116.39, 39.90, 116.391, 39.901)],
            crs=4326,
        )
        run(
            ingest_url,
            write_vector(frame, tmp_path / "e.geojson", "GeoJSON"),
            "estates",
            mode="replace",
        )
    assert state(ingest_url, "estates") == before


def test_cli_ingest_prints_the_report_and_exits_non_zero_on_problems(ingest_url, tmp_path):
    env = clean_env(ONEMAP_DATABASE_URL=ingest_url)
    bad = subprocess.run(
        [
            ONEMAP,
            "ingest",
            str(INPUTS / "broken_bad_geometry.geojson"),
            "--layer",
            "idle_parcels",
            "--report",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "row 1, geometry: invalid geometry" in bad.stderr and "Traceback" not in bad.stderr
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False
    good = subprocess.run(
        [
            ONEMAP,
            "ingest",
            str(INPUTS / "service_facilities.geojson"),
            "--layer",
            "service_facilities",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert "dry run: valid" in good.stdout


def test_http_import_runs_as_a_job_with_a_report(ingest_url):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import DatabaseSettings, FeaturesSettings

    app = create_app(
        DatabaseSettings(database_url=ingest_url),
        features=FeaturesSettings(admin_token=ADMIN_TOKEN),
    )
    before = state(ingest_url, "service_facilities")[0]
    with TestClient(app) as client:
        data = (INPUTS / "service_facilities.geojson").read_bytes()
        files = {"file": ("service_facilities.geojson", data, "application/geo+json")}
        anonymous = client.post("/collections/service_facilities/imports", files=files)
        assert anonymous.status_code == 401
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        started = client.post(
            "/collections/service_facilities/imports", files=files, headers=headers
        )
        assert started.status_code == 202
        status_url = started.headers["location"]
        for _ in range(100):
            job = client.get(status_url, headers=headers).json()
            if job["state"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert job["state"] == "done", job
        assert job["result"]["committed"] and job["result"]["inserted"] == 40
        assert job["progress"]["total"] == 40
    assert state(ingest_url, "service_facilities")[0] == before + 40
    closed = create_app(DatabaseSettings(database_url=ingest_url))
    with TestClient(closed) as client:
        response = client.post(
            "/collections/service_facilities/imports",
            files={"file": ("x.geojson", b"{}", "application/json")},
        )
        assert response.status_code == 404


def test_reused_source_wkb_gives_the_same_ewkb_as_shapely():
    from ingest.load import ewkb_hex

    geoms = np.array(
        [
            shapely.LineString([(116, 39), (116.1, 39.1)]),
            shapely.Point(1, 2),
            shapely.Point(1, 2, 3),
            None,
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]),
        ],
        dtype=object,
    )
    expected = list(shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True))
    big_endian = [None if g is None else shapely.to_wkb(g, byte_order=0) for g in geoms]
    for source in (
        None,
        [None if g is None else shapely.to_wkb(g, byte_order=1) for g in geoms],
        big_endian,
    ):
        got = ewkb_hex(geoms, 4326, source)
        assert [None if h is None else h.upper() for h in got] == expected
