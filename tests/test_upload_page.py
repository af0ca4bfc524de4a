"""The upload page end to end in Chromium: a GBK Shapefile and an XLSX, suggested to imported."""

import re

import psycopg
import pytest
import yaml

from api import accounts
from ingest_support import INPUTS, state
from layers import Role
from tests_support import ADMIN_TOKEN, LocalClient, open_watched, serve, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def upload_server(ingest_url):
    with serve(ingest_url) as (base, _):
        yield base


def signed_in_page(browser, base):
    return watched_page(browser, base, token=ADMIN_TOKEN, size=(1280, 900))


def wait_for_mapping(page, text, tries=150):
    for _ in range(tries):
        if text in page.input_value("textarea[name=mapping]"):
            return page.input_value("textarea[name=mapping]")
        page.wait_for_timeout(200)
    raise AssertionError(f"no {text!r} in the mapping: {page.locator('.om-status').inner_text()}")


def test_only_city_wide_editors_get_the_page(upload_server, ingest_url):
    with LocalClient(base_url=upload_server) as client:
        assert client.get("/upload").headers["location"] == "/login"
        assert "om-upload-link" not in client.get("/map").text
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert '"upload": "/upload"' in client.get("/map", headers=admin).text
        with psycopg.connect(ingest_url) as conn:
            street = conn.execute("SELECT code FROM streets LIMIT 1").fetchone()[0]
            token = accounts.add_user(conn, "upload-street", Role.RESPONSIBLE_PLANNER, [street])
        refused = client.get("/upload", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403
        assert "application/problem+json" in refused.headers["content-type"]


def test_a_gbk_shapefile_from_suggestion_to_import(browser, upload_server, ingest_url):
    page = signed_in_page(browser, upload_server)
    open_watched(page, upload_server + "/map")
    page.click(".om-upload-link")
    page.wait_for_selector(".om-upload-form")
    page.select_option("select[name=layer]", "pipelines")
    page.set_input_files("input[type=file]", str(INPUTS / "pipelines_department_gbk.zip"))
    page.click(".om-suggest")
    draft = wait_for_mapping(page, "排水: null")
    assert page.locator(".om-import").is_disabled()  # a suggestion is not a clean dry run
    # The person edits the draft: each null becomes their choice.
    choices = {"排水": "drainage_combined", "铸铁": "grey_cast_iron", "砼": "concrete",
               "PVC": "pvc_u", "钢管": "steel", "镀锌管": "galvanized_steel"}  # fmt: skip
    edited = draft
    for source, code in choices.items():
        edited = re.sub(rf"(?m)^(\s+{re.escape(source)}): null.*$", rf"\1: {code}", edited)
    assert "null" not in yaml.dump(yaml.safe_load(edited)["values"])
    page.fill("textarea[name=mapping]", edited)
    page.click(".om-dry-run")
    page.wait_for_selector(".om-import:not([disabled])", timeout=30_000)
    assert "Dry run passed" in page.locator(".om-summary").inner_text()
    assert page.locator(".om-problems").is_hidden()
    assert page.locator(".om-upload-result path.leaflet-interactive").count() == 200  # the preview
    before = state(ingest_url, "pipelines")[0]
    page.click(".om-import")
    page.wait_for_selector("a.om-result", timeout=60_000)
    assert "Imported 375" in page.locator(".om-status").inner_text()
    assert page.locator(".om-progress").get_attribute("value") == "375"
    assert state(ingest_url, "pipelines")[0] == before + 375
    assert not page.errors and not page.outside, (page.errors, page.outside)


def test_an_xlsx_with_its_problems_shown_then_fixed(browser, upload_server, ingest_url):
    page = signed_in_page(browser, upload_server)
    open_watched(page, upload_server + "/upload")
    page.select_option("select[name=layer]", "resident_requests")
    page.select_option("select[name=crs]", "EPSG:4326")
    page.set_input_files("input[type=file]", str(INPUTS / "elevator_requests_no_category.xlsx"))
    page.click(".om-dry-run")
    page.wait_for_selector(".om-problems:not([hidden])", timeout=30_000)
    rows = page.locator(".om-problems tbody tr").all_inner_texts()
    assert any("category" in r and "required field has no column" in r for r in rows), rows
    assert page.locator(".om-import").is_disabled()
    page.click(".om-suggest")
    draft = wait_for_mapping(page, "category: null")
    edited = draft.replace("category: null", "category: elevator").replace(
        "status: null", "status: received"
    )
    page.fill("textarea[name=mapping]", edited)
    page.click(".om-dry-run")
    page.wait_for_selector(".om-import:not([disabled])", timeout=30_000)
    # Changing anything after the dry run asks for another one.
    page.select_option("select[name=crs]", "GCJ-02")
    assert page.locator(".om-import").is_disabled()
    page.select_option("select[name=crs]", "EPSG:4326")
    page.click(".om-dry-run")
    page.wait_for_selector(".om-import:not([disabled])", timeout=30_000)
    before = state(ingest_url, "resident_requests")[0]
    page.click(".om-import")
    page.wait_for_selector("a.om-result", timeout=60_000)
    assert state(ingest_url, "resident_requests")[0] == before + 30
    with psycopg.connect(ingest_url) as conn:
        kinds = conn.execute(
            "SELECT DISTINCT category, status FROM (SELECT * FROM resident_requests "
            "ORDER BY id DESC LIMIT 30) r"
        ).fetchall()
    assert kinds == [("elevator", "received")]
    assert not page.errors and not page.outside, (page.errors, page.outside)
