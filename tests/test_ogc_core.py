import re

from layers import REGISTRY, Visibility

PUBLIC = [n for n, layer in REGISTRY.items() if layer.visibility is Visibility.PUBLIC]


def test_landing_page_links(client):
    body = client.get("/").json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels


def test_conformance_declares_features_parts_1_to_3_and_tiles(client):
    classes = client.get("/conformance").json()["conformsTo"]
    for part in (
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "ogcapi-tiles-1/1.0/conf/mvt",
    ):
        assert any(c.endswith(part) for c in classes), part


def test_api_definition_is_openapi_with_the_ogc_paths(client):
    response = client.get("/api")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/collections",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/collections/{collectionId}/queryables",
    ):
        assert path in doc["paths"], path
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert limit["default"] == 100 and limit["maximum"] == 10_000


def test_every_path_parameter_of_every_operation_is_declared(client):
    """A client builds its URLs from the document: a ``{name}`` it does not describe, it
    cannot fill (the tile routes read their path themselves and declare it by hand)."""
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
            assert {p["name"] for p in declared} == in_path, (method, path)
            assert all(p["required"] and p["schema"].get("type") for p in declared), path


def test_anonymous_collections_are_the_public_layers(client):
    ids = [c["id"] for c in client.get("/collections").json()["collections"]]
    assert ids == PUBLIC
    assert "pipelines" not in ids


def test_admin_sees_every_layer(admin):
    ids = [c["id"] for c in admin.get("/collections").json()["collections"]]
    assert ids == list(REGISTRY)


def test_a_collection_has_extent_crs_and_links(client, conn):
    body = client.get("/collections/estates").json()
    assert body["id"] == "estates" and body["itemType"] == "feature"
    assert "http://www.opengis.net/def/crs/EPSG/0/4548" in body["crs"]
    assert body["storageCrs"].endswith("CRS84")
    ((xmin, ymin, xmax, ymax),) = body["extent"]["spatial"]["bbox"]
    true = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM estates) s"
    ).fetchone()
    for got, want in zip((xmin, ymin, xmax, ymax), true, strict=True):
        assert abs(got - want) < 0.01
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels


def test_temporal_extent_for_layers_with_a_time_field(client, conn):
    body = client.get("/collections/elevator_retrofits").json()
    ((start, end),) = body["extent"]["temporal"]["interval"]
    low, high = conn.execute(
        "SELECT min(requested_on)::text, max(requested_on)::text FROM elevator_retrofits"
    ).fetchone()
    assert (start, end) == (low, high)


def test_private_and_unknown_collections_are_404_problems(client):
    for name in ("pipelines", "change_history", "nope"):
        response = client.get(f"/collections/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_a_wrong_token_is_401(client):
    response = client.get("/collections", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_queryables_are_the_visible_fields_with_types_and_enums(client, admin):
    public = client.get("/collections/estates/queryables")
    assert public.headers["content-type"] == "application/schema+json"
    props = public.json()["properties"]
    assert props["status"]["enum"][:2] == ["candidate", "reserve"]
    assert props["build_year"]["type"] == "integer"
    assert "maintenance_fund_balance" not in props
    assert props["geom"]["format"] == "geometry-multipolygon"
    private = admin.get("/collections/estates/queryables").json()["properties"]
    assert "maintenance_fund_balance" in private
