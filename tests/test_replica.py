"""Reads from a real streaming replica, writes to the primary, and read-after-write."""

import time

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import FeaturesSettings
from database.embedded import EmbeddedCluster
from database.settings import DatabaseSettings
from tests_support import ADMIN_TOKEN, cluster_of_its_own, finished_job, free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

INPUT = "data_samples/inputs/service_facilities.geojson"


@pytest.fixture(scope="module")
def primary_and_replica(cluster, sample_city, tmp_path_factory):
    """A primary of its own (a replica copies a whole cluster: the shared one holds every
    worker's databases) and its streaming replica."""
    if cluster is None:
        pytest.skip("needs the embedded PostgreSQL to make clusters of its own")
    with cluster_of_its_own(tmp_path_factory.mktemp("primary"), sample_city) as (
        primary, primary_url,
    ):  # fmt: skip
        replica = EmbeddedCluster(tmp_path_factory.mktemp("replica"), free_port(), fast=True)
        try:
            replica.start_replica_of(primary)
            replica_url = replica.url_for(primary_url.rsplit("/", 1)[1])
            for _ in range(100):
                try:
                    with psycopg.connect(replica_url) as conn:
                        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                            break
                except psycopg.OperationalError:
                    time.sleep(0.1)
            yield primary_url, replica_url
        finally:
            replica.destroy()


def count(client, **kwargs):
    response = client.get("/collections/service_facilities/items?limit=1", **kwargs)
    return response.headers["x-onemap-source"], response.json()["numberMatched"]


def test_reads_use_the_replica_and_the_writer_reads_its_writes(primary_and_replica):
    primary_url, replica_url = primary_and_replica

    def app():  # two app processes behind one load balancer: the writer's and a reader's
        return create_app(
            DatabaseSettings(database_url=primary_url, database_read_url=replica_url),
            features=FeaturesSettings(admin_token=ADMIN_TOKEN),
        )

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(app()) as writer, TestClient(app()) as reader:
        source, before = count(reader)
        assert source == "replica"
        with psycopg.connect(replica_url, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")  # the replica now lags on purpose
        try:
            with open(INPUT, "rb") as f:
                started = writer.post(
                    "/collections/service_facilities/imports",
                    files={"file": ("s.geojson", f.read())},
                    headers=headers,
                )
            assert started.status_code == 202
            job = finished_job(writer, started.headers["location"], headers)
            assert job["result"]["committed"], job
            assert job["result"]["lsn"]
            assert count(writer) == ("primary", before + 40)  # its own write, at once
            assert count(reader) == ("replica", before)  # others read the lagging replica
            # … and the lagging answer is not kept as if it were the announced version: the
            # response cache keys it with the versions the replica itself holds.
            assert count(reader) == ("replica", before)
        finally:
            with psycopg.connect(replica_url, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_resume()")
        # Once the replica has replayed the write, the writer is back on it; until then it
        # reads the primary. (The write's position was once the WAL's write position, which
        # an asynchronous commit can leave before the commit record: loaded runs now and
        # then saw the replica chosen without the write.)
        for _ in range(100):
            if count(writer) == ("replica", before + 40):
                break
            time.sleep(0.1)
        assert count(writer) == ("replica", before + 40)
        assert count(reader) == ("replica", before + 40)


def test_without_a_read_url_everything_reads_the_primary(db_url):
    with TestClient(create_app(DatabaseSettings(database_url=db_url))) as client:
        assert client.get("/collections/estates/items?limit=1").headers["x-onemap-source"] == (
            "primary"
        )
