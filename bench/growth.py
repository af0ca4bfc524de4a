"""The same requests on samples of growing size: what each costs as the data grows.

    .venv/bin/onemap samples load --scale 4 --replace
    .venv/bin/python bench/growth.py measure          # writes bench/growth/scale-4.json
    .venv/bin/python bench/growth.py report           # the table and bench/growth.png
    .venv/bin/python bench/growth.py measure --only overdue_opinions   # after a change to it
    .venv/bin/python bench/growth.py interleave --databases URL1,URL4,URL10 --repeat 15
    .venv/bin/python bench/growth.py interleave --databases … --groups search  # after a change

``measure`` serves the loaded sample with the response cache off (every answer computed), sends
each of the harness's seeded requests (tiles per zoom, item pages, bbox, CQL2, search) plus
a city-wide GeoJSON export once to warm and then ``--repeat`` times, and runs every analysis
straight on the database for Chaoyang (after one untimed run) and city-wide. The scale is read
from the database (estates ÷ a scale-1 city's). Latencies are p50 of one client, in ms.

``interleave`` measures the same on several loaded samples at once, taking turns between
them, and replaces their figures for everything but the slow analyses (see its docstring).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path

import httpx
import psycopg
from harness import requests, search_requests
from servers import ROOT, TOKEN, serve_onemap, wait

import database
from analyses.model import Area, rows_of
from analyses.registry import ANALYSES
from data_samples.beijing import CITY
from database.settings import DatabaseSettings

OUT = ROOT / "bench" / "growth"
PORT = 8795
DISTRICT = "110105"  # Chaoyang: in the real city, so in every sample
EXPORT = "/collections/buildings/export?format=geojson"
EXPORT_KEY = "export buildings (city)"
SLOW_S = 5.0  # an analysis slower than this once is not run again
EXPORT_TURNS = 5  # the export takes seconds at scale 10: fewer turns than the other requests
FAST_S = 1.0  # one faster than this runs ``repeat`` times: a few ms move ±30 % between runs


def _scale(conn: psycopg.Connection) -> float:
    estates = conn.execute("SELECT count(*) FROM estates").fetchone()[0]
    return round(estates / CITY.per_scale["estates"], 1)


def _fetch(client: httpx.Client, url: str) -> None:
    """One answer, read to the end and dropped.

    A client that keeps a 300 MB export in one growing buffer measures its own copying.
    """
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for _ in response.iter_raw(1 << 20):
            pass


def _http(base: str, paths: dict[str, list[str]], repeat: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        out = _turns([client], [paths], repeat)[0]
    for group, p50 in out.items():
        print(f"{group:24} {p50:9.1f} ms", flush=True)
    return out


async def _analyses(url: str, repeat: int, names: list[str] | None = None) -> dict[str, float]:
    out = {}
    areas = {"district": Area(district=DISTRICT), "city": Area()}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for analysis in ANALYSES.values():
            if names is not None and analysis.name not in names:
                continue
            for label, area in areas.items():
                if label == "district":  # warm the area's pages; city-wide runs are too long
                    rows_of(await analysis.run(conn, area, analysis.parse_params({})))
                times: list[float] = []
                while not times or len(times) < (repeat if times[0] < FAST_S else 3):
                    if times and times[0] > SLOW_S:
                        break
                    started = time.perf_counter()
                    rows_of(await analysis.run(conn, area, analysis.parse_params({})))
                    times.append(time.perf_counter() - started)
                key = f"{analysis.name} {label}"
                out[key] = statistics.median(times) * 1000
                print(f"{key:40} {out[key]:9.1f} ms", flush=True)
    return out


def _paths(url: str) -> dict[str, list[str]]:
    """The seeded HTTP requests by group (the search words drawn from ``url``'s city)."""
    rng = random.Random(1)
    paths: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        asked = requests(rng, 5) + search_requests(conn, rng, 3)
    for request in asked:
        paths.setdefault(request.group, []).append(request.onemap)
    return paths


def _served(url: str, repeat: int) -> dict[str, float]:
    """The seeded HTTP requests and the export against one app process on ``url``."""
    paths = _paths(url)
    server = serve_onemap(PORT, url, 1, cache=False)
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait(base, "/health")
        results = _http(base, paths, repeat)
        results[EXPORT_KEY] = _http(base, {"export": [EXPORT]}, 1)["export"]
    finally:
        server.terminate()
        server.wait()
    return results


def _update(scale: float, figures: dict[str, float]) -> Path:
    """Replace these figures in this scale's results, keeping the others (a new scale: none)."""
    path = OUT / f"scale-{scale:g}.json"
    kept = json.loads(path.read_text()) if path.exists() else {"scale": scale, "p50_ms": {}}
    kept["p50_ms"] |= figures
    path.write_text(json.dumps(kept, indent=1))
    return path


def measure(repeat: int) -> Path:
    url = database.resolve_database_url(DatabaseSettings())
    with psycopg.connect(url) as conn:
        scale = _scale(conn)
    results = _served(url, repeat)
    results |= asyncio.run(_analyses(url, repeat))
    OUT.mkdir(exist_ok=True)
    path = OUT / f"scale-{scale:g}.json"
    path.write_text(json.dumps({"scale": scale, "p50_ms": results}, indent=1))
    return path


def report() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted((json.loads(p.read_text()) for p in OUT.glob("scale-*.json")),
                  key=lambda r: r["scale"])  # fmt: skip
    scales = [r["scale"] for r in runs]
    larger = scales[1:]
    print("| request | " + " | ".join(f"scale {s:g}" for s in scales) + " | "
          + " | ".join(f"× at {s:g}" for s in larger) + " |")  # fmt: skip
    print("|---|" + "---:|" * (len(scales) + len(larger)))
    keys = list(runs[0]["p50_ms"])
    for key in keys:
        values = [r["p50_ms"].get(key) for r in runs]
        cells = " | ".join("—" if v is None else f"{v:,.1f}" for v in values)
        ratios = " | ".join("—" if not (v and values[0]) else f"{v / values[0]:.2f}"
                            for v in values[1:])  # fmt: skip
        print(f"| {key} | {cells} | {ratios} |")
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for key in keys:
        values = [r["p50_ms"].get(key) for r in runs]
        local = not key.endswith(" city") and "(city)" not in key
        measured = [(s, v / values[0]) for s, v in zip(scales, values, strict=True) if v]
        axes[0 if local else 1].plot(*zip(*measured, strict=True), marker="o", label=key,
                                     linewidth=1)  # fmt: skip
    for ax, title in zip(axes, ("tiles, pages, search, per district", "city-wide"), strict=True):
        ax.set_title(f"{title}: p50 ÷ p50 at scale {scales[0]:g}")
        ax.set_xlabel("scale (1 = 6,100 estates)")
        ax.set_xscale("log")  # scales 1, 4, 10 and 40 apart alike
        ax.set_xticks(scales, [f"{s:g}" for s in scales])
        ax.axhline(1.2 if ax is axes[0] else 1, color="grey", linestyle=":")
        if ax is axes[1]:
            ax.set_yscale("log")  # linear growth a straight line
            ax.plot(scales, [s / scales[0] for s in scales], color="black", linestyle="--",
                    label="linear")  # fmt: skip
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(ROOT / "bench" / "growth.png", dpi=110)


def remeasure(names: list[str], repeat: int) -> Path:
    """Run these analyses again; their figures in this scale's results are replaced."""
    url = database.resolve_database_url(DatabaseSettings())
    with psycopg.connect(url) as conn:
        scale = _scale(conn)
    return _update(scale, asyncio.run(_analyses(url, repeat, names)))


def interleave(
    urls: list[str], repeat: int, names: list[str] | None = None, groups: str | None = None
) -> None:
    """The HTTP groups, the export and the fast analyses on several samples at once.

    They take turns URL by URL (one app process per sample) and analysis by analysis, every
    scale in turn: a machine that slows for a minute slows every scale alike, so the ratios
    hold where separate runs moved them by a third. The export takes ``EXPORT_TURNS`` turns.
    With ``names``, only those analyses, whatever they take, and no HTTP group; with
    ``groups``, only the HTTP groups whose name starts so ("search"), and nothing else.
    """
    scales = []
    for url in urls:
        with psycopg.connect(url) as conn:
            scales.append(_scale(conn))
    if groups is not None:
        times = _interleaved_http(urls, repeat, groups)
    else:
        times = [{} for _ in urls] if names else _interleaved_http(urls, repeat)
        analysed = asyncio.run(_interleaved_analyses(urls, repeat, names))
        for mine, theirs in zip(times, analysed, strict=True):
            mine |= theirs
    for scale, measured in zip(scales, times, strict=True):
        print(_update(scale, measured))


def _interleaved_http(
    urls: list[str], repeat: int, groups: str | None = None
) -> list[dict[str, float]]:
    """The groups (those starting with ``groups``: no export then), taking turns."""
    paths = [{group: asked for group, asked in _paths(url).items()
              if groups is None or group.startswith(groups)} for url in urls]  # fmt: skip
    servers = [serve_onemap(PORT + i, url, 1, cache=False) for i, url in enumerate(urls)]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{PORT + i}", headers=headers,
                            timeout=600) for i in range(len(urls))]  # fmt: skip
    try:
        for i in range(len(urls)):
            wait(f"http://127.0.0.1:{PORT + i}", "/health")
        times = _turns(clients, paths, repeat)
        if groups is not None:
            return times
        exported = _turns(clients, [{EXPORT_KEY: [EXPORT]} for _ in urls], EXPORT_TURNS)
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.terminate()
            server.wait()
    return [mine | export for mine, export in zip(times, exported, strict=True)]


def _turns(
    clients: list[httpx.Client], paths: list[dict[str, list[str]]], turns: int
) -> list[dict[str, float]]:
    """p50 in ms of each group on each client, the clients taking turns URL by URL."""
    times: list[dict[str, list[float]]] = [{} for _ in clients]
    for turn in range(turns + 1):  # the first turn warms
        for group in paths[0]:
            for i, client in enumerate(clients):
                for url in paths[i][group]:
                    started = time.perf_counter()
                    _fetch(client, url)
                    if turn:
                        times[i].setdefault(group, []).append(time.perf_counter() - started)
    return [{g: statistics.median(t) * 1000 for g, t in mine.items()} for mine in times]


async def _interleaved_analyses(
    urls: list[str], repeat: int, names: list[str] | None = None
) -> list[dict[str, float]]:
    """Each analysis under ``FAST_S`` (or each of ``names``) on every sample, in turns.

    Per district and city-wide.
    """
    areas = {"district": Area(district=DISTRICT), "city": Area()}
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for url in urls]
    out: list[dict[str, float]] = [{} for _ in urls]
    try:
        for analysis in ANALYSES.values():
            params = analysis.parse_params({})
            for label, area in areas.items():
                key = f"{analysis.name} {label}"
                if names is not None and analysis.name not in names and key not in names:
                    continue
                fast = True
                for conn in conns:  # untimed, smallest first: whether to take turns at all
                    started = time.perf_counter()
                    rows_of(await analysis.run(conn, area, params))
                    if time.perf_counter() - started > FAST_S and names is None:
                        fast = False
                        break
                if not fast:
                    continue
                times: list[list[float]] = [[] for _ in urls]
                for _ in range(repeat):
                    for i, conn in enumerate(conns):
                        started = time.perf_counter()
                        rows_of(await analysis.run(conn, area, params))
                        times[i].append(time.perf_counter() - started)
                for i, mine in enumerate(times):
                    out[i][key] = statistics.median(mine) * 1000
                print(key, " / ".join(f"{o[key]:.1f}" for o in out), "ms", flush=True)
    finally:
        for conn in conns:
            await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("measure", "interleave", "report"))
    parser.add_argument("--repeat", type=int, default=3, help="Timed passes over each URL.")
    parser.add_argument("--only", help="measure, interleave: only these analyses "
                        "(comma-separated; interleave also takes 'NAME district' or 'NAME "
                        "city'), updated in each scale's results")  # fmt: skip
    parser.add_argument("--databases", help="interleave: the samples' URLs, comma-separated")
    parser.add_argument("--groups", help="interleave: only the HTTP groups starting so "
                        "('search'), nothing else")  # fmt: skip
    args = parser.parse_args()
    if args.action == "interleave":
        interleave(args.databases.split(","), args.repeat,
                   args.only.split(",") if args.only else None, args.groups)  # fmt: skip
    elif args.action == "measure" and args.only:
        print(remeasure(args.only.split(","), args.repeat))
    elif args.action == "measure":
        print(measure(args.repeat))
    else:
        report()


if __name__ == "__main__":
    main()
