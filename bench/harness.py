"""OneMap beside raw SQL and tipg, on the same database, with the same seeded requests.

    .venv/bin/python bench/harness.py [--repeat 20] [--seconds 2] [--workers 1]
                                      [--out bench/results.md]

Starts ``onemap serve`` twice (as configured, and with the response cache off so every answer
is computed) and tipg (pinned, in its own venv under .bench/ so its pins never touch OneMap's):
see ``servers.py``. Each group of requests (``--repeat`` distinct seeded URLs) is sent in turn
for ``--seconds`` by wrk with 1 and with 8 keep-alive connections, after a warm-up pass that
reaches every worker; the SQL that OneMap generates runs under pgbench at the same concurrency
(the floor). Writes a Markdown table and a PNG of latency by request type (``report.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from report import Result, write_report
from servers import ROOT, TOKEN, serve_onemap, serve_tipg, wait

import database
from database.settings import DatabaseSettings
from layers import REGISTRY, Visibility, get_layer
from spatial import cql, crs, tiles
from spatial.cql import Compiled
from spatial.features import FeatureQuery, select_sql

DENSE = (116.40, 39.91)  # central Beijing
SPARSE = (116.64, 40.31)  # Huairou town


@dataclass
class Request:
    group: str
    onemap: str
    tipg: str | None
    raw: Compiled | None = None


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
        text = "floors >= 6 AND has_elevator = false"
        tree = cql.compile_filter(cql.parse(text, "cql2-text"), buildings, Visibility.PUBLIC,
                                  crs.DEFAULT)  # fmt: skip
        q = FeatureQuery(layer=buildings, level=Visibility.PUBLIC, filter=tree, limit=100)
        out.append(Request("items cql2",
                           f"/collections/buildings/items?filter={quote(text)}&limit=100",
                           f"/collections/public.buildings/items?filter={quote(text)}&limit=100",
                           select_sql(q)))  # fmt: skip
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
                statement = tiles.served_tile_sql([get_layer(layer)], Visibility.PUBLIC, z)
                out.append(Request(
                    f"tile z{z} {place}",
                    f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                    f"/collections/public.{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}",
                    Compiled(statement, [{"z": z, "x": x, "y": y, "names": [layer]}]),
                ))  # fmt: skip
        # District outlines, as every page's basemap draws them: a few large polygons.
        for z in (8, 11, 14):
            x, y = tiles.lonlat_to_tile(DENSE[0] + rng.uniform(-0.2, 0.2),
                                        DENSE[1] + rng.uniform(-0.2, 0.2), z)  # fmt: skip
            statement = tiles.served_tile_sql([get_layer("districts")], Visibility.PUBLIC, z)
            out.append(Request(
                f"outline tile z{z}",
                f"/collections/districts/tiles/WebMercatorQuad/{z}/{y}/{x}",
                f"/collections/public.districts/tiles/WebMercatorQuad/{z}/{x}/{y}",
                Compiled(statement, [{"z": z, "x": x, "y": y, "names": ["districts"]}]),
            ))  # fmt: skip
    return out


def search_requests(conn: psycopg.Connection, rng: random.Random, count: int) -> list[Request]:
    """What people type in the search box, drawn from the loaded city.

    Estate names in Chinese, their pinyin or initials, a building ("青塔北里3号楼"), a word in
    most names ("号楼", "xiaoqu"), and one beside a building's number ("号楼 10").
    """
    from pypinyin import Style, lazy_pinyin

    from spatial.search import Search, common_sql, estimated, search_sql

    rows = conn.execute(
        "SELECT e.name_zh, min(b.name_zh) FROM estates e JOIN buildings b ON b.estate_id = e.id "
        "GROUP BY e.id ORDER BY e.id"
    ).fetchall()
    public = Visibility.PUBLIC
    layers = tuple(la for la in REGISTRY.values() if la.search and la.visibility == public)
    # Words in most names ("号楼", "小区"), in Chinese and in pinyin: what someone types first.
    grams = Counter(
        gram for estate, building in rows for name in (estate, estate + building)
        for gram in {name[i : i + 2] for i in range(len(name) - 1)}
    )  # fmt: skip
    common = [word for word, _ in grams.most_common(3)]
    common += ["".join(lazy_pinyin(ch)[0] for ch in word) for word in common]
    # A building's number beside the commonest word, in Chinese or pinyin ("号楼 10"), drawn
    # apart: the other groups' draws stay those of earlier runs.
    commonest = (common[0], common[len(common) // 2])
    numbered = random.Random(count)
    out = []
    for _ in range(count):
        estate, building = rng.choice(rows)
        typed = {
            "search zh": estate,
            "search pinyin": "".join(lazy_pinyin(ch)[0] for ch in estate[:2]),
            "search initials": "".join(
                lazy_pinyin(ch, style=Style.FIRST_LETTER)[0] for ch in estate
            ),
            "search building": estate + building,
            "search common word": rng.choice(common),
            "search word and number": f"{numbered.choice(commonest)} {numbered.randint(1, 12)}",
        }
        for group, text in typed.items():
            search = Search(tuple(text.split()), layers, None, 8)
            check = common_sql(search)
            estimate = estimated(
                conn.execute(check.sql, check.params).fetchone() if check else None
            )
            raw = search_sql(search, estimate)  # the route's second statement
            out.append(Request(group, f"/search?limit=8&q={quote(text)}", None, raw))
    return out


async def _warm(base: str, paths: list[str], workers: int) -> None:
    """Each path: prepared statements, the planner's caches, OneMap's response cache.

    With several workers, over four connections per worker at once, so that every worker
    sees every path (on one connection, one worker would meet the measured run cold).
    """
    connections = 1 if workers == 1 else 4 * workers
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def each_path() -> None:
            for path in paths:
                await client.get(path)

        await asyncio.gather(*(each_path() for _ in range(connections)))


def _wrk(base: str, paths: list[str], clients: int, seconds: int, folder: Path) -> Result:
    """The paths in turn, by ``clients`` keep-alive connections for ``seconds``, under wrk.

    A C client, so that the servers are measured and not the benchmark's own Python.
    """
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    command = ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds}s",
               "--timeout", "60s", "-s", str(ROOT / "bench" / "paths.lua"), base, "--",
               str(listing)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    rate = summary["requests"] / (summary["duration_us"] / 1e6)
    ms = {k: summary[f"{k}_us"] / 1000 for k in ("mean", "p50", "p99")}
    return Result(ms["mean"], ms["p50"], ms["p99"], rate, summary["errors"])


def _literal_sql(conn: psycopg.Connection, s: Compiled) -> str:
    params = s.params[0] if s.params and isinstance(s.params[0], dict) else s.params
    return psycopg.ClientCursor(conn).mogrify(s.sql, params)


def _pgbench(
    url: str, statements: list[Compiled], clients: int, seconds: int, folder: Path
) -> Result:
    """The same SQL under pgbench: the server's own floor, with no Python client in the way."""
    pgbench = next(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    with psycopg.connect(url) as conn:
        scripts = []
        for k, s in enumerate(statements):
            path = folder / f"q{k}.sql"
            path.write_text(_literal_sql(conn, s).replace("\n", " ") + ";\n", encoding="utf-8")
            scripts += ["-f", str(path)]
    command = [str(pgbench), "-n", "-M", "prepared", "-c", str(clients),
               "-j", str(min(clients, 2)), "-T", str(seconds), "-l",
               "--log-prefix", str(folder / "log"), *scripts, url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    tps = float(done.split("tps = ")[1].split(" ")[0])
    # Per-transaction log lines: client, transaction, latency in microseconds, ...
    ms = sorted(
        int(line.split()[2]) / 1000
        for log in folder.glob("log.*")
        for line in log.read_text().splitlines()
    )
    return Result(statistics.mean(ms), statistics.median(ms),
                  ms[min(len(ms) - 1, int(len(ms) * 0.99))], tps)  # fmt: skip


def rss_kib(pid: int, field: str) -> int:
    """``field`` of /proc status for the server: with several workers, the largest one's."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    values = [0]
    for process in [pid, *map(int, children)]:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                values.append(int(line.split()[1]))
    return max(values)


def export_bench(url: str, base: str, pid: int, runs: int = 3) -> list[str]:
    """The whole pipelines layer as GeoJSON: OneMap's stream beside COPY of the same text.

    Both read by C clients (psql, curl) into /dev/null, median of ``runs``: the servers are
    measured, not a Python reader.
    """
    q = FeatureQuery(layer=get_layer("pipelines"), level=Visibility.PRIVATE)
    with psycopg.connect(url) as conn:
        text = select_sql(q).sql.as_string(conn)  # no parameters: the whole layer
    psql = next(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    copy = [str(psql), url, "-X", "-q", "-c", f"COPY ({text}) TO STDOUT"]
    export = f"{base}/collections/pipelines/export?format=geojson"
    curl = ["curl", "-s", "-H", f"Authorization: Bearer {TOKEN}", export]

    def median_s(command: list[str]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def size(command: list[str]) -> int:
        done = subprocess.run(command, capture_output=True, check=True)
        return len(done.stdout)

    copied, received = size(copy), size(curl)
    copy_s = median_s(copy)
    before = rss_kib(pid, "VmRSS")
    onemap_s = median_s(curl)
    growth = (rss_kib(pid, "VmHWM") - before) / 1024
    return [
        "| full-layer GeoJSON export (645,807 pipe segments) | seconds | MB | MB/s |",
        "|---|---|---|---|",
        f"| COPY of the same GeoJSON text (psql) | {copy_s:.2f} | {copied / 1e6:.0f} "
        f"| {copied / 1e6 / copy_s:.0f} |",
        f"| OneMap `/export?format=geojson` over HTTP (curl) | {onemap_s:.2f} "
        f"| {received / 1e6:.0f} | {received / 1e6 / onemap_s:.0f} |",
        "",
        f"OneMap ÷ COPY speed: **{(received / onemap_s) / (copied / copy_s):.2f}**; "
        f"server peak RSS growth during the export: **{growth:.0f} MiB**.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="Distinct requests per group.")
    parser.add_argument("--seconds", type=int, default=2,
                        help="Time per group and server: whole seconds, as wrk and pgbench take "
                        "it.")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per server.")
    parser.add_argument("--groups", help="Only the request groups starting so (e.g. 'search').")
    args = parser.parse_args()
    if args.seconds < 1:
        parser.error("--seconds: at least 1")
    missing = [tool for tool in ("wrk", "curl") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"needs {' and '.join(missing)}: apt-get install {' '.join(missing)}")
    url = database.resolve_database_url(DatabaseSettings())
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM estates").fetchone()[0] < 6000:
            raise SystemExit("load the full sample city first: onemap samples load --scale 1.0")
    reqs = requests(random.Random(7), args.repeat)
    with psycopg.connect(url) as conn:
        reqs += search_requests(conn, random.Random(7), args.repeat)
    if args.groups:
        reqs = [r for r in reqs if r.group.startswith(args.groups)]
    groups = list(dict.fromkeys(r.group for r in reqs))
    onemap = serve_onemap(8781, url, args.workers)
    computed = serve_onemap(8783, url, args.workers, cache=False)
    tipg = serve_tipg(8782, url, args.workers)
    servers = {"onemap": "http://127.0.0.1:8781", "computed": "http://127.0.0.1:8783",
               "tipg": "http://127.0.0.1:8782"}  # fmt: skip
    try:
        for name, base in servers.items():
            wait(base, "/collections" if name == "tipg" else "/health")
        table: dict[tuple[str, str, int], Result] = {}
        for clients in (1, 8):
            for group in groups:
                rs = [r for r in reqs if r.group == group]
                for name, base in servers.items():
                    paths = [r.tipg if name == "tipg" else r.onemap for r in rs]
                    if not all(paths):
                        continue
                    asyncio.run(_warm(base, paths, args.workers))  # type: ignore[arg-type]
                    with tempfile.TemporaryDirectory() as folder:
                        table[(name, group, clients)] = _wrk(
                            base,
                            paths,
                            clients,
                            args.seconds,
                            Path(folder),  # type: ignore[arg-type]
                        )
                raws = [r.raw for r in rs if r.raw is not None]
                if len(raws) == len(rs):
                    with tempfile.TemporaryDirectory() as folder:
                        table[("raw SQL", group, clients)] = _pgbench(
                            url, raws, clients, args.seconds, Path(folder)
                        )
        write_report(args.out, table, groups)
        if args.groups:
            return
        lines = export_bench(url, "http://127.0.0.1:8781", onemap.pid)
        with args.out.open("a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        for process in (onemap, computed, tipg):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
