"""A page on another origin reads OneMap in a real browser: items, TileJSON and a tile."""

import subprocess
import sys

import pytest

from tests_support import free_port

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
    port = free_port()
    static = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        page = browser.new_page()
        for _ in range(50):  # the static server is up within a moment
            try:
                page.goto(f"http://127.0.0.1:{port}/index.html?api={live_server}")
                break
            except Exception:
                page.wait_for_timeout(100)
        for _ in range(100):
            text = page.locator("#out").inner_text()
            if text != "…":
                break
            page.wait_for_timeout(100)
        assert text.startswith("{"), text
        assert '"features":2' in text and '"tiles":1' in text
        assert '"tile":200' in text or '"tile":204' in text
        assert '"refused":"yes"' in text  # the preflight for DELETE is refused
    finally:
        static.terminate()
        static.wait()
