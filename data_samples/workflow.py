"""Plan batches, projects bundling estates, planners' opinions and batch-move history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from analyses import workdays
from data_samples.estates import person_names, random_dates

FIRST_YEAR = 2019
OPINION_TEXT = "请结合居民意见优化方案，保留既有树木，绿地率不降低。"
STATUS_YEARS = {  # estate status -> years its plan batch may belong to
    "planned": (2025, 2026), "in_progress": (2024, 2026), "completed": (2019, 2025),
    "accepted": (2019, 2024),
}  # fmt: skip
PROJECT_STATUS = {
    "planned": "approved", "in_progress": "in_construction", "completed": "completed",
    "accepted": "accepted",
}  # fmt: skip


def make_plan_batches(districts: pd.DataFrame, last_year: int) -> pd.DataFrame:
    rows = [
        (year, code, batch)
        for code in districts.code
        for year in range(FIRST_YEAR, last_year + 1)
        for batch in (1, 2)
    ]
    frame = pd.DataFrame(rows, columns=["year", "district_code", "batch_no"])
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    names = dict(zip(districts.code, districts.name_zh, strict=True))
    frame["name_zh"] = [
        f"{names[d]}{y}年第{b}批"
        for y, d, b in zip(frame.year, frame.district_code, frame.batch_no, strict=True)
    ]
    frame["approved_on"] = [dt.date(y, 3 if b == 1 else 7, 15)
                            for y, b in zip(frame.year, frame.batch_no, strict=True)]  # fmt: skip
    return frame


def assign_batches(
    estates: pd.DataFrame, batches: pd.DataFrame, rng: np.random.Generator
) -> pd.Series:
    key = {(y, d, b): i for i, y, d, b in batches[["id", "year", "district_code", "batch_no"]]
           .itertuples(index=False)}  # fmt: skip
    out: list[int | None] = []
    for status, district in zip(estates.status, estates.district_code, strict=True):
        years = STATUS_YEARS.get(status)
        if years is None:
            out.append(None)
            continue
        year = int(rng.integers(years[0], years[1] + 1))
        out.append(key[(year, district, int(rng.integers(1, 3)))])
    return pd.Series(out, index=estates.index, dtype=object)


def make_projects(
    estates: pd.DataFrame, batches: pd.DataFrame, city_zh: str, rng: np.random.Generator,
    today: dt.date,
) -> tuple[pd.DataFrame, pd.Series]:  # fmt: skip
    """Bundle estates of the same street and batch, up to four neighbours, into projects."""
    planned = estates[estates.plan_batch_id.notna()].sort_values(
        ["street_code", "plan_batch_id", "id"]
    )
    year_of = dict(zip(batches.id, batches.year, strict=True))
    rows: list[dict] = []
    geoms: list = []
    # Columns as arrays, read by position: a pandas selection per bundle cost a third of this.
    position = dict(zip(estates.index, range(len(estates)), strict=True))
    names, districts = estates.name_zh.to_numpy(), estates.district_code.to_numpy()
    statuses, shapes = estates.status.to_numpy(), estates.geometry.to_numpy()
    green, floor_area = estates.green_ratio.to_numpy(float), estates.floor_area_m2.to_numpy(float)
    project_of = np.full(len(estates), None, dtype=object)
    for (street, batch), group in planned.groupby(["street_code", "plan_batch_id"], sort=True):
        members = group.index.to_list()
        while members:
            size = int(rng.integers(1, 5))
            bundle, members = members[:size], members[size:]
            pid = len(rows) + 1
            at = [position[i] for i in bundle]
            project_of[at] = pid
            year = year_of[batch]
            start = dt.date(year, int(rng.integers(3, 10)), int(rng.integers(1, 28)))
            end = start + dt.timedelta(days=int(rng.integers(90, 420)))
            submitted = start - dt.timedelta(days=int(rng.integers(60, 200)))
            approval_days = int(rng.integers(25, 140))
            before = float(np.nanmean(green[at]))
            rows.append(
                {
                    "id": pid,
                    "name_zh": f"{names[at[0]]}等{len(bundle)}个小区综合整治",
                    "district_code": districts[at[0]],
                    "street_code": street,
                    "plan_batch_id": int(batch),
                    "status": PROJECT_STATUS[statuses[at[0]]],
                    "start_on": start,
                    "end_on": end,
                    "submitted_on": submitted,
                    "approved_on": min(today, submitted + dt.timedelta(days=approval_days)),
                    "budget_cny": round(
                        float(np.nansum(floor_area[at])) * rng.uniform(600, 1500), -3
                    ),  # fmt: skip
                    "green_ratio_before": round(before, 3),
                    "green_ratio_after": round(min(1.0, before + rng.uniform(-0.02, 0.05)), 3),
                    "contractor": f"{city_zh}{person_names(rng, 1)[0]}建设工程有限公司",
                }
            )
            geoms.append(shapely.MultiPolygon(
                [p for g in shapes[at] for p in shapely.get_parts(g)]))  # fmt: skip
    frame = pd.DataFrame(rows)
    # Who pays, and whether anything is built: drawn from a stream of their own, so that the
    # rest of the city stays what it was before these fields existed.
    own = np.random.default_rng([len(rows), 24])
    frame["funding_source"] = own.choice(["government", "mixed", "private"], size=len(rows),
                                         p=[0.85, 0.1, 0.05])  # fmt: skip
    frame["new_construction"] = own.random(len(rows)) < 0.15
    frame["geometry"] = geoms
    return frame, pd.Series(project_of, index=estates.index, dtype=object)


def make_opinions(
    projects: pd.DataFrame, streets: pd.DataFrame, rng: np.random.Generator, today: dt.date
) -> pd.DataFrame:
    """One or two opinions per project, due five Chinese working days after the request."""
    planner = dict(zip(streets.code, streets.responsible_planner, strict=True))
    rows = []
    for p in projects.itertuples():
        for k in range(int(rng.integers(1, 3))):
            requested = p.submitted_on + dt.timedelta(days=int(rng.integers(0, 40)) + 30 * k)
            requested = min(requested, today)
            due, _ = workdays.add_workdays(requested, 5)  # the one rule (analyses.workdays)
            late = rng.random()
            issued: dt.date | None
            if late < 0.05:
                issued = None  # still waiting
            elif late < 0.15:
                issued = due + dt.timedelta(days=int(rng.integers(1, 10)))
            else:
                issued = requested + dt.timedelta(
                    days=int(rng.integers(0, (due - requested).days + 1))
                )
            if issued is not None and issued > today:
                issued = None
            rows.append(
                {
                    "project_id": p.id,
                    "street_code": p.street_code,
                    "planner": planner[p.street_code],
                    "requested_on": requested,
                    "due_on": due,
                    "issued_on": issued,
                    "verdict": None if issued is None else rng.choice(
                        ["agree", "agree_with_changes", "disagree"], p=[0.55, 0.38, 0.07]),
                    "text": None if issued is None else OPINION_TEXT,
                }
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def make_batch_moves(
    estates: pd.DataFrame, batches: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """History entries for estates moved between batches (the plan is adjusted dynamically)."""
    planned = estates[estates.plan_batch_id.notna()]
    moved = planned[rng.random(len(planned)) < 0.04]
    by_district = batches.groupby("district_code").id.apply(list).to_dict()
    rows = []
    for e in moved.itertuples():
        old = int(rng.choice(by_district[e.district_code]))
        when = random_dates(rng, dt.date(FIRST_YEAR, 1, 1), dt.date(2026, 10, 31), 1)[0]
        rows.append(
            {
                "layer": "estates",
                "feature_id": int(e.id),
                "action": "move_batch",
                "actor": "samples",
                "changed_at": dt.datetime.combine(when, dt.time(10, 0), tzinfo=dt.UTC),
                "before": {"plan_batch_id": old},
                "after": {"plan_batch_id": int(e.plan_batch_id)},
                "note": "计划动态调整",
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def responsible_planners(streets: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    return person_names(rng, len(streets))
