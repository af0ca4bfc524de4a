"""Pre-seeding a public page's tiles: each tile of the city at some zooms, asked once.

A page's tile URLs carry its layers' versions (``?v=``), so after a change the first visitors
would wait for the expensive city-view tiles. Seeding asks them through the front door at the
very URLs the page uses: a CDN or caching proxy in front keeps them; without one, the app's
response cache does (each worker keeps its own, so a worker the seed did not reach computes
its first copy itself).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from layers.errors import OneMapError
from spatial.tiles import MAX_ZOOM, lonlat_to_tile

# Past this many requests a seed is more likely a typo in the zooms than a plan.
MAX_REQUESTS = 200_000
SEEDED = (200, 204, 304)


@dataclass
class SeedReport:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    bytes: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        statuses = ", ".join(f"{code} × {n:,}" for code, n in sorted(self.statuses.items()))
        text = (
            f"{self.requests:,} tile requests in {self.seconds:.1f} s "
            f"({statuses or 'none answered'}; {self.bytes / 1e6:.1f} MB on the wire)"
        )
        if self.failures:
            text += f"\n{len(self.failures)} failed, e.g.:\n" + "\n".join(self.failures[:5])
        return text


def parse_zooms(text: str) -> range:
    """``"8-12"`` or ``"10"`` as a range of zoom levels."""
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"zooms: {text!r} is not a zoom or a range like 8-12") from None
    if not 0 <= first <= last <= MAX_ZOOM:
        raise ValueError(f"zooms: need 0 ≤ first ≤ last ≤ {MAX_ZOOM}, got {text!r}")
    return range(first, last + 1)


def _tile_span(bbox: tuple[float, float, float, float], z: int) -> tuple[range, range]:
    west, south, east, north = bbox
    x0, y0 = lonlat_to_tile(west, north, z)
    x1, y1 = lonlat_to_tile(east, south, z)
    return range(x0, x1 + 1), range(y0, y1 + 1)


def tiles_over(bbox: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int, int]]:
    """(z, x, y) of every tile at ``z`` that the lon/lat box touches."""
    columns, rows = _tile_span(bbox, z)
    for x in columns:
        for y in rows:
            yield z, x, y


def seed_paths(
    templates: dict[str, str], bbox: tuple[float, float, float, float], zooms: range
) -> list[str]:
    """Each template filled with each tile over ``bbox`` at each zoom, lowest zoom first."""
    spans = [_tile_span(bbox, z) for z in zooms]
    count = len(templates) * sum(len(columns) * len(rows) for columns, rows in spans)
    if count > MAX_REQUESTS:  # counted first: z20 over a city is billions of paths
        raise ValueError(
            f"zooms {zooms.start}-{zooms.stop - 1} over the city make {count:,} tile "
            f"requests (at most {MAX_REQUESTS:,}): seed the deep zooms per district instead"
        )
    return [
        template.format(z=z, x=x, y=y)
        for z in zooms
        for _, x, y in tiles_over(bbox, z)
        for template in templates.values()
    ]


async def seed(base_url: str, paths: list[str], concurrency: int) -> SeedReport:
    """GET every path from ``base_url``, ``concurrency`` at a time, as a browser would."""
    report = SeedReport()
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Accept-Encoding": "gzip"}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=limits, headers=headers
    ) as client:
        try:
            await client.get("/health")
        except httpx.HTTPError as exc:
            raise OneMapError(f"cannot reach {base_url}: {exc}") from None
        queue = iter(paths)

        async def worker() -> None:
            for path in queue:  # shared: each path is taken by one worker
                try:
                    response = await client.get(path)
                except httpx.HTTPError as exc:
                    report.failures.append(f"{path}: {exc!r}")
                    continue
                report.statuses[response.status_code] += 1
                report.bytes += response.num_bytes_downloaded
                if response.status_code not in SEEDED:
                    report.failures.append(f"{path}: HTTP {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.requests = len(paths)
    report.seconds = time.perf_counter() - started
    return report
