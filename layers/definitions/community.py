"""What lies around residents: idle space, services, governance issues and their requests."""

from layers.model import (
    EDITED_BY_PLANNERS,
    EDITED_IN_STREETS,
    Field,
    FieldType,
    GeometryType,
    Layer,
    Visibility,
)
from layers.vocabulary import (
    CHANNEL,
    CONVERSION_STATUS,
    IDLE_KIND,
    ISSUE_KIND,
    OWNER_TYPE,
    PROPOSED_USE,
    REQUEST_CATEGORY,
    REQUEST_STATUS,
    RESOLUTION,
    SERVICE_KIND,
)

T = FieldType
PUBLIC, INTERNAL, PRIVATE = Visibility.PUBLIC, Visibility.INTERNAL, Visibility.PRIVATE

IDLE_PARCELS = Layer(
    name="idle_parcels",
    editors=EDITED_BY_PLANNERS,
    title_zh="闲置空间",
    title_en="Idle-space parcels",
    description=(
        "Idle stock facilities and spaces (bike sheds, gatehouses, idle boiler rooms, coal "
        "sheds, vacated land) that can become community services (items 10, 22, 23)."
    ),
    geometry_type=GeometryType.POLYGON,
    visibility=INTERNAL,
    group="space",
    min_zoom=12,
    themes=("kind", "proposed_use"),
    key_fields=("kind", "owner_type", "floor_area_m2", "proposed_use", "status"),
    # Coverage gaps: the parcels still free, nearest an estate first.
    fields=(
        Field("kind", T.TEXT, "类型", "Kind", INTERNAL, IDLE_KIND, required=True),
        Field("owner_type", T.TEXT, "权属类型", "Owner type", INTERNAL, OWNER_TYPE),
        Field("owner_name", T.TEXT, "产权单位", "Owner", PRIVATE),
        Field("floor_area_m2", T.FLOAT, "建筑面积(㎡)", "Floor area (m²)", INTERNAL, minimum=0),
        Field("land_area_m2", T.FLOAT, "用地面积(㎡)", "Land area (m²)", INTERNAL, minimum=0),
        Field("current_use", T.TEXT, "现状用途", "Current use", INTERNAL),
        Field("proposed_use", T.TEXT, "拟改用途", "Proposed use", INTERNAL, PROPOSED_USE),
        Field("status", T.TEXT, "利用状态", "Conversion status", INTERNAL, CONVERSION_STATUS),
        Field("added_floor_area_m2", T.FLOAT, "新增建筑面积(㎡)", "Added floor area (m²)",
              INTERNAL, minimum=0, description="Booked in the district's flow pool (item 23)."),
        Field("estate_id", T.BIGINT, "所在小区", "Estate", INTERNAL, references="estates.id"),
        Field("district_code", T.TEXT, "所属区", "District", INTERNAL,
              references="districts.code"),
    ),
    map_order=30,
)  # fmt: skip

SERVICE_FACILITIES = Layer(
    name="service_facilities",
    editors=EDITED_BY_PLANNERS,
    title_zh="社区服务设施",
    title_en="Service facilities",
    description=(
        "Elder care, childcare, meal aid, clinics, sports, convenience stores, e-bike charging "
        "and fire facilities (items 9, 10)."
    ),
    geometry_type=GeometryType.POINT,
    visibility=PUBLIC,
    group="space",
    min_zoom=11,
    cluster_below=13,
    stores_web_mercator=True,
    themes=("kind",),
    key_fields=("name_zh", "kind", "capacity"),
    search=("name_zh", "address"),
    fields=(
        Field("kind", T.TEXT, "类型", "Kind", PUBLIC, SERVICE_KIND, required=True, index=True),
        Field("name_zh", T.TEXT, "名称", "Name", PUBLIC),
        Field("address", T.TEXT, "地址", "Address", PUBLIC),
        Field("capacity", T.INTEGER, "服务容量", "Capacity", PUBLIC, minimum=0),
        Field("opened_on", T.DATE, "开业日期", "Opened on", PUBLIC),
        Field("operator", T.TEXT, "运营方", "Operator", INTERNAL),
        Field("estate_id", T.BIGINT, "所在小区", "Estate", INTERNAL, references="estates.id"),
        Field("district_code", T.TEXT, "所属区", "District", PUBLIC,
              references="districts.code"),
    ),
    map_order=60,
    map_shown=True,
)  # fmt: skip

GOVERNANCE_ISSUES = Layer(
    name="governance_issues",
    editors=EDITED_IN_STREETS,
    title_zh="治理问题",
    title_en="Governance issues",
    description="Issues to govern before renovating (item 11): illegal structures and more.",
    geometry_type=GeometryType.POINT,
    visibility=INTERNAL,
    group="records",
    min_zoom=12,
    themes=("kind",),
    key_fields=("kind", "resolved", "reported_on"),
    time_field="reported_on",
    fields=(
        Field("kind", T.TEXT, "问题类型", "Kind", INTERNAL, ISSUE_KIND, required=True),
        Field("resolved", T.BOOLEAN, "已整治", "Resolved", INTERNAL, required=True),
        Field("resolution", T.TEXT, "整治方式", "Resolution", INTERNAL, RESOLUTION),
        Field("reported_on", T.DATE, "发现日期", "Reported on", INTERNAL),
        Field("resolved_on", T.DATE, "整治日期", "Resolved on", INTERNAL),
        Field("area_m2", T.FLOAT, "面积(㎡)", "Area (m²)", INTERNAL, minimum=0),
        Field("estate_id", T.BIGINT, "小区", "Estate", INTERNAL, references="estates.id"),
        Field("note", T.TEXT, "备注", "Note", PRIVATE),
    ),
    map_order=70,
)  # fmt: skip

RESIDENT_REQUESTS = Layer(
    name="resident_requests",
    editors=EDITED_IN_STREETS,
    title_zh="居民诉求",
    title_en="Resident requests",
    description="Residents' requests from the 12345 hotline and other channels (item 20).",
    geometry_type=GeometryType.POINT,
    visibility=INTERNAL,
    group="records",
    min_zoom=12,
    themes=("status", "channel"),
    key_fields=("category", "channel", "status", "received_on"),
    time_field="received_on",
    fields=(
        Field("channel", T.TEXT, "来源渠道", "Channel", INTERNAL, CHANNEL, required=True),
        Field("category", T.TEXT, "诉求类别", "Category", INTERNAL, REQUEST_CATEGORY,
              required=True),
        Field("status", T.TEXT, "办理状态", "Status", INTERNAL, REQUEST_STATUS, required=True),
        Field("received_on", T.DATE, "受理日期", "Received on", INTERNAL, required=True),
        Field("resolved_on", T.DATE, "办结日期", "Resolved on", INTERNAL),
        Field("satisfaction", T.INTEGER, "满意度", "Satisfaction (1-5)", INTERNAL,
              minimum=1, maximum=5),
        Field("estate_id", T.BIGINT, "小区", "Estate", INTERNAL, references="estates.id"),
        Field("content", T.TEXT, "诉求内容", "Content", PRIVATE),
        Field("caller_phone", T.TEXT, "来电号码", "Caller phone", PRIVATE),
    ),
    map_order=80,
)  # fmt: skip
