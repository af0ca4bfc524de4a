"""Every analysis by name: the one list the API, the CLI and the map read."""

from __future__ import annotations

from analyses import bundles, checks, elevators, pipes, services, workflow
from analyses.model import Analysis, Theme
from layers import Visibility
from layers.errors import NotFound, shown

ANALYSES: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis(
            "pipes_by_estate",
            "小区内外管线",
            "Pipelines inside and around estates",
            "Metres of each network inside every estate's red line and within buffer_m outside it.",
            (8, 33),
            pipes.pipes_by_estate,
            pipes.PIPE_PARAMS,
            geometry="MultiPolygon",
            theme=Theme("inside_m"),
            order=("按小区编号", "by estate id"),
            layer="estates",
        ),
        Analysis(
            "aging_pipes",
            "老化管线",
            "Aging pipelines",
            "Pipes past their material's design life or in poor condition; priority 1 = "
            "renovate first (water, drainage, gas).",
            (8, 33),
            pipes.aging_pipes,
            pipes.AGING_PARAMS,
            pages_itself=True,
            geometry="LineString",
            theme=Theme("priority", "low"),
            order=("最紧迫的在前", "most urgent first"),
            layer="pipelines",
        ),
        Analysis(
            "elevator_screening",
            "加装电梯条件筛查",
            "Elevator retrofit screening",
            "Per walk-up: a shaft footprint outside the stair side, its clearances and the "
            "pipes it displaces, with their relocation cost.",
            (9, 31, 32, 33),
            elevators.elevator_screening,
            elevators.PARAMS,
            geometry="Polygon",
            theme=Theme("feasible", "low"),
            order=("按楼栋编号", "by building id"),
            layer="buildings",
        ),
        Analysis(
            "coverage_gaps",
            "服务设施缺口",
            "Service coverage gaps",
            "Estates with no service of a kind within walk_m, and idle parcels nearby that "
            "could host one.",
            (10, 22, 23),
            services.coverage_gaps,
            services.GAP_PARAMS,
            geometry="MultiPolygon",
            theme=Theme("kind", None),
            order=("按小区编号", "by estate id"),
            layer="estates",
        ),
        Analysis(
            "flow_pool",
            "流量池",
            "Flow pool of added floor area",
            "Per district: floor area added by converting idle parcels, by use.",
            (10, 22),
            services.flow_pool,
            geometry="MultiPolygon",
            theme=Theme("added_floor_area_m2"),
            order=("按区划代码", "by district code"),
            layer="districts",
        ),
        Analysis(
            "bundles",
            "片区统筹打包",
            "Estate bundles",
            "Nearby estates of one street, not yet in a project, as candidate block projects.",
            (18,),
            bundles.bundles,
            bundles.PARAMS,
            geometry="Polygon",
            theme=Theme("estates"),
            order=("小区多的在前", "largest first"),
            layer="estates",
        ),
        Analysis(
            "schedule_conflicts",
            "汛期与冬期施工",
            "Works in the rainy season or winter",
            "Unfinished projects whose works still ahead overlap the flood season or winter.",
            (7,),
            workflow.schedule_conflicts,
            workflow.SCHEDULE_PARAMS,
            geometry="MultiPolygon",
            theme=Theme("runs_into", None),
            order=("按项目编号", "by project id"),
            layer="projects",
        ),
        Analysis(
            "data_checks",
            "数据矛盾检查",
            "Data checks",
            "Records that contradict each other: estate and project statuses, planned starts "
            "passed, opinion due dates off the deadline rule; one row per feature found.",
            (5, 24),
            checks.data_checks,
            geometry="MultiPolygon",
            theme=Theme("check", None, labels="title"),
            order=("按检查项", "by check"),
        ),
        Analysis(
            "overruns",
            "超期未完工项目",
            "Overrunning projects",
            "Unfinished projects past their planned end date, longest overrun first.",
            (7, 24),
            workflow.overruns,
            geometry="MultiPolygon",
            theme=Theme("days_over"),
            order=("超期最久的在前", "longest overrun first"),
            layer="projects",
        ),
        Analysis(
            "overdue_opinions",
            "超期规划意见",
            "Overdue planner opinions",
            "Opinions given, or still missing, after the limit in Chinese working days.",
            (21, 24),
            workflow.overdue_opinions,
            workflow.OPINION_PARAMS,
            geometry="MultiPolygon",
            theme=Theme("open"),
            order=("最早征询的在前", "earliest requested first"),
            layer="opinions",
        ),
        Analysis(
            "long_approvals",
            "审批超时",
            "Approvals over the limit",
            "Projects whose approval took or is taking more than max_days.",
            (24,),
            workflow.long_approvals,
            workflow.APPROVAL_PARAMS,
            geometry="MultiPolygon",
            theme=Theme("open"),
            order=("审批最久的在前", "longest approval first"),
            layer="projects",
        ),
        Analysis(
            "low_funds",
            "维修资金不足",
            "Low maintenance funds",
            "Estates whose maintenance fund is below threshold of its initial amount.",
            (17,),
            workflow.low_funds,
            workflow.FUND_PARAMS,
            level=Visibility.PRIVATE,
            geometry="MultiPolygon",
            theme=Theme("ratio", "low"),
            order=("余额比例最低的在前", "lowest balance first"),
            layer="estates",
        ),
        Analysis(
            "green_ratio_drops",
            "绿地率下降",
            "Green ratio drops",
            "Projects whose design lowers the green ratio.",
            (6,),
            workflow.green_ratio_drops,
            geometry="MultiPolygon",
            theme=Theme("drop"),
            order=("下降最多的在前", "largest drop first"),
            layer="projects",
        ),
    )
}


def get_analysis(name: str) -> Analysis:
    try:
        return ANALYSES[name]
    except KeyError:
        raise NotFound(f"analysis {shown(name)} not found; known: {', '.join(ANALYSES)}") from None
