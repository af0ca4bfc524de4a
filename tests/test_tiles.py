import collections
import itertools
import math
from dataclasses import replace

import mapbox_vector_tile
import psycopg
import pytest
import shapely
from shapely.geometry import shape

from layers import (
    REGISTRY,
    WEB_MERCATOR_COLUMN,
    GeometryType,
    Visibility,
    band_column,
    tile_unit_m,
)
from spatial.tiles import MAX_ZOOM, _layer_sql, lonlat_to_tile, tile_sql
from tests_support import until


@pytest.fixture(scope="module")
def first_estate(conn_module):
    """The centre (lon, lat) of the first estate."""
    return conn_module.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM estates WHERE id = 1) s"
    ).fetchone()


@pytest.fixture(scope="module")
def dense_tile(first_estate):
    """z/x/y of a z14 tile over the first estate."""
    x, y = lonlat_to_tile(*first_estate, 14)
    return 14, x, y


@pytest.fixture(scope="module")
def conn_module(db_url):
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


def tile(client, layer, z, x, y, **kwargs):
    return client.get(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}", **kwargs)


def test_a_tile_is_mvt_with_the_public_fields_only(client, admin, dense_tile):
    response = tile(client, "estates", *dense_tile)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    features = decoded["estates"]["features"]
    assert any(f["id"] == 1 for f in features)
    properties = features[0]["properties"]
    assert "name_zh" in properties and "status" in properties
    assert "property_nature" not in properties and "maintenance_fund_balance" not in properties
    private = mapbox_vector_tile.decode(tile(admin, "estates", *dense_tile).content)
    assert "maintenance_fund_balance" in private["estates"]["features"][0]["properties"]
    assert "renovation_items" not in private["estates"]["features"][0]["properties"]  # arrays


def test_tile_geometry_lies_in_tile_units(client, dense_tile):
    decoded = mapbox_vector_tile.decode(tile(client, "buildings", *dense_tile).content)
    assert decoded["buildings"]["extent"] == 4096
    for f in decoded["buildings"]["features"]:
        for x, y in f["geometry"]["coordinates"][0]:
            assert -64 <= x <= 4096 + 64 and -64 <= y <= 4096 + 64


def test_empty_tiles_are_204_and_low_zooms_are_empty(client):
    assert tile(client, "estates", 14, 0, 0).status_code == 204  # the Pacific
    assert tile(client, "buildings", 5, 26, 12).status_code == 204  # below min zoom


def test_out_of_range_tiles_are_404(client):
    assert tile(client, "estates", 3, 8, 0).status_code == 404
    assert tile(client, "estates", 25, 0, 0).status_code in (400, 404)
    assert tile(client, "pipelines", 14, 0, 0).status_code == 404  # internal layer
    assert client.get("/collections/estates/tiles/WorldCRS84Quad/1/0/0").status_code == 404


@pytest.mark.parametrize(
    ("address", "wrong"),
    [("abc/6208/13492", {"tileMatrix": "digits 0-9"}),
     ("1_4/6208/13492", {"tileMatrix": "digits 0-9"}),
     ("14/%20%31/1", {"tileRow": "digits 0-9"}),
     ("14/1.0/1", {"tileRow": "digits 0-9"}),
     ("14/%D9%A3/1", {"tileRow": "digits 0-9"}),  # an Arabic-Indic three
     (f"{MAX_ZOOM + 1}/0/0", {"tileMatrix": f"less than or equal to {MAX_ZOOM}"}),
     ("14/-1/0", {"tileRow": "greater than or equal to 0"}),
     ("99/x/-1", {"tileMatrix": "less than or equal", "tileRow": "digits 0-9",
                  "tileCol": "greater than or equal to 0"})],
)  # fmt: skip
def test_a_bad_tile_address_is_a_400_naming_each_bad_part(client, address, wrong):
    for path in (f"/collections/buildings/tiles/WebMercatorQuad/{address}",
                 f"/tiles/WebMercatorQuad/{address}?collections=buildings"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 400, response.text[:300]
        assert response.headers["content-type"] == "application/problem+json"
        errors = {e["parameter"]: e for e in response.json()["errors"]}
        assert errors.keys() == wrong.keys(), response.text
        for name, words in wrong.items():
            assert errors[name]["in"] == "path" and words in errors[name]["detail"]


def test_a_tile_of_several_layers_needs_their_names(client, dense_tile):
    z, x, y = dense_tile
    for query in ("", "?other=estates"):
        response = client.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}{query}")
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"parameter": "collections", "in": "query", "detail": "Field required"}
        ]
    assert client.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=estates").status_code == 200


def test_the_api_document_declares_every_tile_parameter_and_who_may_ask(client):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    for path, wanted in (
        ("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
         {"collectionId", "tileMatrixSetId", "tileMatrix", "tileRow", "tileCol"}),
        ("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
         {"tileMatrixSetId", "tileMatrix", "tileRow", "tileCol", "collections"}),
    ):  # fmt: skip
        operation = doc["paths"][path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters.keys() == wanted
        assert all(p["required"] for p in parameters.values())
        assert parameters["tileMatrix"]["schema"] == {"type": "integer", "minimum": 0,
                                                      "maximum": MAX_ZOOM}  # fmt: skip
        assert parameters["tileRow"]["schema"] == {"type": "integer", "minimum": 0}
        assert {name for s in operation["security"] for name in s} == set(schemes)


def test_etag_gives_304_and_changes_with_the_data(client, dense_tile, conn_module):
    first = tile(client, "estates", *dense_tile)
    etag = first.headers["etag"]
    assert first.headers["cache-control"]
    again = tile(client, "estates", *dense_tile, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    for asked in (f"W/{etag}", f'"x", {etag}', "*"):  # compared weakly (RFC 9110 §13.1.2)
        assert tile(client, "estates", *dense_tile, headers={"If-None-Match": asked}
                    ).status_code == 304, asked  # fmt: skip
    # The tag is the tile's content: a write that changes nothing it shows keeps it (so it
    # reveals nothing about hidden fields), one that changes what it shows moves it.
    conn_module.execute("UPDATE estates SET name_zh = name_zh WHERE id = 1")
    same = tile(client, "estates", *dense_tile, headers={"If-None-Match": etag})
    assert same.status_code == 304
    name = conn_module.execute("SELECT name_zh FROM estates WHERE id = 1").fetchone()[0]
    try:
        conn_module.execute("UPDATE estates SET name_zh = name_zh || '改' WHERE id = 1")

        # Written outside the app: its replay retires when the notification is in (ms).
        def revalidated():
            answer = tile(client, "estates", *dense_tile, headers={"If-None-Match": etag})
            return answer if answer.status_code != 304 else None

        after = until(revalidated)
        assert after is not None
        assert after.status_code == 200 and after.headers["etag"] != etag
    finally:
        conn_module.execute("UPDATE estates SET name_zh = %s WHERE id = 1", (name,))
    other = tile(client, "buildings", *dense_tile)  # other layers keep their version
    assert (
        tile(
            client, "buildings", *dense_tile, headers={"If-None-Match": other.headers["etag"]}
        ).status_code
        == 304
    )


def test_multi_layer_tiles(client, dense_tile):
    z, x, y = dense_tile
    response = client.get(
        f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"collections": "estates,buildings,roads"}
    )
    assert response.status_code == 200
    assert set(mapbox_vector_tile.decode(response.content)) == {"estates", "buildings", "roads"}
    bad = client.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"collections": "pipelines"})
    assert bad.status_code == 404
    assert client.get(
        f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"collections": "plan_batches"}
    ).status_code in (400, 404)


def test_tilejson_for_one_and_several_layers(client):
    one = client.get("/collections/buildings/tiles/WebMercatorQuad/tilejson.json").json()
    assert one["tilejson"] == "3.0.0"
    assert one["tiles"][0].endswith("/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert one["minzoom"] == 13
    (layer,) = one["vector_layers"]
    assert set(layer["fields"]) == {
        "estate_id",
        "name_zh",
        "floors",
        "has_elevator",
        "elevator_stage",
        "build_year",
    }
    many = client.get(
        "/tiles/WebMercatorQuad/tilejson.json", params={"collections": "estates,buildings"}
    ).json()
    assert [v["id"] for v in many["vector_layers"]] == ["estates", "buildings"]
    assert "collections=estates,buildings" in many["tiles"][0]


def test_tile_matrix_sets_and_tilesets(client):
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"].endswith("3857") and len(tms["tileMatrices"]) == 25
    assert tms["tileMatrices"][0]["scaleDenominator"] == pytest.approx(559082264.0287178)
    tilesets = client.get("/collections/estates/tiles").json()["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    tileset = client.get("/collections/estates/tiles/WebMercatorQuad").json()
    assert any(link["rel"] == "item" for link in tileset["links"])


def test_layers_without_simplification_lose_nothing_by_it(conn_module, first_estate):
    """``tile_simplify`` is off only where ST_AsMVTGeom's grid snap does the work: the tiles
    of those layers, drawn with and without a tile unit's Douglas-Peucker, differ by under
    2 % in size (and a layer that needs it, districts, differs by much more)."""

    def size(layer, z):
        x, y = lonlat_to_tile(*first_estate, z)
        row = conn_module.execute(_layer_sql(layer, Visibility.PRIVATE, z, None),
                                  {"z": z, "x": x, "y": y}).fetchone()  # fmt: skip
        return len(row[0] or b"")

    unsimplified = [la for la in REGISTRY.values() if la.is_spatial and not la.tile_simplify]
    assert {la.name for la in unsimplified} >= {"estates", "buildings"}
    for layer in unsimplified:
        for z in range(max(layer.min_zoom, 10), 17):
            plain, simplified = size(layer, z), size(replace(layer, tile_simplify=True), z)
            assert abs(plain - simplified) <= 0.02 * simplified + 16, (layer.name, z)
    districts = REGISTRY["districts"]
    plain = replace(districts, tile_simplify=False, tile_bands=())
    assert size(plain, 10) > 1.1 * size(districts, 10)


# The outline simplified whole, then cut to the tile: what a tile drew before it cut first.
WHOLE_THEN_CUT = """
SELECT ST_AsMVT(t, 'layer', 4096, 'geom', 'id') FROM (
    SELECT id, ST_AsMVTGeom(ST_Simplify(ST_Transform(geom, 3857), %(unit)s, true),
                            ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
    FROM {table}
    WHERE geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)
      {later}
) t WHERE geom IS NOT NULL
"""


def _shapes(tile: bytes) -> dict[int, shapely.Geometry]:
    return {f["id"]: shape(f["geometry"]) for f in _decoded(tile)}


def _farthest(drawn: shapely.Geometry, other: shapely.Geometry) -> float:
    """How far (tile units) any line ``drawn`` shows inside the tile lies from ``other``'s."""

    def lines(g: shapely.Geometry) -> shapely.Geometry:
        return g.boundary if g.geom_type.endswith("Polygon") else g

    shown = shapely.segmentize(lines(drawn).intersection(shapely.box(0, 0, 4096, 4096)), 16)
    points = shapely.points(shapely.get_coordinates(shown))
    return float(shapely.distance(points, lines(other)).max()) if len(points) else 0.0


def test_outlines_cut_to_the_tile_before_simplifying_draw_the_same_lines(conn_module):
    """Simplified lines and outlines are cut to the tile first (a whole district's outline
    transformed and simplified for a corner of it cost 1-4 ms a z14 tile). Inside the tile
    (its margin is for joining lines, never shown) every feature is still drawn, within two
    tile units of the outline simplified whole — an eighth of a pixel."""
    simplified = [la for la in REGISTRY.values() if la.is_spatial and la.tile_simplify
                  and la.geometry_type is not GeometryType.POINT]  # fmt: skip
    assert {la.name for la in simplified} >= {"districts", "streets", "roads", "pipelines"}
    places = conn_module.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM estates "
        "ORDER BY id LIMIT 12) s"
    ).fetchall()
    inner = shapely.box(2, 2, 4094, 4094)
    for layer in simplified:
        for z in sorted({max(layer.min_zoom, z) for z in (5, 6, 8, 10, 12, 14, 16)}):
            for (lon, lat), dx in itertools.product(places[::6], (0, 1)):  # and beside it
                x, y = lonlat_to_tile(lon, lat, z)
                params = {"z": z, "x": x + dx, "y": y, "unit": 40075016.68557849 / 4096 / 2**z}
                cut = conn_module.execute(_layer_sql(layer, Visibility.PRIVATE, z, None),
                                          params).fetchone()[0]  # fmt: skip
                later = "".join(f"AND {f} IS DISTINCT FROM '{code}' "
                                for f, code, zf in layer.tile_from_zoom if z < zf)  # fmt: skip
                whole = conn_module.execute(WHOLE_THEN_CUT.format(table=layer.name, later=later),
                                            params).fetchone()[0]  # fmt: skip
                drawn, expected = _shapes(cut or b""), _shapes(whole or b"")
                assert {f for f, g in expected.items() if g.intersects(inner)} <= drawn.keys()
                assert {f for f, g in drawn.items() if g.intersects(inner)} <= expected.keys()
                for fid in drawn.keys() & expected.keys():
                    apart = max(_farthest(drawn[fid], expected[fid]),
                                _farthest(expected[fid], drawn[fid]))  # fmt: skip
                    assert apart <= 2, (layer.name, z, x + dx, y, fid, apart)


def test_the_stored_web_mercator_copy_draws_the_same_tiles_and_follows_every_write(db_url):
    """Layers with ``stores_web_mercator`` draw from ``geom_3857``: the same bytes as
    transforming ``geom``, and the copy moves with the geometry in the same statement."""
    stored = [la for la in REGISTRY.values() if la.stores_web_mercator]
    assert {la.name for la in stored} >= {"estates", "buildings"}
    with psycopg.connect(db_url) as conn:
        for layer in stored:
            lon, lat = conn.execute(
                f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM {layer.name} "
                "ORDER BY id LIMIT 1) s"
            ).fetchone()
            for z in (layer.min_zoom + 2, 16):
                x, y = lonlat_to_tile(lon, lat, z)
                text = _layer_sql(layer, Visibility.PRIVATE, z, None).as_string(conn)
                assert WEB_MERCATOR_COLUMN in text
                params = {"z": z, "x": x, "y": y}
                drawn = conn.execute(text, params).fetchone()[0]
                transformed = text.replace(WEB_MERCATOR_COLUMN, "ST_Transform(geom, 3857)")
                assert drawn and drawn == conn.execute(transformed, params).fetchone()[0]
            moved = conn.execute(
                f"UPDATE {layer.name} SET geom = ST_Translate(geom, 0.001, 0.001) "
                f"WHERE id = (SELECT min(id) FROM {layer.name}) "
                f"RETURNING ST_Equals({WEB_MERCATOR_COLUMN}, ST_Transform(geom, 3857))"
            ).fetchone()[0]
            assert moved
        conn.rollback()  # the shared city stays as it was


def test_zoom_bands_are_drawn_from_below_their_zoom_and_follow_every_write(db_url):
    """A tile at zoom z draws a ``tile_bands`` layer from the least band >= z; each band is
    the outline simplified at its zoom, recomputed in the statement that moves it."""
    banded = [la for la in REGISTRY.values() if la.tile_bands]
    assert {la.name for la in banded} >= {"districts", "streets"}
    with psycopg.connect(db_url) as conn:
        for layer in banded:
            for z in range(layer.min_zoom, 17):
                text = _layer_sql(layer, Visibility.PUBLIC, z, None).as_string(conn)
                used = {b for b in layer.tile_bands if band_column(b) in text}
                wanted = [b for b in layer.tile_bands if b >= z][:1]
                assert used == set(wanted), (layer.name, z, used)
            bands = ", ".join(
                f"ST_Equals({band_column(b)}, ST_Simplify(ST_Transform(geom, 3857), "
                f"{tile_unit_m(b)}, true))" for b in layer.tile_bands
            )  # fmt: skip
            moved = conn.execute(
                f"UPDATE {layer.name} SET geom = ST_Translate(geom, 0.001, 0.001) "
                f"WHERE id = (SELECT min(id) FROM {layer.name}) RETURNING {bands}"
            ).fetchone()
            assert all(moved), layer.name
        conn.rollback()  # the shared city stays as it was


def _tile_units(lon: float, lat: float, z: int, x: int, y: int) -> tuple[int, int]:
    """A point's place in tile (z, x, y), in tile units from its top left (4096 across)."""
    n = 2**z
    across = (lon + 180.0) / 360.0 * n - x
    down = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n - y
    return round(across * 4096), round(down * 4096)


def test_points_zoomed_out_are_clusters_that_count_every_point(conn_module):
    """Below ``cluster_below`` a point layer's tile holds one point per 32-pixel cell and
    district, with their number and their most common theme value: recounted here from the
    points themselves, cell by cell. From ``cluster_below`` on, every point is itself."""
    clustered = [la for la in REGISTRY.values() if la.cluster_below is not None]
    assert {la.name for la in clustered} >= {"elevator_retrofits", "service_facilities"}
    places = conn_module.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM estates "
        "ORDER BY id LIMIT 9) s"
    ).fetchall()
    cell = 512
    for layer in clustered:
        (theme,) = layer.themes
        points = conn_module.execute(
            f"SELECT ST_X(geom), ST_Y(geom), district_code, {theme} FROM {layer.name}"
        ).fetchall()
        counted = 0
        for z in range(max(layer.min_zoom, layer.cluster_below - 2), layer.cluster_below + 1):
            for lon, lat in places[::2]:
                x, y = lonlat_to_tile(lon, lat, z)
                tile = conn_module.execute(_layer_sql(layer, Visibility.PUBLIC, z, None),
                                           {"z": z, "x": x, "y": y}).fetchone()[0]  # fmt: skip
                features = _decoded(tile)
                if z == layer.cluster_below:
                    assert all("cluster_count" not in f["properties"] for f in features)
                    assert all(f["properties"]["fid"] == f["id"] for f in features)
                    continue
                expected: dict[tuple, collections.Counter] = collections.defaultdict(
                    collections.Counter
                )
                for px, py, district, value in points:
                    ux, uy = _tile_units(px, py, z, x, y)
                    if 0 <= ux < 4096 and 0 <= uy < 4096:
                        expected[(ux // cell, uy // cell, district)][value] += 1
                drawn = {}
                for f in features:
                    (ux, uy), props = f["geometry"]["coordinates"], f["properties"]
                    assert set(props) == {"cluster_count", "district_code", theme}, layer.name
                    if 0 <= ux < 4096 and 0 <= uy < 4096:
                        drawn[(ux // cell, uy // cell, props["district_code"])] = props
                assert drawn.keys() == expected.keys(), (layer.name, z, x, y)
                for key, values in expected.items():
                    assert drawn[key]["cluster_count"] == values.total(), (layer.name, key)
                    most = max(values.values())
                    assert values[drawn[key][theme]] == most, (layer.name, key, values)
                counted += sum(v.total() for v in expected.values())
        assert counted > 100, layer.name  # the places hold points to count


def _decoded(tile: bytes | None) -> list[dict]:
    layers = mapbox_vector_tile.decode(tile or b"", default_options={"y_coord_down": True})
    return [f for la in layers.values() for f in la["features"]]


def test_features_a_layer_draws_later_are_left_out_of_tiles_before(conn_module, first_estate):
    """``tile_from_zoom``: local roads are in no tile below z12, and are from z12 on."""
    later = [(la, f, code, z) for la in REGISTRY.values() for f, code, z in la.tile_from_zoom]
    assert ("roads", "road_class", "local", 12) in [(la.name, f, c, z) for la, f, c, z in later]
    for layer, field, code, first in later:
        drawn = {}
        for z in range(layer.min_zoom, first + 1):
            x, y = lonlat_to_tile(*first_estate, z)
            tile = conn_module.execute(_layer_sql(layer, Visibility.PUBLIC, z, None),
                                       {"z": z, "x": x, "y": y}).fetchone()[0]  # fmt: skip
            drawn[z] = collections.Counter(f["properties"].get(field) for f in _decoded(tile))
        assert all(
            drawn[z][code] == 0 and drawn[z].total() > 0 for z in range(layer.min_zoom, first)
        )
        assert drawn[first][code] > 0, (layer.name, drawn[first])


def test_a_tile_draws_each_feature_once(conn_module, dense_tile):
    """ST_AsMVTGeom is computed in the subquery only, never again in a filter above it (a
    flattened subquery computed it twice per feature: 40 % of a dense tile's time)."""
    z, x, y = dense_tile
    spatial = [la for la in REGISTRY.values() if la.is_spatial]
    text = tile_sql(spatial, Visibility.PRIVATE, 16).as_string(conn_module)
    params = {"z": 16, "x": x * 4, "y": y * 4}
    plan = conn_module.execute("EXPLAIN (VERBOSE) " + text, params).fetchall()
    filters = [line for (line,) in plan if line.strip().startswith("Filter:")]
    assert filters and not any("st_asmvtgeom" in f.lower() for f in filters), filters
