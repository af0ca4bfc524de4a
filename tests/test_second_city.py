"""A second real city end to end: Chengdu's sample, loaded and served under its own profile.

Chengdu differs from Beijing where it matters: the CGCS2000 zone of 105° E (Beijing's 117° E
zone would stretch its lengths by about 2 %), no heating network, no winter construction stop.
Everything here runs ``onemap`` as a user does, with ``ONEMAP_CITY=chengdu``.
"""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Geod

from layers.city import load_city
from spatial.tiles import lonlat_to_tile
from tests_support import (
    ADMIN_TOKEN,
    POSTGIS,
    local_get,
    open_watched,
    run_onemap,
    serve,
    watched_page,
)

pytestmark = pytest.mark.e2e

CITY = {"ONEMAP_CITY": "chengdu"}
CHENGDU_BOX = (103.5, 30.1, 104.9, 31.2)  # lon/lat around its twelve districts
SCALE = "0.05"


@pytest.fixture(scope="module")
def chengdu_url(scratch_database) -> str:
    url = scratch_database("onemap_chengdu", POSTGIS)
    env = {**CITY, "ONEMAP_DATABASE_URL": url}
    migrated = run_onemap("db", "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    loaded = run_onemap("samples", "load", "--city", "chengdu", "--scale", SCALE, env=env,
                        timeout=300)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded chengdu:" in loaded.stdout
    return url


@pytest.fixture(scope="module")
def chengdu(chengdu_url):
    with serve(chengdu_url, env=CITY) as (base, _):
        yield base


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_the_sample_lies_in_chengdus_districts_and_has_no_heating(chengdu_url):
    assert scalar(chengdu_url, "SELECT count(*) FROM districts WHERE code NOT LIKE '5101%'") == 0
    assert scalar(chengdu_url, "SELECT count(*) FROM estates") == 200  # 4,000 × 0.05
    outside = scalar(chengdu_url, "SELECT count(*) FROM estates e WHERE NOT EXISTS "
                     "(SELECT 1 FROM districts d WHERE ST_Covers(d.geom, e.geom))")  # fmt: skip
    assert outside == 0
    xmin, ymin, xmax, ymax = CHENGDU_BOX
    assert scalar(chengdu_url, "SELECT count(*) FROM buildings WHERE NOT ST_Within(geom, "
                  f"ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, 4326))") == 0  # fmt: skip
    assert scalar(chengdu_url, "SELECT count(*) FROM pipelines WHERE network = 'heating'") == 0
    assert scalar(chengdu_url, "SELECT count(*) FROM pipelines") > 10_000
    assert scalar(chengdu_url, "SELECT count(*) FROM estates "
                  "WHERE 'heating' = ANY(renovation_items)") == 0  # fmt: skip
    assert scalar(chengdu_url, "SELECT count(*) FROM resident_requests "
                  "WHERE category = 'heating' OR channel = 'wechat_anju_beijing'") == 0  # fmt: skip


def test_loading_a_city_the_service_is_not_set_up_for_is_refused(chengdu_url):
    before = scalar(chengdu_url, "SELECT count(*) FROM estates")
    env = {"ONEMAP_DATABASE_URL": chengdu_url}  # the default city: Beijing
    for args, message in (
        (("--city", "chengdu", "--replace"), "run with ONEMAP_CITY=chengdu"),
        (("--city", "atlantis", "--replace"), "there are: beijing, chengdu"),
        (("--city", "", "--replace"), "there are: beijing, chengdu"),
    ):
        result = run_onemap("samples", "load", *args, env=env)
        assert result.returncode == 1 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert scalar(chengdu_url, "SELECT count(*) FROM estates") == before


@pytest.mark.parametrize(
    "args",
    [("serve", "--port", "1"), ("export", "estates", "--out", "/tmp/x.geojson"),
     ("analyse", "pipes_by_estate"), ("check",), ("db", "migrate")],
    ids=["serve", "export", "analyse", "check", "migrate"],
)  # fmt: skip
def test_a_service_set_up_for_another_city_refuses_the_database(chengdu_url, args):
    """Beijing's zone would stretch Chengdu's lengths by 2 %: no command may run that way."""
    result = run_onemap(*args, env={"ONEMAP_DATABASE_URL": chengdu_url})
    assert result.returncode == 1, result.stdout
    assert "holds chengdu's data but ONEMAP_CITY is beijing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    status = run_onemap("db", "status", env={"ONEMAP_DATABASE_URL": chengdu_url})
    assert "data of: chengdu; ONEMAP_CITY: beijing" in status.stdout


def test_an_empty_database_changes_city_and_a_reset_one_too(scratch_database):
    url = scratch_database("onemap_city_switch", POSTGIS)
    beijing, chengdu = {"ONEMAP_DATABASE_URL": url}, {"ONEMAP_DATABASE_URL": url, **CITY}
    assert run_onemap("db", "migrate", env=beijing).returncode == 0
    assert scalar(url, "SELECT name FROM served_city") == "beijing"
    assert run_onemap("db", "migrate", env=chengdu).returncode == 0  # empty: free to change
    assert scalar(url, "SELECT name FROM served_city") == "chengdu"
    with psycopg.connect(url) as conn:  # some Chengdu data, by any path
        conn.execute(
            "INSERT INTO districts (id, code, name_zh, geom) VALUES (1, '510104', '锦江区', "
            "ST_Multi(ST_Buffer(ST_Point(104.08, 30.65, 4326), 0.01)))"
        )
    assert run_onemap("db", "migrate", env=beijing).returncode == 1
    assert run_onemap("db", "reset", "--yes", env=beijing).returncode == 0
    assert scalar(url, "SELECT name FROM served_city") == "beijing"


def test_lengths_inside_estates_agree_with_geodesic_lengths(chengdu, chengdu_url):
    """pipes_by_estate measures in the city's zone; pyproj's ellipsoid recomputes it."""

    rows = local_get(f"{chengdu}/analyses/pipes_by_estate", params={"limit": 5},
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["rows"]  # fmt: skip
    geod = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
    with psycopg.connect(chengdu_url) as conn:
        for row in rows:
            estate = shapely.from_wkb(
                conn.execute(
                    "SELECT ST_AsBinary(geom) FROM estates WHERE id = %s", (row["id"],)
                ).fetchone()[0]
            )
            pipes = [shapely.from_wkb(g) for (g,) in conn.execute(
                "SELECT ST_AsBinary(geom) FROM pipelines WHERE ST_Intersects(geom, "
                "(SELECT geom FROM estates WHERE id = %s))", (row["id"],))]  # fmt: skip
            inside = sum(geod.geometry_length(shapely.intersection(p, estate)) for p in pipes)
            assert row["inside_m"] == pytest.approx(inside, rel=2e-3, abs=0.2)


def test_coverage_gaps_agree_with_every_distance_in_chengdus_zone(chengdu, chengdu_url):
    """Every (estate, kind) measured again without an index, each red line to every
    facility of the kind in the 105° E zone (pyproj): Beijing's zone would put a gap's
    800 m about 16 m off."""
    from pyproj import Transformer

    kinds, walk_m = ("elder_care", "childcare", "meal_aid", "clinic"), 800.0
    answer = local_get(f"{chengdu}/analyses/coverage_gaps",
                       params={"limit": 10000, "kinds": ",".join(kinds), "walk_m": walk_m},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()  # fmt: skip
    gaps = {(r["estate_id"], r["kind"]): r["nearest_m"] for r in answer["rows"]}
    srid = load_city("chengdu").metric_srid
    assert srid != load_city("beijing").metric_srid
    to_metres = Transformer.from_crs(4326, srid, always_xy=True)

    def metric(wkbs: list[bytes]) -> np.ndarray:
        return shapely.transform(shapely.from_wkb(wkbs), lambda xy: np.column_stack(
            to_metres.transform(xy[:, 0], xy[:, 1])))  # fmt: skip

    with psycopg.connect(chengdu_url) as conn:
        estates = conn.execute("SELECT id, ST_AsBinary(geom) FROM estates").fetchall()
        outlines = metric([bytes(g) for _, g in estates])
        expected = {}
        for kind in kinds:
            rows = conn.execute(
                "SELECT ST_AsBinary(geom) FROM service_facilities WHERE kind = %s", (kind,)
            ).fetchall()
            points = metric([bytes(g) for (g,) in rows])
            for (estate_id, _), outline in zip(estates, outlines, strict=True):
                nearest = shapely.distance(outline, points).min() if len(points) else None
                if nearest is None or nearest > walk_m:
                    expected[estate_id, kind] = nearest
    assert len(expected) > 10 and set(gaps) == set(expected)
    for key, nearest in expected.items():
        assert gaps[key] == (None if nearest is None else pytest.approx(nearest, abs=0.5))


def test_relocation_costs_use_the_citys_prices_and_winter_counts_no_days(chengdu):

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    screening = local_get(f"{chengdu}/analyses/elevator_screening", params={"limit": 1000},
                          headers=headers).json()  # fmt: skip
    prices = load_city("chengdu").unit_prices
    moved = [r for r in screening["rows"] if r["pipes_to_move_m"]]
    assert moved, "no building needs a pipe moved: the check would prove nothing"
    for row in moved:
        assert "heating" not in row["pipes_to_move_m"]
        expected = sum(m * prices[n] for n, m in row["pipes_to_move_m"].items())
        assert row["relocation_cost_cny"] == pytest.approx(expected, rel=1e-3, abs=1)
    conflicts = local_get(f"{chengdu}/analyses/schedule_conflicts", params={"limit": 1000},
                          headers=headers).json()  # fmt: skip
    assert conflicts["parameters"]["winter"] == ""
    assert conflicts["rows"] and all(r["winter_days"] == 0 for r in conflicts["rows"])
    assert any(r["rainy_season_days"] > 0 for r in conflicts["rows"])


def test_items_and_tiles_serve_chengdu(chengdu, chengdu_url):

    bbox = ",".join(map(str, CHENGDU_BOX))
    items = local_get(f"{chengdu}/collections/buildings/items", params={"bbox": bbox}).json()
    assert items["numberMatched"] == scalar(chengdu_url, "SELECT count(*) FROM buildings")
    with psycopg.connect(chengdu_url) as conn:
        lon, lat = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c "
                                "FROM buildings ORDER BY id LIMIT 1) s").fetchone()  # fmt: skip
    x, y = lonlat_to_tile(lon, lat, 15)
    tile = local_get(f"{chengdu}/collections/buildings/tiles/WebMercatorQuad/15/{y}/{x}")
    assert tile.status_code == 200
    assert len(mapbox_vector_tile.decode(tile.content)["buildings"]["features"]) > 0


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "size"), [("/map", (1280, 800)), ("/elevator-map", (390, 844))], ids=["map", "phone"]
)
def test_the_pages_open_on_chengdu(browser, chengdu, chengdu_url, path, size):
    page = watched_page(browser, chengdu, token=ADMIN_TOKEN if path == "/map" else None, size=size)
    open_watched(page, chengdu + path)
    assert page.errors == [] and page.outside == []
    centre = page.evaluate("(() => { const c = OneMap.state.map.getCenter(); "
                           "return [c.lng, c.lat]; })()")  # fmt: skip
    xmin, ymin, xmax, ymax = CHENGDU_BOX
    assert xmin < centre[0] < xmax and ymin < centre[1] < ymax
    if path == "/elevator-map":
        total = scalar(chengdu_url, "SELECT count(*) FROM elevator_retrofits")
        assert page.locator(".om-total b").inner_text() == str(total)
    names = page.evaluate("Array.from(document.querySelectorAll('[data-district]'))"
                          ".map(e => e.textContent).join(' ')")  # fmt: skip
    assert "锦江" in names or path == "/map"
    assert np.isfinite(centre).all()
