"""The attack pass as a standing suite: each class of finding, with variants, on a real server.

An anonymous caller, a planner and a responsible planner try what an attacker of a city's
GIS would: deep filters, non-finite numbers, hostile files, oversized and slow requests,
forged cross-site writes, writes outside their streets. Nothing may crash the app or
PostgreSQL, read the server's files, answer 5xx, or show or change what is not theirs.
These run on the writable database (``edits_url``) against one single-worker ``onemap
serve``, so that a crash is seen as a dead process, not a dead test run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest

from api import accounts
from layers import Role
from spatial.spreadsheet import spreadsheet_safe
from tests_support import (
    ADMIN_TOKEN,
    LocalClient,
    finished_job,
    local_get,
    local_post,
    local_stream,
    serve,
)

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEEP = 3_000  # each of these crashed the parser (and the process) before


@pytest.fixture(scope="module")
def world(edits_url) -> dict:
    """Users of each role and the rows the attacks aim at."""
    with psycopg.connect(edits_url, autocommit=True) as conn:
        street, district = conn.execute(
            "SELECT street_code, district_code FROM estates GROUP BY 1, 2 "
            "ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        tokens = {
            "planner": accounts.add_user(conn, "attack-planner", Role.PLANNER, []),
            "responsible": accounts.add_user(
                conn, "attack-responsible", Role.RESPONSIBLE_PLANNER, [street]
            ),
        }
        other_estate = conn.execute(
            "SELECT id FROM estates WHERE street_code <> %s LIMIT 1", (street,)
        ).fetchone()[0]
        other_project = conn.execute(
            "SELECT id FROM projects WHERE district_code <> %s LIMIT 1", (district,)
        ).fetchone()[0]
        own_project = conn.execute(
            "SELECT id FROM projects WHERE street_code = %s LIMIT 1", (street,)
        ).fetchone()
        building = conn.execute(
            "SELECT b.id FROM buildings b JOIN estates e ON e.id = b.estate_id "
            "WHERE e.street_code = %s ORDER BY b.id LIMIT 1",
            (street,),
        ).fetchone()[0]
        started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    return {
        "street": street, "district": district, "other_estate": other_estate,
        "other_project": other_project, "own_project": own_project[0] if own_project else None,
        "building": building, "pg_started": started,
        "planner": {"Authorization": f"Bearer {tokens['planner']}"},
        "responsible": {"Authorization": f"Bearer {tokens['responsible']}"},
        "responsible_token": tokens["responsible"],
        "planner_token": tokens["planner"],
    }  # fmt: skip


@pytest.fixture(scope="module")
def server_tmp():
    """The server's own temporary folder: other test workers' imports leave theirs in /tmp."""
    folder = Path(tempfile.mkdtemp(prefix="onemap-attacks-"))
    folder.chmod(0o1777)  # the server may run as nobody
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server(edits_url, world, tmp_path_factory, server_tmp):
    """One worker, short timeouts: (base URL, pid). Its log is kept for a failing test."""
    env = {"ONEMAP_HEADER_TIMEOUT_S": "1", "ONEMAP_BODY_TIMEOUT_S": "1",
           "ONEMAP_MAX_IMPORT_FEATURES": "5000", "ONEMAP_MAX_UNPACKED_BYTES": str(4 << 20),
           "ONEMAP_MAX_UPLOAD_BYTES": str(2 << 20), "TMPDIR": str(server_tmp)}  # fmt: skip
    log_path = tmp_path_factory.mktemp("attacks") / "server.log"
    with log_path.open("wb") as log, serve(edits_url, workers=1, env=env, log=log) as (base, pid):
        yield base, pid


@pytest.fixture(scope="module")
def http(server):
    base, _ = server
    with LocalClient(base_url=base, timeout=30) as client:
        yield client


def alive(server) -> bool:
    _, pid = server
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return local_get(f"{server[0]}/health", timeout=5).status_code == 200


def is_problem(response: httpx.Response, status: int, *words: str) -> dict:
    """One error shape: problem+json with a /problems/ type, a title and a detail."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    assert body["type"].startswith("/problems/"), body
    text = response.text.lower()
    for word in words:
        assert word.lower() in text, (word, body)
    for leak in ("traceback", "psycopg", "bigint", "sqlstate", "/etc/", "out of range for type"):
        assert leak not in text, (leak, body)
    return body


# -- 1. filters: depth and size bounded before any parser recursion ------------------------

DEEP_FILTERS = {
    "brackets": "(" * DEEP + "floors = 1" + ")" * DEEP,
    "not-chain": "NOT " * DEEP + "floors = 1",
    "comparison-chain": "floors" + " = floors" * DEEP,
    "like-chain": "name_zh" + " LIKE 'a'" * DEEP,
    "signs": "floors = " + "-" * DEEP + "1",
    "or-chain": " OR ".join(["floors = 1"] * DEEP),
    "too-long": "name_zh = '" + "x" * 20_000 + "'",
}
JSON_DEEP = 1_000  # a longer query string is refused by the client library itself
DEEP_JSON = {
    "json-not": '{"op":"not","args":[' * JSON_DEEP + "true" + "]}" * JSON_DEEP,
    "json-arrays": '{"op":"in","args":[{"property":"floors"},' + "[" * DEEP + "1"
    + "]" * DEEP + "]}",
    "json-nested-not": '{"op":"not","args":[' * 30 + "true" + "]}" * 30,
}  # fmt: skip


@pytest.mark.parametrize("route", ["/collections/buildings/items", "/collections/buildings/export"])
@pytest.mark.parametrize("name", [*DEEP_FILTERS, *DEEP_JSON])
def test_no_filter_crashes_the_process(server, http, route, name):
    text = DEEP_FILTERS.get(name) or DEEP_JSON[name]
    lang = "cql2-json" if name in DEEP_JSON else "cql2-text"
    response = http.get(route, params={"filter": text, "filter-lang": lang})
    is_problem(response, 400, "filter")
    assert alive(server)


# -- 2. non-finite and overflowing numbers refused with the parameter named ----------------

NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e400"]


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize(
    ("analysis", "parameter"),
    [("pipes_by_estate", "buffer_m"), ("elevator_screening", "pipe_margin_m"),
     ("elevator_screening", "shaft_width_m"), ("coverage_gaps", "walk_m"),
     ("coverage_gaps", "search_m"), ("bundles", "distance_m")],
)  # fmt: skip
def test_analyses_refuse_non_finite_numbers(server, http, world, analysis, parameter, value):
    response = http.get(f"/analyses/{analysis}",
                        params={"street": world["street"], parameter: value},
                        headers=world["responsible"])  # fmt: skip
    is_problem(response, 400, parameter)
    assert alive(server)


@pytest.mark.parametrize("prices", ["gas=nan", "gas=inf", "heating=-1", "gas=1e400"])
def test_unit_prices_refuse_non_finite_numbers(http, world, prices):
    response = http.get("/analyses/elevator_screening",
                        params={"street": world["street"], "unit_prices": prices},
                        headers=world["planner"])  # fmt: skip
    is_problem(response, 400, "unit_prices")


@pytest.mark.parametrize(
    ("params", "words"),
    [({"bbox": "nan,39,117,40"}, "bbox"), ({"bbox": "116,39,inf,40"}, "bbox"),
     ({"filter": "S_INTERSECTS(geom, POINT(1e300 1e300))"}, "character"),
     ({"filter": "S_INTERSECTS(geom, POINT(1000 39))"}, "coordinates"),
     ({"filter": '{"op":"s_intersects","args":[{"property":"geom"},'
                 '{"type":"Point","coordinates":[1e300,1e300]}]}',
       "filter-lang": "cql2-json"}, "coordinates"),
     ({"filter": "S_INTERSECTS(geom, POINT(116.4 39.9))",
       "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4548"}, "coordinates"),
     ({"filter": "S_INTERSECTS(geom, POINT(9000000000 4000000))",
       "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4548"}, "coordinates"),
     ({"filter": '{"op":"s_dwithin","args":[{"property":"geom"},'
                 '{"type":"Point","coordinates":[116.4,39.9]},1e400]}',
       "filter-lang": "cql2-json"}, "filter"),
     ({"filter": '{"op":"s_dwithin","args":[{"property":"geom"},'
                 '{"type":"Point","coordinates":[116.4,39.9]},1e300]}',
       "filter-lang": "cql2-json"}, "S_DWITHIN"),
     ({"filter": "S_DWITHIN(geom, POINT(116.4 39.9), -5)"}, "S_DWITHIN"),
     ({"bbox": "1e300,1e300,1.1e300,1.1e300",
       "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "bbox"),
     ({"filter": '{"op":"s_intersects","args":[{"property":"geom"},{"bbox":[1e999,1,2,3]}]}',
       "filter-lang": "cql2-json"}, "filter"),
     ({"filter": '{"op":">","args":[{"property":"floors"},1e999]}',
       "filter-lang": "cql2-json"}, "filter"),
     ({"filter": "floors > 99999999999999999999999"}, "floors"),
     ({"filter": "id = 99999999999999999999"}, "id"),
     ({"filter": "build_year = 1e30"}, "build_year")],
)  # fmt: skip
def test_query_numbers_must_be_finite_and_in_range(server, http, params, words):
    response = http.get("/collections/buildings/items", params=params)
    is_problem(response, 400, words)
    assert alive(server)


@pytest.mark.parametrize(
    "body",
    ['{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,39.9]},"properties":{}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,Infinity]},'
     '"properties":{}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9]},'
     '"properties":{"kind":"elder_care","floor_area_m2":1e999}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9]},'
     '"properties":{"kind":"elder_care","floor_area_m2":-Infinity}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[1000,39.9]},'
     '"properties":{"kind":"elder_care"}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[1e300,4e6]},'
     '"properties":{"kind":"elder_care"}}',
     '[' * 200 + ']' * 200],
)  # fmt: skip
def test_written_numbers_must_be_finite(server, http, edits_url, body):
    before = _count(edits_url, "service_facilities")
    # The 1e300 body is read in Gauss-Kruger metres, where it is finite but off the earth.
    crs = "<http://www.opengis.net/def/crs/EPSG/0/4548>" if "1e300" in body else "<" + CRS84 + ">"
    response = http.post("/collections/service_facilities/items", content=body,
                         headers={**ADMIN, "Content-Type": "application/geo+json",
                                  "Content-Crs": crs})  # fmt: skip
    is_problem(response, 400)
    assert _count(edits_url, "service_facilities") == before
    assert alive(server)


@pytest.mark.parametrize(
    "body",
    ['{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9]},'
     '"properties":{"kind":"elder_care","kind":"clinic"}}',  # orjson kept the last
     '{"type":"Feature","type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9]},'
     '"properties":{"kind":"clinic"}}',
     '{"type":"Feature","geometry":{"type":"Point","coordinates":[116.4,39.9],'
     '"coordinates":[117,40]},"properties":{"kind":"clinic"}}'],
)  # fmt: skip
def test_a_name_given_twice_in_a_json_object_is_refused(http, edits_url, body):
    """A proxy or a log reader may keep the first of a repeated name where OneMap kept the
    last: the same parameter pollution as ``limit=5&limit=500``, in a body."""
    before = _count(edits_url, "service_facilities")
    response = http.post("/collections/service_facilities/items", content=body,
                         headers={**ADMIN, "Content-Type": "application/geo+json"})  # fmt: skip
    is_problem(response, 400, "twice")
    assert _count(edits_url, "service_facilities") == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=b",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/collections/service_facilities/items"),
     ("put", "/collections/service_facilities/items/1"),
     ("patch", "/collections/service_facilities/items/1"),
     ("post", "/analyses/bundles/projects")],
)  # fmt: skip
def test_a_body_of_another_type_is_415_and_changes_nothing(
    http, edits_url, content_type, method, path
):
    """A feature sent as text/plain was a 400 saying "Input should be a valid dictionary"."""
    before = _count(edits_url, "service_facilities"), _count(edits_url, "projects")
    body = '{"type":"Feature","geometry":null,"properties":{"kind":"clinic"}}'
    response = http.request(method.upper(), path, content=body,
                            headers={**ADMIN, "Content-Type": content_type})  # fmt: skip
    is_problem(response, 415, "send application/")
    assert (_count(edits_url, "service_facilities"), _count(edits_url, "projects")) == before


def test_an_import_that_is_not_multipart_is_415(http):
    response = http.post("/collections/service_facilities/imports", content=b"{}",
                         headers={**ADMIN, "Content-Type": "application/json"})  # fmt: skip
    is_problem(response, 415, "multipart/form-data")


def test_a_written_integer_out_of_range_is_400_without_database_text(http, world):
    item = f"/collections/buildings/items/{world['building']}"
    for floors in (2**31, 2**63, -(2**70)):
        response = http.patch(item, json={"properties": {"floors": floors}}, headers=ADMIN)
        is_problem(response, 400, "floors")


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- 3. imports: OneMap chooses the format; nothing outside the upload is opened -----------

VRT = (b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/os-release'
       b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")  # fmt: skip
REMOTE_VRT = VRT.replace(b"CSV:/etc/os-release", b"/vsicurl/http://127.0.0.1:9/x.csv")


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "/"), data)
    return out.getvalue()


def _import(http, layer: str, name: str, data: bytes, headers: dict, **form: str) -> dict:
    response = http.post(f"/collections/{layer}/imports", files={"file": (name, data)},
                         data=form, headers=headers)  # fmt: skip
    assert response.status_code == 202, response.text[:300]
    return finished_job(http, response.headers["Location"], headers)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [("evil.geojson", VRT, "not GeoJSON"), ("evil.kml", VRT, "not KML"),
     ("evil.csv", VRT, "not CSV"), ("evil.json", b"\xef\xbb\xbf  " + VRT, "not GeoJSON"),
     ("remote.geojson", REMOTE_VRT, "not GeoJSON"), ("evil.vrt", VRT, "unknown format"),
     ("evil.gpkg", VRT, "not GeoPackage"), ("evil.shp", VRT, "not Shapefile"),
     ("evil.zip", _zip(**{"a.vrt": VRT}), "exactly one dataset"),
     ("evil.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/os-'
                  b'release">]><kml>&x;</kml>', "not KML"),
     ("noext", b'{"type":"FeatureCollection","features":[]}', "unknown format")],
)  # fmt: skip
def test_imports_open_only_what_their_name_and_bytes_agree_on(http, name, data, words):
    job = _import(http, "service_facilities", name, data, ADMIN)
    assert job["state"] == "failed", job
    text = json.dumps(job)
    assert words.lower() in text.lower()
    assert "PRETTY_NAME" not in text and "Debian" not in text  # /etc/os-release stays unread


def test_a_zip_is_unpacked_flat_and_its_other_members_left_out(http, edits_url):
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
               "properties": {"kind": "elder_care", "name_zh": "zip slip"}}  # fmt: skip
    collection = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    data = _zip(**{"..__..__slip.geojson": collection, "x.vrt": VRT})
    job = _import(http, "service_facilities", "slip.zip", data, ADMIN, dry_run="true")
    assert job["state"] == "done", job.get("error")
    assert job["result"]["rows_valid"] == 1
    assert any("x.vrt" in note for note in job["result"]["notes"])


@pytest.mark.parametrize(("name", "values"), [
    ("make_valid", ["true", "false"]),  # found by the fuzzer: answered 202
    ("dry_run", ["true", "true"]), ("mode", ["append", "upsert"]),
    ("crs", ["EPSG:4326", "EPSG:4548"]), ("mapping", ["{}", "{}"]),
])  # fmt: skip
def test_a_form_field_given_twice_is_refused_before_any_job(http, name, values):
    """Which value would count is a guess (the last, in Starlette): a 400 and no job."""
    data = b'{"type":"FeatureCollection","features":[]}'
    response = http.post("/collections/service_facilities/imports", headers=ADMIN,
                         files={"file": ("a.geojson", data)}, data={name: values})  # fmt: skip
    assert response.status_code == 400, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert name in response.json()["detail"] and "Location" not in response.headers


@pytest.mark.parametrize("first", ["api.app", "ingest.read", "spatial.export",
                                   "data_samples.generator", "geopandas"])  # fmt: skip
def test_gdal_drivers_that_read_other_files_are_not_registered(first):
    """In a fresh process, whichever module loads first, GDAL comes up without VRT, and the
    environment (which GDAL tools the process starts inherit) is as it was."""
    code = (f"import os, {first}; from spatial.gdal import pyogrio; "
            "print(sorted({'OGR_VRT', 'VRT'} & set(pyogrio.list_drivers())), "
            "os.environ.get('GDAL_SKIP'))")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).parent.parent, timeout=60)  # fmt: skip
    assert done.stdout.split() == ["[]", "None"], done.stderr


# -- 4. imports obey the field and scope rules of single writes, with history --------------


def test_a_planner_cannot_import_a_field_above_their_level(http, world, edits_url):
    before = _count(edits_url, "idle_parcels")
    rows = "lon,lat,kind,owner_name\n116.4,39.9,vacant_room,秘密单位\n"
    job = _import(http, "idle_parcels", "p.csv", rows.encode(), world["planner"])
    assert job["state"] == "failed" and "owner_name" in job["error"], job
    assert _count(edits_url, "idle_parcels") == before


def test_a_maintained_field_is_left_out_of_an_import(http, edits_url):
    with psycopg.connect(edits_url) as conn:
        estate = conn.execute("SELECT id FROM estates ORDER BY id LIMIT 1").fetchone()[0]
    square = "POLYGON((116.4 39.9,116.4001 39.9,116.4001 39.9001,116.4 39.9))"
    rows = (
        "estate_id,name_zh,floors,has_elevator,elevator_stage,wkt\n"
        f'{estate},维护字段楼,6,否,completed,"{square}"\n'
    )
    job = _import(http, "buildings", "b.csv", rows.encode(), ADMIN)
    assert job["state"] == "done", job.get("error")
    assert "elevator_stage" in job["result"]["unknown_columns"]
    with psycopg.connect(edits_url) as conn:
        stage = conn.execute(
            "SELECT elevator_stage FROM buildings WHERE name_zh = '维护字段楼'"
        ).fetchone()[0]
    assert stage != "completed"


def test_an_upsert_by_id_is_refused_before_anything_is_read(http):
    rows = b"id,kind,name_zh,lon,lat\n1,clinic,x,116.40,39.91\n"
    response = http.post("/collections/service_facilities/imports", headers=ADMIN,
                         files={"file": ("u.csv", rows)},
                         data={"mode": "upsert", "key": "id"})  # fmt: skip
    is_problem(response, 400, "unique field")


def test_an_upsert_records_each_feature_before_and_after(http, edits_url):
    with psycopg.connect(edits_url) as conn:
        fid, code, name, district, street, status, nature = conn.execute(
            "SELECT id, code, name_zh, district_code, street_code, status, property_nature "
            "FROM estates "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    square = "POLYGON((116.4 39.9,116.401 39.9,116.401 39.901,116.4 39.901,116.4 39.9))"
    rows = (
        "code,name_zh,district_code,street_code,status,property_nature,wkt\n"
        f'{code},新名字,{district},{street},{status},{nature},"{square}"\n'
        f'UPSERT-NEW-1,全新小区,{district},{street},{status},{nature},"{square}"\n'
    )
    job = _import(http, "estates", "u.csv", rows.encode(), ADMIN, mode="upsert", key="code")
    assert job["state"] == "done", job.get("error")
    counts = (job["result"]["inserted"], job["result"]["updated"])
    assert counts == (1, 1), job["result"].get("problems")
    with psycopg.connect(edits_url) as conn:
        before, after, actor = conn.execute(
            "SELECT before, after, actor FROM change_history WHERE layer = 'estates' "
            "AND feature_id = %s AND action = 'update' ORDER BY id DESC LIMIT 1",
            (fid,),
        ).fetchone()
        inserted = conn.execute(
            "SELECT count(*) FROM change_history h JOIN estates e ON e.id = h.feature_id "
            "WHERE h.layer = 'estates' AND h.action = 'insert' AND h.note = 'ingest of u.csv' "
            "AND e.code = 'UPSERT-NEW-1'"
        ).fetchone()[0]
    assert before["name_zh"] == name and after["name_zh"] == "新名字" and actor == "admin"
    assert inserted == 1


# -- 5. body limits on every route, credentials before the upload is read ------------------


@pytest.mark.parametrize(
    "path",
    ["/collections/estates/items/imports", "/collections/estates/items/1/imports", "/imports"],
)
def test_the_body_limit_holds_on_every_route(http, path):
    def chunks():
        for _ in range(40):  # 2.5 MB, chunked: no Content-Length to refuse it by
            yield b"x" * 65536

    response = http.patch(path, content=chunks(),
                          headers={**ADMIN, "Content-Type": "application/json"})  # fmt: skip
    is_problem(response, 413)


def test_an_upload_above_the_limit_is_413_while_it_is_read(http):
    def chunks():
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.geojson"'
               b"\r\n\r\n")  # fmt: skip
        for _ in range(60):  # 3.8 MB against the server's 2 MB
            yield b" " * 65536

    response = http.post(
        "/collections/service_facilities/imports",
        content=chunks(),
        headers={**ADMIN, "Content-Type": "multipart/form-data; boundary=b"},
    )
    is_problem(response, 413)


def test_an_anonymous_upload_is_refused_before_its_body_is_read(server):
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /collections/service_facilities/imports HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=b\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n10\r\n--b\r\nContent-Dis\r\n")  # fmt: skip
        answer = s.recv(4096)  # the body has barely begun
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]


def test_import_form_mistakes_are_400(http):
    url = "/collections/service_facilities/imports"
    is_problem(http.post(url, json={"file": "x"}, headers=ADMIN), 415, "multipart")
    is_problem(http.post(url, files={"other": ("a.csv", b"x")}, headers=ADMIN), 400, "other")
    is_problem(http.post(url, data={"mode": "append"}, headers=ADMIN), 415, "file")  # no file
    is_problem(http.post(url, files={"file": ("a.csv", b"x")}, data={"dry_run": "yes"},
                         headers=ADMIN), 400, "dry_run")  # fmt: skip
    for field, value in [
        ("mode", "AAA"),
        ("mode", "upsert"),
        ("encoding", "no-such-codec"),
        ("crs", "+proj=longlat +nadgrids=/etc/passwd"),
        ("crs", "/etc/passwd"),
    ]:
        response = http.post(url, files={"file": ("a.csv", b"x")}, data={field: value},
                             headers=ADMIN)  # fmt: skip
        is_problem(response, 400, field if field != "mode" or value == "AAA" else "key")
    two = [("file", ("a.csv", b"x")), ("file", ("b.csv", b"y"))]
    is_problem(http.post(url, files=two, headers=ADMIN), 400)


# -- 6. multi-layer tiles: repeats dropped, layers capped -----------------------------------


def test_repeated_tile_layers_are_read_once(http):
    from spatial.tiles import lonlat_to_tile

    x, y = lonlat_to_tile(116.40, 39.91, 14)
    once = http.get(f"/tiles/WebMercatorQuad/14/{y}/{x}", params={"collections": "buildings"})
    many = http.get(f"/tiles/WebMercatorQuad/14/{y}/{x}",
                    params={"collections": ",".join(["buildings"] * 200)})  # fmt: skip
    assert many.status_code == once.status_code and many.content == once.content
    # The same answer could still cost 200 subqueries: the tile is built from the layers
    # the route keeps, one per name.
    from api.routes.tiles import _spatial_layers
    from layers import Visibility

    names = ",".join(["buildings", " buildings", "estates"] * 100)
    kept = _spatial_layers(names, Visibility.PUBLIC)
    assert [layer.name for layer in kept] == ["buildings", "estates"]


# -- 7. answers computed for a caller are never public -------------------------------------


def _credentials(world) -> list[tuple[dict, dict]]:
    token = world["planner_token"]
    return [({"Authorization": f"Bearer {token}"}, {}), ({"X-API-Key": token}, {}),
            ({}, {"onemap_token": token})]  # fmt: skip


@pytest.mark.parametrize("cache_mb", ["256", "0"])
def test_answers_for_a_caller_are_private_whatever_the_credential(edits_url, world, cache_mb):
    from spatial.tiles import lonlat_to_tile

    x, y = lonlat_to_tile(116.40, 39.91, 14)
    paths = [f"/collections/pipelines/tiles/WebMercatorQuad/14/{y}/{x}",
             f"/collections/buildings/items/{world['building']}", "/collections"]  # fmt: skip
    with serve(edits_url, env={"ONEMAP_RESPONSE_CACHE_MB": cache_mb}) as (base, _):
        for headers, cookies in _credentials(world):
            with LocalClient(base_url=base, cookies=cookies) as client:
                for path in paths:
                    for _ in range(2):  # computed, then (cache on) replayed
                        response = client.get(path, headers=headers)
                        assert response.status_code in (200, 204), (path, response.text[:200])
                        control = response.headers["cache-control"]
                        assert "private" in control and "no-store" in control, (path, headers)
        public = local_get(f"{base}/collections/buildings/items/{world['building']}")
        assert "private" not in public.headers.get("cache-control", "")


# -- 8. exports: capped, released within seconds of a disconnect ---------------------------


def _export_sessions(url: str, state: str = "%") -> int:
    """Sessions of exports (their own connections, outside the pool) in ``state``."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name NOT LIKE 'onemap%%' "
            "AND datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND state LIKE %s "
            "AND query NOT LIKE 'LOCK TABLE%%'",
            (state,),
        ).fetchone()[0]


def test_an_abandoned_export_releases_its_connection(server, edits_url):
    port = int(server[0].rsplit(":", 1)[1])
    clients = []
    with psycopg.connect(edits_url) as locker:
        # Each export waits on the lock, holding its connection, while its client leaves.
        locker.execute("LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE")
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET /collections/buildings/export HTTP/1.1\r\nHost: x\r\n\r\n")
            clients.append(client)
        time.sleep(1)
        assert _export_sessions(edits_url, "active") == 3
        for client in clients:
            client.close()
        time.sleep(0.5)
        locker.rollback()
    deadline = time.monotonic() + 10
    while _export_sessions(edits_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _export_sessions(edits_url) == 0
    assert alive(server)


@pytest.mark.parametrize(("path", "query", "before_the_body"), [
    ("/collections/buildings/export", "format=geojson", True),
    ("/collections/buildings/export", "format=csv", True),
    # Past one batch, streamed; compressed or not, its headers wait for its first chunk, so
    # the body has started when the leaving is noticed.
    ("/collections/buildings/items", "limit=3000", False),
])  # fmt: skip
def test_a_stream_whose_client_left_as_it_began_lets_go(client, app, path, query, before_the_body):
    """The client is gone by the time the headers go out: an export's response is
    cancelled before its body starts, and cleanup written in the body never ran (four such
    exports held every export slot for good). An export's slot and connection, a streamed
    page's pooled connection, come back all the same: here twice as many streams as slots
    and pooled connections, then the same request answers."""
    from api.settings import ServerSettings
    from api.state import state_of

    settings = ServerSettings()
    slots = state_of(app).export_slots
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "root_path": "",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip

    async def abandoned() -> list[dict]:
        asked = False
        sent: list[dict] = []

        async def receive() -> dict:  # the request, then the client leaving
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message["type"] == "http.response.start":
                await anyio.sleep(0.05)  # the headers on their way: the leaving is noticed

        await app(scope, receive, send)
        return sent

    for _ in range(2 * max(settings.max_exports, settings.pool_max_size)):
        sent = client.portal.call(abandoned)
        if before_the_body:
            assert [m["type"] for m in sent] == ["http.response.start"]
        assert not slots.locked()
    assert client.get(f"{path}?{query}").status_code == 200


def test_head_on_an_export_makes_no_file(server, edits_url):
    """HEAD answers an export's headers without running it (nor holding an export slot)."""
    base, _ = server
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for fmt in ("geojson", "csv"):
        url = f"{base}/collections/buildings/export?format={fmt}"
        head = local_stream("HEAD", url, headers=headers, timeout=30)
        with head as answer:
            assert answer.status_code == 200 and answer.read() == b""
            assert answer.headers["content-type"].startswith(("application/geo+json", "text/csv"))
    deadline = time.monotonic() + 10
    while _export_sessions(edits_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _export_sessions(edits_url) == 0
    assert alive(server)


def test_exports_beyond_the_cap_wait_then_503(edits_url):
    env = {"ONEMAP_MAX_EXPORTS": "1", "ONEMAP_POOL_TIMEOUT_S": "1"}
    with serve(edits_url, env=env) as (base, _), psycopg.connect(edits_url) as locker:
        # The first export waits on a lock, holding the only slot; the second finds none.
        locker.execute("LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(local_get, f"{base}/collections/buildings/export", timeout=60)
            time.sleep(1)
            second = local_get(f"{base}/collections/buildings/export?format=csv", timeout=30)
            is_problem(second, 503, "export")
            locker.rollback()
            assert first.result().status_code == 200
        third = local_get(f"{base}/collections/buildings/export?format=csv", timeout=60)
        assert third.status_code == 200  # the slot came back


# -- 9, 10. a responsible planner: their streets only, in analyses, dossiers and writes ----


def test_analyses_and_dossiers_keep_to_the_callers_streets(http, world, edits_url):
    response = http.get("/analyses/coverage_gaps", headers=world["responsible"],
                        params={"street": world["street"], "search_m": 5000,
                                "parcels": 20})  # fmt: skip
    assert response.status_code == 200, response.text[:200]
    parcels = {p["id"] for row in response.json()["rows"] for p in row["parcels"]}
    with psycopg.connect(edits_url) as conn:
        outside = conn.execute(
            "SELECT id FROM idle_parcels WHERE id = ANY(%s) AND NOT ST_Intersects(geom, "
            "(SELECT geom FROM streets WHERE code = %s))",
            (list(parcels), world["street"]),
        ).fetchall()
        estates = conn.execute(
            "SELECT id FROM estates WHERE street_code = %s", (world["street"],)
        ).fetchall()
        estates = [r[0] for r in estates]
    assert outside == []
    for estate in estates[:10]:
        dossier = http.get(f"/estates/{estate}/dossier", headers=world["responsible"]).json()
        ids = [p["id"] for p in dossier.get("idle_parcels", [])]
        with psycopg.connect(edits_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM idle_parcels WHERE id = ANY(%s) AND NOT ST_Intersects("
                "geom, (SELECT geom FROM streets WHERE code = %s))", (ids, world["street"]),
            ).fetchone()[0] == 0  # fmt: skip


def test_a_responsible_planner_writes_only_what_counts_in_their_streets(http, world, edits_url):
    today = "2026-03-02"
    foreign = {"type": "Feature", "geometry": None, "properties": {
        "project_id": world["other_project"], "street_code": world["street"],
        "planner": "someone else", "requested_on": today}}  # fmt: skip
    before = _count(edits_url, "opinions")
    response = http.post("/collections/opinions/items", json=foreign,
                         headers=world["responsible"])  # fmt: skip
    assert response.status_code in (400, 403), response.text[:300]
    assert _count(edits_url, "opinions") == before
    request = {"type": "Feature", "geometry": None, "properties": {
        "estate_id": world["other_estate"], "category": "elevator", "status": "received",
        "received_on": today}}  # fmt: skip
    response = http.post("/collections/resident_requests/items", json=request,
                         headers=world["responsible"])  # fmt: skip
    assert response.status_code in (400, 403), response.text[:300]
    if world["own_project"] is not None:
        own = {
            **foreign,
            "properties": {
                **foreign["properties"],
                "project_id": world["own_project"],
                "planner": None,
            },
        }
        response = http.post("/collections/opinions/items", json=own,
                             headers=world["responsible"])  # fmt: skip
        assert response.status_code == 201, response.text[:300]
        assert response.json()["properties"]["planner"] == "attack-responsible"
        forged = {"properties": {"planner": "someone else"}}
        is_problem(http.patch(response.headers["Location"], json=forged,
                              headers=world["responsible"]), 400, "planner")  # fmt: skip


# -- 11. exports and the ledger never hand a spreadsheet a formula -------------------------


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+1", "-2+3", "\t=1", "\r=1"]
)
def test_formulas_are_neutralised_in_spreadsheet_cells(text):
    assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe(-2) == -2 and spreadsheet_safe("plain") == "plain"


def test_an_analysis_csv_from_the_cli_carries_no_formula():
    from cli.analyses import _csv

    rows = [{"name_zh": '=HYPERLINK("http://x","y")', "items": ["@SUM(A1)"], "m": -2.5}]
    header, cells = csv.reader(io.StringIO(_csv(rows).decode().removeprefix("\ufeff")))
    assert header == ["name_zh", "items", "m"]
    assert cells == ['\'=HYPERLINK("http://x","y")', '["@SUM(A1)"]', "-2.5"]


def test_a_csv_export_carries_no_formula(http, edits_url):
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
        "properties": {"kind": "clinic", "name_zh": '=HYPERLINK("http://x","点我")'},
    }
    created = http.post("/collections/service_facilities/items", json=feature, headers=ADMIN)
    assert created.status_code == 201, created.text[:300]
    response = http.get("/collections/service_facilities/export?format=csv")
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'" + feature["properties"]["name_zh"] in cells
    assert not any(c.startswith(("=", "@", "+")) for c in cells)


def test_the_ledger_download_name_cannot_inject_headers(http, world):
    """The name is made from the area's code; a code the city does not have is refused."""
    for district in ('110105"; filename="evil.exe', "110105\r\nSet-Cookie: x=1", "朝阳"):
        response = http.get("/ledger", params={"f": "xlsx", "district": district},
                            headers=world["planner"])  # fmt: skip
        is_problem(response, 400)
        assert "content-disposition" not in response.headers
        assert "set-cookie" not in {k.lower() for k in response.headers if k.lower() != "vary"}
    response = http.get("/ledger", params={"f": "xlsx", "district": "110105"},
                        headers=world["planner"])  # fmt: skip
    assert response.status_code == 200, response.text[:200]
    assert 'filename="ledger-110105.xlsx"' in response.headers["content-disposition"]


# -- 12. decompression bombs and feature counts, counted while streaming -------------------


def test_a_zip_bomb_is_refused_while_it_unpacks(http, edits_url):
    bomb = _zip(**{"b.geojson": b'{"type":"FeatureCollection","features":[' + b" " * (20 << 20)
                   + b"]}"})  # fmt: skip
    assert len(bomb) < 200_000
    job = _import(http, "service_facilities", "bomb.zip", bomb, ADMIN)
    assert job["state"] == "failed" and "unpacks to more than" in job["error"], job


@pytest.mark.parametrize("kind", ["geojson", "csv"])
def test_a_file_with_too_many_features_is_refused(http, kind):
    n = 5_001
    if kind == "csv":
        data = ("lon,lat,kind\n" + "116.4,39.9,clinic\n" * n).encode()
    else:
        feature = ('{"type":"Feature","properties":{"kind":"clinic"},'
                   '"geometry":{"type":"Point","coordinates":[116.4,39.9]}}')  # fmt: skip
        data = ('{"type":"FeatureCollection","features":[' + ",".join([feature] * n)
                + "]}").encode()  # fmt: skip
    job = _import(http, "service_facilities", f"many.{kind}", data, ADMIN, dry_run="true")
    assert job["state"] == "failed" and "more than 5,000 features" in job["error"], job


# -- 13. cross-site request forgery ---------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", None, "null"])
def test_cookie_writes_from_elsewhere_are_refused(server, world, origin):
    base, _ = server
    headers = {"Origin": origin} if origin else {}
    with LocalClient(base_url=base, cookies={"onemap_token": world["planner_token"]}) as c:
        for method, path in [("POST", "/analyses/elevator_screening/apply"),
                             ("POST", "/collections/governance_issues/items"),
                             ("POST", "/collections/service_facilities/imports")]:  # fmt: skip
            response = c.request(method, path, headers=headers, json={})
            is_problem(response, 403, "cookie")


def test_cookie_writes_from_this_site_go_through_and_the_cookie_is_secure_over_https(server, world):
    base, _ = server
    with LocalClient(base_url=base, cookies={"onemap_token": world["planner_token"]}) as c:
        response = c.post("/collections/governance_issues/items", json={},
                          headers={"Origin": base})  # fmt: skip
        assert response.status_code == 400  # past the origin check: the empty body is refused
    login = local_post(f"{base}/login", data={"token": world["planner_token"]},
                       headers={"X-Forwarded-Proto": "https"})  # fmt: skip
    assert "secure" in login.headers["set-cookie"].lower()
    plain = local_post(f"{base}/login", data={"token": world["planner_token"]})
    assert "secure" not in plain.headers["set-cookie"].lower()


# -- 14, 15, 21. inputs that answered 500 or a wrong 503 -------------------------------------

CQL2_JSON_MISTAKES = [
    {"op": "=", "args": []}, {"op": "not", "args": []}, {"op": "between", "args": [1]},
    {"op": "in", "args": [{"property": "floors"}]}, {"op": "like", "args": []},
    {"op": "isnull", "args": []}, {"op": "and", "args": []}, {"op": "=", "args": "x"},
    {"op": "in", "args": [{"property": "floors"}, 3]}, {"op": "s_intersects", "args": []},
    {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [1]}]},
    {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": "abc"}]},
    {"op": "s_dwithin", "args": [{"property": "geom"}, {"type": "Point"}, 1]},
]  # fmt: skip


@pytest.mark.parametrize("tree", CQL2_JSON_MISTAKES, ids=lambda t: json.dumps(t)[:40])
def test_malformed_cql2_json_is_400(server, http, tree):
    response = http.get(
        "/collections/buildings/items",
        params={"filter": json.dumps(tree), "filter-lang": "cql2-json"},
    )
    is_problem(response, 400)
    assert alive(server)


@pytest.mark.parametrize(
    "query",
    ["format=fgb&skipGeometry=true", "format=gpkg&properties=name_zh,name_zh",
     "format=csv&properties=" + ",".join(["name_zh"] * 60)],
)  # fmt: skip
def test_export_options_that_answered_500(http, query):
    response = http.get(f"/collections/buildings/export?{query}")
    assert response.status_code in (200, 400), response.text[:300]


def test_a_field_asked_sixty_times_is_answered_once(http):
    response = http.get(
        "/collections/buildings/items", params={"properties": ",".join(["floors"] * 60), "limit": 2}
    )
    assert response.status_code == 200
    assert set(response.json()["features"][0]["properties"]) == {"floors"}


@pytest.mark.parametrize("name", ["..", ".", "../../etc/passwd.csv", "a\x00b.csv", "x" * 5000])
def test_upload_names_cannot_point_anywhere(http, server_tmp, name):
    folders = set(server_tmp.glob("onemap-import-*"))
    response = http.post("/collections/service_facilities/imports",
                         files={"file": (name, b"lon,lat,kind\n116.4,39.9,clinic\n")},
                         data={"dry_run": "true"}, headers=ADMIN)  # fmt: skip
    assert response.status_code in (202, 400), response.text[:300]
    if response.status_code == 202:
        finished_job(http, response.headers["Location"], ADMIN)
    time.sleep(0.2)
    assert set(server_tmp.glob("onemap-import-*")) <= folders


# -- 17, 18, 19. what metadata tells, and what writers cannot set ---------------------------


def test_the_public_etag_moves_only_with_what_the_public_sees(http, world):
    from spatial.tiles import lonlat_to_tile

    item = f"/collections/buildings/items/{world['building']}"
    first = http.get(item).headers["etag"]
    assert "." not in first.strip('"')  # a digest, not a transaction counter
    internal = http.get(item, headers=ADMIN).json()["properties"]
    hidden = next(k for k in ("structure", "households", "build_year") if k in internal)
    public_fields = set(http.get(item).json()["properties"])
    assert hidden not in public_fields or hidden == "build_year"
    value = internal[hidden]
    patch = {"properties": {hidden: (value or 0) + 1 if isinstance(value, int) else "砖混"}}
    assert http.patch(item, json=patch, headers=ADMIN).status_code == 200
    if hidden not in public_fields:
        assert http.get(item).headers["etag"] == first
    x, y = lonlat_to_tile(116.40, 39.91, 14)
    tile = http.get(f"/collections/buildings/tiles/WebMercatorQuad/14/{y}/{x}")
    assert len(tile.headers["etag"]) < 40


def test_a_responsible_planner_gets_no_city_wide_internal_metadata(http, world):
    health = http.get("/health", headers=world["responsible"]).json()
    assert "pipelines" not in health["layers"] and "idle_parcels" not in health["layers"]
    collections = http.get("/collections", headers=world["responsible"]).json()["collections"]
    pipelines = next(c for c in collections if c["id"] == "pipelines")
    assert "extent" not in pipelines
    planner = http.get("/collections/pipelines", headers=world["planner"]).json()
    assert "extent" in planner


def test_maintained_fields_are_not_written(http, world):
    item = f"/collections/buildings/items/{world['building']}"
    stage = http.get(item, headers=ADMIN).json()["properties"]["elevator_stage"]
    other = "completed" if stage != "completed" else "proposed"
    is_problem(http.patch(item, json={"properties": {"elevator_stage": other}}, headers=ADMIN),
               400, "elevator_stage")  # fmt: skip
    same = http.patch(item, json={"properties": {"elevator_stage": stage}}, headers=ADMIN)
    assert same.status_code == 200  # a round trip of what was read is fine


# -- 20. slow clients cannot hold connections -----------------------------------------------


def test_slow_headers_and_bodies_are_cut_off(server):
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        started = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):  # a header line a second, never finishing
            time.sleep(0.5)
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        answer = s.recv(4096)
        assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408") or answer == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /collections/service_facilities/items HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
        answer = s.recv(4096)
    assert b" 408 " in answer.split(b"\r\n")[0], answer[:200]


def test_postgresql_never_restarted(world, edits_url):
    """Last in the module: every attack above left the database server running as it was."""
    with psycopg.connect(edits_url) as conn:
        started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    assert started == world["pg_started"]


def test_every_problem_type_is_documented(http):
    listed = {p["type"]: p for p in http.get("/problems").json()["problems"]}
    assert {"/problems/invalid-input", "/problems/unauthorized", "/problems/too-large"} <= set(
        listed
    )
    for uri, described in listed.items():
        assert http.get(uri).json() == described
    is_problem(http.get("/problems/no-such-thing"), 404, "/problems")


def test_the_server_started_as_root_runs_as_an_ordinary_user(server):
    import pwd

    from cli.privileges import project_paths, readable_by_others

    _, pid = server
    owner = os.stat(f"/proc/{pid}").st_uid
    if os.geteuid() != 0:
        assert owner == os.geteuid()
    elif all(readable_by_others(p) for p in project_paths()):
        assert owner == pwd.getpwnam("nobody").pw_uid
    else:  # a checkout under /root: nobody could not read it, so it stays (and says so)
        assert owner == 0


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [(b"GET /collections?f=" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
     (b"GET /collections/buildings/items?" + b"properties=name_zh&" * 5_000
      + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
     (b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
     (b"NOT-HTTP\r\n\r\n", 400),
     # Headers: httptools gathered a 50 MB value, or 200,000 headers, whole in memory.
     (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n", 431),
     (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", 431),
     (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Kb: %b\r\n" % (b"a" * 1_000) * 90
      + b"Cookie: " + b"c" * 60_000 + b"\r\n\r\n", 431)],
)  # fmt: skip
def test_requests_the_parser_refuses_get_a_problem_too(server, request_bytes, status):
    port = int(server[0].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request_bytes)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].startswith(b"HTTP/1.1 %d" % status), head[:100]
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == status
    assert alive(server)


def test_large_requests_below_the_limits_are_served(server):
    """The bounds leave room: 97 headers, one of 60 KB, beside a 16 KiB filter in the URL."""
    port = int(server[0].rsplit(":", 1)[1])
    query = b"filter=" + b"%20" * 16_000 + b"status%20IS%20NOT%20NULL&limit=1"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /collections/estates/items?" + query + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n" + b"X-Some: 1\r\n" * 95
                  + b"X-Big: " + b"b" * 60_000 + b"\r\n\r\n")  # fmt: skip
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
