"""Realistic input files for the ingest tests, written from the sample city (deterministic).

    python -m data_samples.make_inputs   # rewrites data_samples/inputs/

Good files, as other departments send them, and broken variants of them. The real GCJ-02
district outlines are in data_samples/real/.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_samples.generator import generate_city
from layers.vocabulary import ELEVATOR_STAGE
from spatial import gcj02
from spatial.gdal import pyogrio

OUT = Path(__file__).parent / "inputs"
SCALE, SEED = 0.01, 11


def _shapefile_zip(
    frame: gpd.GeoDataFrame, name: str, *, encoding: str, cpg: bool, prj: bool
) -> None:
    folder = OUT / f"_{name}"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, folder / f"{name}.shp", encoding=encoding)
    with zipfile.ZipFile(OUT / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for part in sorted(folder.iterdir()):
            if (part.suffix == ".cpg" and not cpg) or (part.suffix == ".prj" and not prj):
                continue
            z.write(part, part.name)
    shutil.rmtree(folder)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    city = generate_city(SCALE, SEED)

    # Pipelines from the drainage company: EPSG:4548 metres, Chinese column names, GBK text.
    pipes = city["pipelines"].iloc[:300]
    gk = gpd.GeoDataFrame(
        {
            "类别": pipes.network.map({"water_supply": "给水", "gas": "燃气", "heating": "热力",
                                       "power": "电力", "telecom": "通信", "drainage_sewer": "污水",
                                       "drainage_storm": "雨水", "drainage_combined": "合流"}),
            "材质": pipes.material.map(lambda m: {"steel": "钢", "pe": "聚乙烯"}.get(m, m)),
            "管径": pipes.diameter_mm,
            "年份": pipes.install_year,
            "权属": "专业公司",
            "单位": pipes.operator.fillna("北京市自来水集团"),
        },
        geometry=list(pipes.geometry), crs=4326,
    ).to_crs(4548)  # fmt: skip
    # DBF names are at most 10 bytes, so departments abbreviate: a mapping file says what is what.
    mapping = (
        "# 管线普查 shapefile columns -> OneMap pipelines fields\n"
        "类别: network\n年份: install_year\n单位: operator\n管径: diameter_mm\n"
    )
    (OUT / "pipelines_mapping.yaml").write_text(mapping, encoding="utf-8")
    _shapefile_zip(gk, "pipelines_4548_gbk", encoding="GBK", cpg=True, prj=True)
    _shapefile_zip(gk, "pipelines_4548_gbk_no_cpg", encoding="GBK", cpg=False, prj=True)
    _shapefile_zip(gk, "broken_pipelines_no_prj", encoding="UTF-8", cpg=True, prj=False)

    # Elevator requests from the street office: XLSX, Chinese columns, Amap (GCJ-02) points.
    retrofits = city["elevator_retrofits"].iloc[:60]
    lon, lat = gcj02.wgs84_to_gcj02(shapely.get_x(retrofits.geometry.to_numpy()),
                                    shapely.get_y(retrofits.geometry.to_numpy()))  # fmt: skip
    stage_zh = {t.code: t.zh for t in ELEVATOR_STAGE.terms}
    sheet = pd.DataFrame(
        {
            "楼栋": retrofits.building_id,
            "小区": retrofits.estate_id,
            "所属区": retrofits.district_code,
            "进展阶段": retrofits.stage.map(stage_zh),
            "申请日期": retrofits.requested_on,
            "地址": retrofits.address,
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
        }
    )
    sheet.to_excel(OUT / "elevator_requests_gcj02.xlsx", index=False)
    broken = sheet.copy()
    broken.loc[3, "进展阶段"] = "飞天"  # a stage nobody knows
    broken.to_excel(OUT / "broken_elevator_requests_wrong_enum.xlsx", index=False)

    # Idle parcels from the housing bureau: GeoPackage in CGCS2000 (EPSG:4490), two layers.
    idle = city["idle_parcels"]
    parcels = gpd.GeoDataFrame(
        {"kind": idle.kind, "owner_type": idle.owner_type, "floor_area_m2": idle.floor_area_m2,
         "proposed_use": idle.proposed_use, "status": idle.status},
        geometry=list(idle.geometry), crs=4326,
    ).to_crs(4490)  # fmt: skip
    pyogrio.write_dataframe(parcels, OUT / "idle_parcels_4490.gpkg", layer="idle_parcels")
    notes = gpd.GeoDataFrame({"note": ["survey 2025"]}, geometry=[shapely.Point(116.4, 39.9)],
                             crs=4490)  # fmt: skip
    pyogrio.write_dataframe(notes, OUT / "idle_parcels_4490.gpkg", layer="survey_notes")

    # Service facilities as GeoJSON, and the broken variants of a GeoJSON file.
    services = city["service_facilities"].iloc[:40]
    features = [
        {"type": "Feature", "properties": {"类型": k, "名称": n},
         "geometry": json.loads(shapely.to_geojson(g))}
        for k, n, g in zip(services.kind, services.name_zh, services.geometry, strict=True)
    ]  # fmt: skip
    good = {"type": "FeatureCollection", "features": features}
    (OUT / "service_facilities.geojson").write_text(json.dumps(good, ensure_ascii=False), "utf-8")
    text = json.dumps(good, ensure_ascii=False)
    (OUT / "broken_truncated.geojson").write_text(text[: len(text) // 2], "utf-8")
    (OUT / "broken_empty.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (OUT / "broken_zero_bytes.geojson").write_bytes(b"")
    bowtie = json.loads(text)
    bowtie["features"] = [{"type": "Feature", "properties": {"kind": "bike_shed"}, "geometry": {
        "type": "Polygon", "coordinates": [[[116.40, 39.90], [116.401, 39.901], [116.401, 39.90],
                                            [116.40, 39.901], [116.40, 39.90]]]}}]  # fmt: skip
    (OUT / "broken_bad_geometry.geojson").write_text(json.dumps(bowtie))
    huge = json.loads(text)
    huge["features"][5]["geometry"]["coordinates"] = [1e20, 1e20]
    (OUT / "broken_huge_coordinates.geojson").write_text(json.dumps(huge, ensure_ascii=False))
    # A CSV written in GBK whose bytes are then declared as UTF-8 by the sender.
    pd.DataFrame({"类型": services.kind[:5], "名称": services.name_zh[:5],
                  "经度": shapely.get_x(services.geometry[:5]),
                  "纬度": shapely.get_y(services.geometry[:5])}).to_csv(
        OUT / "broken_wrong_encoding.csv", index=False, encoding="gbk")  # fmt: skip
    department_files(city)
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


# How a drainage company and a street office word things, against OneMap's vocabularies.
DEPARTMENT_NETWORK = {"water_supply": "给水", "gas": "燃气", "heating": "热力", "power": "电力",
                      "telecom": "通信", "drainage_sewer": "排水", "drainage_storm": "排水",
                      "drainage_combined": "排水"}  # fmt: skip
DEPARTMENT_MATERIAL = {"grey_cast_iron": "铸铁", "ductile_iron": "铸铁", "pvc_u": "PVC",
                       "pe": "PE", "steel": "钢管", "concrete": "砼",
                       "galvanized_steel": "镀锌管", "asbestos_cement": "石棉水泥"}  # fmt: skip


def department_files(city: dict[str, pd.DataFrame]) -> None:
    """Files in the senders' own words: values outside the vocabularies, fields missing."""
    pipes = city["pipelines"]
    pipes = pipes[pipes.material.isin(list(DEPARTMENT_MATERIAL))]
    pipes = pipes.groupby(["network", "material"]).head(25).sort_values("id")
    shp = gpd.GeoDataFrame(
        {
            "管线类型": pipes.network.map(DEPARTMENT_NETWORK),
            "材质": pipes.material.map(DEPARTMENT_MATERIAL),
            "管径": pipes.diameter_mm,
            "建设年代": pipes.install_year,
            "权属单位": pipes.operator.fillna("北京城市排水集团有限责任公司"),
        },
        geometry=list(pipes.geometry), crs=4326,
    ).to_crs(4548)  # fmt: skip
    _shapefile_zip(shp, "pipelines_department_gbk", encoding="GBK", cpg=True, prj=True)
    # A street office's list of elevator requests: every row is one, just received.
    retrofits = city["elevator_retrofits"].iloc[:30]
    pd.DataFrame(
        {
            "来源渠道": "12345热线",
            "受理日期": retrofits.requested_on,
            "小区": retrofits.estate_id,
            "经度": np.round(shapely.get_x(retrofits.geometry.to_numpy()), 7),
            "纬度": np.round(shapely.get_y(retrofits.geometry.to_numpy()), 7),
        }
    ).to_excel(OUT / "elevator_requests_no_category.xlsx", index=False)


if __name__ == "__main__":
    main()
