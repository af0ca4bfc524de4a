"""Nothing a caller sends breaks the service: limits, problem+json, headers, a database restart."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient
from load import request_mix, run_load

from api.app import create_app
from api.settings import FeaturesSettings
from database.settings import DatabaseSettings
from tests_support import ADMIN_TOKEN, cluster_of_its_own, run_async, serve

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def is_problem(response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_request_bodies_above_the_limit_are_413_before_anything_is_read(client):
    big = json.dumps({"type": "Feature", "properties": {"x": "a" * (1 << 20)}})
    is_problem(client.post("/collections/estates/items", content=big, headers=ADMIN), 413)

    def chunks():  # no Content-Length: the limit counts the streamed body
        for _ in range(40):
            yield b"x" * 65536

    response = client.post(
        "/collections/estates/items", content=chunks(), headers={**ADMIN, "Content-Type":
                                                                 "application/json"})  # fmt: skip
    is_problem(response, 413)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=1000000", "limit: at most"),
        ("limit=0", "Invalid parameter"),
        ("bbox=400000,4400000,500000,4500000", "not longitude/latitude"),
        ("bbox=1,2,3", "4 or 6"),
        # (a bbox larger than allowed is cut to the city: tests/test_items.py)
        ("filter=" + " OR ".join(["floors = 1"] * 250), "too complex"),
        ("filter=floors ==== 3", "invalid cql2-text"),
        ("filter-lang=sql&filter=1=1", "filter-lang"),
        ("sortby=nothing", "sortby"),
        ("datetime=yesterday", "datetime"),
        ("crs=EPSG:9999", "crs"),
        ("offset=-1", "Invalid parameter"),
    ],
)
def test_bad_parameters_are_400_problems(client, query, words):
    response = client.get(f"/collections/buildings/items?{query}")
    is_problem(response, 400)
    assert words.lower() in response.text.lower()


@pytest.mark.parametrize(
    "target",
    [
        "/collections/buildings/items?limit=5&limit=500",
        "/collections/buildings/items?filter=floors=3&bbox=116,39,117,40&filter=floors=4",
        "/collections/buildings/items?limit=5&limit=5",  # the same value twice too
        "/collections/buildings/items?f=json&%66=html",  # spelled another way
        "/collections/buildings/items?floors=3&floors=4",
        "/collections/buildings/items/1?f=json&f=html",
        "/collections/buildings/export?format=csv&format=gpkg",
        "/collections/buildings/tiles/WebMercatorQuad/14/6208/13492?f=mvt&f=mvt",
        "/tiles/WebMercatorQuad/14/6208/13492?collections=buildings&collections=estates",
        "/search?q=a&q=b",
        "/analyses/overruns?district=110101&district=110102",
        "/map?district=110101&district=110102",
    ],
)
def test_a_parameter_given_twice_is_a_400_problem(client, target):
    """HTTP parameter pollution: taking the last value silently, a check in front of the app
    and the app could read two different requests."""
    response = client.get(target, headers=ADMIN)
    is_problem(response, 400)
    assert "given more than once" in response.json()["detail"]
    once = target.rsplit("&", 1)[0]  # the same request with each parameter once
    assert client.get(once, headers=ADMIN).status_code < 400, once


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_credential_given_twice_is_a_400_problem(client, header):
    token = ADMIN["Authorization"] if header == "Authorization" else ADMIN_TOKEN
    twice = [(header, token), (header.lower(), "Bearer someone-else" if header ==
                                "Authorization" else "someone-else")]  # fmt: skip
    response = client.get("/collections/estates/items?limit=1", headers=twice)
    is_problem(response, 400)
    assert "more than once" in response.json()["detail"]
    assert client.get("/collections/estates/items?limit=1", headers=[twice[0]]).status_code == 200


def test_a_write_with_a_parameter_given_twice_changes_nothing(client):
    before = client.get("/collections/estates/items?limit=1", headers=ADMIN).json()
    feature = {"type": "Feature", "geometry": None, "properties": {"name_zh": "重复参数"}}
    response = client.post("/collections/estates/items?a=1&a=2", json=feature, headers=ADMIN)
    is_problem(response, 400)
    after = client.get("/collections/estates/items?limit=1", headers=ADMIN).json()
    assert after["numberMatched"] == before["numberMatched"]


def test_next_links_name_each_parameter_once(client):
    url = "/collections/buildings/items?limit=2&offset=2&sortby=-floors"
    for _ in range(3):
        page = client.get(url)
        assert page.status_code == 200, page.text[:300]
        url = next(link["href"] for link in page.json()["links"] if link["rel"] == "next")
        assert url.count("offset=") == 1 and url.count("limit=") == 1, url


@pytest.mark.parametrize(
    ("target", "unknown"),
    [("/ledger?distrct=110101", "distrct"),  # answered the whole city's ledger
     ("/ledger?district=110101&f=json&streets=1", "streets"),
     ("/scoreboard?yaer=2025", "yaer"), ("/estates/1/dossier?format=pdf", "format"),
     ("/search?q=a&colections=estates", "colections"),
     ("/labels?bbox=116.3,39.8,116.5,40.0&zom=15", "zom")],
)  # fmt: skip
def test_a_parameter_a_data_route_does_not_take_is_a_400(client, target, unknown):
    response = client.get(target, headers=ADMIN)
    is_problem(response, 400)
    assert f"unknown parameter {unknown!r}" in response.json()["detail"]


@pytest.mark.parametrize(
    "target",
    ["/elevator-map?from=singlemessage&isappinstalled=0", "/map?utm_source=wechat",
     "/collections/buildings/tiles/WebMercatorQuad/14/6208/13492?_=1733400000",
     "/ledger?district=110101&f=json", "/search?q=a&collections=estates&limit=2"],
)  # fmt: skip
def test_pages_and_tiles_leave_parameters_they_do_not_know_alone(client, target):
    """A link shared in WeChat gets ?from=singlemessage; a client may add a cache buster."""
    assert client.get(target, headers=ADMIN).status_code in (200, 204)


@pytest.mark.parametrize(
    "target",
    ["/collections/estates/items?limit=5_0", "/collections/estates/items?limit=%205",
     "/collections/estates/items?limit=5.0", "/collections/estates/items?offset=1_0",
     "/collections/estates/items/1_0", "/collections/estates/items/%D9%A1",
     "/collections/buildings/tiles/WebMercatorQuad/1_4/6208/13492",
     "/tiles/WebMercatorQuad/14/6_208/13492?collections=buildings",
     "/labels?bbox=116.3,39.8,116.5,40.0&zoom=1_2", "/search?q=a&limit=1_0",
     "/collections/estates/items?bbox=%D9%A1%D9%A1%D9%A6.3,39.8,116.5,40.0",  # ١١٦.3
     "/collections/estates/items?bbox=116_3,39.8,116.5,40.0",
     "/analyses/bundles?district=110105&distance_m=2_00", "/scoreboard?year=2_026",
     "/estates/1_0/dossier", "/scoreboard?year=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96"],  # ２０２６
)  # fmt: skip
def test_numbers_are_read_in_ascii_digits_only(client, target):
    """Python reads 5_0 as 50 and ١١٦ as 116, where a proxy in front reads otherwise."""
    response = client.get(target, headers=ADMIN)
    is_problem(response, 400)
    assert "0-9" in response.text or "numbers" in response.text, response.text[:300]


DIGITS_5000, NINES_400, LETTERS_10000 = "9" * 5000, "9" * 400, "a" * 10_000


@pytest.mark.parametrize(
    "target",
    [f"/collections/estates/items?limit={DIGITS_5000}",
     f"/collections/estates/items?offset={DIGITS_5000}",
     f"/collections/estates/items/{DIGITS_5000}", f"/estates/{DIGITS_5000}/dossier",
     f"/collections/buildings/tiles/WebMercatorQuad/14/{DIGITS_5000}/1",
     f"/tiles/WebMercatorQuad/{DIGITS_5000}/1/1?collections=buildings",
     f"/scoreboard?year={DIGITS_5000}", f"/search?q=a&limit={DIGITS_5000}",
     f"/collections/estates/items?bbox={NINES_400},39.8,116.5,40.0",
     f"/collections/buildings/items?filter=floors%20%3E%20{NINES_400}",
     f"/collections/buildings/items?filter=floors%20%3E%20{DIGITS_5000}",
     f"/analyses/bundles?district=110105&distance_m={DIGITS_5000}"],
    ids=["limit", "offset", "feature", "dossier", "tile-row", "tile-zoom", "year",
         "search-limit", "bbox", "cql2-float", "cql2-integer", "analysis-parameter"],
)  # fmt: skip
def test_numbers_too_long_for_python_are_refused_in_the_users_words(client, target):
    """Python answers a 5,000-digit integer with advice about sys.set_int_max_str_digits,
    and reads 400 nines as infinity: neither is what the caller typed."""
    response = client.get(target, headers=ADMIN)
    is_problem(response, 400)
    text = response.text
    assert "set_int_max_str_digits" not in text and "Exceeds the limit" not in text, text[:300]
    assert "'inf'" not in text, text[:300]
    assert len(text) < 600, text[:300]


@pytest.mark.parametrize(
    "target",
    [f"/collections/{LETTERS_10000}", f"/collections/estates/items?{LETTERS_10000}=1",
     f"/collections/estates/items?f={LETTERS_10000}",
     f"/collections/estates/items?crs={LETTERS_10000}",
     f"/collections/estates/items?sortby={LETTERS_10000}",
     f"/collections/estates/items?filter={LETTERS_10000}%20%3D%201",
     f"/collections/estates/items?datetime={LETTERS_10000}", f"/analyses/{LETTERS_10000}",
     f"/analyses/bundles?district={LETTERS_10000}", f"/styles/{LETTERS_10000}.json",
     f"/tiles/{LETTERS_10000}/1/1/1?collections=estates", f"/ledger?{LETTERS_10000}=1",
     f"/imports/{LETTERS_10000}"],
    ids=["collection", "parameter", "format", "crs", "sortby", "filter-property", "datetime",
         "analysis", "district", "style", "tile-matrix-set", "declared-only", "import"],
)  # fmt: skip
def test_an_error_repeats_a_long_value_cut_short(client, target):
    """A 20,000-character collection name came back whole in its 404: an error names what was asked,
    not all of it."""
    response = client.get(target, headers=ADMIN)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "aaaa" in response.text and len(response.text) < 1000, response.text[:300]


@pytest.mark.parametrize(
    "target",
    ["/collections/estates/items?limit=%2B5", "/collections/estates/items?limit=05",
     "/collections/estates/items?bbox=116.3e0,%2039.8,116.5,40.0&limit=1",
     "/analyses/bundles?district=110105&distance_m=2e2"],
)  # fmt: skip
def test_signs_leading_zeros_exponents_and_spaced_lists_are_numbers(client, target):
    assert client.get(target, headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "/", "/collections", "/collections/estates/items?limit=3", "/collections/estates/items/1",
        "/collections/buildings/tiles/WebMercatorQuad/14/6208/13492",
        "/tiles/WebMercatorQuad/tilejson.json?collections=buildings", "/search?q=a",
        "/map", "/elevator-map", "/health", "/openapi.json", "/problems",
        "/collections/nowhere/items", "/collections/estates/items?limit=0",
    ],
)  # fmt: skip
def test_head_answers_as_get_without_a_body(client, target):
    """RFC 9110: every GET route answers HEAD; it was a 405 everywhere (uptime checks, curl -I)."""
    get, head = client.get(target), client.head(target)
    assert head.status_code == get.status_code, (target, head.text[:200])
    assert head.headers.get("content-type") == get.headers.get("content-type")
    assert head.content == b""


def test_head_on_a_route_without_get_is_405(client):
    refused = client.head("/collections/estates/imports")
    assert refused.status_code == 405 and refused.content == b""


def test_unknown_routes_and_methods_are_problems(client):
    is_problem(client.get("/nowhere"), 404)
    is_problem(client.put("/collections"), 405)
    is_problem(client.get("/collections/estates/items/0"), 400)
    is_problem(client.get("/collections/estates/items/99999999"), 404)


def test_the_statement_timeout_answers_503_and_frees_the_worker(db_url):
    app = create_app(
        DatabaseSettings(database_url=db_url, statement_timeout_ms=1),
        features=FeaturesSettings(admin_token=ADMIN_TOKEN),
    )
    with TestClient(app) as client:
        slow = "/collections/pipelines/export?format=csv&sortby=-diameter_mm,install_year"
        is_problem(client.get(slow, headers=ADMIN), 503)
        response = client.get(slow, headers=ADMIN)
        assert response.headers["retry-after"]
        heavy = "/collections/pipelines/items?limit=5000&sortby=-depth_m&filter=depth_m > 0"
        is_problem(client.get(heavy, headers=ADMIN), 503)
        analysis = client.get("/analyses/pipes_by_estate", headers=ADMIN)
        is_problem(analysis, 503)  # and it says what to do instead
        assert "ask for a district or a street" in analysis.json()["detail"]
        assert "onemap analyse pipes_by_estate" in analysis.json()["detail"]
        assert client.get("/conformance").status_code == 200  # the worker is free


def test_anyone_may_read_across_origins_and_configured_origins_may_write(db_url, client):
    reader = {"Origin": "https://maps.example"}
    answer = client.get("/collections/estates/items?limit=1", headers=reader)
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    assert "ETag" in answer.headers["access-control-expose-headers"]
    tile = client.get("/collections/estates/tiles/WebMercatorQuad/10/843/387", headers=reader)
    assert tile.headers["access-control-allow-origin"] == "*"
    preflight = client.options("/collections/estates/items", headers={
        **reader, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match, Authorization"})  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "If-None-Match"
    write = client.options("/collections/estates/items/1", headers={
        **reader, "Access-Control-Request-Method": "DELETE"})  # fmt: skip
    assert write.status_code == 403 and "access-control-allow-origin" not in write.headers
    assert "ONEMAP_CORS_ORIGINS" in write.json()["detail"]
    post = client.post("/login", headers=reader, data={"token": "x"})
    assert "access-control-allow-origin" not in post.headers  # no CORS on writes from others
    app = create_app(
        DatabaseSettings(database_url=db_url),
        features=FeaturesSettings(cors_origins=["https://planning.example"]),
    )
    with TestClient(app) as cors:
        trusted = {"Origin": "https://planning.example", "Access-Control-Request-Method": "PUT"}
        preflight = cors.options("/collections/estates/items/1", headers=trusted)
        assert preflight.headers["access-control-allow-origin"] == "https://planning.example"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        read = cors.get("/collections", headers={"Origin": "https://planning.example"})
        assert read.headers["access-control-allow-origin"] == "https://planning.example"
        assert "Origin" in read.headers["vary"]


def test_pages_carry_security_headers_and_api_responses_nosniff(client):
    page = client.get("/elevator-map")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert "http" not in policy.replace("'self'", "")  # nothing from outside by default
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get("/collections").headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def restartable(cluster, sample_city, tmp_path):
    """A cluster this test alone uses: restarting the shared one would cut other workers."""
    if cluster is None:
        pytest.skip("needs an embedded cluster to restart")
    with cluster_of_its_own(tmp_path / "pg", sample_city) as (own, url):
        yield own, url


def test_a_postgresql_restart_gives_503s_only_during_the_outage(restartable):
    """Clients keep asking through a restart: no other error, all good again within 5 s."""
    cluster, db_url = restartable
    with serve(db_url) as (base, _):
        # Six clients keep one worker busy (twelve only cost the suite CPU) until a second
        # past the restart's end, then ask every 50 ms each until 6 s past it, however long
        # the restart takes: the pool is renewed under load, and watched after.
        report = run_async(run_load(
            base, request_mix(count=200), clients=6, seconds=1.0,
            restart=cluster.restart, restart_at=1.0, after_restart_s=6.0, calm_after_s=1.0,
        ))  # fmt: skip
    summary = {**report.summary(), "failures": report.errors_outside_outage()[:5]}
    assert report.restart_done is not None, summary
    assert not report.errors_outside_outage(), summary
    assert report.recovery_seconds() <= 5.0, summary
    after = [o for o in report.outcomes if o.at > report.restart_done + 5.0]
    assert after and all(o.status in (200, 204, 304) for o in after), summary


def test_a_pooled_connection_is_checked_by_its_socket(db_url):
    """A healthy connection leaves the pool without a round trip; a cut one is caught."""
    import psycopg

    from api.deps import check_pooled_connection

    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            cur = await conn.execute("SELECT pg_backend_pid()")
            pid = (await cur.fetchone())[0]
            await check_pooled_connection(conn)  # healthy: nothing to read, no error
            with psycopg.connect(db_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            for _ in range(50):  # the server's goodbye reaches the socket
                await asyncio.sleep(0.02)
                try:
                    await check_pooled_connection(conn)
                except psycopg.OperationalError:
                    return
            raise AssertionError("a terminated connection passed the check")

    run_async(scenario())
