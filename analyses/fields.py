"""What the properties of an analysis's rows are called, for the people who read them.

A property that is a field of the analysis's layer (``Analysis.layer``: the features its rows
are about) takes the field's label and vocabulary from the layer registry; the properties
analyses make are named here. Every answer carries the names of its properties
(``Analysis.fields_of``), and the map's popups read "优先级 Priority: 1" and "管线类别
Network: 给水 Water supply", not ``priority: 1`` and ``network: water_supply``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from layers import REGISTRY, get_layer

Codes = tuple[str, str] | dict[str, tuple[str, str]]


class Name(NamedTuple):
    zh: str
    en: str
    # The codes the values are — or, for an object, its keys ("networks": metres by
    # network): a layer's vocabulary (layer, field), or {code: (zh, en)}.
    terms: Codes | None = None
    items: str | None = None  # a list of which layer's features ("parcels"): their names


MADE: dict[str, Name] = {
    "estate_code": Name("小区编码", "Estate code"),
    "estate_id": Name("小区", "Estate"),
    "estate_name": Name("小区名称", "Estate"),
    "estate_ids": Name("小区", "Estates"),
    "estate_codes": Name("小区编码", "Estate codes"),
    "building_id": Name("楼栋", "Building"),
    "project_id": Name("项目", "Project"),
    "project": Name("项目名称", "Project"),
    "opinion_id": Name("意见", "Opinion"),
    "feature_id": Name("要素", "Feature"),
    "district_code": Name("所属区", "District"),
    "street_code": Name("所属街道", "Street"),
    "inside_m": Name("红线内（米）", "Inside the red line (m)"),
    "outside_m": Name("红线外周边（米）", "Around it (m)"),
    "networks": Name("按管线类别", "By network", ("pipelines", "network")),
    "design_life": Name("设计年限（年）", "Design life (years)"),
    "age": Name("已用年限（年）", "Age (years)"),
    "over_by": Name("超出设计年限（年）", "Years past design life"),
    "priority": Name("优先级（1 最先）", "Priority (1 = first)"),
    "gas_cast_iron": Name("灰口铸铁燃气管", "Grey cast-iron gas"),
    "length_m": Name("长度（米）", "Length (m)"),
    "feasible": Name("具备加装条件", "Feasible"),
    "reasons": Name("原因", "Reasons"),
    "recommendation": Name(
        "建议",
        "Recommendation",
        {
            "elevator": ("加装电梯", "Add an elevator"),
            "gather_consent": ("先征得居民同意", "Gather the residents' consent first"),
            "stair_climbing_aid": ("提供爬楼辅助", "A stair-climbing aid"),
        },
    ),
    "consent_ratio": Name("同意比例", "Consent"),
    "boundary_m": Name("距红线（米）", "To the red line (m)"),
    "neighbour_m": Name("距相邻楼（米）", "To the nearest building (m)"),
    "north_neighbour_m": Name("距北侧楼（米）", "To the building north (m)"),
    "sunlight_spacing_m": Name("日照间距要求（米）", "Sunlight spacing needed (m)"),
    "shades_north_neighbour": Name("遮挡北侧楼", "Shades the building north"),
    "pipes_to_move_m": Name("需迁改管线（米）", "Pipes to move (m)", ("pipelines", "network")),
    "relocation_cost_cny": Name("迁改费用（元）", "Relocation cost (CNY)"),
    "kind": Name("缺少的服务设施", "Missing service", ("service_facilities", "kind")),
    "nearest_m": Name("最近距离（米）", "Nearest (m)"),
    "walk_m": Name("步行范围（米）", "Walking distance (m)"),
    "parcels": Name("闲置空间", "Idle parcels", items="idle_parcels"),
    "distance_m": Name("距离（米）", "Distance (m)"),
    "added_floor_area_m2": Name("新增建筑面积（㎡）", "Added floor area (m²)"),
    "added_by_use": Name("按用途", "By use", ("idle_parcels", "proposed_use")),
    "parcels_in_use": Name("已投用", "In use"),
    "parcels_converting": Name("改造中", "Converting"),
    "parcels_available": Name("可利用", "Available"),
    "available_floor_area_m2": Name("可利用面积（㎡）", "Available floor area (m²)"),
    "bundle": Name("片区", "Bundle"),
    "estates": Name("小区数", "Estates"),
    "buildings": Name("楼栋数", "Buildings"),
    "days_ahead": Name("剩余工期（天）", "Days of works ahead"),
    "rainy_season_days": Name("汛期内（天）", "In the rainy season (days)"),
    "winter_days": Name("冬期内（天）", "In winter (days)"),
    "runs_into": Name(
        "遇到",
        "Runs into",
        {
            "rainy_season": ("汛期", "The rainy season"),
            "winter": ("冬期", "Winter"),
            "both": ("汛期和冬期", "Both"),
        },
    ),
    "check": Name("检查项", "Check"),
    "title": Name("问题", "Problem"),
    "layer": Name(
        "图层", "Layer", {la.name: (la.title_zh, la.title_en) for la in REGISTRY.values()}
    ),
    "detail": Name("说明", "Detail"),
    "days_over": Name("超期天数", "Days over"),
    "planner": Name("责任规划师", "Planner"),
    "requested_on": Name("征询日期", "Requested on"),
    "due_on": Name("应出具日期", "Due on"),
    "due_certain": Name("期限确定", "Due date certain"),
    "issued_on": Name("出具日期", "Issued on"),
    "open": Name("尚未完成", "Still open"),
    "working_days_late": Name("超期工作日", "Working days late"),
    "days": Name("天数", "Days"),
    "fund_initial_cny": Name("维修资金初始额（元）", "Fund at first (CNY)"),
    "fund_balance_cny": Name("维修资金余额（元）", "Fund balance (CNY)"),
    "ratio": Name("余额比例", "Balance ÷ initial"),
    "drop": Name("绿地率下降", "Green ratio drop"),
}


def terms_of(layer: str, field: str) -> dict[str, list[str]]:
    """A layer field's vocabulary as the page reads it: {code: [colour, zh, en]}."""
    vocabulary = get_layer(layer).fields_by_name[field].vocabulary
    if vocabulary is None:
        raise ValueError(f"{layer}.{field} has no vocabulary")
    return vocabulary.for_pages()


def _codes(terms: Codes) -> dict[str, list[str | None]]:
    if isinstance(terms, tuple):
        return {code: list(term) for code, term in terms_of(*terms).items()}
    return {code: [None, zh, en] for code, (zh, en) in terms.items()}


def field_names(layer: str | None, keys: set[str]) -> dict[str, list[Any]]:
    """What ``keys``, properties of rows about ``layer``'s features, are called.

    {property: [zh, en, codes or None]}; a property named nowhere is left out.
    """
    fields = get_layer(layer).fields_by_name if layer is not None and layer in REGISTRY else {}
    names: dict[str, list[Any]] = {}
    for key in sorted(keys):
        if (f := fields.get(key)) is not None:
            terms = terms_of(layer, key) if f.vocabulary is not None and layer else None
            names[key] = [f.label_zh, f.label_en, terms]
        elif (made := MADE.get(key)) is not None:
            names[key] = [made.zh, made.en, _codes(made.terms) if made.terms else None]
    return names


def row_names(layer: str | None, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """What the properties of ``rows`` are called.

    As ``field_names``; a list of features (``Name.items``) has its items' names fourth.
    """
    names = field_names(layer, set().union(*rows))
    for key, name in names.items():
        if (items := MADE[key].items if key in MADE else None) is not None:
            lists = [r[key] for r in rows if isinstance(r.get(key), list)]  # or a count
            inner = [item for items in lists for item in items if isinstance(item, dict)]
            name.append(field_names(items, set().union(*inner)))
    return names
