"""Ingest: bad files are reported row by row and change nothing; CLI and HTTP."""

import io
import json
import os
import time
import zipfile

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely

from api import accounts
from ingest_support import INPUTS, run, state, truth, write_vector
from layers import Role
from layers.errors import InvalidInput
from tests_support import (
    ADMIN_TOKEN,
    CITY,
    LocalClient,
    admin_app,
    finished_job,
    local_get,
    run_onemap,
)

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


def test_a_replace_waits_for_writers_and_leaves_only_its_file(scratch_database):
    """Two replaces at once left both files' rows (each deleted only what it could see)."""
    import threading

    url = scratch_database("onemap_replace_race", CITY)
    first = psycopg.connect(url)  # another writer, between its rows and its commit
    first.execute(
        "INSERT INTO service_facilities (name_zh, kind, geom) "
        "VALUES ('先写的', 'elder_care', ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326))"
    )
    outcome: dict[str, object] = {}

    def replace() -> None:
        try:
            outcome["report"] = run(url, INPUTS / "service_facilities.geojson",
                                    "service_facilities", mode="replace")  # fmt: skip
        except Exception as exc:  # noqa: BLE001  # reported below, with what it was
            outcome["error"] = exc

    waiting = threading.Thread(target=replace)
    waiting.start()
    waiting.join(timeout=2)
    assert waiting.is_alive(), outcome  # the replace waits for the other writer
    first.commit()
    first.close()
    waiting.join(timeout=60)
    assert "error" not in outcome and outcome["report"].ok, outcome
    with psycopg.connect(url) as conn:
        names = {r[0] for r in conn.execute("SELECT name_zh FROM service_facilities")}
        count = conn.execute("SELECT count(*) FROM service_facilities").fetchone()[0]
    assert "先写的" not in names and count == outcome["report"].inserted


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
    env = {"ONEMAP_DATABASE_URL": ingest_url}
    bad = run_onemap(
        "ingest", str(INPUTS / "broken_bad_geometry.geojson"), "--layer", "idle_parcels",
        "--report", str(tmp_path / "r.json"), env=env,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "row 1, geometry: invalid geometry" in bad.stderr and "Traceback" not in bad.stderr
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False
    good = run_onemap(
        "ingest", str(INPUTS / "service_facilities.geojson"), "--layer", "service_facilities",
        "--dry-run", env=env,
    )  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert "dry run: valid" in good.stdout


def _path_kinds(tmp_path):
    """Paths that are not a readable file, each as a user may name one; what they are told."""
    loop = tmp_path / "loop.geojson"
    loop.symlink_to(tmp_path / "loop2.geojson")
    (tmp_path / "loop2.geojson").symlink_to(loop)
    dangling = tmp_path / "gone.geojson"
    dangling.symlink_to(tmp_path / "never-there.geojson")
    device = tmp_path / "zero.geojson"
    device.symlink_to("/dev/zero")  # endless: read, it would fill the memory
    pipe = tmp_path / "pipe.geojson"
    os.mkfifo(pipe)  # read, it would wait for a writer for ever
    folder = tmp_path / "folder.geojson"
    folder.mkdir()
    return [
        (tmp_path / "missing.geojson", "does not exist"),
        (loop, "leads nowhere"),
        (dangling, "leads nowhere"),
        (device, "not a regular file"),
        (pipe, "not a regular file"),
        (folder, "is a folder"),
    ]


def test_paths_that_are_not_files_get_one_line_and_change_nothing(ingest_url, tmp_path):
    """Every input file a command reads: the source, the mapping, a holiday arrangement."""
    before = state(ingest_url, "service_facilities")
    env = {"ONEMAP_DATABASE_URL": ingest_url}
    good = str(INPUTS / "service_facilities.geojson")
    for path, message in _path_kinds(tmp_path):
        for args in (
            ["ingest", str(path), "--layer", "service_facilities"],
            ["ingest", good, "--layer", "service_facilities", "--mapping", str(path)],
            ["holidays", "load", str(path)],
        ):
            result = run_onemap(*args, env=env, timeout=60)
            assert result.returncode == 1, (args, result.stderr)
            assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert state(ingest_url, "service_facilities") == before


def test_http_import_runs_as_a_job_with_a_report(ingest_url):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from database.settings import DatabaseSettings

    app = admin_app(ingest_url)
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
        job = finished_job(client, status_url, headers)
        assert job["state"] == "done", job
        assert job["result"]["committed"] and job["result"]["inserted"] == 40
        assert job["progress"]["total"] == 40
    assert state(ingest_url, "service_facilities")[0] == before + 40
    # Jobs are kept in the database: another worker (another process's memory) answers the
    # same status URL, and a job whose server died is reported failed, not running forever.
    with psycopg.connect(ingest_url, autocommit=True) as conn:
        abandoned = conn.execute(
            "INSERT INTO jobs (id, kind, owner, state, updated_at) VALUES "
            "(gen_random_uuid(), 'import', 'admin', 'running', now() - interval '2 minutes') "
            "RETURNING replace(id::text, '-', '')"
        ).fetchone()[0]
    other_worker = admin_app(ingest_url)
    with TestClient(other_worker) as other:
        assert other.get(status_url, headers=headers).json() == job
        assert other.get(status_url).status_code == 401
        for missing in ("not-a-job", "0" * 32):
            assert other.get(f"/imports/{missing}", headers=headers).status_code == 404
        stopped = other.get(f"/imports/{abandoned}", headers=headers).json()
        assert stopped["state"] == "failed" and "stopped" in stopped["error"]
    with psycopg.connect(ingest_url) as conn:
        street = conn.execute("SELECT code FROM streets LIMIT 1").fetchone()[0]
        token = accounts.add_user(conn, "street-planner", Role.RESPONSIBLE_PLANNER, [street])
    with TestClient(create_app(DatabaseSettings(database_url=ingest_url))) as client:
        response = client.post(
            "/collections/service_facilities/imports",
            files={"file": ("x.geojson", b"{}", "application/json")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403  # imports are city-wide: not for a street's planner


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


def test_an_import_is_followed_from_any_worker(live_server):
    """The live server runs two workers; every status poll may land on either of them."""

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with LocalClient(base_url=live_server, headers=headers, timeout=30) as client:
        started = client.post(
            "/collections/service_facilities/imports",
            files={"file": ("s.geojson", (INPUTS / "service_facilities.geojson").read_bytes())},
            data={"dry_run": "true"},
        )
        assert started.status_code == 202, started.text
        states = []
        for _ in range(100):
            # A new connection each time: the kernel hands it to either worker.
            job = local_get(started.headers["location"], headers=headers, timeout=30)
            assert job.status_code == 200, job.text
            states.append(job.json()["state"])
            if states[-1] == "done" and len(states) >= 10:
                break
            time.sleep(0.05)
    assert states[-1] == "done", states
    assert job.json()["result"]["dry_run"] and job.json()["result"]["ok"], job.json()


def _feature_collection(*features: tuple[dict | None, dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": p} for g, p in features
    ]})  # fmt: skip


def _zipped_shapefile(without: str = "", prj: bytes | None = None) -> bytes:
    """The department's zipped Shapefile, with a part left out or its .prj replaced."""
    source = zipfile.ZipFile(INPUTS / "pipelines_4548_gbk.zip")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in source.namelist():
            if not name.endswith(without or "\0"):
                data = prj if prj is not None and name.endswith(".prj") else source.read(name)
                z.writestr(name, data)
    return out.getvalue()


_BOWTIE = {"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.401, 39.901], [116.401, 39.9],
                                               [116.4, 39.901], [116.4, 39.9]]]}  # fmt: skip
_SHED = {"kind": "coal_shed"}
COMBINED_DEFECTS = {  # file name: (content, what the refusal names)
    "missing-column-and-bowtie.geojson": (_feature_collection((_BOWTIE, {"x": 1})), "kind"),
    "two-position-ring.geojson": (_feature_collection(
        ({"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.401, 39.9]]]}, _SHED)),
        "row 1, geometry"),
    "unclosed-ring.geojson": (_feature_collection(({"type": "Polygon", "coordinates": [[
        [116.4, 39.9], [116.401, 39.9], [116.401, 39.901], [116.4, 39.901]]]}, _SHED)),
        "row 1, geometry"),
    "every-geometry-null.geojson": (_feature_collection((None, _SHED), (None, _SHED)),
                                    "2 × geometry: geometry is missing or cannot be read"),
    "every-row-invalid.geojson": (_feature_collection((_BOWTIE, {"kind": "palace"}),
                                                      (_BOWTIE, {"kind": "palace"})),
                                  "2 × kind: … is not one of bike_shed"),
    "nul-bytes.geojson": ('{"type":"FeatureCollection","features":[\x00\x00]}', "cannot read"),
    "zip-named-geojson.geojson": ("PK\x03\x04 not a zip", "not GeoJSON"),
    "mixed-types.geojson": (_feature_collection(({"type": "Point", "coordinates": [116.4, 39.9]},
                                                 _SHED), (_BOWTIE, _SHED)),
                            "row 1, geometry: a Point cannot go into a Polygon layer"),
    "geojson-named.csv": (_feature_collection((_BOWTIE, _SHED)), "not CSV (it looks like JSON"),
    "no-shx.zip": (_zipped_shapefile(without=".shx"), "has no .shx file"),
    "no-dbf.zip": (_zipped_shapefile(without=".dbf"), "has no .dbf file"),
    "damaged-prj.zip": (_zipped_shapefile(prj=b'{"type": "x'), "names no CRS"),
    "truncated.zip": (_zipped_shapefile()[:2000], "not a readable zip file"),
    "empty.geojson": ('{"type": "FeatureCollection", "features": []}', "has no features"),
}  # fmt: skip


@pytest.mark.parametrize("name", COMBINED_DEFECTS)
def test_files_with_several_defects_are_refused_by_name(ingest_url, tmp_path, name):
    """Two defects at once ended in tracebacks (KeyError 'geom', GEOSException, numpy)."""
    content, named = COMBINED_DEFECTS[name]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = state(ingest_url, "idle_parcels")
    result = run_onemap("ingest", str(path), "--layer", "idle_parcels",
                        env={"ONEMAP_DATABASE_URL": ingest_url})  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert named in said, said[-500:]
    if "×" in named:  # a kind of problem on several rows: which rows
        assert "rows 1, 2" in said, said[-500:]
    assert state(ingest_url, "idle_parcels") == before
