"""``/labels``: names to write on a view, checked against the layer tables."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from layers import REGISTRY


@pytest.fixture(scope="module")
def view(db_url) -> tuple[float, float, float, float]:
    """A view around the estate with the most buildings."""
    with psycopg.connect(db_url) as conn:
        x, y = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(e.geom) c FROM estates e "
            "JOIN buildings b ON b.estate_id = e.id GROUP BY e.id ORDER BY count(*) DESC "
            "LIMIT 1) s"
        ).fetchone()
    return (x - 0.004, y - 0.003, x + 0.004, y + 0.003)


def labels(client, view, zoom, **headers):
    response = client.get("/labels", params={
        "bbox": ",".join(map(str, view)), "zoom": zoom}, headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["features"]


@pytest.mark.parametrize("zoom", [9, 12, 15, 17])
def test_each_zoom_labels_the_registrys_layers_with_their_names_in_view(client, db_url,
                                                                        view, zoom):  # fmt: skip
    got = labels(client, view, zoom)
    expected_layers = {n for n, la in REGISTRY.items()
                       if la.label and la.label_zooms[0] <= zoom <= la.label_zooms[1]}  # fmt: skip
    assert {f["properties"]["layer"] for f in got} <= expected_layers
    with psycopg.connect(db_url) as conn:
        for name in expected_layers:
            layer = REGISTRY[name]
            names = [text for (text,) in conn.execute(
                sql.SQL("SELECT {t} FROM {table} WHERE ST_Intersects(geom, "
                        "ST_MakeEnvelope(%s, %s, %s, %s, 4326)) AND {t} <> ''").format(
                    t=sql.Identifier(layer.label), table=sql.Identifier(name)), view)]  # fmt: skip
            shown = [f["properties"]["text"] for f in got if f["properties"]["layer"] == name]
            if layer.geometry_type.dimension == 1:  # a road's segments: its name once
                assert sorted(shown) == sorted(set(names))
            else:
                assert sorted(shown) == sorted(names)
    with psycopg.connect(db_url) as conn:  # each label's point lies on a feature so named
        for f in got:
            layer = REGISTRY[f["properties"]["layer"]]
            assert conn.execute(
                sql.SQL("SELECT bool_or(ST_DWithin(geom, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), "
                        "1e-6)) FROM {table} WHERE {t} = %s").format(
                    table=sql.Identifier(layer.name), t=sql.Identifier(layer.label)),
                (__import__("json").dumps(f["geometry"]), f["properties"]["text"]),
            ).fetchone()[0]  # fmt: skip


def test_building_numbers_appear_only_zoomed_in(client, view):
    assert not [f for f in labels(client, view, 16) if f["properties"]["layer"] == "buildings"]
    assert [f for f in labels(client, view, 17) if f["properties"]["layer"] == "buildings"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"zoom": "15"}, "bbox"),
        ({"bbox": "1,2,3", "zoom": "15"}, "bbox"),
        ({"bbox": "NaN,1,2,3", "zoom": "15"}, "bbox"),
        ({"bbox": "116,39,117,40", "zoom": "23"}, "zoom"),
        ({"bbox": "116,39,117,40", "zoom": "-1"}, "zoom"),
        ({"bbox": "116,39,117,40", "zoom": "x"}, "zoom"),
        ({"bbox": "0,0,500,1", "zoom": "3"}, "bbox"),
    ],
)
def test_label_mistakes_are_400_problems(client, params, says):
    response = client.get("/labels", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.text


def test_a_whole_country_view_is_cut_to_the_city(client):
    assert labels(client, (70, 15, 135, 55), 8)  # 2,600 deg², answered for the city inside


def test_areas_are_weighed_by_their_area_biggest_first(client, db_url):
    """The weights, against pyproj's geodesic areas of the same outlines."""
    import shapely
    from pyproj import Geod

    got = [f["properties"] for f in labels(client, (115.4, 39.4, 117.6, 41.1), 9)]
    districts = [p for p in got if p["layer"] == "districts"]
    assert len(districts) == 16
    weights = [p["weight"] for p in districts]
    assert weights == sorted(weights, reverse=True)
    with psycopg.connect(db_url) as conn:
        outlines = dict(conn.execute("SELECT name_zh, ST_AsBinary(geom) FROM districts"))
    geod = Geod(ellps="WGS84")
    for p in districts:
        area = abs(geod.geometry_area_perimeter(shapely.from_wkb(outlines[p["text"]]))[0])
        assert p["weight"] == pytest.approx(area, rel=0.005), p["text"]
