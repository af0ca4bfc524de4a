"""The response cache: answers replayed until a write to their layers, and only within a level.

Runs its own app on the writable database, so that writes (through the API and behind its
back in SQL) can be watched retiring cached answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api import accounts
from api.versions import VersionWatcher
from layers import Role
from spatial import tiles
from tests_support import ADMIN_TOKEN, admin_app, run_async, until

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TILE = "/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}"


@pytest.fixture(scope="module")
def cached(edits_url: str) -> Iterator[TestClient]:
    app = admin_app(edits_url, response_cache_entry_kb=64)
    with TestClient(app) as client:
        yield client


def cache_stats(client: TestClient) -> dict[str, Any]:
    """The response cache's figures, which ``/health`` shows admins only."""
    health = client.get("/health", headers=ADMIN)
    assert health.status_code == 200, health.text
    return health.json()["response_cache"]


@pytest.fixture
def building(edits_url: str) -> dict[str, object]:
    """A building of the sample city, its tile at z16 and its page URL."""
    with psycopg.connect(edits_url) as conn:
        row = conn.execute(
            "SELECT id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), floors FROM buildings "
            "WHERE floors IS NOT NULL ORDER BY id LIMIT 1 OFFSET 40"
        ).fetchone()
    assert row is not None
    fid, lon, lat, floors = row
    x, y = tiles.lonlat_to_tile(lon, lat, 16)
    return {"id": fid, "floors": floors, "tile": TILE.format(z=16, y=y, x=x),
            "item": f"/collections/buildings/items/{fid}"}  # fmt: skip


def source(response: httpx.Response) -> str:
    return response.headers.get("X-OneMap-Source", "")


def test_a_kept_gzip_answer_goes_only_to_callers_who_accept_gzip(cached):
    """The cache keys on whether gzip is accepted, weighed as the compressor weighs it."""
    page = "/collections/buildings/items?limit=7&bbox=116.3,39.8,116.5,40.0"
    first = cached.get(page, headers={"Accept-Encoding": "*"})
    assert first.headers["content-encoding"] == "gzip"
    for accept_encoding, zipped in [("*", True), ("identity", False), ("gzip;q=0", False),
                                    ("gzip", True), ("identity", False)]:  # fmt: skip
        again = cached.get(page, headers={"Accept-Encoding": accept_encoding})
        assert (again.headers.get("content-encoding") == "gzip") is zipped, accept_encoding
        assert made_of(again) == made_of(first)


def made_of(response: httpx.Response) -> dict[str, Any]:
    """A page without its ``timeStamp``: an answer made anew (the first plain one after a
    gzipped one) is stamped with its own second."""
    return {k: v for k, v in response.json().items() if k != "timeStamp"}


def test_a_second_anonymous_request_is_replayed_with_the_same_answer(cached, building):
    url = str(building["tile"])
    first = cached.get(url)
    second = cached.get(url)
    assert first.status_code == second.status_code == 200
    assert source(first) == "primary" and source(second) == "cache"
    assert second.content == first.content
    for header in ("ETag", "Cache-Control", "Content-Type", "X-Content-Type-Options", "Vary"):
        assert second.headers[header] == first.headers[header], header
    page = "/collections/buildings/items?limit=5&bbox=116.3,39.8,116.5,40.0"
    assert source(cached.get(page)) == "primary"
    again = cached.get(page)
    assert source(again) == "cache"
    assert again.json()["numberReturned"] == 5
    assert source(cached.get(str(building["item"]))) == "primary"
    assert source(cached.get(str(building["item"]))) == "cache"


def test_a_replay_answers_revalidation_with_304(cached, building):
    url = str(building["tile"])
    tag = cached.get(url).headers["ETag"]
    cached.get(url)
    revalidated = cached.get(url, headers={"If-None-Match": tag})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["ETag"] == tag
    assert source(revalidated) == "cache"
    assert cached.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    # Compared weakly (RFC 9110 §13.1.2): nginx marks the tags of what it gzips W/.
    for asked, status in [(f"W/{tag}", 304), (f'"other", W/{tag}', 304), ("*", 304),
                          ('W/"other"', 200), ("garbage", 200), (tag[1:-1], 200)]:  # fmt: skip
        assert cached.get(url, headers={"If-None-Match": asked}).status_code == status, asked


def test_a_write_in_sql_behind_the_services_back_retires_the_cached_answers(
    cached, building, edits_url
):
    tile, item = str(building["tile"]), str(building["item"])
    for url in (tile, item, tile, item):
        cached.get(url)
    before_tag = cached.get(tile).headers["ETag"]
    assert source(cached.get(item)) == "cache"
    with psycopg.connect(edits_url) as conn:
        conn.execute("UPDATE buildings SET floors = floors + 1 WHERE id = %s", (building["id"],))
    changed = until(lambda: cached.get(item).json()["properties"]["floors"] != building["floors"])
    assert changed, "the cached feature outlived the write"
    assert cached.get(item).json()["properties"]["floors"] == int(building["floors"]) + 1
    assert cached.get(tile).headers["ETag"] != before_tag
    with psycopg.connect(edits_url) as conn:
        conn.execute("UPDATE buildings SET floors = floors - 1 WHERE id = %s", (building["id"],))


def test_a_write_through_the_api_retires_the_cached_answers(cached, building):
    item = str(building["item"])
    cached.get(item)
    assert source(cached.get(item)) == "cache"
    current = cached.get(item, headers=ADMIN)
    new_floors = int(building["floors"]) + 2
    patched = cached.patch(item, json={"properties": {"floors": new_floors}},
                           headers={**ADMIN, "If-Match": current.headers["ETag"]})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert "onemap_lsn" in cached.cookies  # the writer's own reads bypass the cache …
    assert source(cached.get(item)) != "cache"
    cached.cookies.clear()  # … and everyone else's see the write once it is announced
    assert until(lambda: cached.get(item).json()["properties"]["floors"] == new_floors)
    restored = cached.get(item, headers=ADMIN)
    cached.patch(item, json={"properties": {"floors": building["floors"]}},
                 headers={**ADMIN, "If-Match": restored.headers["ETag"]})  # fmt: skip
    cached.cookies.clear()


@pytest.fixture(scope="module")
def tokens(edits_url: str) -> dict[str, str]:
    """A planner's and a responsible planner's token on the writable database."""
    suffix = str(time.monotonic_ns())[-6:]
    with psycopg.connect(edits_url) as conn:
        street = conn.execute("SELECT street_code FROM estates LIMIT 1").fetchone()[0]
        return {
            "planner": accounts.add_user(conn, f"cache-planner-{suffix}", Role.PLANNER, []),
            "other planner": accounts.add_user(conn, f"cache-other-{suffix}", Role.PLANNER, []),
            "responsible": accounts.add_user(
                conn, f"cache-responsible-{suffix}", Role.RESPONSIBLE_PLANNER, [street]
            ),
        }


def test_answers_are_shared_only_within_a_level(cached, building, tokens):
    item = str(building["item"])
    planner = {"Authorization": f"Bearer {tokens['planner']}"}
    other = {"X-API-Key": tokens["other planner"]}
    responsible = {"Authorization": f"Bearer {tokens['responsible']}"}
    admin_fields = set(cached.get(item, headers=ADMIN).json()["properties"])
    assert source(cached.get(item, headers=ADMIN)) == "cache"
    planner_answer = cached.get(item, headers=planner)
    assert source(planner_answer) == "primary"  # not the admin's answer
    planner_fields = set(planner_answer.json()["properties"])
    assert source(cached.get(item, headers=other)) == "cache"  # another planner: the same
    public = cached.get(item)
    assert source(public) == "primary"
    assert set(public.json()["properties"]) < planner_fields <= admin_fields
    for _ in range(2):  # a responsible planner's answer depends on their streets: never kept
        assert source(cached.get(item, headers=responsible)) == "primary"
    private = "/collections/pipelines/items?limit=2"
    assert cached.get(private, headers=ADMIN).status_code == 200
    assert source(cached.get(private, headers=ADMIN)) == "cache"
    assert cached.get(private).status_code == 404  # not the admin's page
    bad = cached.get(private, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401  # the token is checked before any replay
    cookie = cached.get(item, headers={"Cookie": f"onemap_token={tokens['planner']}"})
    assert source(cookie) == "cache" and set(cookie.json()["properties"]) == planner_fields
    writer = cached.get(item, headers={**planner, "Cookie": "onemap_lsn=0/0"})
    assert source(writer) != "cache"  # a writer reads their own writes


def test_only_the_credential_cookies_keep_an_anonymous_request_out(cached, building):
    """The fast path reads every header, repeated ones too; lookalike cookies are harmless."""
    cached.cookies.clear()
    tile = str(building["tile"])
    cached.get(tile)
    assert source(cached.get(tile)) == "cache"
    lookalike = cached.get(tile, headers={"Cookie": "x_onemap_lsn=1; theme=dark"})
    assert source(lookalike) == "cache"
    writer = [("Cookie", "onemap_lsn=0/0"), ("Cookie", "theme=dark")]  # the first of two
    assert source(cached.get(tile, headers=writer)) != "cache"
    assert source(cached.get(tile, headers=[("X-API-Key", "not-a-token")])) != "cache"


def test_errors_and_other_hosts_are_not_replayed_into_each_other(cached):
    assert cached.get("/collections/buildings/items/999999999").status_code == 404
    again = cached.get("/collections/buildings/items/999999999")
    assert (
        again.status_code == 404
        and "X-OneMap-Source" not in again.headers
        or source(again) != "cache"
    )
    page = "/collections/districts/items?limit=1"
    for host in ("a.example", "a.example", "b.example"):
        links = cached.get(page, headers={"Host": host}).json()["links"]
        assert all(link["href"].startswith(f"http://{host}/") for link in links)


def test_large_answers_are_not_kept_and_health_reports_the_cache(cached):
    big = "/collections/buildings/items?limit=1000"  # well over the 64 kB entry limit here
    plain = {"Accept-Encoding": "identity"}
    assert len(cached.get(big, headers=plain).content) > 64 << 10
    assert source(cached.get(big, headers=plain)) == "primary"
    stats = cache_stats(cached)
    assert stats["versions_announced"] is True
    assert 0 < stats["bytes"] <= stats["max_bytes"]
    assert stats["hits"] >= 1 and stats["entries"] >= 1


def test_a_lost_notification_connection_reconnects_without_serving_stale(
    cached, building, edits_url
):
    item = str(building["item"])
    cached.get(item)
    assert source(cached.get(item)) == "cache"
    with psycopg.connect(edits_url, autocommit=True) as conn:
        # Cut the listener and change the feature before it is back: the write's notification
        # is lost, so only the versions re-read on reconnection can retire the entry.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'onemap-versions' AND datname = current_database()"
        )
        conn.execute("UPDATE buildings SET floors = floors + 3 WHERE id = %s", (building["id"],))
    try:
        assert until(
            lambda: cached.get(item).json()["properties"]["floors"] == building["floors"] + 3
        )
        assert until(lambda: cache_stats(cached)["versions_announced"])
        cached.get(item)
        assert until(lambda: source(cached.get(item)) == "cache")
    finally:
        with psycopg.connect(edits_url) as conn:
            conn.execute(
                "UPDATE buildings SET floors = floors - 3 WHERE id = %s", (building["id"],)
            )


def test_without_a_database_the_watcher_vouches_for_nothing():
    async def run() -> dict[str, int] | None:
        watcher = VersionWatcher()
        await watcher.start("postgresql://nobody@127.0.0.1:1/none", wait_s=0.3)
        try:
            return watcher.current(["buildings"])
        finally:
            await watcher.stop()

    assert run_async(run()) is None


def test_with_the_cache_off_every_answer_is_computed(db_url):
    with TestClient(admin_app(db_url, response_cache_mb=0)) as client:
        sources = {source(client.get("/collections/districts/items?limit=2")) for _ in range(3)}
        assert sources == {"primary"}
        health = cache_stats(client)
        assert health["entries"] == 0 and health["versions_announced"] is False
