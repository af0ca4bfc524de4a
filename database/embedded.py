"""The embedded PostgreSQL+PostGIS cluster that OneMap runs when no server is configured.

PostgreSQL refuses to run as root, so as root every server command runs as the ``postgres``
system user, on a data folder it owns. That user must be able to reach the folder: a checkout
under a private home (``/root``) is not reachable, and then the cluster lives under ``/tmp``
in a folder named after the checkout, so the same checkout always finds the same cluster.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from layers.errors import OneMapError

PG_LIB = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
DATABASE = "onemap"
_SOCKET_PATH_MAX = 107

# Settings for a cluster on a laptop-sized machine; a test cluster also trades durability
# for speed (``fast=True``).
_SERVER_CONF = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'512MB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'4GB'",
    "jit": "off",
    "max_connections": "100",
    # A client that connects and says nothing holds a backend (and a shutdown) this long.
    "authentication_timeout": "'10s'",
}
_FAST_CONF = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ClusterError(OneMapError):
    """The embedded cluster cannot be set up or started."""


def _server_bin_dir() -> Path:
    versions = sorted(
        (p for p in PG_LIB.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ClusterError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql; "
            "install them with: apt-get install postgresql-15-postgis-3"
        )
    return versions[-1]


def open_to_others(path: Path, bits: int) -> bool:
    """Whether ``path`` and every folder above it grant other users ``bits`` (0o001: enter)."""
    return all(os.stat(p).st_mode & bits == bits for p in [path, *path.parents] if p.exists())


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class EmbeddedCluster:
    """A private PostgreSQL cluster in ``home`` listening on 127.0.0.1:``port``."""

    home: Path
    port: int
    fast: bool = False

    def __post_init__(self) -> None:
        self.home = self.home.absolute()
        self.as_root = os.geteuid() == 0
        if self.as_root and not open_to_others(self.home.parent, 0o001):
            digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
            self.home = Path("/tmp") / f"onemap-{digest}"
        self.bin_dir = _server_bin_dir()
        self.data_dir = self.home / "pg"
        self.socket_dir = self.home / "run"
        self.log_file = self.home / "postgresql.log"
        if len(str(self.socket_dir / f".s.PGSQL.{self.port}")) > _SOCKET_PATH_MAX:
            digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
            self.socket_dir = Path("/tmp") / f"onemap-run-{digest}"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- state -----------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def running(self) -> bool:
        if not self.initialised:
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False) == 0

    def postgis_installed(self) -> bool:
        version = self.bin_dir.parent.name
        extension_dir = Path("/usr/share/postgresql") / version / "extension"
        return any(extension_dir.glob("postgis.control"))

    # -- actions ---------------------------------------------------------------------------

    def start(self) -> bool:
        """Initialise the cluster if needed and start it; return False if it already ran."""
        if self.running:
            return False
        if not self.postgis_installed():
            raise ClusterError(
                f"PostGIS is not installed for PostgreSQL {self.bin_dir.parent.name}; "
                f"install it with: apt-get install postgresql-{self.bin_dir.parent.name}-postgis-3"
            )
        if _port_in_use(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is taken by another program; "
                "choose another with ONEMAP_EMBEDDED_PORT"
            )
        if not self.initialised:
            self._initdb()
        self._prepare_dirs()
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir),
            "-l", str(self.log_file), "-o", f"-p {self.port} -k {self.socket_dir}",
        )  # fmt: skip
        self._create_database(DATABASE)
        return True

    def start_replica_of(self, primary: EmbeddedCluster) -> None:
        """Make this cluster a streaming replica of ``primary`` (pg_basebackup -R) and start it."""
        if self.initialised:
            raise ClusterError(f"{self.data_dir} already holds a cluster")
        self.home.mkdir(parents=True, exist_ok=True)
        self._prepare_dirs()
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
            "-D", str(self.data_dir), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        self._prepare_dirs()
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir),
            "-l", str(self.log_file), "-o", f"-p {self.port} -k {self.socket_dir}",
        )  # fmt: skip

    def stop(self) -> bool:
        """Stop the cluster; return False if it was not running."""
        if not self.running:
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut), as an outage would."""
        self._run(
            "pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", str(self.data_dir),
            "-l", str(self.log_file), "-o", f"-p {self.port} -k {self.socket_dir}",
        )  # fmt: skip

    def create_database(self, name: str, *, replace: bool = False) -> str:
        """Create database ``name`` (dropping it first when ``replace``) and return its URL."""
        if replace:
            self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._create_database(name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destroy(self) -> None:
        """Stop the cluster and delete its files."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def _initdb(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._prepare_dirs()
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        conf = dict(_SERVER_CONF, **(_FAST_CONF if self.fast else {}))
        lines = [f"{key} = {value}" for key, value in conf.items()]
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write("\n# OneMap embedded cluster\n" + "\n".join(lines) + "\n")

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)
        if self.as_root:
            user = pwd.getpwnam(SUPERUSER)
            self.log_file.touch(exist_ok=True)
            for path in (self.data_dir, self.socket_dir, self.log_file):
                shutil.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(self.home, 0o755)

    def _create_database(self, name: str) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", capture=True)
        if exists.strip() != "1":
            self._psql(f'CREATE DATABASE "{name}"')

    def _psql(self, sql: str, *, capture: bool = False) -> str:
        for _ in range(50):  # the server may still be finishing its start-up
            result = subprocess.run(
                [str(self.bin_dir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                 "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
                 "-c", sql],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode == 0:
                return result.stdout if capture else ""
            if "starting up" not in result.stderr:
                raise ClusterError(f"psql failed: {result.stderr.strip()}")
            time.sleep(0.1)
        raise ClusterError("the embedded cluster did not finish starting")

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        command = [str(self.bin_dir / program), *args]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            log_tail = ""
            if self.log_file.exists():
                log_tail = " | ".join(self.log_file.read_text(errors="replace").splitlines()[-3:])
            raise ClusterError(
                f"{program} failed: {detail[-1] if detail else 'no output'}"
                + (f" (log: {log_tail})" if log_tail else "")
            )
        return result.returncode
