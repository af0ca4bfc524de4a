"""A page on another origin reads OneMap in a real browser: items, TileJSON and a tile."""

import pytest

from tests_support import static_server

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>other site</title>
</head><body><pre id="out">…</pre><script>
const api = new URLSearchParams(location.search).get("api");
(async () => {
  const items = await (await fetch(api + "/collections/estates/items?limit=2")).json();
  const tms = api + "/collections/estates/tiles/WebMercatorQuad";
  const tilejson = await (await fetch(tms + "/tilejson.json")).json();
  const at = {z: "12", x: "3372", y: "1552"};
  const tile = await fetch(tilejson.tiles[0].replace(/{(z|x|y)}/g, (_, k) => at[k]));
  let refused = "no";
  try { await fetch(api + "/collections/estates/items/1", {method: "DELETE"}); }
  catch (e) { refused = "yes"; }
  document.getElementById("out").textContent = JSON.stringify({
    features: items.features.length, tiles: tilejson.tiles.length, tile: tile.status, refused});
})().catch(e => { document.getElementById("out").textContent = "error: " + e; });
</script></body></html>"""


def test_a_page_on_another_origin_reads_but_cannot_write(browser, live_server, tmp_path):
    (tmp_path / "index.html").write_text(PAGE)
    with static_server(tmp_path) as base:
        page = browser.new_page()
        page.goto(f"{base}/index.html?api={live_server}")
        for _ in range(100):
            text = page.locator("#out").inner_text()
            if text != "…":
                break
            page.wait_for_timeout(100)
        assert text.startswith("{"), text
        assert '"features":2' in text and '"tiles":1' in text
        assert '"tile":200' in text or '"tile":204' in text
        assert '"refused":"yes"' in text  # the preflight for DELETE is refused


MAPLIBRE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>MapLibre</title><link rel="stylesheet" href="maplibre-gl.css"></head>
<body style="margin:0"><div id="map" style="width:800px;height:600px"></div><pre id="out">…</pre>
<script type="module">
import * as maplibregl from "./maplibre-gl.mjs";
const query = new URLSearchParams(location.search);
const out = document.getElementById("out"), errors = [];
const map = new maplibregl.Map({container: "map", style: query.get("style"),
  center: query.get("center").split(",").map(Number), zoom: Number(query.get("zoom")),
  attributionControl: false});
map.on("error", (e) => errors.push(String(e.error && e.error.message || e)));
map.once("idle", () => {
  const drawn = {};
  for (const f of map.queryRenderedFeatures()) {
    drawn[f.sourceLayer] = (drawn[f.sourceLayer] || 0) + 1;
  }
  out.textContent = JSON.stringify({drawn, errors, layers: map.getStyle().layers.length});
});
</script></body></html>"""


@pytest.mark.parametrize(("page_name", "zoom", "expected"), [
    ("elevator-map", 15, {"buildings", "elevator_retrofits", "districts"}),
    ("map", 13, {"estates", "districts"}),
])  # fmt: skip
def test_maplibre_on_another_origin_draws_a_page_from_its_style(
    browser, live_server, tmp_path, conn, page_name, zoom, expected
):
    """The style, its TileJSON sources and tiles, read cross-origin by MapLibre GL JS."""
    from pathlib import Path

    dist = Path(__file__).parents[1] / "viewer" / "node_modules" / "maplibre-gl" / "dist"
    for name in ("maplibre-gl.mjs", "maplibre-gl-shared.mjs", "maplibre-gl-worker.mjs",
                 "maplibre-gl.css"):  # fmt: skip
        (tmp_path / name).write_bytes((dist / name).read_bytes())
    (tmp_path / "index.html").write_text(MAPLIBRE_PAGE)
    with static_server(tmp_path) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        style = f"{live_server}/styles/{page_name}.json"
        lon, lat = conn.execute(  # where elevators are being added, among estates
            "SELECT ST_X(geom), ST_Y(geom) FROM elevator_retrofits ORDER BY id LIMIT 1"
        ).fetchone()
        page.goto(f"{base}/index.html?style={style}&zoom={zoom}&center={lon},{lat}")
        for _ in range(300):
            text = page.locator("#out").inner_text()
            if text != "…":
                break
            page.wait_for_timeout(100)
        assert text.startswith("{"), (text, errors)
        result = __import__("json").loads(text)
        assert result["errors"] == [] and errors == []
        assert expected <= set(result["drawn"]), result
