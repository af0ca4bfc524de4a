"""The city's frame: real districts, streets, the road grid and the blocks between roads.

Streets are Voronoi cells under the real township names. All geometry is in the city's metres
(``SampleCity.local_epsg``) until the very end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_samples.sample_city import SampleCity
from spatial.crs import transformer
from spatial.gdal import pyogrio


@dataclass
class Grid:
    """An irregular rectangular road grid: line positions and the class of each line."""

    xs: np.ndarray
    ys: np.ndarray
    x_class: np.ndarray
    y_class: np.ndarray


def load_districts(city: SampleCity) -> gpd.GeoDataFrame:
    districts = pyogrio.read_dataframe(city.districts_file).to_crs(city.local_epsg)
    return districts.sort_values("code").reset_index(drop=True)


def _random_points_in(polygon: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        pts = np.column_stack([rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n)])
        inside = shapely.contains_xy(polygon, pts[:, 0], pts[:, 1])
        found.append(pts[inside])
        count += int(inside.sum())
    return np.concatenate(found)[:n]


def _voronoi_cells(polygon: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Voronoi cells of ``seeds`` clipped to ``polygon``, in the order of the seeds.

    Only the cells that reach the outline are cut: cutting one against a detailed district
    outline was most of a small city's generation (0.8 of 2.2 s at scale 0.02).
    """
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=polygon)
    )
    tree = shapely.STRtree(cells)
    point_idx, cell_idx = tree.query(shapely.points(seeds), predicate="within")
    ordered = np.full(len(seeds), cells[0], dtype=object)
    ordered[point_idx] = cells[cell_idx]
    shapely.prepare(polygon)
    reaching = ~shapely.contains_properly(polygon, ordered)
    ordered[reaching] = shapely.intersection(ordered[reaching], polygon)
    return list(ordered)


def make_streets(
    districts: gpd.GeoDataFrame, city: SampleCity, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """One cell per real township-level unit, made even by a few rounds of Lloyd relaxation."""
    names = pd.DataFrame(json.loads(city.streets_file.read_text(encoding="utf-8")))
    rows = []
    for district in districts.itertuples():
        units = names[names.district_code == district.code].sort_values("code")
        seeds = _random_points_in(district.geometry, len(units), rng)
        # Relaxation needs only the cells' centroids: a 50 m outline does for it.
        outline = shapely.simplify(district.geometry, 50)
        for _ in range(4):
            cells = _voronoi_cells(outline, seeds)
            seeds = np.array([shapely.get_coordinates(c.centroid)[0] for c in cells])
            inside = shapely.contains_xy(district.geometry, seeds[:, 0], seeds[:, 1])
            if not inside.all():  # a centroid of a concave cell fell outside: keep a point
                seeds[~inside] = [
                    shapely.get_coordinates(c.point_on_surface())[0]
                    for c, ok in zip(cells, inside, strict=True)
                    if not ok
                ]
        cells = _voronoi_cells(district.geometry, seeds)
        for unit, cell in zip(units.itertuples(), cells, strict=True):
            rows.append((unit.code, unit.name_zh, district.code, shapely.make_valid(cell)))
    frame = pd.DataFrame(rows, columns=["code", "name_zh", "district_code", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=districts.crs)


def urban_centres(city: SampleCity) -> np.ndarray:
    """The urban areas as rows of (x, y, radius, density) in metres."""
    to_local = transformer(4326, city.local_epsg)
    areas = np.array(city.urban_areas)
    x, y = to_local.transform(areas[:, 0], areas[:, 1])
    return np.column_stack([x, y, areas[:, 2], areas[:, 3]])


def urban_density(x: np.ndarray, y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Density of old estates at points: the strongest urban area covering each point."""
    # One centre at a time: the same arithmetic as a points × centres matrix, without
    # allocating four of them (a quarter of a small sample's generation time).
    density = np.zeros(len(x))
    for cx, cy, radius, peak in centres:
        d = np.hypot(x - cx, y - cy)
        falloff = 1.0 - 0.5 * d / radius  # denser towards each centre
        np.maximum(density, np.where(d < radius, peak * falloff, 0.0), out=density)
    return density


def make_grid(centres: np.ndarray, city: SampleCity, rng: np.random.Generator) -> Grid:
    xmin = (centres[:, 0] - centres[:, 2]).min()
    xmax = (centres[:, 0] + centres[:, 2]).max()
    ymin = (centres[:, 1] - centres[:, 2]).min()
    ymax = (centres[:, 1] + centres[:, 2]).max()

    def lines(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        shortest, longest = city.grid_spacing_m
        steps = rng.uniform(shortest, longest, size=int((hi - lo) / shortest) + 2)
        pos = lo + np.concatenate([[0.0], np.cumsum(steps)])
        pos = pos[pos <= hi + longest]
        idx = np.arange(len(pos))
        cls = np.where(
            idx % city.arterial_every == 0, "arterial", np.where(idx % 3 == 0, "secondary", "local")
        )
        return pos, cls

    xs, x_class = lines(xmin, xmax)
    ys, y_class = lines(ymin, ymax)
    return Grid(xs, ys, x_class, y_class)


def make_roads(grid: Grid, centres: np.ndarray, city: SampleCity) -> gpd.GeoDataFrame:
    """Road centre lines: every grid edge whose midpoint lies in an urban area."""
    xs, ys = grid.xs, grid.ys
    # horizontal edges: along y = ys[j], from xs[i] to xs[i+1]
    hi, hj = (a.ravel() for a in np.meshgrid(np.arange(len(xs) - 1), np.arange(len(ys)),
                                             indexing="ij"))  # fmt: skip
    h_coords = np.stack(
        [np.column_stack([xs[hi], ys[hj]]), np.column_stack([xs[hi + 1], ys[hj]])], axis=1
    )
    vi, vj = (a.ravel() for a in np.meshgrid(np.arange(len(xs)), np.arange(len(ys) - 1),
                                             indexing="ij"))  # fmt: skip
    v_coords = np.stack(
        [np.column_stack([xs[vi], ys[vj]]), np.column_stack([xs[vi], ys[vj + 1]])], axis=1
    )
    frame = pd.DataFrame(
        {
            "orientation": np.r_[np.full(len(hi), "h"), np.full(len(vi), "v")],
            "i": np.r_[hi, vi],
            "j": np.r_[hj, vj],
            "road_class": np.r_[grid.y_class[hj], grid.x_class[vi]],
        }
    )
    coords = np.concatenate([h_coords, v_coords])
    mid = coords.mean(axis=1)
    keep = urban_density(mid[:, 0], mid[:, 1], centres) > 0
    frame, coords = frame[keep].reset_index(drop=True), coords[keep]
    frame["width_m"] = frame.road_class.map(city.road_width_m)
    geoms = shapely.linestrings(coords)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=city.local_epsg)


def make_blocks(grid: Grid, centres: np.ndarray, city: SampleCity) -> pd.DataFrame:
    """Blocks between roads (inset by half the road widths) with their urban density."""
    columns, rows = np.arange(len(grid.xs) - 1), np.arange(len(grid.ys) - 1)
    bi, bj_ = (a.ravel() for a in np.meshgrid(columns, rows, indexing="ij"))
    half = {k: v / 2 for k, v in city.road_width_m.items()}
    inset = np.vectorize(half.__getitem__)
    blocks = pd.DataFrame(
        {
            "i": bi,
            "j": bj_,
            "xmin": grid.xs[bi] + inset(grid.x_class[bi]),
            "xmax": grid.xs[bi + 1] - inset(grid.x_class[bi + 1]),
            "ymin": grid.ys[bj_] + inset(grid.y_class[bj_]),
            "ymax": grid.ys[bj_ + 1] - inset(grid.y_class[bj_ + 1]),
            "road_y": grid.ys[bj_],  # the road along the south side, where the gate is
        }
    )
    cx = (blocks.xmin + blocks.xmax).to_numpy() / 2
    cy = (blocks.ymin + blocks.ymax).to_numpy() / 2
    blocks["density"] = urban_density(cx, cy, centres)
    return blocks[blocks.density > 0].reset_index(drop=True)


def assign_streets(blocks: pd.DataFrame, streets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Keep the blocks lying wholly inside one street, and name that street."""
    boxes = shapely.box(blocks.xmin, blocks.ymin, blocks.xmax, blocks.ymax)
    tree = shapely.STRtree(streets.geometry.values)
    box_idx, street_idx = tree.query(boxes, predicate="within")
    inside = blocks.iloc[box_idx].copy()
    inside["street_code"] = streets.code.to_numpy()[street_idx]
    inside["district_code"] = streets.district_code.to_numpy()[street_idx]
    return inside.sort_values(["i", "j"]).reset_index(drop=True)


def to_wgs84(geoms: np.ndarray, local_epsg: int, decimals: int = 7) -> np.ndarray:
    """Local metres to EPSG:4326, rounded to about a centimetre so checksums are stable."""
    to_lonlat = transformer(local_epsg, 4326)

    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return shapely.transform(np.asarray(geoms), project)
