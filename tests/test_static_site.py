"""The public elevator map as a static site: one PMTiles archive read by range requests."""

import gc
import gzip
import warnings
from collections import defaultdict

import mapbox_vector_tile
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from layers import Visibility, get_layer
from layers.errors import InvalidInput
from spatial.tile_archive import write_archive
from spatial.tiles import cluster_field_description
from tests_support import open_watched, run_onemap, set_view, settle, static_server, watched_page
from viewer import site

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory, db_url):
    """``onemap viewer build`` run as a user runs it: (folder, its stderr)."""
    out = tmp_path_factory.mktemp("site")
    result = run_onemap("viewer", "build", "--out", str(out), env={"ONEMAP_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    return out, result.stderr


@pytest.fixture(scope="module")
def archive(built):
    """Every tile of the archive, decoded: {(z, x, y): {layer: [features]}}, and its reader."""
    with (built[0] / site.ARCHIVE).open("rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        tiles = {
            zxy: {name: layer["features"] for name, layer in
                  mapbox_vector_tile.decode(gzip.decompress(data)).items()}
            for zxy, data in all_tiles(source)
        }  # fmt: skip
        yield tiles, reader.header(), reader.metadata()


def test_the_build_says_what_it_wrote(built):
    out, said = built
    assert "tiles (z" in said and "MB" in said and "range requests" in said
    assert (out / "index.html").is_file() and (out / site.ARCHIVE).is_file()
    assert not list(out.rglob("*.partial"))
    for folder in site.ASSET_FOLDERS:
        assert any((out / "assets" / folder).iterdir()), folder


def test_the_archive_describes_itself(archive, conn):
    _, header, metadata = archive
    zooms = site.archive_zooms()
    assert header["tile_type"] == TileType.MVT
    assert header["tile_compression"] == Compression.GZIP
    assert header["clustered"]  # written in tile-id order
    assert header["max_zoom"] == max(z[-1] for z in zooms.values())
    described = {v["id"]: v for v in metadata["vector_layers"]}
    assert set(described) == {layer.name for layer in zooms}
    for layer, levels in zooms.items():
        assert (described[layer.name]["minzoom"], described[layer.name]["maxzoom"]) == (
            levels[0], levels[-1])  # fmt: skip
    west, south, east, north = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM districts) s"
    ).fetchone()
    assert abs(header["min_lon_e7"] / 1e7 - west) < 0.01
    assert abs(header["max_lat_e7"] / 1e7 - north) < 0.01


def test_every_public_feature_is_in_the_archive_at_each_layers_deepest_zoom(archive, conn):
    """Recounted from the database: a tile the enumeration missed would lose its features."""
    tiles, _, _ = archive
    for layer, levels in site.archive_zooms().items():
        found = {f["id"] for (z, _x, _y), layers in tiles.items() if z == levels[-1]
                 for f in layers.get(layer.name, [])}  # fmt: skip
        stored = {row[0] for row in conn.execute(f"SELECT id FROM {layer.name}")}
        assert found == stored, layer.name


def test_tiles_carry_only_public_fields_and_no_layer_past_its_zooms(archive):
    tiles, _, _ = archive
    zooms = {layer.name: levels for layer, levels in site.archive_zooms().items()}
    for (z, _x, _y), layers in tiles.items():
        for name, features in layers.items():
            assert z in zooms[name], (name, z)
            layer = get_layer(name)
            public = {f.name for f in layer.visible_fields(Visibility.PUBLIC)} | {"fid"}
            if layer.clusters_at(z):  # a cluster: its themes, district and how many it holds
                public = {*cluster_field_description(layer), *public} - {"fid"}
            for feature in features:
                assert set(feature["properties"]) <= public, (name, set(feature["properties"]))


def test_archive_tiles_match_what_the_app_serves_anonymous_callers(archive, client):
    """A sample of tiles at every zoom: same features, same properties as /collections tiles."""
    tiles, _, _ = archive
    by_zoom = defaultdict(list)
    for zxy in sorted(tiles):
        by_zoom[zxy[0]].append(zxy)
    sample = [zxy for listed in by_zoom.values() for zxy in listed[:: max(1, len(listed) // 4)]]
    assert len(by_zoom) >= 8
    for z, x, y in sample:
        for name, features in tiles[(z, x, y)].items():
            served = client.get(f"/collections/{name}/tiles/WebMercatorQuad/{z}/{y}/{x}")
            assert served.status_code == 200, (name, z, x, y)
            expected = mapbox_vector_tile.decode(served.content)[name]["features"]
            assert sorted(features, key=lambda f: f["id"]) == sorted(
                expected, key=lambda f: f["id"]), (name, z, x, y)  # fmt: skip


def test_no_archive_is_left_when_there_is_nothing_to_write(db_url, tmp_path):
    path = tmp_path / "empty.pmtiles"
    box = (116.0, 39.0, 117.0, 40.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(InvalidInput, match="nothing to write"):
            write_archive(db_url, path, {get_layer("buildings"): range(0)}, Visibility.PUBLIC,
                          box, "")  # fmt: skip
        gc.collect()  # a file left open warns when it is collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    with pytest.raises(InvalidInput, match="spans .* tiles"):  # counted before listed
        write_archive(db_url, path, {get_layer("districts"): range(20, 25)}, Visibility.PUBLIC,
                      box, "too deep")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("below", ["", "site"], ids=["a-file", "below-a-file"])
def test_a_build_into_an_unwritable_place_is_one_line(db_url, tmp_path, below):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_onemap("viewer", "build", "--out", str(blocker / below),
                        env={"ONEMAP_DATABASE_URL": db_url})  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: --out:") and "is a file" in result.stderr
    assert blocker.read_text() == "not a folder"


def test_a_build_into_a_folder_the_system_will_not_make_is_one_line(db_url):
    result = run_onemap("viewer", "build", "--out", "/proc/onemap-site",
                        env={"ONEMAP_DATABASE_URL": db_url})  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: --out: cannot make the folder /proc/onemap-site")
    assert "Errno" not in result.stderr


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_static_site_works_under_a_plain_static_server(browser, built, conn, size):
    """No app behind it: the page reads its tiles from the archive by HTTP range requests."""
    out, _ = built
    with static_server(out) as base:
        page = watched_page(browser, base, size=size)
        archive_reads = []
        page.on("response", lambda r: archive_reads.append((r.status, r.request.headers.get(
            "range"))) if r.url.endswith(site.ARCHIVE) else None)  # fmt: skip
        open_watched(page, f"{base}/index.html")
        page.wait_for_function(
            "OneMap.state.layers.elevator_retrofits.getContainer().querySelectorAll('path')"
            ".length > 0"
        )
        assert page.errors == [] and page.outside == []
        assert archive_reads and all(status == 206 and asked for status, asked in archive_reads)
        page.add_script_tag(path="viewer/node_modules/axe-core/axe.min.js")
        impacts = page.evaluate("axe.run(document, {resultTypes: ['violations']})"
                                ".then(r => r.violations.map(v => [v.id, v.impact]))")  # fmt: skip
        assert [v for v in impacts if v[1] in ("serious", "critical")] == [], impacts
        total = conn.execute("SELECT count(*) FROM elevator_retrofits").fetchone()[0]
        assert page.locator(".om-total b").inner_text() == str(total)
        # Past the archive's deepest zoom the page over-zooms; a building's popup still opens.
        fid, lon, lat = conn.execute(
            "SELECT id, ST_X(c), ST_Y(c) FROM (SELECT id, ST_PointOnSurface(geom) c "
            "FROM buildings WHERE id NOT IN (SELECT building_id FROM elevator_retrofits) "
            "ORDER BY ST_Area(geom) DESC LIMIT 1) s").fetchone()  # fmt: skip
        set_view(page, lat, lon, 18)
        settle(page)
        point = page.evaluate(f"OneMap.state.map.latLngToContainerPoint([{lat}, {lon}])")
        box = page.locator("#" + page.evaluate("OneMap.state.map.getContainer().id")).bounding_box()
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        popup = page.locator('.om-popup[data-layer="buildings"]').first
        popup.wait_for(timeout=5000)
        assert popup.get_attribute("data-fid") == str(fid)
        # Drawn at the zoom shown, not the deepest tile's drawing scaled up (strokes and all:
        # outlines 16× their width at z18 from z14): every level of tiles at scale 1.
        scales = page.evaluate(
            "[...document.querySelectorAll('.leaflet-tile-container')]"
            ".filter(c => c.querySelector('.leaflet-tile'))"
            ".map(c => (/scale\\(([^)]+)\\)/.exec(c.style.transform) || [0, '1'])[1])"
        )
        assert scales and set(scales) == {"1"}, scales
        assert page.errors == [] and page.outside == []
