"""Layer versions kept in memory from the primary's notifications.

Every write bumps its layer's version in a statement trigger, which also sends
``NOTIFY onemap_layer_versions, 'layer:version'`` (migration 0006). One connection per
worker listens; at (re)connection it listens first and then reads every version, so nothing
committed in between is missed. While the connection is down the watcher says it knows
nothing (``current`` returns None) and callers go to the database as before.

Notifications are read from the socket when the event loop sees it readable, and once more
right before each lookup, so a change whose notification has reached this process is never
served stale. Notifications are not sent to standbys: the watcher listens on the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import psycopg

CHANNEL = "onemap_layer_versions"
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)

log = logging.getLogger("onemap.versions")


class VersionWatcher:
    """The latest committed version of each layer, or None while not connected."""

    def __init__(self) -> None:
        self.conninfo = ""
        self._versions: dict[str, int] = {}
        self._conn: psycopg.AsyncConnection | None = None
        self._live = False
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tried = asyncio.Event()

    @property
    def live(self) -> bool:
        return self._live

    def current(self, layers: Iterable[str]) -> dict[str, int] | None:
        """The layers' versions as last announced, or None if they cannot be vouched for."""
        if not self._live:
            return None
        self._drain()
        if not self._live:
            return None
        try:
            return {name: self._versions[name] for name in layers}
        except KeyError:  # a layer without a version row: never vouched for
            return None

    async def start(self, conninfo: str, wait_s: float = 5.0) -> None:
        """Begin watching; returns after the first attempt to connect (at most ``wait_s``)."""
        self.conninfo = conninfo
        self._task = asyncio.create_task(self._run(), name="onemap-version-watcher")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), timeout=wait_s)
        if not self._live:
            log.warning("layer version notifications unavailable; nothing is replayed until then")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._connect()
                attempt = 0
                self._tried.set()
                await self._lost.wait()
            except (psycopg.Error, OSError) as exc:
                self._tried.set()
                log.warning("layer version watcher: %s", str(exc).split("\n")[0])
            await self._disconnect()
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1

    async def _connect(self) -> None:
        self._conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name="onemap-versions",
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
        )  # fmt: skip
        await self._conn.execute(f"LISTEN {CHANNEL}")
        cur = await self._conn.execute("SELECT layer, version FROM layer_versions")
        self._versions = {name: int(version) for name, version in await cur.fetchall()}
        self._lost.clear()
        asyncio.get_running_loop().add_reader(self._conn.pgconn.socket, self._drain)
        self._live = True

    async def _disconnect(self) -> None:
        self._forget()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    def _drain(self) -> None:
        """Apply every notification waiting on the socket, without blocking."""
        if not self._live or self._conn is None:
            return
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.OperationalError:
            self._forget()
            return
        while (notify := pgconn.notifies()) is not None:
            layer, _, version = notify.extra.decode().rpartition(":")
            if version.isdigit():
                self._versions[layer] = max(self._versions.get(layer, 0), int(version))
        if pgconn.status != psycopg.pq.ConnStatus.OK:
            self._forget()

    def _forget(self) -> None:
        """Stop vouching for versions (the connection broke or is closing)."""
        if self._live and self._conn is not None:
            with contextlib.suppress(ValueError, OSError, psycopg.Error):  # socket gone already
                asyncio.get_running_loop().remove_reader(self._conn.pgconn.socket)
        self._live = False
        self._versions = {}
        self._lost.set()
