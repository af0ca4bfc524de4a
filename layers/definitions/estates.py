"""Estates (小区), their buildings, the elevator retrofit of each building, and health checks."""

from layers.model import EDITED_BY_PLANNERS, Field, FieldType, GeometryType, Layer, Visibility
from layers.vocabulary import (
    ELEVATOR_STAGE,
    ESTATE_STATUS,
    OWNER_LEVEL,
    PROPERTY_NATURE,
    PROPERTY_SERVICE,
    RENOVATION_CATEGORY,
    RENOVATION_ITEM,
    STRUCTURE,
)

T = FieldType
PUBLIC, INTERNAL, PRIVATE = Visibility.PUBLIC, Visibility.INTERNAL, Visibility.PRIVATE

ESTATES = Layer(
    name="estates",
    editors=EDITED_BY_PLANNERS,
    title_zh="老旧小区",
    title_en="Old residential estates",
    description=(
        "Estates to be renovated, classified by property nature and renovation need (item 4), "
        "with their place in the reserve pool and plan batches (items 5-6) and their "
        "maintenance fund ledger (item 17)."
    ),
    geometry_type=GeometryType.MULTIPOLYGON,
    visibility=PUBLIC,
    group="renovation",
    min_zoom=8,
    themes=("status", "property_nature", "renovation_category"),
    key_fields=("code", "name_zh", "status", "property_nature", "households"),
    fields=(
        Field("code", T.TEXT, "小区编码", "Estate code", PUBLIC, required=True, unique=True),
        Field("name_zh", T.TEXT, "小区名称", "Name (Chinese)", PUBLIC, required=True),
        Field("name_en", T.TEXT, "英文名", "Name (English)", PUBLIC),
        Field("district_code", T.TEXT, "所属区", "District", PUBLIC,
              required=True, references="districts.code"),
        Field("street_code", T.TEXT, "所属街道", "Street", PUBLIC,
              required=True, references="streets.code"),
        Field("address", T.TEXT, "地址", "Address", PUBLIC),
        Field("status", T.TEXT, "改造状态", "Renovation status", PUBLIC, ESTATE_STATUS,
              required=True, index=True),
        Field("build_year", T.INTEGER, "建成年份", "Year built", PUBLIC,
              minimum=1900, maximum=2100),
        Field("property_nature", T.TEXT, "产权性质", "Property nature", INTERNAL, PROPERTY_NATURE,
              required=True),
        Field("owner_level", T.TEXT, "产权单位层级", "Owning unit level", INTERNAL, OWNER_LEVEL),
        Field("renovation_category", T.TEXT, "改造类别", "Renovation category", INTERNAL,
              RENOVATION_CATEGORY, description="The highest tier among the renovation items."),
        Field("renovation_items", T.TEXT_ARRAY, "改造内容", "Renovation items", INTERNAL,
              RENOVATION_ITEM),
        Field("area_m2", T.FLOAT, "占地面积(㎡)", "Site area (m²)", INTERNAL, minimum=0),
        Field("floor_area_m2", T.FLOAT, "建筑面积(㎡)", "Floor area (m²)", INTERNAL, minimum=0),
        Field("households", T.INTEGER, "户数", "Households", INTERNAL, minimum=0),
        Field("building_count", T.INTEGER, "楼栋数", "Buildings", INTERNAL, minimum=0),
        Field("plan_batch_id", T.BIGINT, "计划批次", "Plan batch", INTERNAL,
              references="plan_batches.id"),
        Field("project_id", T.BIGINT, "所属项目", "Project", INTERNAL, references="projects.id"),
        Field("owners_committee", T.BOOLEAN, "业主委员会", "Owners' committee", INTERNAL),
        Field("property_service", T.TEXT, "物业服务", "Property service", INTERNAL,
              PROPERTY_SERVICE),
        Field("green_ratio", T.FLOAT, "绿地率", "Green ratio", INTERNAL, minimum=0, maximum=1),
        Field("maintenance_fund_initial", T.FLOAT, "维修资金初始额(元)",
              "Maintenance fund, initial (CNY)", PRIVATE, minimum=0),
        Field("maintenance_fund_balance", T.FLOAT, "维修资金余额(元)",
              "Maintenance fund, balance (CNY)", PRIVATE, minimum=0),
        Field("contact", T.TEXT, "联系人", "Contact person", PRIVATE),
    ),
    map_order=20,
    map_shown=True,
)  # fmt: skip

BUILDINGS = Layer(
    name="buildings",
    editors=EDITED_BY_PLANNERS,
    title_zh="楼栋",
    title_en="Buildings",
    description="Residential buildings; walk-ups of 4-7 floors without elevators dominate.",
    geometry_type=GeometryType.POLYGON,
    visibility=PUBLIC,
    group="renovation",
    min_zoom=13,
    themes=("elevator_stage",),
    key_fields=("estate_id", "name_zh", "floors", "has_elevator", "elevator_stage"),
    fields=(
        Field("estate_id", T.BIGINT, "所属小区", "Estate", PUBLIC,
              required=True, references="estates.id"),
        Field("name_zh", T.TEXT, "楼号", "Building number", PUBLIC, required=True),
        Field("floors", T.INTEGER, "层数", "Floors", PUBLIC, required=True,
              minimum=1, maximum=100),
        Field("has_elevator", T.BOOLEAN, "有电梯", "Has elevator", PUBLIC, required=True),
        Field("elevator_stage", T.TEXT, "加装电梯进展", "Elevator retrofit stage", PUBLIC,
              ELEVATOR_STAGE, maintained=True, description="Mirrors the building's elevator "
              "retrofit record; kept by a database trigger, not written directly."),
        Field("build_year", T.INTEGER, "建成年份", "Year built", PUBLIC,
              minimum=1900, maximum=2100),
        Field("units", T.INTEGER, "单元数", "Stairwells (units)", INTERNAL, minimum=1),
        Field("households", T.INTEGER, "户数", "Households", INTERNAL, minimum=0),
        Field("structure", T.TEXT, "结构", "Structure", INTERNAL, STRUCTURE),
        Field("floor_area_m2", T.FLOAT, "建筑面积(㎡)", "Floor area (m²)", INTERNAL, minimum=0),
    ),
    map_order=40,
    map_shown=True,
)  # fmt: skip

ELEVATOR_RETROFITS = Layer(
    name="elevator_retrofits",
    editors=EDITED_BY_PLANNERS,
    title_zh="既有住宅加装电梯",
    title_en="Elevator retrofits",
    description=(
        "One record per building where adding an elevator is requested, under way, done, "
        "or not feasible (then a stair-climbing aid is offered). The public elevator map "
        "(item 31) shows this layer."
    ),
    geometry_type=GeometryType.POINT,
    visibility=PUBLIC,
    group="renovation",
    min_zoom=8,
    themes=("stage",),
    key_fields=("building_id", "stage", "elevators", "stair_climbing_aid"),
    time_field="requested_on",
    fields=(
        Field("building_id", T.BIGINT, "楼栋", "Building", PUBLIC,
              required=True, unique=True, references="buildings.id"),
        Field("estate_id", T.BIGINT, "小区", "Estate", PUBLIC,
              required=True, references="estates.id"),
        Field("district_code", T.TEXT, "所属区", "District", PUBLIC,
              required=True, references="districts.code"),
        Field("stage", T.TEXT, "进展阶段", "Stage", PUBLIC, ELEVATOR_STAGE,
              required=True, index=True),
        Field("stair_climbing_aid", T.BOOLEAN, "爬楼辅助", "Stair-climbing aid", PUBLIC),
        Field("elevators", T.INTEGER, "拟加装部数", "Elevators", PUBLIC, minimum=0),
        Field("address", T.TEXT, "地址", "Address", PUBLIC),
        Field("requested_on", T.DATE, "申请日期", "Requested on", PUBLIC),
        Field("approved_on", T.DATE, "批准日期", "Approved on", PUBLIC),
        Field("construction_started_on", T.DATE, "开工日期", "Construction started", PUBLIC),
        Field("in_service_on", T.DATE, "投用日期", "In service since", PUBLIC),
        Field("households_served", T.INTEGER, "受益户数", "Households served", INTERNAL,
              minimum=0),
        Field("consent_ratio", T.FLOAT, "同意比例", "Owners' consent ratio", INTERNAL,
              minimum=0, maximum=1),
        Field("subsidy_cny", T.FLOAT, "补贴(元)", "Subsidy (CNY)", INTERNAL, minimum=0),
        Field("stage_history", T.JSON, "阶段历史", "Stage history", INTERNAL,
              description="List of {stage, on} in the order they happened."),
        Field("applicant_contact", T.TEXT, "申请人联系方式", "Applicant contact", PRIVATE),
    ),
    map_order=90,
)  # fmt: skip

HEALTH_CHECKS = Layer(
    name="health_checks",
    editors=EDITED_BY_PLANNERS,
    title_zh="小区体检",
    title_en="Estate health checks",
    description="Health check (体检) of an estate before it enters the reserve pool (item 5).",
    key_fields=("estate_id", "checked_on", "score"),
    time_field="checked_on",
    fields=(
        Field("estate_id", T.BIGINT, "小区", "Estate", required=True, references="estates.id"),
        Field("checked_on", T.DATE, "体检日期", "Checked on", required=True),
        Field("score", T.FLOAT, "得分", "Score", minimum=0, maximum=100),
        Field("findings", T.TEXT_ARRAY, "问题清单", "Findings"),
        Field("inspector", T.TEXT, "体检单位", "Inspector"),
    ),
)  # fmt: skip
