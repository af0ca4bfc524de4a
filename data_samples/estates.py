"""Estates in city blocks, their buildings laid out in rows, elevator retrofits, health checks."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from analyses import elevators
from data_samples.sample_city import GIVEN_NAMES, NAME_SUFFIXES, SURNAMES, SampleCity
from layers.vocabulary import ITEM_CATEGORY, RENOVATION_ITEM

LANE_HALF_WIDTH = 8.0  # the north-south lane through each estate carries its internal pipes
MARGIN = 6.0


@dataclass
class Layout:
    """Where things are inside one estate, in metres: the frame later layers build on."""

    estate_id: int
    block: tuple[int, int]  # (i, j) of the block in the road grid
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    cx: float
    road_y: float
    notch: tuple[float, float, float, float] | None
    buildings: list[tuple[float, float, float, float]] = field(default_factory=list)
    gap_ys: list[float] = field(default_factory=list)  # lane y south of each building's row
    free: list[tuple[float, float, float, float]] = field(default_factory=list)
    low: list[int] = field(default_factory=list)  # indexes of low infill buildings
    # Indexes of slabs with no room for a shaft on the north side: infill there, or the red
    # line closer than a shaft is deep. Their retrofits are recorded as such.
    cramped: list[int] = field(default_factory=list)


@functools.lru_cache(maxsize=256)
def _choices(options: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The options' keys and their cumulative probabilities, made once per set of options."""
    keys = np.array([k for k, _ in options], dtype=object)
    p = np.array([w for _, w in options], dtype=float)
    p = p / p.sum()
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return keys, cdf


def weighted(rng: np.random.Generator, options: Mapping[str, float], n: int) -> np.ndarray:
    """``n`` keys drawn with the options' weights.

    The draws of ``rng.choice(len(keys), n, p=p)`` (one uniform per pick, looked up in the
    cumulative weights) without its checks of ``p``, most of the cost of ~60,000 calls a city.
    """
    keys, cdf = _choices(tuple(options.items()))
    return keys[cdf.searchsorted(rng.random(n), side="right")]


def random_dates(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> np.ndarray:
    days = rng.integers(0, (end - start).days + 1, size=n)
    return np.array([start + dt.timedelta(days=int(d)) for d in days], dtype=object)


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN_NAMES), n)
    g2 = rng.integers(-len(GIVEN_NAMES), len(GIVEN_NAMES), n)  # < 0: one-character name
    return [
        SURNAMES[a] + GIVEN_NAMES[b] + (GIVEN_NAMES[c] if c >= 0 else "")
        for a, b, c in zip(s, g1, g2, strict=True)
    ]


# Beijing's old estates are rows of 5-6 floor slabs facing south, spaced by the sunlight rule:
# the gap between rows is a coefficient times the southern row's height (today 1.6 in the old
# city and 1.7 outside it; estates of the 1950s-70s were built tighter). Heights as the
# elevator screening counts them; the spacing is set for the estate's six-floor walk-ups.
SLAB_FLOORS = 6
# The screening's default shaft and clearance: the slabs it would refuse are known here.
SCREENING = {p.name: p.default for p in elevators.PARAMS}


def cramped_buildings(layouts: list[Layout]) -> set[int]:
    """Ids (as ``make_estates`` numbers them) of the slabs without room for a shaft."""
    ids: set[int] = set()
    first = 1
    for lay in layouts:
        ids.update(first + k for k in lay.cramped)
        first += len(lay.buildings)
    return ids


def sunlight_coefficient(build_year: int, rng: np.random.Generator) -> float:
    return float(rng.uniform(1.05, 1.45) if build_year < 1980 else rng.uniform(1.3, 1.75))


def _layout(
    estate_id: int, block: pd.Series, target: int, build_year: int, rng: np.random.Generator
) -> tuple[Layout, shapely.Geometry]:
    """Rows of slabs packed north from the estate's gate, with the red line drawn round them.

    So plot ratios come out as Beijing's old estates have them (about 1-2), not the block's.
    """
    setback = rng.uniform(3.0, 10.0, 4)
    bx0, y0 = block.xmin + setback[0], block.ymin + setback[1]
    bx1, by1 = block.xmax - setback[2], block.ymax - setback[3]
    cx = (bx0 + bx1) / 2
    depth = rng.uniform(10.5, 13.0)
    gap = sunlight_coefficient(build_year, rng) * SLAB_FLOORS * elevators.FLOOR_HEIGHT_M
    half_width = (bx1 - bx0) / 2 - LANE_HALF_WIDTH - MARGIN
    lengths = [length for length in (36.0, 48.0, 60.0, 72.0) if length <= half_width]
    length = float(rng.choice(lengths)) if lengths else half_width
    per_half = max(1, int((half_width + 10.0) // (length + 10.0)))
    # Fewer buildings a row in small estates, so that they grow north rather than wide.
    per_half = min(per_half, max(1, int(np.ceil(target / 6))))
    slots: list[tuple[tuple[float, float, float, float], float]] = []
    row_y = y0 + MARGIN + gap / 2
    while row_y + depth <= by1 - MARGIN:
        for k in range(per_half):
            left = (cx - LANE_HALF_WIDTH - (k + 1) * length - k * 10.0, row_y)
            right = (cx + LANE_HALF_WIDTH + k * (length + 10.0), row_y)
            slots.extend(((sx, sy, sx + length, sy + depth), row_y - gap / 2)
                         for sx, sy in (left, right))  # fmt: skip
        row_y += depth + gap
    n = min(target, len(slots))
    spare = min(len(slots) - n, int(rng.integers(0, 3)))  # room left inside: idle parcels
    rects = [r for r, _ in slots[: n + spare]] or [(cx - 20, y0 + MARGIN, cx + 20, y0 + 30)]
    side, north = rng.uniform(4.0, 10.0), rng.uniform(1.0, 8.0)
    x0 = max(bx0, min(r[0] for r in rects) - side)
    x1 = min(bx1, max(r[2] for r in rects) + side)
    y1 = min(by1, max(r[3] for r in rects) + north)
    polygon = shapely.box(x0, y0, x1, y1)
    notch = None
    if rng.random() < 0.25:  # an L-shaped estate: a north corner belongs to something else
        w = (x1 - x0) * rng.uniform(0.25, 0.42)
        h = (y1 - y0) * rng.uniform(0.25, 0.45)
        corner = (x1 - w, y1 - h, x1, y1) if rng.random() < 0.5 else (x0, y1 - h, x0 + w, y1)
        if not any(shapely.intersects(shapely.box(*r), shapely.box(*corner)) for r in rects):
            notch = corner
            polygon = shapely.difference(polygon, shapely.box(*notch))
    layout = Layout(estate_id, (int(block.i), int(block.j)), x0, y0, x1, y1, cx,
                    float(block.road_y), notch)  # fmt: skip
    layout.buildings = [r for r, _ in slots[:n]]
    layout.gap_ys = [g for _, g in slots[:n]]
    layout.free = [r for r, _ in slots[n : n + spare]]
    layout.cramped = [k for k, r in enumerate(layout.buildings) if not _shaft_fits(r, layout)]
    if build_year < 1990 and rng.random() < 0.6:
        _add_infill(layout, rng)
    return layout, polygon


def _add_infill(layout: Layout, rng: np.random.Generator) -> None:
    """One to four low buildings (boiler rooms, sheds, shops) a few metres north of slabs.

    The 1950s-80s estates grew them so; they leave no room for an elevator shaft there.
    """
    slabs = list(layout.buildings)
    for k in rng.choice(len(slabs), size=min(len(slabs), int(rng.integers(1, 5))), replace=False):
        sx0, _, sx1, sy1 = slabs[int(k)]
        width, deep = rng.uniform(12.0, 26.0), rng.uniform(5.0, 8.0)
        mid = (sx0 + sx1) / 2 + rng.uniform(-6.0, 6.0)
        south = sy1 + rng.uniform(2.5, 5.5)
        rect = (mid - width / 2, south, mid + width / 2, south + deep)
        inside = (
            layout.xmin + 1 < rect[0] and rect[2] < layout.xmax - 1 and rect[3] < layout.ymax - 1
        )
        notch = layout.notch
        if not inside or (notch is not None and _gap(rect, notch) == 0):
            continue
        if any(_gap(rect, o) < 3.0 for o in layout.buildings if o is not slabs[int(k)]):
            continue
        layout.buildings.append(rect)
        # Its branch leaves the estate main at a node of its own, or one a metre away.
        lane_y = next((g for g in layout.gap_ys if abs(g - (south - 1.0)) < 1.0), south - 1.0)
        layout.gap_ys.append(lane_y)
        layout.low.append(len(layout.buildings) - 1)
        clearance = SCREENING["min_clearance_m"]
        layout.cramped += [
            j for j, slab in enumerate(slabs) if _gap(_shaft(slab), rect) < clearance
        ]


Box = tuple[float, float, float, float]


def _gap(a: Box, b: Box) -> float:
    """The distance between two upright boxes (0 where they touch or overlap)."""
    dx = max(0.0, b[0] - a[2], a[0] - b[2])
    dy = max(0.0, b[1] - a[3], a[1] - b[3])
    return float(np.hypot(dx, dy))


def _shaft(slab: Box) -> Box:
    """The elevator screening's default shaft, outside the middle of the north side."""
    mid = (slab[0] + slab[2]) / 2
    half, depth = SCREENING["shaft_width_m"] / 2, SCREENING["shaft_depth_m"]
    return (mid - half, slab[3], mid + half, slab[3] + depth)


def _shaft_fits(slab: Box, layout: Layout) -> bool:
    """Whether that shaft stands inside the red line (the box less its notch)."""
    x0, y0, x1, y1 = _shaft(slab)
    inside = layout.xmin < x0 and x1 < layout.xmax and layout.ymin < y0 and y1 < layout.ymax
    return inside and (layout.notch is None or _gap((x0, y0, x1, y1), layout.notch) > 0)


def _renovation_items(rng: np.random.Generator, n: int, heating: bool) -> list[list[str]]:
    codes = [c for c in RENOVATION_ITEM.codes if heating or c != "heating"]
    p = np.array(
        [{"basic": 0.45, "improvement": 0.3, "upgrade": 0.12}[ITEM_CATEGORY[c]] for c in codes]
    )
    p[codes.index("energy_retrofit")] = 0.9
    p[codes.index("elevator")] = 0.45
    picks = rng.random((n, len(codes))) < p
    return [[c for c, ok in zip(codes, row, strict=True) if ok] for row in picks]


def _category(items: list[str]) -> str | None:
    tiers = [ITEM_CATEGORY[i] for i in items]
    for tier in ("upgrade", "improvement", "basic"):
        if tier in tiers:
            return tier
    return None


def _floors(rng: np.random.Generator, n: int) -> np.ndarray:
    choice = weighted(
        rng,
        {"1-3": 1, "4": 10, "5": 16, "6": 50, "7": 6, "8-11": 6, "12-18": 9},
        n,
    )
    floors = np.empty(n, dtype=int)
    for label, lo, hi in (("1-3", 1, 3), ("8-11", 8, 11), ("12-18", 12, 18)):
        mask = choice == label
        floors[mask] = rng.integers(lo, hi + 1, mask.sum())
    for label in ("4", "5", "6", "7"):
        floors[choice == label] = int(label)
    return floors


def make_estates(
    blocks: pd.DataFrame, streets: pd.DataFrame, count: int, city: SampleCity,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Layout]]:  # fmt: skip
    """Pick ``count`` blocks (denser in the urban cores) and build an estate in each."""
    if count > len(blocks):
        raise ValueError(f"the sample city has room for {len(blocks)} estates, not {count}")
    p = blocks.density.to_numpy() ** 2
    picked = blocks.iloc[np.sort(rng.choice(len(blocks), size=count, replace=False, p=p / p.sum()))]
    picked = picked.sort_values(["district_code", "street_code", "i", "j"]).reset_index(drop=True)
    street_names = dict(zip(streets.code, streets.name_zh, strict=True))

    targets = np.clip(np.round(rng.lognormal(np.log(8.5), 0.55, count)), 1, 40).astype(int)
    build_years = np.clip(np.round(rng.normal(1986, 8.5, count)), 1955, 2000).astype(int)
    layouts, polygons = [], []
    for k, (_, block) in enumerate(picked.iterrows()):
        layout, polygon = _layout(k + 1, block, int(targets[k]), int(build_years[k]), rng)
        layouts.append(layout)
        polygons.append(polygon)

    estates = pd.DataFrame({"id": np.arange(1, count + 1)})
    seq = picked.groupby("street_code").cumcount() + 1
    estates["code"] = [f"{s}-{n:03d}" for s, n in zip(picked.street_code, seq, strict=True)]
    stems = rng.integers(0, len(city.name_stems), count)
    suffixes = rng.integers(0, len(NAME_SUFFIXES), count)
    names = [city.name_stems[a] + NAME_SUFFIXES[b] for a, b in zip(stems, suffixes, strict=True)]
    dup = pd.Series(names).groupby(pd.Series(names)).cumcount()
    estates["name_zh"] = [n if d == 0 else f"{n}{d + 1}区" for n, d in zip(names, dup, strict=True)]
    estates["district_code"] = picked.district_code.to_numpy()
    estates["street_code"] = picked.street_code.to_numpy()
    estates["address"] = [
        f"{street_names[s]}{n}" for s, n in zip(estates.street_code, estates.name_zh, strict=True)
    ]
    estates["status"] = weighted(
        rng,
        {"candidate": 10, "reserve": 24, "planned": 14, "in_progress": 14, "completed": 26,
         "accepted": 12},
        count,
    )  # fmt: skip
    estates["build_year"] = build_years
    nature = weighted(
        rng,
        {"reform_sold": 40, "unit_self_managed": 15, "commodity": 11, "directly_managed_public": 8,
         "resettlement": 12, "affordable": 5, "mixed": 9},
        count,
    )  # fmt: skip
    estates["property_nature"] = nature
    estates["owner_level"] = weighted(
        rng, {"central": 20, "municipal": 30, "district": 30, "military": 5, "none": 15}, count
    )
    items = _renovation_items(rng, count, city.heating)
    estates["renovation_items"] = items
    estates["renovation_category"] = [_category(i) for i in items]
    estates["owners_committee"] = rng.random(count) < 0.28
    estates["property_service"] = weighted(
        rng,
        {"professional": 38, "trust": 6, "work_unit": 18, "self_managed": 12,
         "street_interim": 16, "none": 10},
        count,
    )  # fmt: skip
    estates["green_ratio"] = np.round(rng.uniform(0.12, 0.36, count), 3)
    estates["contact"] = person_names(rng, count)
    geoms = np.array(
        [shapely.MultiPolygon([p]) if p.geom_type == "Polygon" else p for p in polygons]
    )
    estates["area_m2"] = np.round(shapely.area(geoms), 1)

    buildings = _buildings(estates, layouts, rng)
    per_estate = buildings.groupby("estate_id").agg(
        households=("households", "sum"),
        floor_area_m2=("floor_area_m2", "sum"),
        building_count=("id", "count"),
    )
    estates = estates.join(per_estate, on="id")
    for column in ("households", "building_count"):
        estates[column] = estates[column].fillna(0).astype(int)
    estates["floor_area_m2"] = estates.floor_area_m2.fillna(0.0).round(1)
    initial = np.round(estates.floor_area_m2 * rng.uniform(25, 55, count), -2)
    estates["maintenance_fund_initial"] = initial
    estates["maintenance_fund_balance"] = np.round(initial * rng.beta(2.2, 2.0, count), -2)
    estates["geometry"] = geoms
    return estates, buildings, layouts


def _buildings(
    estates: pd.DataFrame, layouts: list[Layout], rng: np.random.Generator
) -> pd.DataFrame:
    rects = [(lay.estate_id, k, r) for lay in layouts for k, r in enumerate(lay.buildings)]
    low = np.array([k in lay.low for lay in layouts for k in range(len(lay.buildings))], bool)
    n = len(rects)
    estate_ids = np.array([e for e, _, _ in rects])
    boxes = np.array([r for _, _, r in rects])
    year_of = dict(zip(estates.id, estates.build_year, strict=True))
    floors = _floors(rng, n)
    floors[low] = rng.integers(1, 3, int(low.sum()))
    lengths = boxes[:, 2] - boxes[:, 0]
    units = np.clip(np.round(lengths / 13.0), 1, 6).astype(int)
    per_landing = rng.choice([2, 2, 3], size=n)
    # Walk-ups have no elevator; tall blocks were built with one.
    has_elevator = np.where(floors >= 8, rng.random(n) < 0.95, rng.random(n) < 0.01)
    footprint = lengths * (boxes[:, 3] - boxes[:, 1])
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "estate_id": estate_ids,
            "name_zh": [f"{k + 1}号楼" for _, k, _ in rects],
            "floors": floors,
            "has_elevator": has_elevator,
            "build_year": [
                int(min(2000, year_of[e] + d))
                for e, d in zip(estate_ids, rng.integers(-2, 4, n), strict=True)
            ],
            "units": units,
            "households": np.where(low, 0, floors * units * per_landing),
            "structure": np.where(
                floors <= 6,
                np.where(rng.random(n) < 0.9, "brick_concrete", "brick_wood"),
                np.where(floors >= 12, "shear_wall", "frame"),
            ),
            "floor_area_m2": np.round(footprint * floors, 1),
        }
    )
    frame["geometry"] = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
    return frame


ELEVATOR_STAGES = {
    "requested": 17, "consulting": 13, "designing": 10, "publicised": 6, "approved": 7,
    "under_construction": 10, "in_service": 27, "suspended": 4,
}  # fmt: skip
# Where a shaft has no room the process ends as not feasible, or stalls (residents withdraw).
CRAMPED_STAGES = {"not_feasible": 75, "suspended": 15, "requested": 10}
_STAGE_ORDER = ("requested", "consulting", "designing", "publicised", "approved",
                "under_construction", "in_service")  # fmt: skip


def make_elevator_retrofits(
    estates: pd.DataFrame, buildings: pd.DataFrame, cramped: set[int],
    rng: np.random.Generator, today: dt.date,
) -> pd.DataFrame:  # fmt: skip
    """Retrofit records for about one in eight walk-ups of 4-7 floors without an elevator.

    Buildings with no room for a shaft (``cramped``) apply more often, as residents of the
    tight old estates do, and mostly end ``not_feasible``; consent follows the stage.
    """
    eligible = buildings[(buildings.floors.between(4, 7)) & ~buildings.has_elevator]
    tight = eligible.id.isin(cramped).to_numpy()
    chosen = eligible[rng.random(len(eligible)) < np.where(tight, 0.3, 0.12)]
    chosen = chosen.reset_index(drop=True)
    n = len(chosen)
    tight = chosen.id.isin(cramped).to_numpy()
    stages = np.where(tight, weighted(rng, CRAMPED_STAGES, n), weighted(rng, ELEVATOR_STAGES, n))
    requested = random_dates(rng, dt.date(2017, 3, 1), today - dt.timedelta(days=30), n)
    # Plain dicts and tuples: a pandas row and cell lookup per retrofit cost more than the rest.
    district_of = dict(zip(estates.id, estates.district_code, strict=True))
    address_of = dict(zip(estates.id, estates.address, strict=True))
    rows = []
    for k, b in enumerate(chosen.itertuples(index=False)):
        stage = stages[k]
        on = requested[k]
        history = [{"stage": "requested", "on": on.isoformat()}]
        dates: dict[str, dt.date | None] = dict.fromkeys(
            ("approved_on", "construction_started_on", "in_service_on")
        )
        path = (
            _STAGE_ORDER[: _STAGE_ORDER.index(stage) + 1]
            if stage in _STAGE_ORDER
            else (_STAGE_ORDER[: int(rng.integers(1, 4))] + (stage,))
        )
        for step in path[1:]:
            on = min(today, on + dt.timedelta(days=int(rng.integers(20, 120))))
            history.append({"stage": step, "on": on.isoformat()})
            key = {"approved": "approved_on", "under_construction": "construction_started_on",
                   "in_service": "in_service_on"}.get(step)  # fmt: skip
            if key:
                dates[key] = on
        feasible = stage != "not_feasible"
        elevators = int(b.units) if feasible else 0
        rows.append(
            {
                "building_id": int(b.id),
                "estate_id": int(b.estate_id),
                "district_code": district_of[b.estate_id],
                "stage": stage,
                "stair_climbing_aid": (not feasible) and bool(rng.random() < 0.85),
                "elevators": elevators,
                "address": f"{address_of[b.estate_id]}{b.name_zh}",
                "requested_on": requested[k],
                **dates,
                "households_served": int(b.households * (b.floors - 1) / b.floors),
                "consent_ratio": _consent(stage, rng),
                "subsidy_cny": 240_000.0 * elevators if stage == "in_service" else None,
                "stage_history": history,
                "applicant_contact": f"1{int(rng.integers(3, 9))}{int(rng.integers(10**8, 10**9))}",
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", np.arange(1, n + 1))
    # At the middle of the north facade (the stair side), where the shaft goes.
    boxes = shapely.bounds(chosen.geometry.to_numpy())
    frame["geometry"] = shapely.points((boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3] - 0.5)
    return frame


def _consent(stage: str, rng: np.random.Generator) -> float:
    """Owners agreeing: still gathered at first, short where they withdrew, else two thirds."""
    ranges = {"requested": (0.35, 1.0), "consulting": (0.45, 1.0),
              "suspended": (0.3, elevators.CONSENT_NEEDED - 0.01)}  # fmt: skip
    low, high = ranges.get(stage, (elevators.CONSENT_NEEDED, 1.0))
    return round(float(rng.uniform(low, high)), 3)


def make_health_checks(
    estates: pd.DataFrame, city: SampleCity, rng: np.random.Generator
) -> pd.DataFrame:
    checked = estates[estates.status != "candidate"].reset_index(drop=True)
    n = len(checked)
    findings = [
        sorted(rng.choice(city.findings, size=int(rng.integers(2, 7)), replace=False).tolist())
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "estate_id": checked.id.to_numpy(),
            "checked_on": random_dates(rng, dt.date(2019, 3, 1), dt.date(2025, 12, 31), n),
            "score": np.round(rng.uniform(38, 92, n), 1),
            "findings": findings,
            "inspector": rng.choice(city.inspectors, size=n),
        }
    )
