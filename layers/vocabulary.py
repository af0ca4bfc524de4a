"""Controlled vocabularies: the codes stored in the database, with Chinese and English labels.

Each term carries the colour used for it in thematic maps and legends, so that a new term
appears everywhere (API enums, validation, legends, ingest label matching) from one edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Term:
    code: str
    zh: str
    en: str
    color: str = "#8c8c8c"
    # Other words departments use for it, some shared by several terms (排水 is storm, sewer
    # or combined drainage): offered when a mapping is suggested, never matched on their own.
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    name: str
    terms: tuple[Term, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    def term(self, code: str) -> Term:
        for t in self.terms:
            if t.code == code:
                return t
        raise KeyError(f"{code!r} is not a term of {self.name}")

    def for_pages(self) -> dict[str, list[str]]:
        """Its terms as the pages read them: {code: [colour, zh, en]}."""
        return {t.code: [t.color, t.zh, t.en] for t in self.terms}

    def match(self, value: str) -> str | None:
        """Return the code whose code, Chinese or English label equals ``value`` (any case)."""
        needle = value.strip().casefold()
        for t in self.terms:
            if needle in (t.code.casefold(), t.zh.casefold(), t.en.casefold()):
                return t.code
        return None


def _vocab(name: str, *terms: tuple[Any, ...]) -> Vocabulary:
    """A vocabulary from (code, zh, en[, colour[, other words]]) rows."""
    return Vocabulary(name, tuple(Term(*t) for t in terms))


PROPERTY_NATURE = _vocab(
    "property_nature",
    ("commodity", "商品房", "Commodity housing", "#4e79a7"),
    ("reform_sold", "房改房", "Reform housing sold to tenants", "#f28e2b"),
    ("unit_self_managed", "单位自管房", "Work-unit self-managed", "#e15759"),
    ("directly_managed_public", "直管公房", "Directly managed public housing", "#76b7b2"),
    ("resettlement", "回迁安置房", "Resettlement housing", "#59a14f"),
    ("affordable", "保障性住房", "Affordable housing", "#edc948"),
    ("mixed", "混合产权", "Mixed ownership", "#b07aa1"),
)

OWNER_LEVEL = _vocab(
    "owner_level",
    ("central", "央产", "Central government / SOE", "#e15759"),
    ("municipal", "市属", "Municipal", "#4e79a7"),
    ("district", "区属", "District", "#59a14f"),
    ("military", "军产", "Military", "#9c755f"),
    ("none", "无产权单位", "No owning unit", "#bab0ac"),
)

ESTATE_STATUS = _vocab(
    "estate_status",
    ("candidate", "待入库", "Candidate", "#bab0ac"),
    ("reserve", "储备库", "Reserve pool", "#9ecae9"),
    ("planned", "计划", "Planned", "#4e79a7"),
    ("in_progress", "在施", "In progress", "#f28e2b"),
    ("completed", "完工", "Completed", "#59a14f"),
    ("accepted", "竣工验收", "Accepted", "#2f6b2a"),
)

RENOVATION_CATEGORY = _vocab(
    "renovation_category",
    ("basic", "基础类", "Basic", "#4e79a7"),
    ("improvement", "完善类", "Improvement", "#f28e2b"),
    ("upgrade", "提升类", "Upgrade", "#b07aa1"),
)

RENOVATION_ITEM = _vocab(
    "renovation_item",
    ("energy_retrofit", "节能改造", "Building energy retrofit"),
    ("roof_waterproofing", "屋面防水", "Roof waterproofing"),
    ("seismic", "抗震加固", "Seismic strengthening"),
    ("water_supply", "供水管线", "Water supply pipes"),
    ("drainage", "排水管线", "Drainage pipes"),
    ("gas", "燃气管线", "Gas pipes"),
    ("heating", "供热管线", "Heating pipes"),
    ("power", "电力", "Power"),
    ("telecom", "通信", "Telecom"),
    ("overhead_lines_burial", "架空线入地", "Burying overhead lines"),
    ("road", "道路", "Roads"),
    ("fire", "消防", "Fire safety"),
    ("security", "安防", "Security"),
    ("waste_sorting", "垃圾分类", "Waste sorting"),
    ("in_building_pipes", "楼内上下水", "In-building water and drains"),
    ("elevator", "加装电梯", "Adding elevators"),
    ("ebike_charging", "电动自行车充电", "E-bike charging"),
    ("fire_facilities", "消防设施", "Fire facilities"),
    ("ageing_accessibility", "适老化无障碍", "Ageing-friendly access"),
    ("parking", "停车", "Parking"),
    ("greening_lighting", "绿化照明", "Greening and lighting"),
    ("demolish_illegal", "拆除违建", "Demolishing illegal structures"),
    ("property_office", "物业用房", "Property management office"),
    ("fitness", "健身设施", "Fitness facilities"),
    ("elder_care", "养老", "Elder care"),
    ("childcare", "托育", "Childcare"),
    ("sports", "体育", "Sports"),
    ("meal_aid", "助餐", "Meal aid"),
    ("health", "卫生防疫", "Health and epidemic prevention"),
    ("convenience_store", "便民商业", "Convenience store"),
    ("community_center", "社区综合服务", "Community centre"),
)

# Which tier each renovation item belongs to (国办发〔2020〕23号).
ITEM_CATEGORY: dict[str, str] = {
    **dict.fromkeys(RENOVATION_ITEM.codes[:14], "basic"),
    **dict.fromkeys(RENOVATION_ITEM.codes[14:24], "improvement"),
    **dict.fromkeys(RENOVATION_ITEM.codes[24:], "upgrade"),
}

PROPERTY_SERVICE = _vocab(
    "property_service",
    ("professional", "专业物业", "Professional property service", "#4e79a7"),
    ("trust", "信托制物业", "Trust-model property service", "#59a14f"),
    ("work_unit", "单位物业", "Work-unit service", "#f28e2b"),
    ("self_managed", "居民自管", "Residents' self-management", "#edc948"),
    ("street_interim", "街道托管", "Street interim management", "#76b7b2"),
    ("none", "无物业", "No property service", "#e15759"),
)

STRUCTURE = _vocab(
    "structure",
    ("brick_concrete", "砖混", "Brick and concrete"),
    ("frame", "框架", "Frame"),
    ("shear_wall", "剪力墙", "Shear wall"),
    ("brick_wood", "砖木", "Brick and timber"),
)

ELEVATOR_STAGE = _vocab(
    "elevator_stage",
    ("candidate", "具备条件(筛查)", "Candidate (screened feasible)", "#c7e9c0"),
    ("requested", "居民申请", "Requested", "#9ecae9"),
    ("consulting", "意见征询", "Consulting residents", "#6baed6"),
    ("designing", "方案设计", "Designing", "#4292c6"),
    ("publicised", "公示", "Publicised", "#2171b5"),
    ("approved", "审批通过", "Approved", "#edc948"),
    ("under_construction", "施工中", "Under construction", "#f28e2b"),
    ("in_service", "已投用", "In service", "#59a14f"),
    ("suspended", "暂停", "Suspended", "#bab0ac"),
    ("not_feasible", "不具备条件", "Not feasible", "#e15759"),
)

NETWORK = _vocab(
    "network",
    ("water_supply", "给水", "Water supply", "#1f77b4", ("上水", "自来水", "供水")),
    ("drainage_storm", "雨水", "Storm drainage", "#17becf", ("排水", "drainage")),
    ("drainage_sewer", "污水", "Sewer", "#8c564b", ("排水", "drainage")),
    ("drainage_combined", "合流", "Combined drainage", "#a0522d", ("排水", "drainage")),
    ("gas", "燃气", "Gas", "#d62728", ("煤气", "天然气")),
    ("heating", "热力", "Heating", "#ff7f0e", ("供热", "暖气")),
    ("power", "电力", "Power", "#9467bd"),
    ("telecom", "通信", "Telecom", "#2ca02c"),
)

MATERIAL = _vocab(
    "material",
    ("grey_cast_iron", "灰口铸铁", "Grey cast iron"),
    ("ductile_iron", "球墨铸铁", "Ductile iron"),
    ("galvanized_steel", "镀锌钢", "Galvanised steel"),
    ("steel", "钢", "Steel", "#8c8c8c", ("钢管", "焊接钢管")),
    ("pe", "聚乙烯", "Polyethylene (PE)"),
    ("pvc_u", "UPVC", "PVC-U"),
    ("ppr", "PPR", "PP-R"),
    ("concrete", "混凝土", "Concrete", "#8c8c8c", ("砼",)),
    ("asbestos_cement", "石棉水泥", "Asbestos cement"),
    ("cast_iron_soil", "排水铸铁", "Cast-iron soil pipe"),
    ("cable_xlpe", "交联聚乙烯电缆", "XLPE cable"),
    ("cable_pvc", "PVC电缆", "PVC cable"),
    ("copper_telecom", "铜缆", "Copper telecom cable"),
    ("fiber", "光缆", "Optical fibre"),
)

PIPE_CONDITION = _vocab(
    "pipe_condition",
    ("good", "良好", "Good", "#59a14f"),
    ("fair", "一般", "Fair", "#edc948"),
    ("poor", "较差", "Poor", "#f28e2b"),
    ("critical", "危险", "Critical", "#e15759"),
)

PIPE_OWNER = _vocab(
    "pipe_owner",
    ("utility", "专业公司", "Utility company"),
    ("property_company", "物业公司", "Property company"),
    ("work_unit", "产权单位", "Work unit"),
    ("unknown", "不明", "Unknown"),
)

IDLE_KIND = _vocab(
    "idle_kind",
    ("bike_shed", "自行车棚", "Bike shed", "#4e79a7"),
    ("gatehouse", "门房", "Gatehouse", "#f28e2b"),
    ("idle_boiler_room", "闲置锅炉房", "Idle boiler room", "#e15759"),
    ("coal_shed", "煤棚", "Coal shed", "#9c755f"),
    ("vacated_land", "拆违腾退空地", "Vacated land", "#59a14f"),
    ("low_efficiency_space", "低效空间", "Low-efficiency space", "#edc948"),
    ("misused_facility", "挪作他用配套", "Misused facility", "#b07aa1"),
    ("underground_space", "地下空间", "Underground space", "#76b7b2"),
    ("other", "其他", "Other", "#bab0ac"),
)

OWNER_TYPE = _vocab(
    "owner_type",
    ("government", "政府", "Government"),
    ("soe", "国有企业", "State-owned enterprise"),
    ("work_unit", "产权单位", "Work unit"),
    ("collective", "集体", "Collective"),
    ("private", "私人", "Private"),
)

SERVICE_KIND = _vocab(
    "service_kind",
    ("elder_care", "养老服务", "Elder care", "#e15759"),
    ("childcare", "托育", "Childcare", "#ff9da7"),
    ("meal_aid", "老年助餐", "Meal aid", "#f28e2b"),
    ("clinic", "社区卫生站", "Clinic", "#4e79a7"),
    ("sports", "体育健身", "Sports", "#59a14f"),
    ("convenience_store", "便民商店", "Convenience store", "#edc948"),
    ("ebike_charging", "电动自行车充电", "E-bike charging", "#76b7b2"),
    ("fire", "消防设施", "Fire facility", "#d62728"),
    ("community_center", "社区服务中心", "Community centre", "#b07aa1"),
)

PROPOSED_USE = _vocab(
    "proposed_use",
    *((t.code, t.zh, t.en, t.color) for t in SERVICE_KIND.terms if t.code != "fire"),
    ("property_office", "物业用房", "Property office", "#9c755f"),
    ("parking", "停车", "Parking", "#bab0ac"),
    ("market", "便民市场", "Market", "#d4a6c8"),
)

CONVERSION_STATUS = _vocab(
    "conversion_status",
    ("identified", "已摸排", "Identified"),
    ("planned", "拟改造", "Planned"),
    ("converting", "改造中", "Converting"),
    ("in_use", "已投用", "In use"),
)

ISSUE_KIND = _vocab(
    "issue_kind",
    ("illegal_construction", "违法建设", "Illegal construction", "#e15759"),
    ("ground_lock", "地桩地锁", "Ground lock", "#f28e2b"),
    ("wall_opening", "开墙打洞", "Wall opening", "#b07aa1"),
    ("group_rental", "群租房", "Group rental", "#4e79a7"),
    ("underground_misuse", "地下空间违规使用", "Basement misuse", "#9c755f"),
    ("window_guard", "外窗护栏", "Protruding window guard", "#76b7b2"),
)

RESOLUTION = _vocab(
    "resolution",
    ("self", "自拆", "Removed by owner"),
    ("assisted", "帮拆", "Assisted removal"),
    ("persuaded", "劝拆", "Persuaded removal"),
    ("enforced", "强制拆除", "Enforced removal"),
)

CHANNEL = _vocab(
    "channel",
    ("hotline_12345", "12345热线", "12345 hotline", "#e15759"),
    ("wechat_anju_beijing", "安居北京", "Anju Beijing WeChat", "#59a14f"),
    ("owner_decision_platform", "业主决策平台", "Owners' decision platform", "#4e79a7"),
    ("residents_committee", "居委会", "Residents' committee", "#f28e2b"),
    ("owners_committee", "业委会", "Owners' committee", "#edc948"),
    ("property_company", "物业公司", "Property company", "#9c755f"),
    ("responsible_planner", "责任规划师", "Responsible planner", "#b07aa1"),
)

REQUEST_CATEGORY = _vocab(
    "request_category",
    ("elevator", "加装电梯", "Elevator"),
    ("pipes", "管线", "Pipes and leaks"),
    ("heating", "供暖", "Heating"),
    ("parking", "停车", "Parking"),
    ("greening", "绿化", "Greening"),
    ("safety", "安全隐患", "Safety hazard"),
    ("noise", "噪声", "Noise"),
    ("property_service", "物业服务", "Property service"),
    ("ageing", "适老化", "Ageing-friendly"),
    ("other", "其他", "Other"),
)

REQUEST_STATUS = _vocab(
    "request_status",
    ("received", "已受理", "Received", "#f28e2b"),
    ("processing", "办理中", "Processing", "#edc948"),
    ("resolved", "已办结", "Resolved", "#59a14f"),
    ("closed", "已关闭", "Closed", "#bab0ac"),
)

PROJECT_STATUS = _vocab(
    "project_status",
    ("proposed", "拟建", "Proposed", "#bab0ac"),
    ("approved", "已批复", "Approved", "#4e79a7"),
    ("in_construction", "施工中", "In construction", "#f28e2b"),
    ("completed", "已完工", "Completed", "#59a14f"),
    ("accepted", "已验收", "Accepted", "#2f6b2a"),
)

# Who pays (seed item 24: the 100-day approval goal is for government-funded projects that
# build nothing new).
FUNDING_SOURCE = _vocab(
    "funding_source",
    ("government", "政府投资", "Government-funded", "#4e79a7"),
    ("mixed", "政府与社会资本合作", "Government and private", "#edc948"),
    ("private", "社会投资", "Privately funded", "#b07aa1"),
)

OPINION_VERDICT = _vocab(
    "opinion_verdict",
    ("agree", "同意", "Agree"),
    ("agree_with_changes", "修改后同意", "Agree with changes"),
    ("disagree", "不同意", "Disagree"),
)

ROAD_CLASS = _vocab(
    "road_class",
    ("arterial", "主干路", "Arterial", "#f2a93b"),
    ("secondary", "次干路", "Secondary", "#f6d57a"),
    ("local", "支路", "Local", "#ffffff"),
)

CHANGE_ACTION = _vocab(
    "change_action",
    ("insert", "新增", "Insert"),
    ("update", "修改", "Update"),
    ("delete", "删除", "Delete"),
    ("ingest", "导入", "Ingest"),
    ("move_batch", "调整批次", "Move between plan batches"),
)

# Design life in years by pipe material (DOMAIN.md; general engineering figures).
MATERIAL_DESIGN_LIFE: dict[str, int] = {
    "grey_cast_iron": 45, "ductile_iron": 50, "galvanized_steel": 18, "steel": 30, "pe": 50,
    "pvc_u": 50, "ppr": 50, "concrete": 50, "asbestos_cement": 30, "cast_iron_soil": 40,
    "cable_xlpe": 30, "cable_pvc": 20, "copper_telecom": 18, "fiber": 22,
}  # fmt: skip
