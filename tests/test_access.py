"""Role × route × layer: no caller ever gets a field (or a row) above their level, in any format.

The expected field sets come from the registry (``Layer.visible_fields``); what the service
sends is read back from every format (GeoJSON, GeoJSON sequences, CSV, GeoPackage, FlatGeobuf,
vector tiles), from queryables, TileJSON, the OpenAPI document and the pages. A responsible
planner is checked row by row: internal fields and layers only inside their streets, which
the test finds with its own SQL (``streets.code`` columns or ``ST_Intersects`` on geometry).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api import accounts
from api.state import state_of
from layers import REGISTRY, Layer, Role, Visibility
from spatial import tiles
from spatial.gdal import pyogrio
from spatial.scope import StreetScope, condition
from tests_support import ADMIN_TOKEN, page_config

TILE_ZOOM = 13


@pytest.fixture(scope="module")
def street(db_url) -> dict:
    """The street with the most estates, its code and bounding box."""
    with psycopg.connect(db_url) as conn:
        code, xmin, ymin, xmax, ymax = conn.execute(
            "SELECT s.code, ST_XMin(s.geom), ST_YMin(s.geom), ST_XMax(s.geom), ST_YMax(s.geom) "
            "FROM streets s JOIN estates e ON e.street_code = s.code "
            "GROUP BY s.code, s.geom ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return {"code": code, "bbox": (xmin, ymin, xmax, ymax)}


@pytest.fixture(scope="module")
def callers(db_url, street) -> dict[str, dict[str, str]]:
    """Headers of each role (users committed to the test database: the app must see them)."""
    suffix = str(id(street))[-6:]
    with psycopg.connect(db_url) as conn:
        planner = accounts.add_user(conn, f"planner-{suffix}", Role.PLANNER, [])
        responsible = accounts.add_user(
            conn, f"responsible-{suffix}", Role.RESPONSIBLE_PLANNER, [street["code"]]
        )
    return {
        "anonymous": {},
        "planner": {"Authorization": f"Bearer {planner}"},
        "responsible_planner": {"X-API-Key": responsible},
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    }


LEVEL = {
    "anonymous": Visibility.PUBLIC,
    "planner": Visibility.INTERNAL,
    "responsible_planner": Visibility.INTERNAL,
    "admin": Visibility.PRIVATE,
}


def _names(layer: Layer, level: Visibility) -> set[str]:
    return {f.name for f in layer.visible_fields(level)}


class Expect:
    """What one caller may receive from one layer, feature by feature."""

    def __init__(self, conn: psycopg.Connection, layer: Layer, role: str, street: str) -> None:
        self.layer = layer
        self.role = role
        self.inside: set[int] | None = None
        if role == "responsible_planner":
            scope = StreetScope((street,))
            rows = conn.execute(
                psycopg.sql.SQL("SELECT id FROM {} WHERE {}").format(
                    psycopg.sql.Identifier(layer.name), condition(layer, scope)
                )
            ).fetchall()
            self.inside = {r[0] for r in rows}

    @property
    def layer_visible(self) -> bool:
        return self.layer.visibility <= LEVEL[self.role]

    def allowed(self, fid: int) -> set[str]:
        if self.inside is not None and fid not in self.inside:
            return _names(self.layer, Visibility.PUBLIC)
        return _names(self.layer, LEVEL[self.role])

    def check(self, fid: int, props: dict, where: str) -> None:
        present = {k for k, v in props.items() if v not in (None, "")}
        leaked = present - self.allowed(int(fid)) - {"id", "fid"}
        assert not leaked, (
            f"{self.role} got {sorted(leaked)} of {self.layer.name} #{fid} in {where}"
        )
        if self.inside is not None and self.layer.visibility > Visibility.PUBLIC:
            assert int(fid) in self.inside, (
                f"{self.layer.name} #{fid} outside the streets ({where})"
            )


@pytest.fixture(scope="module")
def http(client) -> TestClient:
    return client  # the session's client: a second lifespan would close the app's pools


def _bbox(layer: Layer, street: dict) -> str:
    """The street and around it: rows inside and outside a responsible planner's streets."""
    x0, y0, x1, y1 = street["bbox"]
    return f"{x0 - 0.02},{y0 - 0.02},{x1 + 0.02},{y1 + 0.02}"


def _features(text: str) -> list[dict]:
    return json.loads(text)["features"]


@pytest.mark.parametrize("role", list(LEVEL))
@pytest.mark.parametrize("name", list(REGISTRY))
def test_no_field_above_the_callers_level_in_any_format(http, db_url, callers, street, role, name):
    layer = REGISTRY[name]
    headers = callers[role]
    with psycopg.connect(db_url) as conn:
        expect = Expect(conn, layer, role, street["code"])
    base = f"/collections/{name}"
    if not expect.layer_visible:
        for path in (base, f"{base}/items", f"{base}/queryables", f"{base}/export"):
            assert http.get(path, headers=headers).status_code == 404, path
        return
    area = {"bbox": _bbox(layer, street)} if layer.is_spatial else {}

    queryables = http.get(f"{base}/queryables", headers=headers).json()
    assert set(queryables["properties"]) - {"geom", "id"} <= _names(layer, LEVEL[role])

    page = http.get(f"{base}/items", params={"limit": 1000, **area}, headers=headers)
    assert page.status_code == 200
    features = _features(page.text)
    for feature in features:
        expect.check(feature["id"], feature["properties"], "items")
    if features:
        fid = features[0]["id"]
        item = http.get(f"{base}/items/{fid}", headers=headers).json()
        expect.check(fid, item["properties"], "item")

    for fmt in ("geojson", "geojsonseq", "csv", "gpkg", "fgb"):
        if fmt in ("gpkg", "fgb") and not layer.is_spatial:
            continue
        response = http.get(f"{base}/export", params={"format": fmt, **area}, headers=headers)
        assert response.status_code == 200, (fmt, response.text[:200])
        for fid, props in _exported(fmt, response.content, layer):
            expect.check(fid, props, fmt)

    if layer.is_spatial:
        x0, y0, x1, y1 = street["bbox"]
        x, y = tiles.lonlat_to_tile((x0 + x1) / 2, (y0 + y1) / 2, max(TILE_ZOOM, layer.min_zoom))
        z = max(TILE_ZOOM, layer.min_zoom)
        for path in (f"{base}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                     f"/tiles/WebMercatorQuad/{z}/{y}/{x}?collections={name}"):  # fmt: skip
            response = http.get(path, headers=headers)
            assert response.status_code in (200, 204)
            if response.status_code == 200:
                for tile_layer in mapbox_vector_tile.decode(response.content).values():
                    for feature in tile_layer["features"]:
                        props = feature["properties"]
                        expect.check(props["fid"], props, "tile")
        if layer.cluster_below is not None:  # zoomed out: clusters keep themes and district
            z = layer.cluster_below - 1
            x, y = tiles.lonlat_to_tile((x0 + x1) / 2, (y0 + y1) / 2, z)
            response = http.get(f"{base}/tiles/WebMercatorQuad/{z}/{y}/{x}", headers=headers)
            clusters = [f for la in mapbox_vector_tile.decode(response.content).values()
                        for f in la["features"]]  # fmt: skip
            for feature in clusters:
                present = {k for k, v in feature["properties"].items() if v not in (None, "")}
                assert present - {tiles.CLUSTER_COUNT} <= _names(layer, LEVEL[role])
        tilejson = http.get(f"{base}/tiles/WebMercatorQuad/tilejson.json", headers=headers).json()
        described = set(tilejson["vector_layers"][0]["fields"])
        assert described <= _names(layer, LEVEL[role]) | set(tiles.cluster_field_description(layer))


def _exported(fmt: str, content: bytes, layer: Layer):
    if fmt == "geojson":
        for f in _features(content.decode()):
            yield f["id"], f["properties"]
    elif fmt == "geojsonseq":
        for record in content.decode().split("\x1e"):
            if record.strip():
                f = json.loads(record)
                yield f["id"], f["properties"]
    elif fmt == "csv":
        for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig"))):
            yield int(row.pop("id")), {k: v for k, v in row.items() if k != "wkt"}
    else:
        # Read from a file named for its format: GDAL warns of a GeoPackage in memory
        # without its extension.
        with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as file:
            file.write(content)
            file.flush()
            frame = pyogrio.read_dataframe(file.name, read_geometry=False)
        for record in frame.to_dict("records"):
            fid = record.pop("id")
            yield fid, {k: (None if v != v else v) for k, v in record.items()}  # NaN → None


def _all_names(level: Visibility) -> set[str]:
    return {f.name for layer in REGISTRY.values() for f in layer.visible_fields(level)}


PRIVATE_ONLY = sorted(_all_names(Visibility.PRIVATE) - _all_names(Visibility.INTERNAL))


def test_the_private_field_list_is_not_empty():
    assert {"caller_phone", "applicant_contact", "maintenance_fund_balance"} <= set(PRIVATE_ONLY)


@pytest.mark.parametrize("role", ["anonymous", "planner", "responsible_planner"])
def test_openapi_and_pages_name_no_field_above_the_callers_level(http, callers, role):
    headers = callers[role]
    above = set(PRIVATE_ONLY)
    if role == "anonymous":
        internal = {
            f.name for la in REGISTRY.values() for f in la.visible_fields(Visibility.INTERNAL)
        }
        public = {f.name for la in REGISTRY.values() for f in la.visible_fields(Visibility.PUBLIC)}
        above |= internal - public
    document = http.get("/api", headers=headers).json()
    layer_paths = {
        p: v for p, v in document["paths"].items() if p.startswith(("/collections", "/tiles"))
    }
    documented = _schema_names(layer_paths)
    assert not documented & above, f"{role}: the OpenAPI names {sorted(documented & above)}"
    for path in ("/map", "/elevator-map"):
        config = page_config(http.get(path, headers=headers).text)
        for name, layer in config["layers"].items():
            named = {k[0] for k in layer["keys"]} | set(layer["themes"])
            assert not named - _names(REGISTRY[name], LEVEL[role]), (role, path, name)
            assert REGISTRY[name].visibility <= LEVEL[role], (role, path, name)


def _schema_names(node) -> set[str]:
    """Property and parameter names anywhere in an OpenAPI document."""
    names: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            names |= set(node["properties"])
        if node.get("in") in ("query", "path", "header") and "name" in node:
            names.add(node["name"])
        for value in node.values():
            names |= _schema_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _schema_names(value)
    return names


def test_the_public_map_is_the_same_for_everyone(http, callers):
    anonymous = http.get("/elevator-map").text
    admin = http.get("/elevator-map", headers=callers["admin"]).text
    assert anonymous.count('"applicant_contact"') == admin.count('"applicant_contact"') == 0


@pytest.mark.parametrize("role", list(LEVEL))
def test_only_an_admin_learns_which_software_serves(http, callers, role):
    """A version with a known flaw is what an attacker looks up first: everyone else gets the
    status and the counts of what they see, and no page or document names the versions."""
    admin = http.get("/health", headers=callers["admin"]).json()
    assert {"postgresql", "postgis", "response_cache"} <= set(admin)
    health = http.get("/health", headers=callers[role])
    assert health.status_code == 200
    if role == "admin":
        return
    assert set(health.json()) == {"status", "layers"}
    for path in ("/health", "/", "/api", "/conformance", "/collections", "/map", "/elevator-map"):
        text = http.get(path, headers=callers[role]).text
        assert admin["postgresql"] not in text, (role, path)
        assert "response_cache" not in text, (role, path)


def test_a_bad_token_is_401_never_anonymous(http):
    for headers in ({"Authorization": "Bearer nope"}, {"X-API-Key": "nope"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):  # fmt: skip
        response = http.get("/collections", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_responsible_planner_cannot_read_hidden_values_through_filters(http, callers, street):
    """Filtering or sorting by an internal field keeps to their streets: no value leaks."""
    headers = callers["responsible_planner"]
    everyone = http.get("/collections/estates/items", params={"limit": 1}).json()["numberMatched"]
    by_filter = http.get(
        "/collections/estates/items",
        params={"filter": "plan_batch_id IS NULL OR plan_batch_id > 0", "limit": 1000},
        headers=headers,
    ).json()
    assert {f["properties"]["street_code"] for f in by_filter["features"]} == {street["code"]}
    assert by_filter["numberReturned"] < everyone
    sorted_page = http.get(
        "/collections/estates/items", params={"sortby": "-plan_batch_id", "limit": 1000},
        headers=headers,
    ).json()  # fmt: skip
    assert {f["properties"]["street_code"] for f in sorted_page["features"]} == {street["code"]}


def test_revoked_tokens_stop_working(app, http, db_url):
    with psycopg.connect(db_url) as conn:
        token = accounts.add_user(conn, "leaving-planner", Role.PLANNER, [])
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get("/collections/pipelines", headers=headers).status_code == 200
    with psycopg.connect(db_url) as conn:
        assert accounts.revoke(conn, "leaving-planner") == 1
    state_of(app).tokens.ttl_s = 0  # the lookup cache would keep it for a few seconds
    try:
        assert http.get("/collections/pipelines", headers=headers).status_code == 401
    finally:
        state_of(app).tokens.ttl_s = accounts.LOOKUP_TTL_S
