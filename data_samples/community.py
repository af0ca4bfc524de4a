"""Idle parcels, service facilities, governance issues and resident requests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from data_samples.estates import Layout, person_names, random_dates, weighted
from data_samples.sample_city import SampleCity
from layers.vocabulary import SERVICE_KIND

IDLE_KINDS = {  # kind -> (weight, width m, depth m, storeys)
    "bike_shed": (30, 24.0, 7.0, 1), "gatehouse": (8, 6.0, 5.0, 1),
    "idle_boiler_room": (10, 18.0, 11.0, 2), "coal_shed": (8, 12.0, 8.0, 1),
    "vacated_land": (16, 30.0, 11.0, 0), "low_efficiency_space": (10, 20.0, 10.0, 1),
    "misused_facility": (8, 16.0, 10.0, 1), "underground_space": (6, 30.0, 10.0, 1),
    "other": (4, 10.0, 8.0, 1),
}  # fmt: skip
SERVICE_KINDS = {
    "convenience_store": 24, "ebike_charging": 20, "elder_care": 12, "meal_aid": 8,
    "clinic": 8, "childcare": 7, "sports": 8, "fire": 7, "community_center": 6,
}  # fmt: skip


def make_idle_parcels(
    layouts: list[Layout], estates: pd.DataFrame, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Idle facilities in free building slots of estates (never over a building)."""
    slots = [(lay.estate_id, s) for lay in layouts for s in lay.free[:2]]
    picked = np.sort(rng.choice(len(slots), size=min(count, len(slots)), replace=False))
    district = dict(zip(estates.id, estates.district_code, strict=True))
    kinds = weighted(rng, {k: v[0] for k, v in IDLE_KINDS.items()}, len(picked))
    rows, geoms = [], []
    for kind, k in zip(kinds, picked, strict=True):
        estate_id, (x0, y0, x1, y1) = slots[k]
        _, width, depth, storeys = IDLE_KINDS[kind]
        w, d = min(width, x1 - x0 - 2), min(depth, y1 - y0 - 1)
        ox = x0 + 1 + rng.uniform(0, max(0.0, x1 - x0 - 2 - w))
        geoms.append(shapely.box(ox, y0 + 0.5, ox + w, y0 + 0.5 + d))
        area = round(w * d, 1)
        floor_area = round(area * max(storeys, 1), 1) if storeys else 0.0
        rows.append((kind, estate_id, district[estate_id], area, floor_area))
    frame = pd.DataFrame(
        rows, columns=["kind", "estate_id", "district_code", "land_area_m2", "floor_area_m2"]
    )
    n = len(frame)
    frame.insert(0, "id", np.arange(1, n + 1))
    frame["owner_type"] = weighted(
        rng, {"government": 20, "soe": 30, "work_unit": 30, "collective": 12, "private": 8}, n
    )
    frame["owner_name"] = [f"{name}所在单位" for name in person_names(rng, n)]
    frame["current_use"] = np.where(rng.random(n) < 0.6, "闲置", "堆放杂物")
    frame["proposed_use"] = weighted(
        rng,
        {"elder_care": 18, "meal_aid": 12, "childcare": 8, "clinic": 6, "convenience_store": 12,
         "sports": 8, "community_center": 10, "property_office": 8, "ebike_charging": 12,
         "parking": 6},
        n,
    )  # fmt: skip
    status = weighted(rng, {"identified": 45, "planned": 25, "converting": 12, "in_use": 18}, n)
    frame["status"] = status
    converted = np.isin(status, ["converting", "in_use"])
    added = np.round(frame.land_area_m2 * rng.uniform(0.0, 0.6, n), 1)
    frame["added_floor_area_m2"] = np.where(converted, added, 0.0)
    frame["geometry"] = geoms
    return frame


def make_service_facilities(
    layouts: list[Layout], outside_blocks: pd.DataFrame, estates: pd.DataFrame, count: int,
    rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    """Services: about 60 % in estates (in the lane near the gate), the rest in other blocks."""
    inside = int(count * 0.6)
    lay_idx = rng.choice(len(layouts), size=inside)
    xs, ys, estate_ids = [], [], []
    for k in lay_idx:
        lay = layouts[k]
        xs.append(lay.cx + rng.uniform(-6.0, 6.0))
        ys.append(lay.ymin + rng.uniform(4.0, 20.0))
        estate_ids.append(lay.estate_id)
    district = dict(zip(estates.id, estates.district_code, strict=True))
    districts = [district[e] for e in estate_ids]
    outside = outside_blocks.iloc[rng.choice(len(outside_blocks), size=count - inside)]
    xs += list(rng.uniform(outside.xmin + 5, outside.xmax - 5))
    ys += list(rng.uniform(outside.ymin + 5, outside.ymax - 5))
    estate_ids += [None] * len(outside)
    districts += list(outside.district_code)
    n = count
    kinds = weighted(rng, SERVICE_KINDS, n)
    capacity = {
        "elder_care": (20, 120),
        "childcare": (20, 80),
        "meal_aid": (50, 300),
        "clinic": (100, 800),
        "sports": (50, 400),
        "convenience_store": (0, 0),
        "ebike_charging": (10, 80),
        "fire": (0, 0),
        "community_center": (100, 500),
    }
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "kind": kinds,
            "name_zh": [f"{SERVICE_KIND.term(k).zh}站点{i}" for i, k in enumerate(kinds, 1)],
            "capacity": [int(rng.integers(*capacity[k])) if capacity[k][1] else None
                         for k in kinds],
            "opened_on": random_dates(rng, dt.date(2008, 1, 1), dt.date(2026, 6, 30), n),
            "operator": rng.choice(["街道", "社区居委会", "社会机构", "物业公司"], size=n),
            "estate_id": estate_ids,
            "district_code": districts,
        }
    )  # fmt: skip
    frame["geometry"] = shapely.points(np.array(xs), np.array(ys))
    return frame


def _points_in_estates(layouts: list[Layout], idx: np.ndarray, rng: np.random.Generator):
    """Random points inside the given estates' rectangles, outside their notch."""
    xs, ys = [], []
    for k in idx:
        lay = layouts[k]
        while True:
            x = rng.uniform(lay.xmin + 1, lay.xmax - 1)
            y = rng.uniform(lay.ymin + 1, lay.ymax - 1)
            n = lay.notch
            if n is None or not (n[0] <= x <= n[2] and n[1] <= y <= n[3]):
                break
        xs.append(x)
        ys.append(y)
    return shapely.points(np.array(xs), np.array(ys))


def make_governance_issues(
    layouts: list[Layout], count: int, rng: np.random.Generator, today: dt.date
) -> pd.DataFrame:
    idx = rng.choice(len(layouts), size=count)
    resolved = rng.random(count) < 0.55
    reported = random_dates(rng, dt.date(2018, 1, 1), today - dt.timedelta(days=1), count)
    delay = rng.integers(5, 300, count)
    resolved_on = [
        min(today, r + dt.timedelta(days=int(d))) if ok else None
        for r, d, ok in zip(reported, delay, resolved, strict=True)
    ]
    kinds = weighted(
        rng,
        {"illegal_construction": 34, "ground_lock": 22, "wall_opening": 12, "group_rental": 12,
         "underground_misuse": 8, "window_guard": 12},
        count,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "kind": kinds,
            "resolved": resolved,
            "resolution": np.where(
                resolved,
                weighted(rng, {"self": 40, "assisted": 25, "persuaded": 25, "enforced": 10}, count),
                np.array(None),
            ),  # fmt: skip
            "reported_on": reported,
            "resolved_on": resolved_on,
            "area_m2": np.where(
                np.isin(kinds, ["illegal_construction", "underground_misuse"]),
                np.round(rng.uniform(5, 120, count), 1),
                np.nan,
            ),  # fmt: skip
            "estate_id": [layouts[k].estate_id for k in idx],
            "note": None,
            "geometry": _points_in_estates(layouts, idx, rng),
        }
    )


def make_resident_requests(
    layouts: list[Layout], count: int, city: SampleCity, rng: np.random.Generator,
    today: dt.date,
) -> pd.DataFrame:  # fmt: skip
    idx = rng.choice(len(layouts), size=count)
    received = random_dates(rng, dt.date(2021, 1, 1), today, count)
    status = weighted(rng, {"received": 8, "processing": 14, "resolved": 68, "closed": 10}, count)
    done = np.isin(status, ["resolved", "closed"])
    resolved_on = [
        min(today, r + dt.timedelta(days=int(d))) if ok else None
        for r, d, ok in zip(received, rng.integers(1, 45, count), done, strict=True)
    ]
    category = weighted(rng, city.request_categories, count)
    return pd.DataFrame(
        {
            "id": np.arange(1, count + 1),
            "channel": weighted(rng, city.request_channels, count),
            "category": category,
            "status": status,
            "received_on": received,
            "resolved_on": resolved_on,
            "satisfaction": np.where(
                done, rng.choice([1, 2, 3, 4, 4, 5, 5, 5], count), np.array(None)
            ),
            "estate_id": [layouts[k].estate_id for k in idx],
            "content": [f"居民反映{c}问题" for c in category],
            "caller_phone": [f"1{int(a)}{int(b)}" for a, b in zip(
                rng.integers(3, 9, count), rng.integers(10**8, 10**9, count), strict=True)],
            "geometry": _points_in_estates(layouts, idx, rng),
        }
    )  # fmt: skip
