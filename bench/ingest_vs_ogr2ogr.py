"""Ingest of 100,000 pipe segments from a GeoPackage, beside ogr2ogr on the same file.

``onemap ingest`` and ``ogr2ogr -f PostgreSQL`` (the anchor) load into the same server, twice:
a file already in OneMap's words, and one in a department's (Chinese columns, its own values),
which OneMap loads with a three-section mapping and ogr2ogr with the same crosswalk as SQL.

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
import shapely

import database
from data_samples.generator import generate_city
from data_samples.loader import load_city
from database.settings import DatabaseSettings
from ingest import pipeline
from ingest.mapping import parse_mapping
from spatial.gdal import pyogrio

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


DEPARTMENT_NETWORK = {"给水": "water_supply", "燃气": "gas", "热力": "heating",
                      "排水": "drainage_combined"}  # fmt: skip
DEPARTMENT_MATERIAL = {"钢管": "steel", "PE": "pe", "铸铁": "grey_cast_iron", "砼": "concrete"}
MAPPING = """
columns: {管线类型: network, 材质: material, 管径: diameter_mm, 建设年代: install_year,
          权属单位: operator}
values:
  network: {排水: drainage_combined}
  material: {钢管: steel, 铸铁: grey_cast_iron, 砼: concrete}
set: {owner: utility}
"""


def make_department_file(path: Path, rows: int) -> None:
    """The same kind of file in a department's words."""
    rng = np.random.default_rng(2)
    start = np.column_stack([rng.uniform(116.2, 116.6, rows), rng.uniform(39.8, 40.0, rows)])
    end = start + rng.normal(0, 0.0005, (rows, 2))
    frame = gpd.GeoDataFrame(
        {
            "管线类型": rng.choice(list(DEPARTMENT_NETWORK), rows),
            "材质": rng.choice(list(DEPARTMENT_MATERIAL), rows),
            "管径": rng.integers(50, 800, rows),
            "建设年代": rng.integers(1960, 2025, rows),
            "权属单位": "北京市自来水集团",
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs=4326,
    )
    pyogrio.write_dataframe(frame, path, layer="pipelines", driver="GPKG")


def _case(column: str, crosswalk: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in crosswalk.items())
    return f'CASE "{column}" {whens} END'


# ogr2ogr with the same crosswalk, in GDAL's SQLite dialect.
OGR_CROSSWALK_SQL = (
    f"SELECT {_case('管线类型', DEPARTMENT_NETWORK)} AS network, "
    f'{_case("材质", DEPARTMENT_MATERIAL)} AS material, "管径" AS diameter_mm, '
    '"建设年代" AS install_year, \'utility\' AS owner, "权属单位" AS operator, geom '
    "FROM pipelines"
)


def _timed(url: str, path: Path, rows: int, runs: int, options: pipeline.Options,
           ogr_extra: list[str]) -> tuple[float, float]:  # fmt: skip
    """(median seconds of OneMap's ingest, of ogr2ogr's) over ``runs`` alternating runs."""
    onemap, ogr = [], []
    for _ in range(runs):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE pipelines")
            conn.execute("DROP TABLE IF EXISTS ogr_pipelines")
        started = time.perf_counter()
        report = pipeline.run(url, path, options)
        onemap.append(time.perf_counter() - started)
        assert report.committed and report.inserted == rows, report.to_text()
        started = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "PostgreSQL", f"PG:{url}", str(path), "-nln",
                        "ogr_pipelines", "-lco", "GEOMETRY_NAME=geom", *ogr_extra],
                       check=True)  # fmt: skip
        ogr.append(time.perf_counter() - started)
    return statistics.median(onemap), statistics.median(ogr)


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
        plain, department = Path(folder) / "pipelines.gpkg", Path(folder) / "department.gpkg"
        make_file(plain, args.rows)
        make_department_file(department, args.rows)
        results = {
            "in OneMap's words": _timed(url, plain, args.rows, args.runs,
                                        pipeline.Options(layer="pipelines"), []),
            "with a crosswalk": _timed(
                url, department, args.rows, args.runs,
                pipeline.Options(layer="pipelines", mapping=parse_mapping(MAPPING)),
                ["-dialect", "SQLite", "-sql", OGR_CROSSWALK_SQL],
            ),
        }  # fmt: skip
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
    print("| file | rows | onemap ingest (s) | ogr2ogr -f PostgreSQL (s) | ratio |")
    print("|---|---|---|---|---|")
    for name, (a, b) in results.items():
        print(f"| {name} | {args.rows:,} | {a:.2f} | {b:.2f} | {a / b:.2f}× |")


if __name__ == "__main__":
    main()
