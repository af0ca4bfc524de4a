import json

import pytest

from layers import Visibility, get_layer
from spatial import cql
from spatial import crs as crs_mod

CASES = [  # (cql2-text, the same in SQL)
    ("floors = 6", "floors = 6"),
    ("floors <> 6 AND has_elevator = false", "floors <> 6 AND NOT has_elevator"),
    ("floors < 4 OR floors >= 12", "floors < 4 OR floors >= 12"),
    ("NOT (floors > 5)", "NOT (floors > 5)"),
    ("floors BETWEEN 4 AND 7", "floors BETWEEN 4 AND 7"),
    ("floors IN (5, 7)", "floors IN (5, 7)"),
    ("name_zh LIKE '1%'", "name_zh LIKE '1%'"),
    ("build_year IS NULL", "build_year IS NULL"),
    (
        "S_INTERSECTS(geom, POLYGON((116.3 39.85, 116.5 39.85, 116.5 39.95, 116.3 39.95, "
        "116.3 39.85)))",
        "ST_Intersects(geom, ST_MakeEnvelope(116.3, 39.85, 116.5, 39.95, 4326))",
    ),
    (
        "S_WITHIN(geom, POLYGON((116.3 39.85, 116.5 39.85, 116.5 39.95, 116.3 39.95, "
        "116.3 39.85)))",
        "ST_Within(geom, ST_MakeEnvelope(116.3, 39.85, 116.5, 39.95, 4326))",
    ),
    (
        "S_DWITHIN(geom, POINT(116.4 39.9), 2000)",
        "ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)::geography, 2000)",
    ),
]


def count(client, **params):
    return client.get("/collections/buildings/items", params={"limit": 1, **params}).json()


@pytest.mark.parametrize(("text", "where"), CASES)
def test_cql2_text_matches_sql(client, conn, text, where):
    expected = conn.execute(f"SELECT count(*) FROM buildings WHERE {where}").fetchone()[0]
    body = count(client, filter=text)
    assert body["numberMatched"] == expected, text


@pytest.mark.parametrize(("text", "where"), CASES)
def test_cql2_json_matches_text(client, text, where):
    tree = cql.parse(text, "cql2-text")
    body = count(client, **{"filter": json.dumps(tree), "filter-lang": "cql2-json"})
    assert body["numberMatched"] == count(client, filter=text)["numberMatched"]


def test_filter_crs_for_geometry_literals(client):
    # The same four corners in CGCS2000 Gauss-Kruger metres, northing first (EPSG:4548 axes).
    from pyproj import Transformer

    to_gk = Transformer.from_crs(4326, 4548, always_xy=True)
    lons, lats = [116.3, 116.5, 116.5, 116.3, 116.3], [39.85, 39.85, 39.95, 39.95, 39.85]
    east, north = to_gk.transform(lons, lats)
    ring = ", ".join(f"{n} {e}" for e, n in zip(east, north, strict=True))
    metric = count(
        client,
        **{
            "filter": f"S_INTERSECTS(geom, POLYGON(({ring})))",
            "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4548",
        },
    )
    degrees = count(client, filter=CASES[8][0])
    assert metric["numberMatched"] == degrees["numberMatched"] > 0


def test_unknown_field_is_400_naming_it(client):
    response = client.get("/collections/buildings/items", params={"filter": "colour = 'red'"})
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]


def test_hidden_fields_cannot_be_filtered_by_anonymous(client, admin):
    text = "households > 10"
    assert client.get("/collections/buildings/items", params={"filter": text}).status_code == 400
    assert admin.get("/collections/buildings/items", params={"filter": text}).status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "floors ==",
        "floors = 'six'",
        "S_DWITHIN(geom, POINT(1 2))",
        "floors + 1 > 3",
        "name_zh LIKE 5",
    ],
)
def test_bad_filters_are_400(client, text):
    response = client.get("/collections/buildings/items", params={"filter": text})
    assert response.status_code == 400, text
    assert response.headers["content-type"] == "application/problem+json"


def test_no_user_text_reaches_the_sql(conn, client):
    evil = "name_zh = 'x''; DROP TABLE buildings; --'"
    body = count(client, filter=evil)
    assert body["numberMatched"] == 0
    assert conn.execute("SELECT count(*) FROM buildings").fetchone()[0] > 0
    compiled = cql.compile_filter(
        cql.parse(evil, "cql2-text"), get_layer("buildings"), Visibility.PUBLIC, crs_mod.DEFAULT
    )
    assert "DROP" not in compiled.sql.as_string(conn)
    assert compiled.params == ["x'; DROP TABLE buildings; --"]


def test_filter_complexity_is_bounded(client):
    text = " OR ".join(f"floors = {i}" for i in range(300))
    response = client.get("/collections/buildings/items", params={"filter": text})
    assert response.status_code == 400 and "complex" in response.json()["detail"]
