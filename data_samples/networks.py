"""Pipeline networks: mains along every road and service lines into every estate.

Each network runs at its own offset from the road centre line, the same on horizontal and
vertical roads, so its mains meet at shared nodes and form one connected, noded network.
A main is split where an estate's service line leaves it; the service line crosses the estate
red line to the internal main in the estate's lane, which branches to every building: gas and
drainage round to the north facade, where an added elevator shaft would stand.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely

from data_samples.estates import Layout, weighted
from data_samples.frame import Grid
from layers.vocabulary import MATERIAL_DESIGN_LIFE

OFFSETS = {
    "water_supply": -5.0, "drainage_combined": -2.5, "drainage_sewer": -2.5,
    "drainage_storm": 1.0, "gas": 2.5, "heating": 5.0, "power": -6.5, "telecom": 6.5,
}  # fmt: skip
# Networks that reach most slabs on their north side, where kitchens and bathrooms are: the
# gas pipe on the wall with its risers, the building sewer a few metres out. Per network: the
# share of slabs served so, and the range of metres out from the facade. The rest (and other
# networks) enter from the south.
NORTH_FACADE = {"gas": (0.8, (0.3, 1.5)), "drainage": (0.9, (1.5, 6.0))}
COMBINED_SEWER_RADIUS_M = 8_000.0  # the old core still has combined drainage
CURRENT_YEAR = 2026

_MATERIALS = {  # network -> ((built before, {material: weight}), ...)
    "water_supply": ((1985, {"grey_cast_iron": 55, "asbestos_cement": 10, "galvanized_steel": 35}),
                     (2000, {"ductile_iron": 50, "galvanized_steel": 30, "pe": 20}),
                     (9999, {"pe": 60, "ductile_iron": 40})),
    "drainage": ((1990, {"concrete": 70, "cast_iron_soil": 30}),
                 (9999, {"pvc_u": 50, "concrete": 50})),
    "gas": ((1995, {"steel": 80, "grey_cast_iron": 20}), (9999, {"pe": 70, "steel": 30})),
    "heating": ((9999, {"steel": 100}),),
    "power": ((2000, {"cable_pvc": 100}), (9999, {"cable_xlpe": 100})),
    "telecom": ((2005, {"copper_telecom": 100}), (9999, {"fiber": 100})),
}  # fmt: skip
_DIAMETERS = {  # network family -> (internal, local road, major road) ranges in mm
    "water_supply": ((50, 150), (150, 300), (300, 800)),
    "drainage": ((200, 400), (400, 800), (800, 1800)),
    "gas": ((50, 150), (150, 300), (300, 500)),
    "heating": ((80, 200), (200, 400), (400, 1000)),
    "power": ((0, 0), (0, 0), (0, 0)),
    "telecom": ((0, 0), (0, 0), (0, 0)),
}
_DIAMETER_RANGES = {family: np.array(ranges) for family, ranges in _DIAMETERS.items()}
_DEPTH = {"water_supply": (1.4, 1.8), "drainage": (1.5, 4.0), "gas": (0.9, 1.5),
          "heating": (1.2, 2.2), "power": (0.7, 1.2), "telecom": (0.6, 1.0)}  # fmt: skip


ArrayOrFloat = np.ndarray | float


def family(network: str) -> str:
    return "drainage" if network.startswith("drainage") else network


def _is_combined(
    x: ArrayOrFloat, y: ArrayOrFloat, centre: tuple[float, float]
) -> np.ndarray | np.bool_:
    """Within the old core's combined drainage: arrays of points, or one point's x and y."""
    return np.hypot(x - centre[0], y - centre[1]) < COMBINED_SEWER_RADIUS_M


def _draws(
    network: str, years: np.ndarray, tier: np.ndarray | None, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The random part of ``len(years)`` segments of a network: material, diameter, depth, wear.

    What follows from these (condition, operator) is computed once for all segments by
    ``_columns``: estates add thousands of small batches.
    """
    n = len(years)
    fam = family(network)
    eras = _MATERIALS[fam]
    if not n or years.max() < eras[0][0]:  # all in the first era: the same draws, no masks
        material = weighted(rng, eras[0][1], n)
    else:
        material = np.empty(n, dtype=object)
        lower = np.zeros(n, dtype=bool)
        for before, options in eras:
            mask = (years < before) & ~lower
            material[mask] = weighted(rng, options, int(mask.sum()))
            lower |= mask
    if tier is None:  # an estate's network: the internal range for every segment
        low, high = _DIAMETER_RANGES[fam][0]
        diameter = np.round(rng.uniform(low, high, n) / 10) * 10
    else:
        ranges = _DIAMETER_RANGES[fam][tier]
        diameter = np.round(rng.uniform(ranges[:, 0], ranges[:, 1]) / 10) * 10
    wear = rng.uniform(0.75, 1.25, n)
    lo, hi = _DEPTH[fam]
    return {"material": material, "diameter": diameter, "wear": wear,
            "depth_m": np.round(rng.uniform(lo, hi, n), 2)}  # fmt: skip


def _columns(
    network: np.ndarray, years: np.ndarray, owner: np.ndarray, operators: Mapping[str, str],
    draws: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:  # fmt: skip
    """The pipelines' columns from each segment's network, install year, owner and draws."""
    life = pd.Series(draws["material"]).map(MATERIAL_DESIGN_LIFE).to_numpy()
    ratio = (CURRENT_YEAR - years) / life * draws["wear"]
    condition = np.where(ratio < 0.5, "good", np.where(ratio < 0.85, "fair",
                         np.where(ratio < 1.15, "poor", "critical")))  # fmt: skip
    operator = pd.Series(network).map(operators).to_numpy()
    diameter = draws["diameter"]
    return {
        "network": network,
        "material": draws["material"],
        "diameter_mm": np.where(diameter > 0, diameter, np.nan),
        "install_year": years,
        "condition": condition,
        "owner": owner,
        "operator": np.where(owner == "utility", operator, np.array(None)),
        "depth_m": draws["depth_m"],
    }


def road_mains(
    grid: Grid, roads: pd.DataFrame, gates: dict[tuple[int, int], float],
    centre: tuple[float, float], utilities: Mapping[str, str], rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    """Mains along every road, split where an estate's service line joins.

    One main per network the city has: ``utilities`` maps each network to its operator.
    """
    horizontal = roads.orientation.to_numpy() == "h"
    i, j = roads.i.to_numpy(), roads.j.to_numpy()
    x0 = grid.xs[i]
    y0 = grid.ys[j]
    x1 = np.where(horizontal, grid.xs[np.minimum(i + 1, len(grid.xs) - 1)], x0)
    y1 = np.where(horizontal, y0, grid.ys[np.minimum(j + 1, len(grid.ys) - 1)])
    major = roads.road_class.to_numpy() != "local"
    combined = _is_combined((x0 + x1) / 2, (y0 + y1) / 2, centre)
    gate_x = np.array([gates.get((a, b), np.nan) if h else np.nan
                       for a, b, h in zip(i, j, horizontal, strict=True)])  # fmt: skip
    frames = []
    for network, off in OFFSETS.items():
        if network not in utilities:
            continue
        present = {
            "drainage_combined": combined,
            "drainage_sewer": ~combined,
            "drainage_storm": ~combined & major,
        }.get(network, np.ones(len(roads), dtype=bool))
        split = present & ~np.isnan(gate_x)
        whole = present & np.isnan(gate_x)
        starts = np.r_[
            np.column_stack([x0[whole], y0[whole]]),
            np.column_stack([x0[split], y0[split]]),
            np.column_stack([gate_x[split], y0[split]]),
        ]
        ends = np.r_[
            np.column_stack([x1[whole], y1[whole]]),
            np.column_stack([gate_x[split], y0[split]]),
            np.column_stack([x1[split], y1[split]]),
        ]
        tier = np.r_[major[whole], major[split], major[split]].astype(int) + 1
        coords = np.stack([starts, ends], axis=1) + off
        years = np.clip(np.round(rng.triangular(1955, 1990, CURRENT_YEAR - 1, len(coords))),
                        1955, CURRENT_YEAR - 1).astype(int)  # fmt: skip
        draws = _draws(network, years, tier, rng)
        n = len(coords)
        frame = pd.DataFrame(
            _columns(
                np.full(n, network, dtype=object), years, np.full(n, "utility"), utilities, draws
            )  # fmt: skip
        )
        frame["geometry"] = shapely.linestrings(coords)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def estate_networks(
    layouts: list[Layout], estates: pd.DataFrame, centre: tuple[float, float],
    utilities: Mapping[str, str], rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    """Service line, internal main and building branches of each network in each estate."""
    # Plain dicts: a pandas row lookup per estate cost more than the estate's networks.
    info = estates.set_index("id")[["status", "renovation_items", "build_year"]].to_dict("index")
    renewed_status = {"completed", "accepted"}
    # Each network of each estate: (network, install years, owners, draws).
    batches: list[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
    points: list[tuple[float, float]] = []
    line_of_point: list[int] = []
    line_count = 0
    for lay in layouts:
        row = info[lay.estate_id]
        combined = bool(_is_combined(lay.cx, lay.ymin, centre))
        present = ["water_supply", "drainage_combined" if combined else "drainage_sewer", "gas"]
        present += [n for n, p in (("heating", 0.75), ("power", 0.6), ("telecom", 0.35))
                    if n in utilities and rng.random() < p]  # fmt: skip
        renewed = row["status"] in renewed_status
        for network in present:
            off = OFFSETS[network]
            x = lay.cx + off
            start = (x, lay.ymin + 3.0)
            lines = [[(x, lay.road_y + off), start]]  # the service line across the red line
            node_ys = sorted({g + off * 0.3 for g in lay.gap_ys})
            path = [start, *((x, y) for y in node_ys)]
            lines += [[a, b] for a, b in zip(path, path[1:], strict=False)]
            share, (near, far_out) = NORTH_FACADE.get(family(network), (0.0, (0.0, 0.0)))
            for k, ((bx0, by0, bx1, by1), g) in enumerate(
                zip(lay.buildings, lay.gap_ys, strict=True)
            ):
                y = g + off * 0.3
                if k in lay.low or rng.random() >= share:
                    bx = (bx0 + bx1) / 2 + off * 0.5
                    lines.append([(x, y), (bx, y), (bx, by0)])
                    continue
                # Round the gable nearest the lane, then along the north facade to the far end.
                out = rng.uniform(near, far_out)
                east = bx0 > lay.cx
                gable = bx0 - 1.5 - out / 2 if east else bx1 + 1.5 + out / 2
                end = bx1 - 1.0 if east else bx0 + 1.0
                lines.append([(x, y), (gable, y), (gable, by1 + out), (end, by1 + out)])
            n = len(lines)
            item = family(network) if family(network) != "drainage" else "drainage"
            is_renewed = renewed and item in row["renovation_items"]
            base = int(row["build_year"])
            renewed_years = rng.integers(2019, CURRENT_YEAR, n)  # both drawn, whichever is kept
            years = base + rng.integers(-1, 3, n)
            if is_renewed:
                years = renewed_years
            elif not 1951 <= base <= CURRENT_YEAR - 3:  # one to two years either side
                years = np.clip(years, 1950, CURRENT_YEAR - 1)
            utility_owned = network in ("gas", "power", "telecom") or rng.random() < 0.3
            owner = np.full(n, "utility" if utility_owned else "property_company", dtype=object)
            owner[0] = "utility"  # the service line up to the red line is the utility's
            batches.append((network, years, owner, _draws(network, years, None, rng)))
            for line in lines:
                points.extend(line)
                line_of_point.extend([line_count] * len(line))
                line_count += 1
    network_of_row = np.repeat(np.array([b[0] for b in batches], dtype=object),
                               [len(b[1]) for b in batches])  # fmt: skip
    frame = pd.DataFrame(
        _columns(
            network_of_row,
            np.concatenate([b[1] for b in batches]),
            np.concatenate([b[2] for b in batches]),
            utilities,
            {k: np.concatenate([b[3][k] for b in batches]) for k in batches[0][3]},
        )  # fmt: skip
    )
    # One call for all lines: making them one by one took a tenth of the generator's time.
    frame["geometry"] = shapely.linestrings(np.array(points), indices=np.array(line_of_point))
    return frame
