"""Samples larger than one city: the city's sample, then copies of it displaced to new places.

A national programme is many cities at a city's density, not one city forty times denser, so
``--scale`` above what one city holds (``ONE_CITY``) makes ``ceil(scale)`` parts: the real city
first, then copies generated with other seeds and moved on a grid of 2.5° × 2° steps, their
ids continued and their administrative codes given a prefix of their own (two digits in
place of the province's, ``01``–``40``, never the real city's own). A tile, a district or a
bbox page then holds what it holds at scale 1, and only the totals grow.

Parts are streamed: the next one is generated in a child process while the caller loads this
one, so memory stays at about two parts whatever the scale.
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from data_samples.generator import City, generate_city
from layers import REGISTRY

ONE_CITY = 1.5  # the largest scale one city's blocks hold
PART = 1.0  # the scale of each part when there are several
MAX_SCALE = 40.0
STEP_DEG = (2.5, 2.0)  # lon, lat between copies: wider than a city


@dataclass(frozen=True)
class Part:
    index: int  # 0 is the real city
    count: int
    tables: City


def part_scales(scale: float, part: float = PART) -> list[float]:
    """One part up to ``ONE_CITY`` parts' worth, else equal parts of at most ``part``."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be in (0, {MAX_SCALE:g}]")
    parts = 1 if scale <= ONE_CITY * part else math.ceil(scale / part)
    return [scale / parts] * parts


def generate_parts(
    scale: float, seed: int = 42, city_name: str = "beijing", part: float = PART
) -> Iterator[Part]:
    """The sample at ``scale`` part by part; one part is ``generate_city(scale, seed, city)``."""
    scales = part_scales(scale, part)
    if len(scales) == 1:
        yield Part(0, 1, generate_city(scale, seed, city_name))
        return
    offsets = dict.fromkeys(REGISTRY, 0)
    spawn = multiprocessing.get_context("spawn")  # no inherited connections or threads
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        pending = pool.submit(generate_city, scales[0], seed, city_name)
        for index in range(len(scales)):
            tables = pending.result()
            if index + 1 < len(scales):
                pending = pool.submit(generate_city, scales[index + 1], seed + index + 1,
                                      city_name)  # fmt: skip
            if index:
                displace(tables, index, offsets)
            for name, table in tables.items():
                offsets[name] = max(offsets[name], int(table["id"].max()) if len(table) else 0)
            yield Part(index, len(scales), tables)


def grid_position(index: int) -> tuple[int, int]:
    """The ``index``-th place nearest the real city (0, 0), going west, east and south."""
    places = sorted(((i, j) for i in range(-4, 5) for j in range(-10, 1)),
                    key=lambda p: (p[0] ** 2 + p[1] ** 2, p[1], p[0]))  # fmt: skip
    return places[index]


def displace(tables: City, index: int, offsets: dict[str, int]) -> None:
    """Make part ``index`` a city of its own: moved, ids after ``offsets``, codes prefixed."""
    i, j = grid_position(index)
    shift = np.array([i * STEP_DEG[0], j * STEP_DEG[1]])
    prefix = code_prefix(index, own=tables["districts"]["code"].iloc[0][:2])
    coded = {(f.references or "").split(".")[0] for layer in REGISTRY.values() for f in layer.fields
             if (f.references or "").endswith(".code")}  # fmt: skip
    for name, table in tables.items():
        layer = REGISTRY[name]
        table["id"] += offsets[name]
        for f in layer.fields:
            if f.name not in table:
                continue
            target = (f.references or "").split(".")
            if target[-1] == "id":
                table[f.name] = _shifted(table[f.name], offsets[target[0]])
            elif target[-1] == "code" or f.name == "code":
                table[f.name] = table[f.name].map(lambda c: c if c is None else prefix + c[2:])
        if name in coded and "name_zh" in table:
            table["name_zh"] = table["name_zh"] + f"·{index + 1}"
        if "geometry" in table:
            geoms = np.asarray(table["geometry"].to_numpy())
            table["geometry"] = shapely.transform(geoms, lambda xy: xy + shift)
    if "change_history" in tables:
        _continue_history(tables["change_history"], offsets)


def code_prefix(index: int, own: str) -> str:
    """The two digits that replace the province's in part ``index``'s codes.

    The part's number, except that the real city's own prefix is passed over: Beijing's is 11,
    and its twelfth part's codes would have been the real city's again.
    """
    number = index + 1 if index >= int(own) else index
    return f"{number:02d}"


def _shifted(column: pd.Series, offset: int) -> pd.Series:
    if column.dtype.kind in "iu":
        return column + offset
    return column.map(lambda v: v if v is None or pd.isna(v) else int(v) + offset)


def _continue_history(history: pd.DataFrame, offsets: dict[str, int]) -> None:
    """Its rows point at features by (layer, id), and name ids in their before/after values."""
    history["feature_id"] = [
        fid + offsets[layer] for layer, fid in zip(history.layer, history.feature_id, strict=True)
    ]
    for column in ("before", "after"):
        history[column] = [
            _shift_ids(values, layer, offsets)
            for layer, values in zip(history.layer, history[column], strict=True)
        ]


def _shift_ids(values: dict | None, layer: str, offsets: dict[str, int]) -> dict | None:
    if not values:
        return values
    fields = REGISTRY[layer].fields_by_name
    out = {}
    for key, value in values.items():
        target = (fields[key].references or "").split(".") if key in fields else []
        shifted = value is not None and len(target) == 2 and target[1] == "id"
        out[key] = value + offsets[target[0]] if shifted else value
    return out
