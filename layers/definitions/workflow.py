"""The renovation workflow: plan batches, projects, planners' opinions and the change history."""

from layers.model import (
    EDITED_BY_PLANNERS,
    EDITED_IN_STREETS,
    NOT_EDITABLE,
    Field,
    FieldType,
    GeometryType,
    Layer,
    Visibility,
)
from layers.vocabulary import CHANGE_ACTION, FUNDING_SOURCE, OPINION_VERDICT, PROJECT_STATUS

T = FieldType
PUBLIC, INTERNAL, PRIVATE = Visibility.PUBLIC, Visibility.INTERNAL, Visibility.PRIVATE

PLAN_BATCHES = Layer(
    name="plan_batches",
    editors=EDITED_BY_PLANNERS,
    title_zh="计划批次",
    title_en="Plan batches",
    description="Yearly batches in which districts submit reserve estates into the plan (item 6).",
    key_fields=("year", "district_code", "batch_no", "name_zh"),
    fields=(
        Field("year", T.INTEGER, "年度", "Year", required=True, minimum=2000, maximum=2100),
        Field("district_code", T.TEXT, "区", "District", required=True,
              references="districts.code"),
        Field("batch_no", T.INTEGER, "批次", "Batch number", required=True, minimum=1),
        Field("name_zh", T.TEXT, "名称", "Name"),
        Field("approved_on", T.DATE, "批准日期", "Approved on"),
    ),
)  # fmt: skip

PROJECTS = Layer(
    name="projects",
    editors=EDITED_BY_PLANNERS,
    title_zh="改造项目",
    title_en="Renovation projects",
    description=(
        "Projects bundling one or more estates of a street block (items 13, 18), with their "
        "construction window (item 7) and green ratio before and after (item 8)."
    ),
    geometry_type=GeometryType.MULTIPOLYGON,
    visibility=INTERNAL,
    group="renovation",
    min_zoom=10,
    themes=("status",),
    key_fields=("name_zh", "status", "start_on", "end_on", "budget_cny"),
    time_field="start_on",
    search=("name_zh",),
    fields=(
        Field("name_zh", T.TEXT, "项目名称", "Name", required=True),
        Field("district_code", T.TEXT, "区", "District", required=True,
              references="districts.code"),
        Field("street_code", T.TEXT, "街道", "Street", references="streets.code"),
        Field("plan_batch_id", T.BIGINT, "计划批次", "Plan batch", references="plan_batches.id"),
        Field("status", T.TEXT, "项目状态", "Status", vocabulary=PROJECT_STATUS, required=True),
        Field("start_on", T.DATE, "计划开工", "Planned start"),
        Field("end_on", T.DATE, "计划完工", "Planned end"),
        Field("submitted_on", T.DATE, "报批日期", "Submitted for approval"),
        Field("approved_on", T.DATE, "批复日期", "Approved on"),
        Field("budget_cny", T.FLOAT, "投资(元)", "Budget (CNY)", minimum=0),
        Field("funding_source", T.TEXT, "资金来源", "Funding source", vocabulary=FUNDING_SOURCE,
              description="Who pays: the 100-day approval goal (item 24) is for government-"
              "funded projects that build nothing new."),
        Field("new_construction", T.BOOLEAN, "涉及新建改建", "Builds or rebuilds",
              description="The project adds or rebuilds structures (not only renovates)."),
        Field("green_ratio_before", T.FLOAT, "改造前绿地率", "Green ratio before",
              minimum=0, maximum=1),
        Field("green_ratio_after", T.FLOAT, "改造后绿地率", "Green ratio after",
              minimum=0, maximum=1),
        Field("contractor", T.TEXT, "施工单位", "Contractor", PRIVATE),
    ),
    map_order=10,
)  # fmt: skip

OPINIONS = Layer(
    name="opinions",
    editors=EDITED_IN_STREETS,
    title_zh="责任规划师意见",
    title_en="Responsible planners' opinions",
    description=(
        "Opinions of the street's responsible planner on a project's plan, due within "
        "5 working days (items 21, 24)."
    ),
    key_fields=("project_id", "planner", "requested_on", "due_on", "issued_on", "verdict"),
    time_field="requested_on",
    fields=(
        Field("project_id", T.BIGINT, "项目", "Project", required=True,
              references="projects.id"),
        Field("street_code", T.TEXT, "街道", "Street", references="streets.code"),
        Field("planner", T.TEXT, "责任规划师", "Responsible planner", required=True,
              author=True),
        Field("requested_on", T.DATE, "征询日期", "Requested on", required=True),
        Field("due_on", T.DATE, "答复期限", "Due on"),
        Field("issued_on", T.DATE, "出具日期", "Issued on"),
        Field("verdict", T.TEXT, "意见", "Verdict", vocabulary=OPINION_VERDICT),
        Field("text", T.TEXT, "意见内容", "Opinion text"),
    ),
)  # fmt: skip

CHANGE_HISTORY = Layer(
    name="change_history",
    editors=NOT_EDITABLE,
    title_zh="变更记录",
    title_en="Change history",
    description=(
        "Every change to the shared map: who, when, what, before and after. The features an "
        "import adds are recorded as runs of ids (feature_id to last_feature_id)."
    ),
    visibility=PRIVATE,
    key_fields=("layer", "feature_id", "action", "actor", "changed_at"),
    time_field="changed_at",
    fields=(
        Field("layer", T.TEXT, "图层", "Layer", PRIVATE, required=True, index=True),
        Field("feature_id", T.BIGINT, "要素", "Feature", PRIVATE, index=True),
        Field("last_feature_id", T.BIGINT, "末要素", "Last feature", PRIVATE, index=True,
              description="A row for a run of features: the last id of the run (an import's "
              "new features, one row per run of ids instead of one per feature)"),
        Field("action", T.TEXT, "操作", "Action", PRIVATE, CHANGE_ACTION, required=True),
        Field("actor", T.TEXT, "操作人", "Actor", PRIVATE, required=True),
        Field("changed_at", T.DATETIME, "时间", "Changed at", PRIVATE, required=True),
        Field("before", T.JSON, "变更前", "Before", PRIVATE),
        Field("after", T.JSON, "变更后", "After", PRIVATE),
        Field("note", T.TEXT, "说明", "Note", PRIVATE),
    ),
)  # fmt: skip
