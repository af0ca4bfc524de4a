"""Property: whatever a valid file is mutated into, ingest ends cleanly or refuses by name.

Hypothesis mutates a valid GeoJSON, a valid CSV and each part of a zipped Shapefile (bytes
cut, flipped, inserted; values swapped for hostile ones). Each run must end in a report
(valid, or with its problems) or an ``InvalidInput`` naming what is wrong — never another
exception — and a dry run stores nothing.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_support import INPUTS, run, state
from layers.errors import OneMapError

GEOJSON = (INPUTS / "service_facilities.geojson").read_bytes()[:2_000].rsplit(b"}, {", 1)[
    0
] + b"}]}"
CSV = "kind,name_zh,lon,lat\nclinic,诊所,116.40,39.91\nchildcare,托育,116.41,39.92\n".encode()
SHAPEFILE = INPUTS / "pipelines_4548_gbk.zip"
SHAPEFILE_PARTS = {
    n: zipfile.ZipFile(SHAPEFILE).read(n) for n in zipfile.ZipFile(SHAPEFILE).namelist()
}
HOSTILE = [b"NaN", b"Infinity", b"-1e999", b"null", b'""', b"[]", b"{}", b"\x00", b"\xff\xfe",
           b'"\\ud800"', b"9" * 400, b"[[[[[[[[[[", b",,,,", b"\n", b'"', b"1e-400"]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["cut", "flip", "insert", "delete", "hostile"]))
        if kind == "cut":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        else:
            data[at:at] = draw(st.sampled_from(HOSTILE))
    return bytes(data)


@st.composite
def mutated_shapefile(draw: st.DrawFn) -> bytes:
    """The zipped Shapefile with one of its parts (.shp, .shx, .dbf, .prj, .cpg) mutated."""
    part = draw(st.sampled_from(sorted(SHAPEFILE_PARTS)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in SHAPEFILE_PARTS.items():
            z.writestr(name, draw(mutated(data)) if name == part else data)
    return buffer.getvalue()


def _ingest(url: str, tmp: Path, name: str, content: bytes, layer: str, **options) -> None:
    path = tmp / name
    path.write_bytes(content)
    before = state(url, layer)
    try:
        run(url, path, layer, dry_run=True, **options)
    except OneMapError as exc:  # a refusal: it must say something a person can act on
        assert str(exc).strip() and "Traceback" not in str(exc)
    assert state(url, layer) == before


SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@SETTINGS
@given(content=mutated(GEOJSON))
def test_a_mutated_geojson_is_imported_or_refused_by_name(ingest_url, tmp_path, content):
    _ingest(ingest_url, tmp_path, "mutated.geojson", content, "service_facilities")


@SETTINGS
@given(content=mutated(CSV))
def test_a_mutated_csv_is_imported_or_refused_by_name(ingest_url, tmp_path, content):
    _ingest(ingest_url, tmp_path, "mutated.csv", content, "service_facilities")


@SETTINGS
@given(content=mutated_shapefile())
def test_a_mutated_shapefile_is_imported_or_refused_by_name(ingest_url, tmp_path, content):
    _ingest(ingest_url, tmp_path, "mutated.zip", content, "pipelines",
            mapping=INPUTS / "pipelines_mapping.yaml")  # fmt: skip


def test_the_originals_are_valid(ingest_url, tmp_path):
    mapping = INPUTS / "pipelines_mapping.yaml"
    assert run(ingest_url, SHAPEFILE, "pipelines", dry_run=True, mapping=mapping).ok
    for name, content in (("ok.geojson", GEOJSON), ("ok.csv", CSV)):
        path = tmp_path / name
        path.write_bytes(content)
        assert run(ingest_url, path, "service_facilities", dry_run=True).ok
