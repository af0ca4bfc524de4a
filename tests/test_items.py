import pytest

from spatial.tiles import lonlat_to_tile
from tests_support import admin_app, run_async


def scalar(conn, query, *params):
    return conn.execute(query, params).fetchone()[0]


def test_page_is_geojson_with_counts_and_links(client, conn):
    response = client.get("/collections/buildings/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 100
    assert body["numberMatched"] == scalar(conn, "SELECT count(*) FROM buildings")
    assert {link["rel"] for link in body["links"]} == {"self", "collection", "next"}
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert set(feature["properties"]) == {
        "estate_id",
        "name_zh",
        "floors",
        "has_elevator",
        "elevator_stage",
        "build_year",
    }


def test_paging_through_a_whole_layer_with_next_links(client, conn):
    ids, pages = [], 0
    url = "/collections/estates/items?limit=37"
    while url:
        body = client.get(url).json()
        ids += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else None
        pages += 1
        assert pages < 100
    expected = [r[0] for r in conn.execute("SELECT id FROM estates ORDER BY id")]
    assert ids == expected


def test_prev_link_and_offset(client):
    body = client.get("/collections/estates/items?limit=5&offset=10").json()
    assert [f["id"] for f in body["features"]] == list(range(11, 16))
    prev = next(link["href"] for link in body["links"] if link["rel"] == "prev")
    assert "offset=5" in prev


def test_limit_bounds(client):
    assert client.get("/collections/estates/items?limit=0").status_code == 400
    response = client.get("/collections/estates/items?limit=10001")
    assert response.status_code == 400 and "at most 10000" in response.json()["detail"]


def test_bbox_selects_what_postgis_selects(client, conn):
    box = (116.3, 39.85, 116.5, 39.95)
    body = client.get(
        "/collections/buildings/items", params={"bbox": ",".join(map(str, box)), "limit": 10000}
    ).json()
    expected = scalar(
        conn,
        "SELECT count(*) FROM buildings WHERE "
        "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
        *box,
    )
    assert expected > 0
    assert body["numberMatched"] == body["numberReturned"] == expected


@pytest.mark.parametrize(
    ("bbox_crs", "box"),
    [
        ("CRS84", (116.38, 39.90, 116.40, 39.92)),
        ("EPSG:4326", (39.90, 116.38, 39.92, 116.40)),  # north/east axis order
        ("EPSG:3857", (12955000.0, 4852000.0, 12957500.0, 4854500.0)),
        ("EPSG:4548", (4418600.0, 447000.0, 4420800.0, 448700.0)),  # Gauss-Krüger, N/E
        ("GCJ-02", (116.386, 39.901, 116.406, 39.921)),  # a web map's shifted datum
    ],
)  # fmt: skip
def test_a_box_statement_is_kept_per_shape_and_selects_as_composed(conn, bbox_crs, box):
    """Boxes in one CRS share one rendered statement, with the same rows as one composed anew."""
    from layers import Visibility, get_layer
    from spatial import crs
    from spatial.features import FeatureQuery, _compose_select, select_sql

    def query(b, limit=1000):
        return FeatureQuery(layer=get_layer("buildings"), level=Visibility.PUBLIC, bbox=b,
                            bbox_crs=crs.parse(bbox_crs), limit=limit)  # fmt: skip

    nudged = tuple(v + (0.001 if abs(v) < 1000 else 100.0) for v in box)
    kept, other = select_sql(query(box)), select_sql(query(nudged))
    assert kept.sql is other.sql and kept.params != other.params
    for q in (query(box), query(nudged), query(box, limit=7)):
        composed = _compose_select(q)
        rows = conn.execute(select_sql(q).sql, select_sql(q).params).fetchall()
        assert rows == conn.execute(composed.sql, composed.params).fetchall()
    assert len(conn.execute(kept.sql, kept.params).fetchall()) > 0


@pytest.fixture(scope="module")
def uncounting_client(db_url):
    """An app that never counts a filtered page (the planner's estimate is always too big)."""
    from fastapi.testclient import TestClient

    with TestClient(admin_app(db_url, exact_count_threshold=0)) as client:
        yield client


@pytest.mark.parametrize("limit", [1000, 5000])  # one statement; a cursor in batches of 2,000
def test_the_last_page_knows_how_many_matched_without_counting(uncounting_client, conn, limit):
    # A box in the centre holding more than a page of ten and less than one of a thousand.
    for half in (0.01, 0.02, 0.04, 0.08):
        west, south, east, north = 116.39 - half, 39.91 - half, 116.39 + half, 39.91 + half
        expected = scalar(
            conn,
            "SELECT count(*) FROM buildings WHERE "
            f"ST_Intersects(geom, ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326))",
        )
        if expected > 10:
            break
    assert 10 < expected < 1000
    box = f"{west},{south},{east},{north}"
    items = "/collections/buildings/items"
    whole = uncounting_client.get(items, params={"bbox": box, "limit": limit}).json()
    assert whole["numberMatched"] == whole["numberReturned"] == expected
    tail = uncounting_client.get(items, params={"bbox": box, "limit": limit, "offset": 10}).json()
    assert tail["numberMatched"] == expected and tail["numberReturned"] == expected - 10
    full = uncounting_client.get(items, params={"bbox": box, "limit": 10}).json()
    assert full["numberReturned"] == 10 and "numberMatched" not in full  # more may follow
    assert "next" in {link["rel"] for link in full["links"]}
    past = uncounting_client.get(items, params={"bbox": box, "offset": expected + 5}).json()
    assert past["numberReturned"] == 0 and "numberMatched" not in past  # nothing to go by


def test_an_exactly_full_last_page_still_counts(client, conn):
    expected = scalar(conn, "SELECT count(*) FROM districts")
    body = client.get("/collections/districts/items", params={"limit": expected}).json()
    assert body["numberReturned"] == body["numberMatched"] == expected
    assert "next" not in {link["rel"] for link in body["links"]}
    empty = client.get("/collections/districts/items", params={"offset": expected}).json()
    assert empty["numberReturned"] == 0 and empty["numberMatched"] == expected


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "3,2,1,0", "1,2,3,nan"])
def test_bad_bbox_is_400(client, bbox):
    response = client.get("/collections/estates/items", params={"bbox": bbox})
    assert response.status_code == 400
    assert "bbox" in response.json()["detail"]


def test_datetime_interval_on_the_time_field(client, conn):
    body = client.get(
        "/collections/elevator_retrofits/items",
        params={"datetime": "2020-01-01/2021-12-31", "limit": 10000},
    ).json()
    expected = scalar(
        conn,
        "SELECT count(*) FROM elevator_retrofits WHERE requested_on "
        "BETWEEN '2020-01-01' AND '2021-12-31'",
    )
    assert body["numberReturned"] == expected > 0
    open_end = client.get(
        "/collections/elevator_retrofits/items", params={"datetime": "2024-01-01/..", "limit": 1}
    ).json()
    assert open_end["numberMatched"] == scalar(
        conn, "SELECT count(*) FROM elevator_retrofits WHERE requested_on >= '2024-01-01'"
    )
    assert client.get("/collections/estates/items?datetime=2020-01-01").status_code == 400
    assert client.get("/collections/elevator_retrofits/items?datetime=yesterday").status_code == 400


def test_property_equality_filters(client, conn):
    body = client.get("/collections/estates/items?status=completed&limit=1").json()
    assert body["numberMatched"] == scalar(
        conn, "SELECT count(*) FROM estates WHERE status = 'completed'"
    )
    chinese = client.get("/collections/estates/items?status=完工&limit=1").json()
    assert chinese["numberMatched"] == body["numberMatched"]
    assert client.get("/collections/buildings/items?floors=six").status_code == 400


def test_unknown_and_hidden_parameters_are_named(client):
    for name in ("colour", "property_nature"):  # unknown; internal field for anonymous
        response = client.get(f"/collections/estates/items?{name}=x")
        assert response.status_code == 400
        assert name in response.json()["detail"]


def test_sortby_properties_and_skip_geometry(client, conn):
    body = client.get(
        "/collections/buildings/items",
        params={
            "sortby": "-floors,+name_zh",
            "properties": "floors,name_zh",
            "skipGeometry": "true",
            "limit": 50,
        },
    ).json()
    floors = [f["properties"]["floors"] for f in body["features"]]
    assert floors == sorted(floors, reverse=True)
    assert floors[0] == scalar(conn, "SELECT max(floors) FROM buildings")
    assert all(f["geometry"] is None for f in body["features"])
    assert all(set(f["properties"]) == {"floors", "name_zh"} for f in body["features"])
    assert client.get("/collections/buildings/items?sortby=nope").status_code == 400
    assert client.get("/collections/buildings/items?properties=nope").status_code == 400


def test_single_item_and_missing_item(client, conn):
    response = client.get("/collections/estates/items/3")
    assert response.status_code == 200
    feature = response.json()
    assert feature["id"] == 3
    assert feature["properties"]["code"] == scalar(conn, "SELECT code FROM estates WHERE id = 3")
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    missing = client.get("/collections/estates/items/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/collections/estates/items/abc").status_code == 400


def test_the_api_document_declares_what_one_feature_takes_and_who_may_ask(client):
    """The route reads its caller, path and query itself (BENCHMARKS.md, 37)."""
    from layers import MAX_ID

    doc = client.get("/openapi.json").json()
    operation = doc["paths"]["/collections/{collectionId}/items/{featureId}"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {name: p["in"] for name, p in parameters.items()} == {
        "collectionId": "path", "featureId": "path", "crs": "query", "f": "query"}  # fmt: skip
    assert parameters["featureId"]["schema"] == {"type": "integer", "minimum": 1,
                                                 "maximum": MAX_ID}  # fmt: skip
    assert not parameters["crs"]["required"] and parameters["f"]["description"]
    schemes = doc["components"]["securitySchemes"]
    assert {name for s in operation["security"] for name in s} == set(schemes)


@pytest.mark.parametrize("feature", ["1", "999999", "0", "abc"])
@pytest.mark.parametrize("query", ["", "?crs=EPSG:9999", "?f=xml"])
def test_an_item_of_a_hidden_layer_is_answered_as_one_of_no_layer(client, feature, query):
    """Whatever else is wrong with the request: the layer is found in the route's body now,
    after its parameters are checked, and a hidden layer must still not show."""
    hidden = client.get(f"/collections/resident_requests/items/{feature}{query}")
    missing = client.get(f"/collections/no_such_layer/items/{feature}{query}")
    assert hidden.status_code == missing.status_code in (400, 404)
    said = hidden.json(), missing.json()
    assert said[0]["title"] == said[1]["title"]
    assert said[0]["detail"].replace("resident_requests", "X") == said[1]["detail"].replace(
        "no_such_layer", "X")  # fmt: skip


def test_private_fields_stay_private(client, admin):
    public = client.get("/collections/estates/items/1").json()["properties"]
    private = admin.get("/collections/estates/items/1").json()["properties"]
    assert "maintenance_fund_balance" not in public and "contact" not in public
    assert "maintenance_fund_balance" in private and "contact" in private
    assert client.get("/collections/pipelines/items").status_code == 404
    assert admin.get("/collections/pipelines/items?limit=1").status_code == 200


def test_non_spatial_layers_serve_null_geometry(admin, conn):
    body = admin.get("/collections/plan_batches/items?limit=3").json()
    assert [f["geometry"] for f in body["features"]] == [None, None, None]
    assert body["numberMatched"] == scalar(conn, "SELECT count(*) FROM plan_batches")


def test_json_is_gzipped_when_asked(client):
    response = client.get(
        "/collections/buildings/items?limit=500", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers.get("content-encoding") == "gzip"
    assert response.json()["numberReturned"] == 500


@pytest.mark.parametrize(
    ("accept_encoding", "zipped"),
    [("gzip", True), ("x-gzip", True), ("*", True), ("br, gzip;q=0.5", True),
     ("*;q=0, gzip", True), ("gzip;q=0", False), ("gzip;q=0, *", False), ("identity", False),
     ("br", False), ("gzip;q=x", False)],
)  # fmt: skip
def test_gzip_is_sent_when_its_weight_accepts_it(client, accept_encoding, zipped):
    """``gzip;q=0`` says "not gzip": it was read as a substring and got gzip."""
    response = client.get(
        "/collections/buildings/items?limit=500", headers={"Accept-Encoding": accept_encoding}
    )
    assert (response.headers.get("content-encoding") == "gzip") is zipped, accept_encoding
    assert response.json()["numberReturned"] == 500


def test_gzip_answers_decode_to_the_identity_answers(admin, conn):
    """A streamed page (many body chunks, each flushed) and a tile (one body) both round-trip."""
    lon, lat = conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM estates WHERE id = 1) s"
    ).fetchone()
    x, y = lonlat_to_tile(lon, lat, 10)
    tile = f"/tiles/WebMercatorQuad/10/{y}/{x}?collections=estates,buildings"  # a few kB
    page = "/collections/pipelines/items?limit=3000"  # over 2,000 rows: streamed in batches
    for path in (tile, page):
        zipped = admin.get(path, headers={"Accept-Encoding": "gzip"})
        plain = admin.get(path, headers={"Accept-Encoding": "identity"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert zipped.num_bytes_downloaded < 0.8 * len(plain.content)
        if path == tile:
            assert zipped.content == plain.content  # httpx has decoded it
        else:
            zipped_page, plain_page = zipped.json(), plain.json()
            assert zipped_page["features"] == plain_page["features"]
            assert zipped_page["numberReturned"] == 3000


def test_a_page_read_whole_is_sent_whole_and_a_longer_one_streams(admin):
    """A page whose rows came in one batch is one body with its length: streamed, it started
    a task to watch for the client leaving, a sixth of a bbox page's time. A page past one
    batch still streams, its rows read batch by batch."""
    plain = {"Accept-Encoding": "identity"}
    page = admin.get("/collections/buildings/items?limit=100", headers=plain)
    assert page.headers["content-length"] == str(len(page.content))
    assert page.json()["numberReturned"] == 100
    longer = admin.get("/collections/pipelines/items?limit=3000", headers=plain)
    assert "content-length" not in longer.headers
    assert longer.json()["numberReturned"] == 3000


def test_a_filtered_count_is_kept_per_layer_version(edits_url):
    """Paging through a filter counts once; a write to the layer makes it count again."""

    import psycopg

    from layers import Visibility, get_layer
    from spatial import cql
    from spatial.counting import CountCache
    from spatial.crs import DEFAULT
    from spatial.features import FeatureQuery

    layer = get_layer("buildings")
    compiled = cql.compile_filter(
        cql.parse("floors >= 6 AND has_elevator = false", "cql2-text"), layer,
        Visibility.PUBLIC, DEFAULT,
    )  # fmt: skip
    q = FeatureQuery(layer=layer, level=Visibility.PUBLIC, limit=10, filter=compiled)
    with psycopg.connect(edits_url) as sync:
        expected, fid = sync.execute(
            "SELECT count(*), min(id) FROM buildings WHERE floors >= 6 AND NOT has_elevator"
        ).fetchone()
    toggle = "UPDATE buildings SET has_elevator = NOT has_elevator WHERE id = %s"

    async def counts() -> tuple[int | None, int | None, int, int | None]:
        cache = CountCache()
        async with await psycopg.AsyncConnection.connect(edits_url, autocommit=True) as aconn:
            first = await cache.number_matched(aconn, q, 1_000_000)
            second = await cache.number_matched(aconn, q, 1_000_000)
            kept = len(cache.filtered)
            await aconn.execute(toggle, (fid,))
            try:
                after = await cache.number_matched(aconn, q, 1_000_000)
            finally:
                await aconn.execute(toggle, (fid,))
        return first, second, kept, after

    first, second, kept, after = run_async(counts())
    assert first == second == expected
    assert kept == 1
    assert after == expected - 1


@pytest.mark.parametrize(
    "shape",
    [
        {"ids": (7,)},
        {"limit": 100, "offset": 300},
        {"offset": 5},
        {"limit": 10, "sortby": (("floors", False),), "properties": ("floors", "name_zh")},
        {"limit": 10, "skip_geometry": True, "crs": "EPSG:3857"},
        {"ids": (3, 4), "crs": "GCJ-02", "scope": ("110101001",)},
        {},
    ],
)
def test_a_kept_statement_is_the_composed_one(conn, shape):
    """Plain pages and single items reuse a rendered statement: the same SQL, values in order."""
    from layers import Visibility, get_layer
    from spatial import crs
    from spatial.features import FeatureQuery, _compose_select, select_sql
    from spatial.scope import StreetScope

    values = dict(shape)
    if "crs" in values:
        values["crs"] = crs.parse(values["crs"])
    if "scope" in values:
        values["scope"] = StreetScope(values["scope"], Visibility.PUBLIC)
    q = FeatureQuery(layer=get_layer("buildings"), level=Visibility.INTERNAL, **values)
    kept, composed = select_sql(q), _compose_select(q)
    assert kept.sql.as_string(conn) == composed.sql.as_string(conn)
    assert kept.params == composed.params
    assert select_sql(q).sql is kept.sql  # rendered once per shape
    rows = conn.execute(kept.sql, kept.params).fetchall()  # and it runs
    assert len(rows) <= (values.get("limit") or 100_000)


@pytest.mark.parametrize(("bbox", "bbox_crs"), [
    ("70,15,135,55", None),  # all of China, as OpenLayers at z4 asks
    ("-180,-90,180,90", None),
    ("8000000,1600000,15000000,7000000", "http://www.opengis.net/def/crs/EPSG/0/3857"),
])  # fmt: skip
def test_a_bbox_larger_than_allowed_is_cut_to_the_city(client, conn, bbox, bbox_crs):
    params = {"bbox": bbox, "limit": 10000}
    if bbox_crs:
        params["bbox-crs"] = bbox_crs
    body = client.get("/collections/estates/items", params=params).json()
    assert body["numberMatched"] == scalar(conn, "SELECT count(*) FROM estates") > 0


def test_a_huge_bbox_beside_the_city_is_an_empty_answer(client):
    body = client.get("/collections/estates/items", params={"bbox": "-170,-80,-20,-10"}).json()
    assert body["numberMatched"] == 0 and body["features"] == []


def test_tilesets_say_which_tiles_hold_data(client, conn):
    from spatial.tiles import lonlat_to_tile

    tileset = client.get("/collections/estates/tiles/WebMercatorQuad").json()
    limits = {int(m["tileMatrix"]): m for m in tileset["tileMatrixSetLimits"]}
    west, south, east, north = scalar(
        conn, "SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] "
        "FROM (SELECT ST_Extent(geom) e FROM estates) s")  # fmt: skip
    for z, m in limits.items():
        x0, y0 = lonlat_to_tile(west, north, z)
        x1, y1 = lonlat_to_tile(east, south, z)
        assert (m["minTileCol"], m["minTileRow"], m["maxTileCol"], m["maxTileRow"]) == (
            x0, y0, x1, y1)  # fmt: skip
    tile = client.get(
        f"/collections/estates/tiles/WebMercatorQuad/14/{limits[14]['minTileRow']}/"
        f"{limits[14]['minTileCol'] - 1}"
    )
    assert tile.status_code == 204  # outside the limits: nothing there
