"""Writes (OGC API Features Part 4): each path, 401/403/412, validation, history, tile versions.

They run on a database of their own (``edits_url``): these tests commit.
"""

from __future__ import annotations

import hashlib
import json

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api import accounts
from layers import REGISTRY, FieldType, Role
from spatial.tiles import lonlat_to_tile
from tests_support import ADMIN_TOKEN, admin_app

GEOJSON = {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def street(edits_url) -> str:
    with psycopg.connect(edits_url) as conn:
        return conn.execute(
            "SELECT street_code FROM projects GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def api(edits_url, street):
    with psycopg.connect(edits_url) as conn:
        planner = accounts.add_user(conn, "wang", Role.PLANNER, [])
        responsible = accounts.add_user(conn, "li", Role.RESPONSIBLE_PLANNER, [street])
    app = admin_app(edits_url)
    with TestClient(app) as client:
        client.as_planner = {"Authorization": f"Bearer {planner}"}
        client.as_responsible = {"Authorization": f"Bearer {responsible}"}
        client.as_admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        yield client


def layer_state(url: str, layer: str) -> tuple[int, str]:
    """(count, md5 of every row): any change at all shows."""
    with psycopg.connect(url) as conn:
        count, digest = conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) "
            f"FROM {layer} t"
        ).fetchone()
    return count, digest


def issue(lon: float = 116.40, lat: float = 39.91, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "kind": "ground_lock",
            "reported_on": "2026-11-02",
            "resolved": False,
            **props,
        },  # fmt: skip
    }


def test_create_read_patch_put_delete_with_history(api, edits_url):
    created = api.post("/collections/governance_issues/items", json=issue(), headers={
        **api.as_planner, **GEOJSON})  # fmt: skip
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    fid = created.json()["id"]
    assert location.endswith(f"/collections/governance_issues/items/{fid}")
    etag = created.headers["etag"]
    read = api.get(location, headers=api.as_planner)
    assert read.headers["etag"] == etag
    assert read.json()["properties"]["kind"] == "ground_lock"

    patched = api.patch(location, json={"properties": {"resolved": True, "resolution": "enforced",
                                                       "resolved_on": "2026-11-20"}},
                        headers={**api.as_planner, "If-Match": etag})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] != etag
    assert patched.json()["geometry"]["coordinates"] == [116.4, 39.91]  # PATCH keeps it

    replaced = api.put(location, json=issue(116.41, 39.92, kind="window_guard"),
                       headers={**api.as_planner, "If-Match": patched.headers["etag"]})  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()["properties"]
    assert body["kind"] == "window_guard" and body["resolution"] is None  # PUT replaces

    history = api.get(f"{location}/history", headers=api.as_planner).json()["changes"]
    assert [c["action"] for c in history] == ["update", "update", "insert"]
    assert all(c["actor"] == "wang" for c in history)
    assert history[1]["before"]["resolved"] is False and history[1]["after"]["resolved"] is True
    assert history[0]["after"]["geometry"]["coordinates"] == [116.41, 39.92]

    deleted = api.delete(location, headers={**api.as_planner, "If-Match": replaced.headers["etag"]})
    assert deleted.status_code == 204
    assert api.get(location, headers=api.as_planner).status_code == 404
    history = api.get(f"{location}/history", headers=api.as_planner).json()["changes"]
    assert history[0]["action"] == "delete" and history[0]["after"] is None


def test_the_history_of_a_feature_that_never_was_is_404(api, edits_url):
    """It answered 200 with no changes, as if the feature existed and was never edited."""
    with psycopg.connect(edits_url) as conn:
        kept = conn.execute("SELECT id FROM estates ORDER BY id LIMIT 1").fetchone()[0]
        never = conn.execute("SELECT max(id) + 1000 FROM estates").fetchone()[0]
    assert api.get(f"/collections/estates/items/{kept}/history",
                   headers=api.as_planner).status_code == 200  # fmt: skip
    missing = api.get(f"/collections/estates/items/{never}/history", headers=api.as_planner)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_a_stale_if_match_is_412_and_changes_nothing(api, edits_url):
    fid = api.post("/collections/governance_issues/items", json=issue(),
                   headers=api.as_planner).json()["id"]  # fmt: skip
    path = f"/collections/governance_issues/items/{fid}"
    first = api.get(path, headers=api.as_planner).headers["etag"]
    assert api.patch(path, json={"properties": {"resolved": True}},
                     headers={**api.as_planner, "If-Match": first}).status_code == 200  # fmt: skip
    before = layer_state(edits_url, "governance_issues")
    for method in ("patch", "put"):
        stale = getattr(api, method)(path, json=issue(kind="wall_opening"),
                                     headers={**api.as_planner, "If-Match": first})  # fmt: skip
        assert stale.status_code == 412
        assert stale.headers["content-type"] == "application/problem+json"
    assert api.delete(path, headers={**api.as_planner, "If-Match": first}).status_code == 412
    assert layer_state(edits_url, "governance_issues") == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": "Feature", "geometry": None, "properties": {}}, "geometry"),
        (issue(kind="dragon"), "kind"),
        (issue(2.0, 3.0), "extent"),
        (issue(unknown_field=1), "unknown properties"),
        (issue(note="private"), "unknown properties: note"),  # a planner cannot see or set it
        (issue(estate_id=99_999_999), "estates.id"),
        (issue(area_m2=-5), "minimum"),
        (
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[116, 39], [116.1, 39.1]]},
                "properties": {
                    "kind": "ground_lock",
                    "reported_on": "2026-01-01",
                    "resolved": False,
                },
            },
            "LineString",
        ),  # fmt: skip
        ({"type": "FeatureCollection", "features": []}, "type"),
        (
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": ["a", 1]},
                "properties": {},
            },
            "geometry",
        ),  # fmt: skip
    ],
)
def test_invalid_features_are_400_and_change_nothing(api, edits_url, body, reason):
    before = layer_state(edits_url, "governance_issues")
    response = api.post("/collections/governance_issues/items", json=body, headers=api.as_planner)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.text
    assert layer_state(edits_url, "governance_issues") == before


def test_who_may_write_what(api, edits_url, street):
    estate = api.get("/collections/estates/items?limit=1").json()["features"][0]
    path = f"/collections/estates/items/{estate['id']}"
    patch = {"properties": {"address": "new address"}}
    assert api.patch(path, json=patch).status_code == 401  # anonymous, public layer
    assert api.patch("/collections/pipelines/items/1", json=patch).status_code == 404  # hidden
    assert api.patch("/collections/pipelines/items/1", json=patch,
                     headers=api.as_planner).status_code == 403  # fmt: skip
    assert api.patch(path, json=patch, headers=api.as_responsible).status_code == 403
    change = api.patch("/collections/change_history/items/1", json=patch, headers=api.as_admin)
    assert change.status_code == 403  # written by OneMap only

    with psycopg.connect(edits_url) as conn:
        inside, outside = (
            conn.execute(
                f"SELECT id FROM opinions WHERE street_code {op} %s ORDER BY id LIMIT 1", (street,)
            ).fetchone()[0]
            for op in ("=", "<>")
        )
    note = {"properties": {"text": "请补充消防通道说明"}}
    ok = api.patch(f"/collections/opinions/items/{inside}", json=note, headers=api.as_responsible)
    assert ok.status_code == 200, ok.text
    before = layer_state(edits_url, "opinions")
    far = api.patch(f"/collections/opinions/items/{outside}", json=note,
                    headers=api.as_responsible)  # fmt: skip
    assert far.status_code == 404  # outside their streets an internal row does not exist
    moved = api.patch(f"/collections/opinions/items/{inside}",
                      json={"properties": {"street_code": _other_street(edits_url, street)}},
                      headers=api.as_responsible)  # fmt: skip
    assert moved.status_code == 403  # cannot move a row out of their streets either
    assert layer_state(edits_url, "opinions") == before


def _other_street(url: str, street: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT code FROM streets WHERE code <> %s LIMIT 1", (street,)
        ).fetchone()[0]


def test_a_planner_replacing_an_estate_keeps_the_private_fields(api, edits_url):
    estate = api.get("/collections/estates/items?limit=1", headers=api.as_admin).json()["features"][
        0
    ]
    fund = estate["properties"]["maintenance_fund_balance"]
    assert fund is not None
    visible = api.get(f"/collections/estates/items/{estate['id']}", headers=api.as_planner).json()
    assert "maintenance_fund_balance" not in visible["properties"]
    visible["properties"]["address"] = "改: " + (visible["properties"]["address"] or "")
    response = api.put(f"/collections/estates/items/{estate['id']}",
                       json={k: visible[k] for k in ("type", "geometry", "properties")},
                       headers=api.as_planner)  # fmt: skip
    assert response.status_code == 200, response.text
    after = api.get(f"/collections/estates/items/{estate['id']}", headers=api.as_admin).json()
    assert after["properties"]["maintenance_fund_balance"] == fund
    assert after["properties"]["address"].startswith("改: ")
    history = api.get(f"/collections/estates/items/{estate['id']}/history",
                      headers=api.as_planner).json()["changes"]  # fmt: skip
    assert "maintenance_fund_balance" not in history[0]["after"]  # redacted for a planner
    admin_view = api.get(f"/collections/estates/items/{estate['id']}/history",
                         headers=api.as_admin).json()["changes"]  # fmt: skip
    assert admin_view[0]["after"]["maintenance_fund_balance"] == fund


def test_a_write_moves_the_tile_etag(api):
    x, y = lonlat_to_tile(116.40, 39.91, 14)  # where issue() puts the new feature
    tile = f"/collections/governance_issues/tiles/WebMercatorQuad/14/{y}/{x}"
    before = api.get(tile, headers=api.as_planner).headers["etag"]
    api.post("/collections/governance_issues/items", json=issue(), headers=api.as_planner)
    after = api.get(tile, headers=api.as_planner)
    assert after.headers["etag"] != before


def test_history_needs_a_token(api):
    assert api.get("/collections/estates/items/1/history").status_code == 401


def test_writes_accept_a_projected_content_crs(api):
    body = issue()
    # CGCS2000 / 3-degree GK CM 117E, in its authority axis order (northing, easting)
    body["geometry"]["coordinates"] = [4418000.0, 500000.0]
    crs = {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4548>"}
    response = api.post(
        "/collections/governance_issues/items", json=body, headers={**api.as_planner, **crs}
    )
    assert response.status_code == 201, response.text
    lon, lat = response.json()["geometry"]["coordinates"]
    assert abs(lon - 117.0) < 1e-6 and 39.8 < lat < 40.0


def test_token_hashes_only_are_stored(edits_url):
    with psycopg.connect(edits_url) as conn:
        token = accounts.add_user(conn, "zhao", Role.PLANNER, [])
        stored = conn.execute(
            "SELECT token_sha256 FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE u.name = 'zhao'"
        ).fetchone()[0]
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_a_duplicate_unique_value_is_400_not_500(api, edits_url):
    estate = api.get("/collections/estates/items?limit=1", headers=api.as_admin).json()
    feature = {k: estate["features"][0][k] for k in ("type", "geometry", "properties")}
    before = layer_state(edits_url, "estates")
    response = api.post("/collections/estates/items", json=feature, headers=api.as_admin)
    assert response.status_code == 400 and "exists already" in response.text
    assert layer_state(edits_url, "estates") == before


JSON_FIELDS = [(la.name, f.name) for la in REGISTRY.values() if la.editors
               for f in la.fields if f.type is FieldType.JSON]  # fmt: skip


@pytest.mark.parametrize(("layer", "field"), JSON_FIELDS)
def test_a_row_holding_json_is_patched_and_keeps_it(api, edits_url, layer, field):
    """A retrofit's stage history (a JSON array) went to psycopg as a Python list, which it
    sends as a PostgreSQL array and cannot for objects: every PATCH of such a row was a 500
    (found by the fuzzer). The merge patch writes the row back; the JSON must come back as
    it was, and sending it again changes nothing either."""
    query = sql.SQL("SELECT id, {f} FROM {t} WHERE jsonb_typeof({f}) = 'array' ORDER BY id "
                    "LIMIT 1").format(f=sql.Identifier(field), t=sql.Identifier(layer))  # fmt: skip
    with psycopg.connect(edits_url) as conn:
        fid, before = conn.execute(query).fetchone()
    location = f"/collections/{layer}/items/{fid}"
    headers = {**api.as_admin, "Content-Type": "application/merge-patch+json"}
    for body in ({}, {"properties": {}}, {"properties": {field: before}}):
        response = api.patch(location, content=json.dumps(body), headers=headers)
        assert response.status_code == 200, (body, response.text[:300])
    with psycopg.connect(edits_url) as conn:
        assert conn.execute(query).fetchone() == (fid, before)
