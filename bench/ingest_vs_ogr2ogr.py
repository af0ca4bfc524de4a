"""Ingest of 100,000 pipe segments from a GeoPackage, beside ogr2ogr on the same file.

``onemap ingest`` and ``ogr2ogr -f PostgreSQL`` (the anchor) load into the same server.

    .venv/bin/python bench/ingest_vs_ogr2ogr.py [--rows 100000] [--runs 3]

Uses the embedded cluster (or ONEMAP_DATABASE_URL's server) and a scratch database it drops.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
import shapely

import database
from data_samples.generator import generate_city
from data_samples.loader import load_city
from database.settings import DatabaseSettings
from ingest import pipeline

SCRATCH = "onemap_bench_ingest"


def make_file(path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    start = np.column_stack([rng.uniform(116.2, 116.6, rows), rng.uniform(39.8, 40.0, rows)])
    end = start + rng.normal(0, 0.0005, (rows, 2))
    frame = gpd.GeoDataFrame(
        {
            "network": rng.choice(["water_supply", "gas", "heating", "power"], rows),
            "material": rng.choice(["steel", "pe", "ductile_iron"], rows),
            "diameter_mm": rng.integers(50, 800, rows),
            "install_year": rng.integers(1960, 2025, rows),
            "condition": rng.choice(["good", "fair", "poor"], rows),
            "owner": "utility",
            "operator": "北京市自来水集团",
            "depth_m": np.round(rng.uniform(0.8, 3, rows), 2),
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs=4326,
    )
    pyogrio.write_dataframe(frame, path, layer="pipelines", driver="GPKG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = DatabaseSettings()
    base = database.resolve_database_url(settings)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH}"')
    url = base.rsplit("/", 1)[0] + f"/{SCRATCH}"
    database.migrate(url)
    load_city(url, {k: v for k, v in generate_city(0.01, 1).items() if k == "districts"})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pipelines.gpkg"
        make_file(path, args.rows)
        onemap, ogr = [], []
        for _ in range(args.runs):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE pipelines")
                conn.execute("DROP TABLE IF EXISTS ogr_pipelines")
            started = time.perf_counter()
            report = pipeline.run(url, path, pipeline.Options(layer="pipelines"))
            onemap.append(time.perf_counter() - started)
            assert report.committed and report.inserted == args.rows, report.to_text()
            started = time.perf_counter()
            subprocess.run(["ogr2ogr", "-f", "PostgreSQL", f"PG:{url}", str(path), "-nln",
                            "ogr_pipelines", "-lco", "GEOMETRY_NAME=geom"], check=True)  # fmt: skip
            ogr.append(time.perf_counter() - started)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
    a, b = statistics.median(onemap), statistics.median(ogr)
    print("| rows | onemap ingest (s) | ogr2ogr -f PostgreSQL (s) | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.rows:,} | {a:.2f} | {b:.2f} | {a / b:.2f}× |")


if __name__ == "__main__":
    main()
