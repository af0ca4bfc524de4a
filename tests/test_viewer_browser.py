"""The pages in a real browser (Debian's Chromium via Playwright) against ``onemap serve``."""

import math

import mapbox_vector_tile
import pytest

from analyses.fields import terms_of
from spatial import tiles
from tests_support import ADMIN_TOKEN, local_get, open_watched, set_view, settle, watched_page

pytestmark = pytest.mark.browser

# The overlay's colours (viewer/static/onemap.js): a ColorBrewer Reds ramp, yes/no, nothing.
SEQUENTIAL = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
ATTENTION, CALM, NEUTRAL = "#d62728", "#2ca02c", "#b8b8b8"


def open_page(browser, url, *, token=None, motion="reduce"):
    """The page at ``url``, watched for errors and for requests leaving its origin."""
    base = "/".join(url.split("/", 3)[:3])
    return open_watched(watched_page(browser, base, token=token, motion=motion), url)


def drawn(page, layer):
    """The features ``layer`` has drawn, once the count holds still.

    The network going idle is not the drawing done: on a loaded machine (two workers each
    with a Chromium) the tiles' paths came later, and a filtered view read 0.
    """
    count = (
        f"(OneMap.state.layers[{layer!r}].getContainer ? "
        f"OneMap.state.layers[{layer!r}].getContainer().querySelectorAll('path').length : "
        f"OneMap.state.layers[{layer!r}].getLayers().length)"
    )
    last = page.evaluate(count)
    for _ in range(50):
        page.wait_for_timeout(100)
        now = page.evaluate(count)
        if now == last and now > 0:
            break
        last = now
    return last


def click_at(page, lat, lon):
    """Zoom to (lat, lon), click there, and return the popup that opens."""
    set_view(page, lat, lon, 17)
    settle(page)
    point = page.evaluate(f"OneMap.state.map.latLngToContainerPoint([{lat}, {lon}])")
    box = page.locator("#" + page.evaluate("OneMap.state.map.getContainer().id")).bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    popup = page.locator(".om-popup").first
    popup.wait_for(timeout=5000)
    return popup


@pytest.fixture(scope="module")
def estate_one(db_url):
    import psycopg

    with psycopg.connect(db_url) as conn:
        return _estate_one(conn)


def _estate_one(conn):
    lon, lat = conn.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c "
        "FROM estates WHERE id = 1) s"
    ).fetchone()
    code, district = conn.execute("SELECT code, district_code FROM estates WHERE id = 1").fetchone()
    return lon, lat, code, district


def test_one_map_draws_tiles_with_legend_controls_and_chinese_text(browser, live_server):
    page = open_page(browser, f"{live_server}/map")
    assert page.errors == [] and page.outside == []
    assert drawn(page, "basemap") > 0 and drawn(page, "estates") > 0
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator(".om-legend").inner_text().startswith("图例")
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.evaluate("document.fonts.check('14px \"WenQuanYi Micro Hei\"', '老旧小区')")
    box = page.locator(".om-legend .om-toggle").bounding_box()
    assert box["width"] > 20  # the Chinese heading has glyphs, not an empty box


def test_a_click_opens_the_popup_of_the_estate_under_it(browser, live_server, estate_one):
    lon, lat, code, _ = estate_one
    page = open_page(browser, f"{live_server}/map")
    # Only estates over the basemap, so that the click lands on the estate.
    page.evaluate("""Object.entries(OneMap.state.layers).forEach(([name, layer]) => {
        if (name !== 'estates' && name !== 'basemap') { OneMap.state.map.removeLayer(layer); }
    })""")
    popup = click_at(page, lat, lon)
    assert popup.get_attribute("data-layer") == "estates"
    assert popup.get_attribute("data-fid") == "1"
    assert code in popup.inner_text()
    href = popup.locator("a.om-json").get_attribute("href")
    assert href.endswith("/collections/estates/items/1")


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_tap_on_a_point_opens_its_popup(browser, live_server, conn, size):
    """Points are tappable (VectorGrid's points had no latlng: a TypeError and no popup)."""
    fid, lon, lat = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM elevator_retrofits ORDER BY id LIMIT 1"
    ).fetchone()
    page = watched_page(browser, live_server, size=size)
    open_watched(page, f"{live_server}/elevator-map")
    page.evaluate("void OneMap.state.map.removeLayer(OneMap.state.layers.buildings)")
    popup = click_at(page, lat, lon)
    assert popup.get_attribute("data-layer") == "elevator_retrofits"
    assert popup.get_attribute("data-fid") == str(fid)
    building = conn.execute(
        "SELECT b.name_zh FROM elevator_retrofits r JOIN buildings b ON b.id = r.building_id "
        "WHERE r.id = %s", (fid,)).fetchone()[0]  # fmt: skip
    cell = popup.locator('td[data-key="building_id"]')
    for _ in range(50):  # the name replaces the id once the building is read
        if cell.inner_text() == building:
            break
        page.wait_for_timeout(100)
    assert cell.inner_text() == building  # "5号楼", not the building's id
    assert page.errors == []


def test_the_district_filter_changes_what_is_drawn(browser, live_server, estate_one):
    _, _, _, district = estate_one
    page = open_page(browser, f"{live_server}/map")
    view = page.evaluate("[OneMap.state.map.getCenter(), OneMap.state.map.getZoom()]")
    everything = drawn(page, "estates")
    page.select_option(".om-district-select", district)
    settle(page)
    set_view(page, view[0]["lat"], view[0]["lng"], view[1])
    settle(page)
    filtered = drawn(page, "estates")
    assert 0 < filtered < everything


def test_planners_signed_in_see_pipelines(browser, live_server):
    page = open_page(browser, f"{live_server}/map", token=ADMIN_TOKEN)
    assert "pipelines" in page.evaluate("Object.keys(OneMap.state.layers)")
    assert page.errors == [] and page.outside == []


def test_planners_run_an_analysis_as_an_overlay(browser, live_server, estate_one):
    _, _, _, district = estate_one
    page = open_page(browser, f"{live_server}/map", token=ADMIN_TOKEN)
    names = page.evaluate("OneMap.state.config.analyses.map(a => a.name)")
    assert "elevator_screening" in names and "coverage_gaps" in names
    page.select_option(".om-district-select", district)
    page.select_option(".om-analysis-select", "elevator_screening")
    page.wait_for_selector("body[data-analysis-count]", state="attached")
    count = int(page.evaluate("document.body.getAttribute('data-analysis-count')"))
    assert count > 0 and page.evaluate("OneMap.state.overlay.getLayers().length") == count
    assert str(count) in page.inner_text(".om-analysis-status")
    # The legend says what the colours are, and each building is drawn in its answer's colour.
    legend = page.inner_text(".om-analysis-legend")
    assert "加装电梯条件筛查" in legend and "具备加装条件" in legend
    drawn_as = page.evaluate(
        "(() => { const seen = {}; OneMap.state.overlay.eachLayer(l => "
        "{ seen[l.feature.properties.feasible] = l.options.color; }); return seen; })()"
    )
    assert drawn_as.get("false", ATTENTION) == ATTENTION and drawn_as.get("true", CALM) == CALM
    # A popup names each property and its codes in words, not "recommendation: elevator".
    page.evaluate("void OneMap.state.overlay.getLayers()[0].openPopup()")
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "具备加装条件 Feasible" in popup and "日照间距要求" in popup
    assert any(words in popup for words in ("加装电梯", "先征得居民同意", "提供爬楼辅助"))
    assert "_" not in popup  # no snake_case name or code left
    assert page.errors == [] and page.outside == []
    anonymous = open_page(browser, f"{live_server}/map")
    assert anonymous.query_selector(".om-analysis-select") is None


def bilingual(zh, en):
    """A label as the page writes it: Chinese, then English in a span of its own."""
    return f'{zh} <span class="om-en">{en}</span>'


def overlay_classes(page, theme, values):
    """How the page draws an answer whose ``theme`` values are ``values``: [colour, legend
    label, how many features] per class."""
    return page.evaluate(
        "([theme, values]) => { const fs = values.map(v => ({properties: {[theme.name]: v,"
        " title: 'T ' + v}})); return OneMap.themeClasses(theme, fs).map(c => [c.colour,"
        " c.label, fs.filter(f => c.test(f.properties[theme.name])).length]); }",
        [theme, values],
    )


def test_an_overlay_is_coloured_by_what_needs_attention(browser, live_server):
    """Classes of the answer's own values, darkest where the analysis says attention goes —
    a colour per log10 of the value had drawn priorities 1, 2 and 3 alike and an opinion
    still missing in green."""
    page = open_page(browser, f"{live_server}/map", token=ADMIN_TOKEN)
    describe = {a["name"]: a["theme"] for a in page.evaluate("OneMap.state.config.analyses")}
    darkest, lightest = SEQUENTIAL[-1], SEQUENTIAL[0]
    priority = overlay_classes(page, describe["aging_pipes"], [1, 1, 2, 3, 3, 3])
    assert [c[1] for c in priority] == ["1", "2", "3", bilingual("无", "none")]
    assert priority[0][0] == darkest and priority[2][0] == lightest  # 1 = renovate first
    assert [c[2] for c in priority] == [2, 1, 3, 0]
    funds = overlay_classes(page, describe["low_funds"], [i / 100 for i in range(100)])
    assert [c[2] for c in funds[:5]] == [20] * 5 and funds[0][0] == darkest  # low = worse
    assert funds[0][1] == "0 – 0.19" and funds[4][1] == "0.8 – 0.99"
    days = overlay_classes(page, describe["overruns"], list(range(1, 101)) + [None])
    assert days[4][0] == darkest and [c[2] for c in days] == [20] * 5 + [1]
    assert days[5][0] == NEUTRAL  # a value missing is drawn grey, and said so
    missing = overlay_classes(page, describe["overdue_opinions"], [True, False, False])
    assert [c[:2] for c in missing[:2]] == [
        [ATTENTION, bilingual("是", "yes")], [CALM, bilingual("否", "no")]]  # fmt: skip
    feasible = overlay_classes(page, describe["elevator_screening"], [True, False])
    assert feasible[0][:2] == [ATTENTION, bilingual("否", "no")]
    terms = terms_of("service_facilities", "kind")  # what the answer's fields give its kinds
    kinds = overlay_classes(page, {**describe["coverage_gaps"], "terms": terms},
                            ["clinic", "clinic", "childcare"])  # fmt: skip
    assert [c[:2] for c in kinds[:2]] == [
        [terms[k][0], bilingual(terms[k][1], terms[k][2])] for k in ("clinic", "childcare")
    ]  # its vocabulary's colours and names, the most frequent first
    checks = overlay_classes(page, describe["data_checks"], ["a", "b", "b"])
    assert [c[1] for c in checks[:2]] == ["T b", "T a"]  # named by each row's title
    assert page.errors == []


def test_elevator_map_shows_counts_symbols_and_filters(browser, live_server, conn):
    page = open_page(browser, f"{live_server}/elevator-map")
    assert page.errors == [] and page.outside == []
    total = conn.execute("SELECT count(*) FROM elevator_retrofits").fetchone()[0]
    assert page.locator(".om-total b").inner_text() == str(total)
    in_service = conn.execute(
        "SELECT count(*) FROM elevator_retrofits WHERE stage = 'in_service'"
    ).fetchone()[0]
    assert page.locator('tr[data-stage="in_service"] .om-n').inner_text() == str(in_service)
    assert drawn(page, "elevator_retrofits") > 0
    district = conn.execute(
        "SELECT district_code FROM elevator_retrofits GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    page.locator(f'tr[data-district="{district}"]').click()
    settle(page)
    assert page.evaluate("OneMap.state.district") == district
    assert "om-selected" in page.locator(f'tr[data-district="{district}"]').get_attribute("class")


def test_zoomed_out_retrofits_are_counted_circles_that_zoom_in(browser, live_server, conn):
    """At a city view each circle gathers the retrofits around it (the legend says so); a
    click on one zooms in towards its buildings instead of opening an empty popup."""
    lon, lat = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM elevator_retrofits ORDER BY id LIMIT 1"
    ).fetchone()
    z = 10
    x, y = tiles.lonlat_to_tile(lon, lat, z)
    tile = local_get(f"{live_server}/collections/elevator_retrofits/tiles/WebMercatorQuad/"
                     f"{z}/{y}/{x}").content  # fmt: skip
    clusters = mapbox_vector_tile.decode(tile, default_options={"y_coord_down": True})
    largest = max(clusters["elevator_retrofits"]["features"],
                  key=lambda f: f["properties"]["cluster_count"])  # fmt: skip
    assert largest["properties"]["cluster_count"] > 1
    ux, uy = largest["geometry"]["coordinates"]
    at_lon = (x + ux / 4096) / 2**z * 360 - 180
    at_lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + uy / 4096) / 2**z))))
    # As most visitors' browsers are: with animations (the other tests ask for less motion).
    page = open_page(browser, f"{live_server}/elevator-map", motion="no-preference")
    assert page.evaluate("OneMap.state.map.options.zoomAnimation") is True
    set_view(page, at_lat, at_lon, z)
    settle(page)
    assert page.locator(".om-cluster-note").count() == 1
    point = page.evaluate(f"OneMap.state.map.latLngToContainerPoint([{at_lat}, {at_lon}])")
    box = page.locator("#" + page.evaluate("OneMap.state.map.getContainer().id")).bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    # Leaflet's zoom changes when its 250 ms animation ends, and the new tiles are asked only
    # then: on a busy machine no request may come inside settle's quiet time before it does.
    # A function, not an expression: the page's CSP forbids evaluating strings.
    page.wait_for_function(f"() => OneMap.state.map.getZoom() === {z + 2}", timeout=10_000)
    settle(page)
    assert page.locator(".om-popup").count() == 0
    set_view(page, at_lat, at_lon, 14)
    settle(page)
    assert page.locator(".om-cluster-note").count() == 0
    assert page.errors == [] and page.outside == []


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_search_by_initials_zooms_to_the_building_and_opens_its_popup(browser, live_server,
                                                                        conn, size):  # fmt: skip
    """A resident types the initials of their estate and the building number ("jgxl10")."""
    from pypinyin import Style, lazy_pinyin

    fid, number, estate = conn.execute(
        "SELECT b.id, b.name_zh, e.name_zh FROM buildings b JOIN estates e ON e.id = b.estate_id "
        "WHERE (SELECT count(*) FROM estates x WHERE x.name_zh = e.name_zh) = 1 "
        "ORDER BY b.id DESC LIMIT 1"
    ).fetchone()
    digits = number.removesuffix("号楼")
    typed = "".join(lazy_pinyin(ch, style=Style.FIRST_LETTER)[0] for ch in estate) + digits
    page = watched_page(browser, live_server, size=size)
    open_watched(page, f"{live_server}/elevator-map")
    page.fill(".om-search input", typed)
    choice = page.locator(".om-search-results button", has_text=estate + number)
    choice.wait_for(timeout=5000)
    choice.click()
    popup = page.locator(".om-popup").first
    popup.wait_for(timeout=5000)
    assert popup.get_attribute("data-layer") == "buildings"
    assert popup.get_attribute("data-fid") == str(fid)
    assert page.evaluate("OneMap.state.map.getZoom()") >= 17
    # The visitor's system asked for less motion (WCAG 2.3.3): the map jumped there.
    motion = "OneMap.state.map.options.{}Animation"
    assert [page.evaluate(motion.format(k)) for k in ("zoom", "fade", "markerZoom")] == [False] * 3
    lat, lon = conn.execute(
        "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_PointOnSurface(geom) c FROM buildings "
        "WHERE id = %s) s", (fid,)).fetchone()  # fmt: skip
    assert page.evaluate(f"OneMap.state.map.getBounds().contains(L.latLng({lat}, {lon}))")
    assert page.locator(".om-search-results").is_hidden()
    assert page.errors == [] and page.outside == []


def test_a_building_popup_shows_its_estate_and_retrofit_history(browser, live_server, conn):
    """In human words: the estate's name and address instead of its id, and the retrofit's
    stage and dates in order, from the public fields (no internal stage log is read)."""
    fid, estate_id, dates = conn.execute(
        "SELECT b.id, b.estate_id, ARRAY[r.requested_on, r.approved_on, "
        "r.construction_started_on, r.in_service_on] FROM buildings b "
        "JOIN elevator_retrofits r ON r.building_id = b.id "
        "WHERE r.approved_on IS NOT NULL ORDER BY b.id LIMIT 1"
    ).fetchone()
    name, address = conn.execute(
        "SELECT name_zh, address FROM estates WHERE id = %s", (estate_id,)
    ).fetchone()
    lat, lon = conn.execute(
        "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_PointOnSurface(geom) c FROM buildings "
        "WHERE id = %s) s", (fid,)).fetchone()  # fmt: skip
    page = watched_page(browser, live_server, size=(390, 844))
    open_watched(page, f"{live_server}/elevator-map")
    page.evaluate("void OneMap.state.map.removeLayer(OneMap.state.layers.elevator_retrofits)")
    popup = click_at(page, lat, lon)
    assert popup.get_attribute("data-fid") == str(fid)
    steps = popup.locator(".om-history time")
    steps.first.wait_for(timeout=5000)
    assert steps.all_inner_texts() == [d.isoformat() for d in dates if d is not None]
    cell = popup.locator('td[data-key="estate_id"]')
    for _ in range(50):
        if cell.inner_text() != str(estate_id):
            break
        page.wait_for_timeout(100)
    assert cell.inner_text() == " · ".join(v for v in (name, address) if v)
    assert popup.locator("a.om-dossier").count() == 0  # the public gets no dossier link
    # the whole popup is on screen, clear of the controls over the map
    box = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.errors == []


def test_planners_get_the_dossier_from_a_popup(browser, live_server, estate_one):
    lon, lat, code, _ = estate_one
    page = open_page(browser, f"{live_server}/map", token=ADMIN_TOKEN)
    page.evaluate("""Object.entries(OneMap.state.layers).forEach(([name, layer]) => {
        if (name !== 'estates' && name !== 'basemap') { OneMap.state.map.removeLayer(layer); }
    })""")
    popup = click_at(page, lat, lon)
    href = popup.locator("a.om-dossier").get_attribute("href")
    assert href.endswith("/estates/1/dossier?f=html")
    dossier = page.context.new_page()
    dossier.goto(href if href.startswith("http") else live_server + href)
    assert code in dossier.content()


@pytest.mark.parametrize("zoom", [9, 14])
def test_the_pages_ask_no_tile_outside_the_city_or_below_a_layers_zooms(browser, live_server,
                                                                         db_url, zoom):  # fmt: skip
    """Tiles outside the city, or below a layer's first zoom, are empty (204): not asked."""
    import re

    import psycopg

    from layers import REGISTRY

    with psycopg.connect(db_url) as conn:
        west, south, east, north = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) e FROM districts) s"
        ).fetchone()
    page = watched_page(browser, live_server, token=ADMIN_TOKEN)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/tiles/" in r.url else None)
    open_watched(page, f"{live_server}/map")
    set_view(page, north, east, zoom)
    settle(page)  # the city's north-east corner: half the view lies outside the city
    assert asked
    pattern = re.compile(r"/(?:collections/(\w+)/)?tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)"
                         r"(?:\?collections=([\w,]+))?")  # fmt: skip
    for address in asked:
        layer, z, y, x, several = pattern.search(address).groups()
        names = several.split(",") if several else [layer]
        z, x, y = int(z), int(x), int(y)
        assert z >= min(REGISTRY[n].min_zoom for n in names), address
        w, s, e, n = _tile_lonlat_bounds(z, x, y)
        assert w <= east and e >= west and s <= north and n >= south, address


def _tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A WebMercatorQuad tile's west, south, east, north (the slippy-map formulas)."""
    import math

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / 2**z))))

    return x / 2**z * 360 - 180, lat(y + 1), (x + 1) / 2**z * 360 - 180, lat(y)


def test_names_are_written_on_the_map_and_do_not_overlap(browser, live_server, conn):
    """Estate names from z15 and building numbers from z17, offline, none over another."""
    fid, number, estate, lat, lon = conn.execute(
        "SELECT b.id, b.name_zh, e.name_zh, ST_Y(c), ST_X(c) FROM buildings b "
        "JOIN estates e ON e.id = b.estate_id, ST_PointOnSurface(e.geom) c "
        "ORDER BY b.id LIMIT 1"
    ).fetchone()
    page = watched_page(browser, live_server, size=(390, 844))
    open_watched(page, f"{live_server}/elevator-map")
    shown = {}
    for zoom in (14, 15, 17):
        set_view(page, lat, lon, zoom)
        settle(page)
        page.wait_for_timeout(400)  # the labels' request leaves 150 ms after the map stops
        shown[zoom] = page.locator(".om-label").all_inner_texts()
        boxes = page.evaluate(  # one call, not one round trip per label
            "[...document.querySelectorAll('.om-label span')].map(e => {"
            "const r = e.getBoundingClientRect();"
            "return {x: r.x, y: r.y, width: r.width, height: r.height}; })"
        )
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                overlap_x = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
                overlap_y = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
                assert overlap_x <= 1 or overlap_y <= 1, (a, b)
    assert estate not in shown[14] and estate in shown[15]
    assert not any(t.endswith("号楼") for t in shown[15])
    assert any(t.endswith("号楼") for t in shown[17])
    assert page.errors == [] and page.outside == []
