"""Test fixtures: a private PostGIS cluster (or ONEMAP_TEST_DATABASE_URL), migrated once,
with a small deterministic sample city loaded once; each test runs in a rolled-back
transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import database
from data_samples.generator import generate_city
from data_samples.loader import load_city
from database.embedded import ClusterError, EmbeddedCluster
from tests_support import ADMIN_TOKEN, free_port, serve

ROOT = Path(__file__).resolve().parent.parent
TEST_PORT = int(os.environ.get("ONEMAP_TEST_PORT", "54339"))
TEST_SCALE = 0.02
TEST_SEED = 7


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster | None]:
    """The test cluster, or None when ONEMAP_TEST_DATABASE_URL names a server to use."""
    if os.environ.get("ONEMAP_TEST_DATABASE_URL"):
        yield None
        return
    home = ROOT / ".onemap" / "test"
    try:
        test_cluster = EmbeddedCluster(home, TEST_PORT, fast=True)
        try:
            started = test_cluster.start()
        except ClusterError as exc:
            if "is taken" not in str(exc):
                raise
            # Another program (or another checkout's tests) holds the usual port: use a free one.
            test_cluster = EmbeddedCluster(home, free_port(), fast=True)
            started = test_cluster.start()
    except Exception as exc:  # no PostgreSQL/PostGIS here: skip (CI turns skips into failure)
        pytest.skip(f"no PostGIS test cluster: {exc}")
    yield test_cluster
    if started:
        test_cluster.stop()


@pytest.fixture(scope="session")
def fresh_database(cluster: EmbeddedCluster | None):
    """A factory of new, empty databases (dropped at the end of the session)."""
    created: list[str] = []

    def make(name: str) -> str:
        if cluster is None:
            base = os.environ["ONEMAP_TEST_DATABASE_URL"]
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            url = base.rsplit("/", 1)[0] + f"/{name}"
        else:
            url = cluster.create_database(name, replace=True)
        created.append(name)
        return url

    yield make
    if cluster is not None:
        for name in created:
            cluster.drop_database(name)


@pytest.fixture(scope="session")
def sample_spec() -> tuple[float, int]:
    """(scale, seed) of the sample city loaded into the test database."""
    return TEST_SCALE, TEST_SEED


@pytest.fixture(scope="session")
def sample_city(sample_spec):
    return generate_city(*sample_spec)


@pytest.fixture(scope="session")
def db_url(cluster, fresh_database, sample_city) -> str:
    """The migrated test database with the small sample city loaded."""
    if cluster is None:
        url = os.environ["ONEMAP_TEST_DATABASE_URL"]
        database.downgrade(url, "base")
    else:
        url = fresh_database("onemap_test")
    database.migrate(url)
    load_city(url, sample_city, replace=True)
    return url


def _city_database(fresh_database, name: str, city) -> str:
    url = fresh_database(name)
    database.migrate(url)
    load_city(url, city)
    return url


@pytest.fixture(scope="session")
def ingest_url(fresh_database, sample_city) -> str:
    """A database of its own for ingest tests, which commit what they load."""
    return _city_database(fresh_database, "onemap_ingest", sample_city)


@pytest.fixture(scope="session")
def edits_url(fresh_database, sample_city) -> str:
    """A database of its own for tests that write features (and for the API fuzzer)."""
    return _city_database(fresh_database, "onemap_edits", sample_city)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(db_url) as connection:
        yield connection
        connection.rollback()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI a skipped test is a failed test: the database must be there."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; failing the run", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def app(db_url):
    from api.app import create_app
    from api.settings import FeaturesSettings
    from database.settings import DatabaseSettings

    return create_app(
        DatabaseSettings(database_url=db_url), features=FeaturesSettings(admin_token=ADMIN_TOKEN)
    )


@pytest.fixture(scope="session")
def client(app):
    """An anonymous HTTP client of the app (the lifespan runs once per session)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def admin(client):
    """The same app, called with the admin token."""
    client_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    class Admin:
        def get(self, url, **kwargs):
            return client.get(
                url, headers={**client_headers, **kwargs.pop("headers", {})}, **kwargs
            )

    return Admin()


@pytest.fixture(scope="session")
def live_server(db_url) -> Iterator[str]:
    """``onemap serve`` in a subprocess on a free port, for real GIS clients.

    Two workers, as in production: a client's requests land on either process.
    """
    with serve(db_url, workers=2) as (base, _):
        yield base


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (skipped locally without it; CI fails on skips)."""
    from viewer.browser import CHROMIUM, chromium

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium fonts-wqy-microhei)")
    with chromium() as instance:
        yield instance
