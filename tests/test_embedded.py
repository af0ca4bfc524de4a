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
