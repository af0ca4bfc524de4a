"""How long each analysis takes on the full sample city: the city, one district, one street.

    .venv/bin/python bench/analyses_timing.py

Runs every analysis with its defaults on the loaded city (``make bench`` loads it), the
median of three runs each, straight on the database (no HTTP, no result cache), and prints a
Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import psycopg

import database
from analyses.model import Area, rows_of
from analyses.registry import ANALYSES
from database.settings import DatabaseSettings

AREAS = {"city": Area(), "district 110105": Area(district="110105"),
         "street 110105001": Area(street="110105001")}  # fmt: skip


async def main() -> None:
    url = database.resolve_database_url(DatabaseSettings())
    print("| analysis | " + " | ".join(AREAS) + " |")
    print("|---|" + "---|" * len(AREAS))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for analysis in ANALYSES.values():
            cells = []
            for area in AREAS.values():
                times, rows = [], 0
                for _ in range(3):
                    started = time.perf_counter()
                    rows = len(rows_of(await analysis.run(conn, area, analysis.parse_params({}))))
                    times.append(time.perf_counter() - started)
                cells.append(f"{statistics.median(times):.2f} s ({rows:,} rows)")
            print(f"| {analysis.name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
