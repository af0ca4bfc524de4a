"""Test fixtures: a private PostGIS cluster (or ONEMAP_TEST_DATABASE_URL), migrated once,
with a small deterministic sample city loaded once; each test runs in a rolled-back
transaction."""

from __future__ import annotations

import fcntl
import functools
import gc
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import database
from data_samples.generator import generate_city
from data_samples.loader import load_city
from database.embedded import ClusterError, EmbeddedCluster
from tests_support import (
    ADMIN_TOKEN,
    BARE,
    CITY,
    KINDS,
    MIGRATED,
    POSTGIS,
    admin_app,
    free_port,
    serve,
)  # fmt: skip

ROOT = Path(__file__).resolve().parent.parent
TEST_PORT = int(os.environ.get("ONEMAP_TEST_PORT", "54339"))
TEST_SCALE = 0.02
TEST_SEED = 7
# Under ``pytest -n N`` each worker has its own databases ("gw0", "gw1", …) in one cluster.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# One run's workers share its template databases; a template of an earlier run is made again.
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
CLUSTER_HOME = ROOT / ".onemap" / "test"


def database_name(name: str) -> str:
    return f"{name}_{WORKER}" if WORKER else name


@contextmanager
def _shared_state(home: Path) -> Iterator[dict]:
    """The test cluster's bookkeeping across workers, read and written under a file lock."""
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / "test.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = home.parent / "test.users.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        yield state
        path.write_text(json.dumps(state))


def _running_port(home: Path) -> int | None:
    """The port of the cluster running in ``home`` (another worker may have picked it)."""
    pid_file = EmbeddedCluster(home, TEST_PORT, fast=True).data_dir / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster | None]:
    """The test cluster, or None when ONEMAP_TEST_DATABASE_URL names a server to use.

    Workers share it: the first one in starts it, the last one out stops it (if this run
    started it).
    """
    if os.environ.get("ONEMAP_TEST_DATABASE_URL"):
        yield None
        return
    home = CLUSTER_HOME
    with _shared_state(home) as state:
        try:
            test_cluster = EmbeddedCluster(home, _running_port(home) or TEST_PORT, fast=True)
            if not test_cluster.running:
                state.clear()
            try:
                started = test_cluster.start()
            except ClusterError as exc:
                if "is taken" not in str(exc):
                    raise
                # Another program (or another checkout's tests) holds the usual port.
                test_cluster = EmbeddedCluster(home, free_port(), fast=True)
                started = test_cluster.start()
        except Exception as exc:  # no PostgreSQL/PostGIS here: skip (CI turns skips into failure)
            pytest.skip(f"no PostGIS test cluster: {exc}")
        state["users"] = state.get("users", 0) + 1
        state["stop_at_end"] = state.get("stop_at_end", False) or started
    yield test_cluster
    with _shared_state(home) as state:
        state["users"] = max(0, state.get("users", 1) - 1)
        if state["users"] == 0 and test_cluster.running:
            with psycopg.connect(_maintenance_url(test_cluster), autocommit=True) as conn:
                for kind in state.pop("templates", {}):
                    _drop(conn, f"onemap_template_{kind}")
        if state["users"] == 0 and state.get("stop_at_end"):
            test_cluster.stop()
            state.clear()


def _maintenance_url(cluster: EmbeddedCluster | None) -> str:
    if cluster is not None:
        return cluster.url_for("postgres")
    return os.environ["ONEMAP_TEST_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"


def _create(admin: str, name: str, template: str | None = None) -> str:
    """Database ``name`` made anew (a copy of ``template`` if given); its URL."""
    with psycopg.connect(admin, autocommit=True) as conn:
        _drop(conn, name)
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # FILE_COPY: PostgreSQL 15's default (WAL_LOG) writes the copy through the WAL
            # page by page; copying the files measured 0.12 s against 0.19–0.43 s.
            create += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        conn.execute(create)
    return admin.rsplit("/", 1)[0] + f"/{name}"


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _take(url: str, step: str, spec: tuple[float, int]) -> None:
    """The one step from the kind before ``step`` to ``step`` (``spec``: the city's)."""
    if step == POSTGIS:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    elif step == MIGRATED:
        database.migrate(url)
    elif step == CITY:
        load_city(url, _city(spec), replace=True)  # generated only where it is loaded


def _steps(kind: str) -> tuple[str, ...]:
    return KINDS[1 : KINDS.index(kind) + 1]


@pytest.fixture(scope="session")
def templates(cluster, sample_spec):
    """A factory of template databases by kind, made on first use by whichever worker asks
    first and copied by all (``CREATE DATABASE … TEMPLATE``): a file copy instead of CREATE
    EXTENSION (a second of CPU), a migration and a load each. Nothing connects to a template
    after it is made, as PostgreSQL requires. The last worker out drops them (``cluster``).
    None on an external server, whose databases are made up step by step instead."""
    if cluster is None:
        return None
    admin = _maintenance_url(cluster)

    def template(kind: str) -> str:
        # Held while building: the other worker would otherwise build the same beside it.
        with _shared_state(CLUSTER_HOME) as state:
            made = state.setdefault("templates", {})
            previous = None
            for step in _steps(kind):
                name = f"onemap_template_{step}"
                if made.get(step) != RUN:
                    _take(_create(admin, name, previous), step, sample_spec)
                    made[step] = RUN
                previous = name
        assert previous is not None, kind
        return previous

    return template


@pytest.fixture(scope="session")
def fresh_database(cluster, templates, sample_spec):
    """A factory of new databases of a kind (``BARE`` … ``CITY``), dropped at the session's end.

    Names are made per worker, so parallel workers never share a database.
    """
    yield from _databases(cluster, templates, sample_spec)


@pytest.fixture(scope="module")
def scratch_database(cluster, templates, sample_spec):
    """``fresh_database`` for one module's databases, dropped at the module's end: the shared
    cluster holds no more than the modules running, and a test leaves nothing behind."""
    yield from _databases(cluster, templates, sample_spec)


def _databases(cluster, templates, spec: tuple[float, int]):
    factory = _DatabaseFactory(_maintenance_url(cluster), templates, spec)
    yield factory.make
    factory.drop_all()


class _DatabaseFactory:
    def __init__(self, admin: str, templates, spec: tuple[float, int]) -> None:
        self.admin, self.templates, self.spec = admin, templates, spec
        self.created: list[str] = []

    def make(self, name: str, kind: str = BARE) -> str:
        name = database_name(name)
        self.created.append(name)
        if self.templates is None or kind == BARE:
            url = _create(self.admin, name)
            for step in _steps(kind):
                _take(url, step, self.spec)
            return url
        return _create(self.admin, name, self.templates(kind))

    def drop_all(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in self.created:
                _drop(conn, name)


@pytest.fixture(scope="session")
def sample_spec() -> tuple[float, int]:
    """(scale, seed) of the sample city loaded into the test database."""
    return TEST_SCALE, TEST_SEED


@functools.cache
def _city(spec: tuple[float, int]):
    return generate_city(*spec)


@pytest.fixture(scope="session")
def sample_city(sample_spec):
    return _city(sample_spec)


@pytest.fixture(scope="session")
def db_url(cluster, fresh_database, sample_spec) -> str:
    """The migrated test database with the small sample city loaded."""
    if cluster is None:
        url = os.environ["ONEMAP_TEST_DATABASE_URL"]
        database.downgrade(url, "base")
        database.migrate(url)
        load_city(url, _city(sample_spec), replace=True)
        return url
    return fresh_database("onemap_test", CITY)


@pytest.fixture(scope="session")
def ingest_url(fresh_database) -> str:
    """A database of its own for ingest tests, which commit what they load."""
    return fresh_database("onemap_ingest", CITY)


@pytest.fixture(scope="session")
def edits_url(fresh_database) -> str:
    """A database of its own for tests that write features (and for the API fuzzer)."""
    return fresh_database("onemap_edits", CITY)


@pytest.fixture(scope="session")
def holidays_url(fresh_database) -> str:
    """A database of its own for tests that load holiday arrangements."""
    return fresh_database("onemap_holidays", CITY)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(db_url) as connection:
        yield connection
        connection.rollback()


# What a mark says a module costs, dearest first: xdist hands out whole modules in the
# collection's order (``--dist loadfile --no-loadscope-reorder``), so the long ones start
# early and the last ones running are short, and the workers end together. Ordered by
# test count instead (xdist's default), the 10-s fuzzer was last and ran alone.
COST_MARKS = ("slow", "browser", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank: dict[Path, int] = {}
    for item in items:
        marked = (i for i, mark in enumerate(COST_MARKS) if item.get_closest_marker(mark))
        rank[item.path] = min(rank.get(item.path, len(COST_MARKS)), next(marked, len(COST_MARKS)))
    items.sort(key=lambda item: rank[item.path])  # stable: modules stay whole


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before each module, what lives on (imports, collection, session fixtures) is frozen:
    the cycle collector's full passes need not walk it again. A worker holds ~600,000 such
    objects, and its ~27 full passes a run took 6–8 s of its CPU."""
    if item.path != _frozen_at.get("path"):
        _frozen_at["path"] = item.path
        gc.collect()
        gc.freeze()


_frozen_at: dict[str, Path] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI a skipped test is a failed test: the database must be there."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; failing the run", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def app(db_url):

    return admin_app(db_url)


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
def chromium_instance():
    """Debian's Chromium through Playwright (skipped locally without it; CI fails on skips)."""
    from viewer.browser import CHROMIUM, MISSING, chromium

    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    with chromium() as instance:
        yield instance


@pytest.fixture
def browser(chromium_instance):
    """The session's Chromium, with the pages a test opened closed after it: a page left
    open keeps its map's scripts and requests running beside the next tests."""
    yield chromium_instance
    for context in chromium_instance.contexts:
        context.close()
