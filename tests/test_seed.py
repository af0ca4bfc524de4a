"""``onemap viewer seed``: a public page's tiles asked once, at the very URLs the page uses."""

import json
import math
import re
import subprocess

import pytest

from spatial.tiles import lonlat_to_tile
from tests_support import local_get, run_onemap, serve
from viewer.seed import parse_zooms, tiles_over

pytestmark = pytest.mark.e2e


def seed_command(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return run_onemap("viewer", "seed", *args, env={"ONEMAP_DATABASE_URL": db_url}, timeout=300)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def page_templates(base: str, page: str) -> dict[str, str]:
    """The tile URL templates the page hands to its map, read from the page itself."""
    html = local_get(f"{base}/{page}").text
    start = re.search(r"OneMap\.configure\(", html).end()
    config, _ = json.JSONDecoder().raw_decode(html, start)
    return config["tiles"]


def test_zooms_are_a_level_or_a_range():
    assert parse_zooms("10") == range(10, 11)
    assert parse_zooms("8-12") == range(8, 13)
    for bad in ("12-8", "x", "8-30", "-3"):
        with pytest.raises(ValueError, match="zooms"):
            parse_zooms(bad)


@pytest.mark.parametrize("z", [3, 9, 12])
def test_tiles_over_a_box_are_exactly_those_that_touch_it(z):
    box = (115.42, 39.44, 117.51, 41.06)  # Beijing
    found = set(tiles_over(box, z))
    x0, y0 = lonlat_to_tile(box[0], box[3], z)
    x1, y1 = lonlat_to_tile(box[2], box[1], z)
    ring = {(z, x, y) for x in range(x0 - 1, x1 + 2) for y in range(y0 - 1, y1 + 2)}
    for tile in ring:
        west, south, east, north = tile_bounds(*tile)
        touches = west < box[2] and east > box[0] and south < box[3] and north > box[1]
        assert (tile in found) is touches, tile
    assert found <= ring


def test_seeding_fills_the_cache_at_the_pages_own_urls(db_url):
    with serve(db_url) as (base, _):
        seeded = seed_command(db_url, "--url", base, "--zooms", "9-11", "--concurrency", "3")
        assert seeded.returncode == 0, seeded.stderr
        assert "seeding /elevator-map at z9–11" in seeded.stderr
        statuses = dict(re.findall(r"(\d{3}) × ([\d,]+)", seeded.stdout))
        assert set(statuses) <= {"200", "204"} and "200" in statuses
        templates = page_templates(base, "elevator-map")
        assert set(templates) == {"basemap", "buildings", "elevator_retrofits"}
        x, y = lonlat_to_tile(116.40, 39.91, 10)  # central Beijing
        for template in templates.values():
            response = local_get(base + template.format(z=10, x=x, y=y))
            assert response.headers["x-onemap-source"] == "cache", template


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--zooms", "12-8"), "zooms: need 0 ≤ first ≤ last"),
        (("--zooms", "10-20"), "tile requests (at most 200,000)"),
        (("--page", "nowhere"), "page: use one of elevator-map, map"),
        (("--url", "http://127.0.0.1:9"), "cannot reach http://127.0.0.1:9"),
    ],
)
def test_seed_mistakes_are_one_line_and_exit_1(db_url, args, message):
    result = seed_command(db_url, *args)
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
