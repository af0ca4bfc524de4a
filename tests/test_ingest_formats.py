"""Ingest: every format and CRS lands within a metre of the truth."""

import zipfile

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely

from ingest_support import INPUTS, max_error_m, run, shift, state, truth, write_vector
from layers.errors import InvalidInput
from tests_support import project

CASES = [  # (layer, marker field, file kind, source CRS, --crs given)
    ("service_facilities", "name_zh", "geojson", 4326, None),
    ("pipelines", "operator", "geojsonseq", 4326, None),
    ("idle_parcels", "owner_name", "shp-zip", 4548, None),
    ("idle_parcels", "owner_name", "shp-folder-no-prj", 4527, "EPSG:4527"),
    ("service_facilities", "name_zh", "gpkg", 4490, None),
    ("pipelines", "operator", "fgb", 3857, None),
    ("service_facilities", "name_zh", "kml", 4326, None),
    ("service_facilities", "name_zh", "csv-lonlat", "gcj02", "GCJ-02"),
    ("pipelines", "operator", "csv-wkt", "bd09", "BD-09"),
    ("service_facilities", "name_zh", "xlsx-xy", 4548, "EPSG:4548"),
]
SOURCE = {
    "service_facilities": "service_facilities",
    "pipelines": "pipelines",
    "idle_parcels": "buildings",
}
ATTRIBUTES = {
    "service_facilities": {"kind": "clinic"},
    "pipelines": {"network": "gas"},
    "idle_parcels": {"kind": "bike_shed"},
}


@pytest.mark.parametrize(
    ("layer", "marker_field", "kind", "source_crs", "given"), CASES, ids=[c[2] for c in CASES]
)
def test_every_format_and_crs_lands_within_a_metre(
    ingest_url, tmp_path, layer, marker_field, kind, source_crs, given
):
    expected = truth(ingest_url, SOURCE[layer])
    if source_crs in ("gcj02", "bd09"):
        geoms, crs = shift(expected, source_crs), None
    else:
        geoms, crs = (
            (expected, 4326) if source_crs == 4326 else (project(expected, source_crs), source_crs)
        )
    if layer == "idle_parcels":
        geoms = geoms  # building footprints stand in for parcels
    marker = f"case-{kind}"
    names = [f"{marker}-{i}" for i in range(len(expected))]
    frame = gpd.GeoDataFrame(
        {marker_field: names, **{k: [v] * len(names) for k, v in ATTRIBUTES[layer].items()}},
        geometry=list(geoms),
        crs=crs,
    )
    if kind == "geojson":
        path = write_vector(frame, tmp_path / "f.geojson", "GeoJSON")
    elif kind == "geojsonseq":
        path = write_vector(frame, tmp_path / "f.geojsonl", "GeoJSONSeq")
    elif kind == "shp-zip":
        write_vector(frame, tmp_path / "f.shp", "ESRI Shapefile")
        path = tmp_path / "f.zip"
        with zipfile.ZipFile(path, "w") as z:
            for part in tmp_path.glob("f.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
    elif kind == "shp-folder-no-prj":
        folder = tmp_path / "shapefile"
        folder.mkdir()
        write_vector(frame, folder / "f.shp", "ESRI Shapefile")
        (folder / "f.prj").unlink()
        path = folder
    elif kind == "gpkg":
        path = write_vector(frame, tmp_path / "f.gpkg", "GPKG")
    elif kind == "fgb":
        path = write_vector(frame, tmp_path / "f.fgb", "FlatGeobuf")
    elif kind == "kml":
        path = write_vector(frame.rename(columns={marker_field: "Name"}), tmp_path / "f.kml", "KML")
    elif kind == "csv-lonlat":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["经度"], table["纬度"] = shapely.get_x(geoms), shapely.get_y(geoms)
        path = tmp_path / "f.csv"
        table.to_csv(path, index=False)
    elif kind == "csv-wkt":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["WKT"] = shapely.to_wkt(geoms, rounding_precision=-1)
        path = tmp_path / "f.csv"
        table.to_csv(path, index=False)
    else:  # xlsx with x/y metres
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["x"], table["y"] = shapely.get_x(geoms), shapely.get_y(geoms)
        path = tmp_path / "f.xlsx"
        table.to_excel(path, index=False)
    report = run(ingest_url, path, layer, crs=given)
    assert report.committed, report.to_text()
    assert report.inserted == len(expected)
    assert max_error_m(ingest_url, layer, marker_field, marker, expected) < 1.0


def test_the_department_shapefile_with_a_mapping_file(ingest_url):
    before = state(ingest_url, "pipelines")[0]
    report = run(
        ingest_url,
        INPUTS / "pipelines_4548_gbk.zip",
        "pipelines",
        mapping=INPUTS / "pipelines_mapping.yaml",
    )
    assert report.committed and report.inserted == 300
    assert report.columns["类别"] == "network" and report.columns["材质"] == "material"
    assert state(ingest_url, "pipelines")[0] == before + 300
    with psycopg.connect(ingest_url) as conn:
        networks = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT network FROM pipelines "
                "WHERE id > (SELECT max(id) - 300 FROM pipelines)"
            )
        }
        assert networks <= {
            "water_supply",
            "gas",
            "heating",
            "power",
            "telecom",
            "drainage_sewer",
            "drainage_storm",
            "drainage_combined",
        }
        history = conn.execute(
            "SELECT action, after->>'inserted' FROM change_history "
            "WHERE layer = 'pipelines' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert history == ("ingest", "300")


def test_gbk_is_detected_without_a_cpg(ingest_url):
    report = run(
        ingest_url,
        INPUTS / "pipelines_4548_gbk_no_cpg.zip",
        "pipelines",
        mapping=INPUTS / "pipelines_mapping.yaml",
        dry_run=True,
    )
    assert report.ok and report.encoding == "gb18030"
    assert any("GB18030" in note for note in report.notes)


def test_xlsx_of_elevator_requests_in_gcj02_upserts_by_building(ingest_url):
    report = run(
        ingest_url,
        INPUTS / "elevator_requests_gcj02.xlsx",
        "elevator_retrofits",
        crs="GCJ-02",
        mode="upsert",
        key="building_id",
    )
    assert report.committed, report.to_text()
    assert report.columns["进展阶段"] == "stage"
    assert report.inserted + report.updated == report.rows_read
    with psycopg.connect(ingest_url) as conn:
        stage = conn.execute(
            "SELECT b.elevator_stage = r.stage FROM elevator_retrofits r "
            "JOIN buildings b ON b.id = r.building_id LIMIT 1"
        ).fetchone()[0]
    assert stage  # the trigger mirrored the stage onto the building


def test_a_geopackage_with_several_layers_needs_a_choice(ingest_url):
    with pytest.raises(InvalidInput, match="idle_parcels, survey_notes"):
        run(ingest_url, INPUTS / "idle_parcels_4490.gpkg", "idle_parcels")
    report = run(
        ingest_url,
        INPUTS / "idle_parcels_4490.gpkg",
        "idle_parcels",
        source_layer="idle_parcels",
        dry_run=True,
    )
    assert report.ok and report.crs == "EPSG:4490"
