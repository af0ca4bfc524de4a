"""Helpers of the ingest tests."""

from pathlib import Path

import numpy as np
import psycopg
import shapely

from ingest import pipeline
from ingest.mapping import load_mapping
from spatial import gcj02
from spatial.gdal import pyogrio
from tests_support import project

INPUTS = Path(__file__).resolve().parent.parent / "data_samples" / "inputs"


def state(url, layer):
    """What any committed write to ``layer`` changes: its row count and its newest row
    version (an insert or update makes a newer ``xmin``, a delete lowers the count). A tenth
    of the cost of hashing every row, which the mutation tests did 240 times."""
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*), max(xmin::text::bigint) FROM {layer}").fetchone()


def run(url, path, layer, **options):
    if isinstance(options.get("mapping"), Path):
        options["mapping"] = load_mapping(options["mapping"])
    return pipeline.run(url, Path(path), pipeline.Options(layer=layer, **options))


def truth(url, layer, n=8):
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT ST_AsBinary(geom) FROM {layer} ORDER BY id LIMIT {n}")
        return shapely.from_wkb([bytes(r[0]) for r in rows])


def shift(geoms, to):
    def move(c):
        lon, lat = gcj02.wgs84_to_gcj02(c[:, 0], c[:, 1])
        if to == "bd09":
            lon, lat = gcj02.gcj02_to_bd09(lon, lat)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, move)


def max_error_m(url, layer, marker_field, marker, expected):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT ST_AsBinary(geom) FROM {layer} WHERE {marker_field} LIKE %s "
            f"ORDER BY {marker_field}",
            (f"{marker}%",),
        ).fetchall()
    got = shapely.from_wkb([bytes(r[0]) for r in rows])
    assert len(got) == len(expected)
    a, b = project(got, 4548), project(expected, 4548)
    return max(shapely.hausdorff_distance(x, y) for x, y in zip(a, b, strict=True))


def write_vector(frame, path, driver, **kwargs):
    pyogrio.write_dataframe(frame, path, driver=driver, **kwargs)
    return path
