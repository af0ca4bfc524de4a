"""OneMap beside raw SQL and tipg, on the same database, with the same seeded requests.

    .venv/bin/python bench/harness.py [--repeat 3] [--out BENCHMARKS-side-by-side.md]

Starts ``onemap serve`` and tipg (pinned, in its own venv under .bench/ so its pins never touch
OneMap's), sends each request group with 1 and with 8 concurrent clients on loopback, runs the
SQL that OneMap generates under pgbench at the same concurrency (the floor), and writes a
Markdown table and a PNG of latency by request type.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from api import database
from api.settings import DatabaseSettings
from layers import Visibility, get_layer
from spatial import tiles
from spatial.cql import Compiled
from spatial.features import FeatureQuery, select_sql

ROOT = Path(__file__).resolve().parent.parent
TIPG_VENV = ROOT / ".bench" / "tipg-venv"
TIPG_PINS = ["tipg==1.6.1", "uvicorn==0.38.0"]
TOKEN = "bench-admin-token-0123456789"
DENSE = (116.40, 39.91)  # central Beijing
SPARSE = (116.64, 40.31)  # Huairou town


@dataclass
class Request:
    group: str
    onemap: str
    tipg: str | None
    raw: Compiled | None = None


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def row(self) -> tuple[float, float, float, float]:
        ms = sorted(x * 1000 for x in self.latencies) or [float("nan")]
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        rate = len(self.latencies) / self.seconds if self.seconds else float("nan")
        return statistics.mean(ms), statistics.median(ms), p99, rate


def tipg_python() -> Path:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TIPG_PINS], check=True)
    return python


def requests(rng: random.Random, count: int) -> list[Request]:
    out: list[Request] = []
    buildings = get_layer("buildings")
    for _ in range(count):
        offset = rng.randrange(0, 50_000)
        for limit in (100, 1000):
            q = FeatureQuery(layer=buildings, level=Visibility.PUBLIC, limit=limit, offset=offset)
            out.append(Request(f"items limit={limit}",
                               f"/collections/buildings/items?limit={limit}&offset={offset}",
                               f"/collections/public.buildings/items?limit={limit}&offset={offset}",
                               select_sql(q)))  # fmt: skip
        lon = DENSE[0] + rng.uniform(-0.05, 0.05)
        lat = DENSE[1] + rng.uniform(-0.05, 0.05)
        box = (lon, lat, lon + 0.01, lat + 0.01)
        bbox = ",".join(f"{v:.5f}" for v in box)
        q = FeatureQuery(layer=buildings, level=Visibility.PUBLIC, bbox=box, limit=100)
        out.append(Request("items bbox", f"/collections/buildings/items?bbox={bbox}&limit=100",
                           f"/collections/public.buildings/items?bbox={bbox}&limit=100",
                           select_sql(q)))  # fmt: skip
        cql = "floors >= 6 AND has_elevator = false"
        out.append(
            Request(
                "items cql2",
                f"/collections/buildings/items?filter={cql}&limit=100",
                f"/collections/public.buildings/items?filter={cql}&limit=100",
            )
        )
        fid = rng.randrange(1, 50_000)
        q = FeatureQuery(layer=buildings, level=Visibility.PUBLIC, ids=(fid,), limit=1)
        out.append(
            Request(
                "single item",
                f"/collections/buildings/items/{fid}",
                f"/collections/public.buildings/items/{fid}",
                select_sql(q),
            )
        )
        for z in (10, 12, 14, 16):
            for place, (plon, plat) in (("dense", DENSE), ("sparse", SPARSE)):
                x, y = tiles.lonlat_to_tile(plon + rng.uniform(-0.02, 0.02),
                                            plat + rng.uniform(-0.02, 0.02), z)  # fmt: skip
                layer = "estates" if z < 14 else "buildings"
                statement = tiles.tile_sql([get_layer(layer)], Visibility.PUBLIC, z)
                out.append(Request(
                    f"tile z{z} {place}",
                    f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                    f"/collections/public.{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}",
                    Compiled(statement, [{"z": z, "x": x, "y": y}]),
                ))  # fmt: skip
    return out


async def _http(base: str, paths: list[str], clients: int, headers: dict[str, str]) -> Result:
    result = Result()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, timeout=60, headers=headers, limits=limits
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                started = time.perf_counter()
                response = await client.get(path)
                await response.aread()
                result.latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    result.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def _literal_sql(conn: psycopg.Connection, s: Compiled) -> str:
    params = s.params[0] if s.params and isinstance(s.params[0], dict) else s.params
    return psycopg.ClientCursor(conn).mogrify(s.sql, params)


def _pgbench(url: str, statements: list[Compiled], clients: int, folder: Path) -> Result:
    """The same SQL under pgbench: the server's own floor, with no Python client in the way."""
    pgbench = next(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    with psycopg.connect(url) as conn:
        scripts = []
        for k, s in enumerate(statements):
            path = folder / f"q{k}.sql"
            path.write_text(_literal_sql(conn, s).replace("\n", " ") + ";\n", encoding="utf-8")
            scripts += ["-f", str(path)]
    command = [str(pgbench), "-n", "-M", "prepared", "-c", str(clients),
               "-j", str(min(clients, 2)), "-T", "3", *scripts, url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = float(done.split("latency average = ")[1].split(" ms")[0]) / 1000
    tps = float(done.split("tps = ")[1].split(" ")[0])
    done_count = int(done.split("number of transactions actually processed: ")[1].split()[0])
    result = Result(latencies=[latency] * done_count)
    result.seconds = done_count / tps
    return result


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def export_bench(url: str, base: str, pid: int) -> list[str]:
    """The whole pipelines layer as GeoJSON: OneMap's stream beside COPY of the same text."""
    q = FeatureQuery(layer=get_layer("pipelines"), level=Visibility.PRIVATE)
    statement = select_sql(q)
    with psycopg.connect(url) as conn:
        text = statement.sql.as_string(conn)  # no parameters: the whole layer
        started = time.perf_counter()
        copied = 0
        with conn.cursor().copy(f"COPY ({text}) TO STDOUT") as copy:
            for chunk in copy:
                copied += len(chunk)
        copy_s = time.perf_counter() - started
    before = rss_kib(pid, "VmRSS")
    started = time.perf_counter()
    received = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.stream("GET", f"{base}/collections/pipelines/export?format=geojson",
                      headers=headers, timeout=600) as response:  # fmt: skip
        for chunk in response.iter_bytes():
            received += len(chunk)
    onemap_s = time.perf_counter() - started
    growth = (rss_kib(pid, "VmHWM") - before) / 1024
    return [
        "| full-layer GeoJSON export (645,807 pipe segments) | seconds | MB | MB/s |",
        "|---|---|---|---|",
        f"| COPY of the same GeoJSON text (psql-style) | {copy_s:.2f} | {copied / 1e6:.0f} "
        f"| {copied / 1e6 / copy_s:.0f} |",
        f"| OneMap `/export?format=geojson` over HTTP | {onemap_s:.2f} | {received / 1e6:.0f} "
        f"| {received / 1e6 / onemap_s:.0f} |",
        "",
        f"OneMap ÷ COPY speed: **{(received / onemap_s) / (copied / copy_s):.2f}**; "
        f"server peak RSS growth during the export: **{growth:.0f} MiB**.",
    ]


def serve_onemap(port: int, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ONEMAP_DATABASE_URL": url, "ONEMAP_ADMIN_TOKEN": TOKEN}
    return subprocess.Popen([str(Path(sys.executable).parent / "onemap"), "serve", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def serve_tipg(port: int, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "10000"}  # fmt: skip
    uvicorn = tipg_python().parent / "uvicorn"
    return subprocess.Popen([str(uvicorn), "tipg.main:app", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def wait(base: str, path: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Requests per group per pass.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    url = database.resolve_database_url(DatabaseSettings())
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM estates").fetchone()[0] < 6000:
            raise SystemExit("load the full sample city first: onemap samples load --scale 1.0")
    reqs = requests(random.Random(7), args.repeat)
    groups = list(dict.fromkeys(r.group for r in reqs))
    onemap, tipg = serve_onemap(8781, url), serve_tipg(8782, url)
    try:
        wait("http://127.0.0.1:8781", "/health")
        wait("http://127.0.0.1:8782", "/collections")
        table: dict[tuple[str, str, int], Result] = {}
        for clients in (1, 8):
            for group in groups:
                rs = [r for r in reqs if r.group == group]
                for _ in range(2):  # warm caches and prepared statements
                    asyncio.run(_http("http://127.0.0.1:8781", [r.onemap for r in rs], 1, {}))
                table[("onemap", group, clients)] = asyncio.run(
                    _http("http://127.0.0.1:8781", [r.onemap for r in rs] * 3, clients, {})
                )
                if all(r.tipg for r in rs):
                    asyncio.run(_http("http://127.0.0.1:8782", [r.tipg for r in rs], 1, {}))
                    table[("tipg", group, clients)] = asyncio.run(
                        _http("http://127.0.0.1:8782", [r.tipg for r in rs] * 3, clients, {})
                    )  # type: ignore[misc]
                raws = [r.raw for r in rs if r.raw is not None]
                if len(raws) == len(rs):
                    with tempfile.TemporaryDirectory() as folder:
                        table[("raw SQL", group, clients)] = _pgbench(url, raws, clients,
                                                                      Path(folder))  # fmt: skip
        write_report(args.out, table, groups)
        lines = export_bench(url, "http://127.0.0.1:8781", onemap.pid)
        with args.out.open("a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        for process in (onemap, tipg):
            process.terminate()
            process.wait(10)


def write_report(out: Path, table: dict[tuple[str, str, int], Result], groups: list[str]) -> None:
    lines = [
        "| request | clients | raw SQL p50 (ms) | OneMap mean / p50 / p99 (ms) | OneMap req/s "
        "| tipg p50 (ms) | tipg req/s | OneMap ÷ raw p50 | OneMap ÷ tipg req/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in (1, 8):
        for group in groups:
            one = table[("onemap", group, clients)].row()
            raw = table.get(("raw SQL", group, clients))
            tip = table.get(("tipg", group, clients))
            raw_p50 = f"{raw.row()[1]:.1f}" if raw else "–"
            tip_cells = f"{tip.row()[1]:.1f} | {tip.row()[3]:.0f}" if tip else "– | –"
            ratio = f"{one[1] / raw.row()[1]:.2f}" if raw else "–"
            speed = f"{one[3] / tip.row()[3]:.2f}" if tip else "–"
            errors = table[("onemap", group, clients)].errors
            label = f"{group} (errors: {errors})" if errors else group
            lines.append(f"| {label} | {clients} | "
                         f"{raw_p50} | {one[0]:.1f} / {one[1]:.1f} / {one[2]:.1f} | {one[3]:.0f} | "
                         f"{tip_cells} | "
                         f"{ratio} | {speed} |")  # fmt: skip
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(out.with_suffix(".png"), table, groups)
    print("\n".join(lines))


def plot(path: Path, table: dict[tuple[str, str, int], Result], groups: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.27
    for k, server in enumerate(("raw SQL", "onemap", "tipg")):
        values = [table[(server, g, 1)].row()[1] if (server, g, 1) in table else 0 for g in groups]
        ax.bar([i + (k - 1) * width for i in range(len(groups))], values, width, label=server)
    ax.set_xticks(range(len(groups)), groups, rotation=40, ha="right")
    ax.set_ylabel("p50 latency, ms (1 client)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("OneMap beside raw SQL and tipg — full sample city, loopback")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
