import os
import socket
from pathlib import Path

import pytest

from database.embedded import ClusterError, EmbeddedCluster


def test_url_names_the_private_port_and_database(tmp_path):
    cluster = EmbeddedCluster(tmp_path / ".onemap", 54999)
    assert cluster.url == "postgresql://postgres@127.0.0.1:54999/onemap"
    assert not cluster.initialised and not cluster.running


def test_root_moves_a_cluster_out_of_a_private_home():
    cluster = EmbeddedCluster(Path("/root/checkout/.onemap"), 54999)
    if os.geteuid() == 0:  # the postgres user cannot enter /root
        assert str(cluster.home).startswith("/tmp/onemap-")
    else:  # a normal user runs the server as itself
        assert cluster.home == Path("/root/checkout/.onemap")
    again = EmbeddedCluster(Path("/root/checkout/.onemap"), 54999)
    assert again.home == cluster.home  # the same checkout finds the same cluster


def test_long_socket_paths_fall_back_to_tmp(tmp_path):
    deep = tmp_path / ("x" * 90) / ".onemap"
    cluster = EmbeddedCluster(deep, 54999)
    assert len(str(cluster.socket_dir / ".s.PGSQL.54999")) <= 107


def test_a_taken_port_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cluster = EmbeddedCluster(tmp_path / ".onemap", port)
        with pytest.raises(ClusterError, match=f"port {port} .* is taken"):
            cluster.start()
    assert not cluster.initialised  # nothing was created


@pytest.mark.e2e
def test_db_start_says_when_it_creates_a_new_cluster(tmp_path):
    """Run from another folder, a new empty cluster looked like data lost: it is said aloud."""
    from tests_support import free_port, run_onemap

    env = {"ONEMAP_DATA_DIR": str(tmp_path / ".onemap"), "ONEMAP_EMBEDDED_PORT": str(free_port())}
    try:
        first = run_onemap("db", "start", env=env)
        assert first.returncode == 0, first.stderr
        assert "created a new, empty cluster" in first.stdout, first.stdout
        again = run_onemap("db", "start", env=env)
        assert "already running" in again.stdout and "created" not in again.stdout, again.stdout
    finally:
        run_onemap("db", "stop", env=env)
