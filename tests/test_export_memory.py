"""Exports stream: the server's memory stays flat while it sends a 300,000-feature layer."""

from pathlib import Path

import psycopg
import pytest

from tests_support import ADMIN_TOKEN, MIGRATED, local_get, local_stream, serve

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROWS = 300_000
FLAT_MIB = 100  # the server's growth while it streams, whatever the layer's size
# FlatGeobuf's packed R-tree is built in memory by GDAL before the file is complete: about
# 100 bytes a feature on top (57 MiB at 100,000 features, 75-80 at 300,000, and 109 once
# under a busy suite, where the flat bound alone failed).
INDEX_BYTES = {"fgb": 100}


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture(scope="module")
def big_server(scratch_database):
    url = scratch_database("onemap_big", MIGRATED)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO pipelines (network, material, diameter_mm, install_year, condition,
                                      owner, operator, depth_m, geom)
               SELECT 'water_supply', 'pe', 200, 1960 + i %% 60, 'good', 'utility',
                      '北京市自来水集团', 1.5,
                      ST_SetSRID(ST_MakeLine(
                        ST_MakePoint(116 + (i %% 1000) * 0.0005, 39.5 + (i / 1000) * 0.0005),
                        ST_MakePoint(116.0004 + (i %% 1000) * 0.0005,
                                     39.5 + (i / 1000) * 0.0005)), 4326)
               FROM generate_series(1, %s) AS i""",
            (ROWS,),
        )
        conn.execute("ANALYZE pipelines")
    with serve(url, fresh=True) as server:  # its own memory is what is measured
        yield server


@pytest.mark.parametrize("fmt", ["geojson", "csv", "fgb", "gpkg"])
def test_export_of_300k_features_keeps_server_memory_flat(big_server, fmt):
    base, pid = big_server
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    local_get(f"{base}/collections/pipelines/items?limit=10", headers=headers)  # warm up
    before = rss_kib(pid, "VmRSS")
    received = 0
    url = f"{base}/collections/pipelines/export"
    with local_stream("GET", url, params={"format": fmt}, headers=headers, timeout=300) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            received += len(chunk)
    growth_mib = (rss_kib(pid, "VmHWM") - before) / 1024
    assert received > ROWS * 50  # the whole layer came through
    print(f"{fmt}: server peak RSS growth {growth_mib:.1f} MiB over {received / 1e6:.0f} MB")
    allowed = FLAT_MIB + INDEX_BYTES.get(fmt, 0) * ROWS / 2**20
    assert growth_mib < allowed, f"server peak RSS grew by {growth_mib:.0f} MiB"
