"""Load on loopback: many clients on tiles and items, and a PostgreSQL restart in the middle.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--restart-at 30]

Starts ``onemap serve`` on the loaded city (``make bench`` loads it), sends a seeded mix of
tile and items requests from N asyncio clients for the given time, restarts the embedded
PostgreSQL (``pg_ctl restart -m fast``) at ``--restart-at`` seconds, and reports: requests,
throughput, status codes, errors outside the outage, and how long after PostgreSQL was back
the service answered every request again. ``run_load`` is also used by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from spatial import tiles

ROOT = Path(__file__).resolve().parent.parent
OK = {200, 204, 304}
CALM_PAUSE_S = 0.05  # between a calm client's requests (``run_load``'s ``calm_after_s``)
CENTRE = (116.40, 39.91)


def request_mix(seed: int = 7, count: int = 400) -> list[str]:
    """Tiles at z10–16 around the centre and items pages of public layers.

    What the public map and GIS clients ask for most.
    """
    rng = random.Random(seed)
    urls = []
    for _ in range(count):
        if rng.random() < 0.6:
            z = rng.choice([10, 12, 13, 14, 15, 16])
            lon = CENTRE[0] + rng.uniform(-0.15, 0.15)
            lat = CENTRE[1] + rng.uniform(-0.1, 0.1)
            x, y = tiles.lonlat_to_tile(lon, lat, z)
            layer = rng.choice(["estates", "buildings", "elevator_retrofits"])
            urls.append(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}")
        else:
            layer = rng.choice(["estates", "buildings", "service_facilities"])
            lon = CENTRE[0] + rng.uniform(-0.2, 0.2)
            lat = CENTRE[1] + rng.uniform(-0.15, 0.15)
            bbox = f"{lon:.4f},{lat:.4f},{lon + 0.02:.4f},{lat + 0.02:.4f}"
            urls.append(f"/collections/{layer}/items?limit=100&bbox={bbox}")
    return urls


@dataclass
class Outcome:
    at: float  # seconds since the start
    status: int  # 0 = no HTTP answer (connection error or timeout)
    seconds: float
    url: str = ""


@dataclass
class LoadReport:
    clients: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    restart_started: float | None = None
    restart_done: float | None = None

    @property
    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes)

    @property
    def recovered_at(self) -> float | None:
        """When, after the restart began, the last failure happened (None: never failed)."""
        failures = [o.at + o.seconds for o in self.outcomes if o.status not in OK]
        return max(failures) if failures else None

    def errors_outside_outage(self) -> list[Outcome]:
        """Failures that are not a 503 while PostgreSQL was down or coming back."""
        out = []
        for o in self.outcomes:
            if o.status in OK:
                continue
            during = (
                self.restart_started is not None
                and o.status == 503
                and self.restart_started <= o.at + o.seconds
                and (self.restart_done is None or o.at <= self.restart_done + 5.0)
            )
            if not during:
                out.append(o)
        return out

    def recovery_seconds(self) -> float | None:
        """Seconds from PostgreSQL being back to the last failed request."""
        if self.restart_done is None:
            return None
        last = self.recovered_at
        return max(0.0, (last or 0.0) - self.restart_done)

    def summary(self) -> dict[str, object]:
        times = sorted(o.seconds * 1000 for o in self.outcomes if o.status in OK) or [0.0]
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": len(self.outcomes),
            "throughput_rps": round(len(self.outcomes) / self.seconds, 1),
            "p50_ms": round(times[len(times) // 2], 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
            "statuses": dict(sorted(self.statuses.items())),
            "errors_outside_outage": len(self.errors_outside_outage()),
            "restart_started_s": self.restart_started and round(self.restart_started, 2),
            "restart_done_s": self.restart_done and round(self.restart_done, 2),
            "back_after_s": None if self.restart_done is None
            else round(self.recovery_seconds() or 0.0, 2),
        }  # fmt: skip


async def run_load(
    base_url: str, urls: list[str], *, clients: int, seconds: float,
    restart: Callable[[], None] | None = None, restart_at: float | None = None,
    timeout_s: float = 10.0, after_restart_s: float = 0.0, calm_after_s: float | None = None,
) -> LoadReport:  # fmt: skip
    """Send ``urls`` round-robin from ``clients`` concurrent clients for ``seconds``.

    With a restart, the clients go on until ``after_restart_s`` past its end at least, so the
    time after an outage is measured however long PostgreSQL took to stop and start. With
    ``calm_after_s``, each client waits ``CALM_PAUSE_S`` between requests from that long
    past the restart's end: the app is still asked, without the full load's CPU.
    """
    report = LoadReport(clients, seconds)
    start = time.monotonic()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    restart_over = asyncio.Event()

    def running(now: float) -> bool:
        if now < seconds:
            return True
        if report.restart_done is not None:
            return now < report.restart_done + after_restart_s
        return restart is not None and not restart_over.is_set()

    async def client(k: int, http: httpx.AsyncClient) -> None:
        i = k
        while running(now := time.monotonic() - start):
            url = urls[i % len(urls)]
            i += clients
            t0 = time.monotonic()
            try:
                response = await http.get(url)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = 0
                url = f"{url} ({type(exc).__name__})"
            report.outcomes.append(Outcome(now, status, time.monotonic() - t0, url))
            done = report.restart_done
            if calm_after_s is not None and done is not None and now > done + calm_after_s:
                await asyncio.sleep(CALM_PAUSE_S)

    async def restarter() -> None:
        assert restart is not None and restart_at is not None
        await asyncio.sleep(restart_at)
        report.restart_started = time.monotonic() - start
        try:
            await asyncio.to_thread(restart)
            report.restart_done = time.monotonic() - start
        finally:
            restart_over.set()

    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as http:
        tasks = [client(k, http) for k in range(clients)]
        if restart is not None:
            tasks.append(restarter())
        await asyncio.gather(*tasks)
    report.seconds = time.monotonic() - start
    return report


def main() -> None:
    import database
    from database.settings import DatabaseSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--restart-at", type=float, default=30.0, help="0 = no restart")
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    cluster = database.embedded_cluster(DatabaseSettings())
    cluster.start()
    log = (ROOT / ".bench").resolve()
    log.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/onemap"), "serve", "--port", str(args.port)],
        stdout=subprocess.DEVNULL, stderr=(log / "load-server.log").open("w"), cwd=ROOT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        restart = cluster.restart if args.restart_at > 0 else None
        report = asyncio.run(run_load(
            base, request_mix(), clients=args.clients, seconds=args.seconds,
            restart=restart, restart_at=args.restart_at or None,
        ))  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    json.dump(report.summary(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    for failure in report.errors_outside_outage()[:20]:
        sys.stdout.write(f"failed: {failure}\n")
    if report.errors_outside_outage():
        sys.exit(1)


if __name__ == "__main__":
    main()
