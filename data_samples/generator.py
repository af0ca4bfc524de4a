"""The deterministic sample city: ``generate_city(scale, seed, city)`` returns every layer's rows.

Same scale, seed and city, same data, byte for byte (see ``checksum``). At scale 1.0 Beijing has
about 6,100 estates, 55,000 buildings and 600,000 pipe segments inside its real district
outlines; the other cities are in ``data_samples.sample_city``. Tests use small scales.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import shapely

from data_samples import community, estates, frame, networks, workflow
from data_samples.sample_city import sample_city
from layers import REGISTRY, GeometryType

SAMPLE_TODAY = dt.date(2026, 11, 1)  # fixed, so the data does not depend on the day it is made

City = dict[str, pd.DataFrame]


def generate_city(scale: float = 1.0, seed: int = 42, city_name: str = "beijing") -> City:
    """Every layer of a sample city as DataFrames; geometry in EPSG:4326 in ``geometry``."""
    if not 0 < scale <= 1.5:
        raise ValueError("scale must be in (0, 1.5]")
    city = sample_city(city_name)
    count = {kind: round(n * scale) for kind, n in city.per_scale.items()}
    rng = np.random.default_rng(seed)
    districts = frame.load_districts(city)
    streets = frame.make_streets(districts, city, rng)
    streets["responsible_planner"] = workflow.responsible_planners(streets, rng)
    centres = frame.urban_centres(city)
    grid = frame.make_grid(centres, city, rng)
    roads = frame.make_roads(grid, centres, city)
    blocks = frame.assign_streets(frame.make_blocks(grid, centres, city), streets)

    n_estates = max(4, count["estates"])
    estate_rows, buildings, layouts = estates.make_estates(blocks, streets, n_estates, city, rng)
    retrofits = estates.make_elevator_retrofits(
        estate_rows, buildings, estates.cramped_buildings(layouts), rng, SAMPLE_TODAY
    )
    in_service = retrofits.building_id[retrofits.stage == "in_service"]
    buildings.loc[buildings.id.isin(in_service), "has_elevator"] = True
    health = estates.make_health_checks(estate_rows, city, rng)

    batches = workflow.make_plan_batches(districts, SAMPLE_TODAY.year)
    estate_rows["plan_batch_id"] = workflow.assign_batches(estate_rows, batches, rng)
    projects, project_of = workflow.make_projects(
        estate_rows, batches, city.profile.name_zh, rng, SAMPLE_TODAY
    )
    estate_rows["project_id"] = project_of
    opinions = workflow.make_opinions(projects, streets, rng, SAMPLE_TODAY)
    history = workflow.make_batch_moves(estate_rows, batches, rng)

    gates = {lay.block: lay.cx for lay in layouts}
    roads = _roads_near(roads, layouts)
    centre = (float(centres[0, 0]), float(centres[0, 1]))
    pipes = pd.concat(
        [
            networks.road_mains(grid, roads, gates, centre, city.utilities, rng),
            networks.estate_networks(layouts, estate_rows, centre, city.utilities, rng),
        ],
        ignore_index=True,
    )
    pipes.insert(0, "id", np.arange(1, len(pipes) + 1))

    outside = blocks[[(i, j) not in gates for i, j in zip(blocks.i, blocks.j, strict=True)]]
    idle = community.make_idle_parcels(layouts, estate_rows, count["idle_parcels"], rng)
    services = community.make_service_facilities(
        layouts, outside, estate_rows, count["service_facilities"], rng
    )
    issues = community.make_governance_issues(
        layouts, count["governance_issues"], rng, SAMPLE_TODAY
    )
    requests = community.make_resident_requests(
        layouts, count["resident_requests"], city, rng, SAMPLE_TODAY
    )

    roads = roads.drop(columns=["orientation", "i", "j"])
    roads.insert(0, "id", np.arange(1, len(roads) + 1))
    roads["name_zh"] = _road_names(roads, city.name_stems, rng)
    tables: City = {
        "districts": districts.assign(id=np.arange(1, len(districts) + 1)),
        "streets": streets.assign(id=np.arange(1, len(streets) + 1)),
        "roads": roads,
        "plan_batches": batches,
        "projects": projects,
        "estates": estate_rows,
        "buildings": buildings,
        "elevator_retrofits": retrofits,
        "health_checks": health,
        "pipelines": pipes,
        "idle_parcels": idle,
        "service_facilities": services,
        "governance_issues": issues,
        "resident_requests": requests,
        "opinions": opinions,
        "change_history": history,
    }
    for name, table in tables.items():
        if "geometry" in table:
            geoms = np.asarray(table["geometry"].to_numpy())
            table = pd.DataFrame(table.drop(columns="geometry"))
            if REGISTRY[name].geometry_type is GeometryType.MULTIPOLYGON:
                geoms = np.array([_as_multipolygon(g) for g in geoms], dtype=object)
            table["geometry"] = frame.to_wgs84(geoms, city.local_epsg)
            tables[name] = table
    return tables


def _as_multipolygon(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type == "MultiPolygon":
        return geom
    return shapely.MultiPolygon([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])


ROAD_REACH_M = 600.0


def _roads_near(roads: pd.DataFrame, layouts: list[estates.Layout]) -> pd.DataFrame:
    """The roads within ``ROAD_REACH_M`` of an estate: the network the sample city needs."""
    centres = shapely.points([((lay.xmin + lay.xmax) / 2, (lay.ymin + lay.ymax) / 2)
                              for lay in layouts])  # fmt: skip
    tree = shapely.STRtree(centres)
    near = tree.query(roads.geometry.to_numpy(), predicate="dwithin", distance=ROAD_REACH_M)
    return roads.iloc[np.unique(near[0])].reset_index(drop=True)


def _road_names(roads: pd.DataFrame, stems: tuple[str, ...], rng: np.random.Generator) -> list[str]:
    suffix = {"arterial": "大街", "secondary": "路", "local": "胡同"}
    picks = rng.integers(0, len(stems), len(roads))
    return [stems[s] + suffix[c] for s, c in zip(picks, roads.road_class, strict=True)]


def checksum(city: City) -> str:
    """SHA-256 over every layer's rows in a canonical text form (geometry as WKB hex)."""
    digest = hashlib.sha256()
    for name in sorted(city):
        table = city[name]
        digest.update(name.encode())
        for column in table.columns:
            values = table[column].to_numpy()
            if column == "geometry":
                text = "\n".join(shapely.to_wkb(values, hex=True))
            else:
                text = json.dumps([_canonical(v) for v in values], ensure_ascii=False)
            digest.update(column.encode())
            digest.update(text.encode())
    return digest.hexdigest()


def _canonical(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
