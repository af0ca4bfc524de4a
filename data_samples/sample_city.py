"""What the sample generator knows about one real city, beside its service profile.

The service's own view of a city (CRS zone, seasons, heating, prices) is its profile in
``layers/cities``; this adds what only sample data needs: where the urban fabric is, what names
look like, who inspects and who runs the utilities. The service reads none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from layers.city import CityProfile, load_city

REAL = Path(__file__).parent / "real"

# Chinese names are national: the same pools serve every city.
NAME_SUFFIXES = ("小区", "北里", "南里", "东里", "西里", "中里", "家园", "社区", "宿舍", "新村")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅文斌宇浩然"
FINDINGS = (
    "屋面渗漏", "外墙保温缺失", "给水管道锈蚀", "排水管道堵塞", "燃气管道老化", "供热管网失修",
    "架空线缆凌乱", "缺少无障碍设施", "停车位不足", "消防通道占用", "绿化缺失", "照明不足",
    "缺少养老设施", "电动自行车充电设施不足", "楼道破损", "单元门禁损坏",
)  # fmt: skip
HEATING_FINDING = "供热管网失修"
REQUEST_CATEGORIES = {
    "elevator": 14, "pipes": 16, "heating": 10, "parking": 14, "greening": 6, "safety": 9,
    "noise": 7, "property_service": 12, "ageing": 6, "other": 6,
}  # fmt: skip


@dataclass(frozen=True)
class SampleCity:
    name: str  # the name of its profile in layers/cities
    districts_file: Path  # real district outlines, WGS84 (data_samples/extract_city.py)
    streets_file: Path  # real township-level units: code, name_zh, district_code
    # Where old estates stand: (lon, lat, radius in metres, relative density).
    urban_areas: tuple[tuple[float, float, float, float], ...]
    # Rows per 1.0 of scale, by what they count.
    per_scale: Mapping[str, int]
    name_stems: tuple[str, ...]  # of estates and roads
    inspectors: tuple[str, ...]  # who writes the health checks
    utilities: Mapping[str, str]  # network -> the company that runs it
    request_channels: Mapping[str, float]  # channel code -> share of resident requests
    grid_spacing_m: tuple[float, float] = (190.0, 390.0)  # of the (irregular) road grid
    arterial_every: int = 6  # every n-th grid line is an arterial, every third a secondary
    road_width_m: Mapping[str, float] = field(
        default_factory=lambda: {"arterial": 50.0, "secondary": 30.0, "local": 16.0}
    )

    @property
    def profile(self) -> CityProfile:
        return load_city(self.name)

    @property
    def local_epsg(self) -> int:
        """Metres for the city: its profile's Gauss-Kruger system, so both agree by construction."""
        return self.profile.metric_srid

    @property
    def heating(self) -> bool:
        return self.profile.central_heating

    @property
    def findings(self) -> tuple[str, ...]:
        return FINDINGS if self.heating else tuple(f for f in FINDINGS if f != HEATING_FINDING)

    @property
    def request_categories(self) -> dict[str, int]:
        return {k: v for k, v in REQUEST_CATEGORIES.items() if self.heating or k != "heating"}


def sample_cities() -> dict[str, SampleCity]:
    from data_samples import beijing, chengdu  # the cities import this module

    return {city.name: city for city in (beijing.CITY, chengdu.CITY)}


def sample_city(name: str) -> SampleCity:
    """The sample city of a profile name; ValueError names the cities there are."""
    cities = sample_cities()
    if name not in cities:
        raise ValueError(f"no sample city {name!r}; there are: {', '.join(sorted(cities))}")
    return cities[name]
