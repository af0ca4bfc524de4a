"""Samples of any size: the city, then displaced copies, streamed and loaded as one sample."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely

from data_samples.copies import (
    MAX_SCALE,
    STEP_DEG,
    code_prefix,
    displace,
    generate_parts,
    grid_position,
    part_scales,
)
from data_samples.generator import checksum, generate_city
from data_samples.loader import load_parts
from layers import REGISTRY
from tests_support import MIGRATED

PART = 0.02  # tiny parts, so that a scale of 0.05 is three of them


@pytest.fixture(scope="module")
def parts():
    return list(generate_parts(0.05, 7, "beijing", part=PART))


def test_scales_split_into_equal_parts_up_to_forty():
    assert part_scales(1.5) == [1.5]  # one city holds it: the sample is unchanged
    assert part_scales(4) == [1.0] * 4
    assert part_scales(10) == [1.0] * 10
    assert part_scales(2.5) == pytest.approx([2.5 / 3] * 3)
    assert len(part_scales(MAX_SCALE)) == 40
    for wrong in (0, -1, MAX_SCALE + 0.1, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            part_scales(wrong)


def test_the_first_part_is_the_city_itself(parts):
    assert [p.index for p in parts] == [0, 1, 2] and {p.count for p in parts} == {3}
    assert checksum(parts[0].tables) == checksum(generate_city(0.05 / 3, 7))


def test_copies_stand_apart_on_their_own_grid_places(parts):
    places = [grid_position(k) for k in range(40)]
    assert places[0] == (0, 0) and len(set(places)) == 40
    outlines = parts[0].tables["districts"].geometry.to_numpy()  # the same in every part
    city = shapely.union_all(outlines).buffer(1e-6)
    for part in parts[1:]:
        i, j = grid_position(part.index)
        shift = np.array([i * STEP_DEG[0], j * STEP_DEG[1]])
        moved = part.tables["districts"].geometry.to_numpy()
        assert np.allclose(shapely.get_coordinates(moved) - shapely.get_coordinates(outlines),
                           shift)  # fmt: skip
        # everything else moved with them: each estate, moved back, lies in the real city
        copy = part.tables["estates"].geometry.to_numpy()
        back = shapely.transform(copy, lambda xy, s=shift: xy - s)
        assert shapely.covered_by(back, city).all()
        # the boxes of the city and of the copy do not meet
        assert not shapely.intersects(shapely.box(*shapely.total_bounds(outlines)),
                                      shapely.box(*shapely.total_bounds(copy)))  # fmt: skip


def test_ids_continue_and_every_reference_lands_in_the_same_part(parts):
    for name in REGISTRY:
        ids = np.concatenate([p.tables[name].id.to_numpy() for p in parts])
        assert len(np.unique(ids)) == len(ids), name
        assert ids.min() == 1 and ids.max() == len(ids), name  # contiguous: no gaps
    for part in parts:
        t = part.tables
        for name, table in t.items():
            for f in REGISTRY[name].fields:
                target = (f.references or "").split(".")
                if f.name not in table or len(target) != 2:
                    continue
                values = {v for v in table[f.name] if v is not None and v == v}
                assert values <= set(t[target[0]][target[1]]), (part.index, name, f.name)
        history = t["change_history"]
        for layer, fid in zip(history.layer, history.feature_id, strict=True):
            assert fid in set(t[layer].id), (part.index, layer, fid)
        batches = set(t["plan_batches"].id)
        for before, after in zip(history.before, history.after, strict=True):
            assert {before["plan_batch_id"], after["plan_batch_id"]} <= batches


def test_codes_and_names_of_copies_are_their_own(parts):
    codes = [c for p in parts for c in p.tables["districts"].code]
    assert len(set(codes)) == len(codes)
    assert all(c.startswith("11") for c in parts[0].tables["districts"].code)
    for part in parts[1:]:
        prefix = code_prefix(part.index, own="11")
        assert all(c.startswith(prefix) for c in part.tables["estates"].code)
        assert all(n.endswith(f"·{part.index + 1}") for n in part.tables["streets"].name_zh)


@pytest.mark.parametrize("own", ["11", "12", "51", "01"])
def test_every_part_up_to_forty_has_a_prefix_other_than_the_real_citys(own):
    """Part 11's prefix was "11": at scale 12 and over, Beijing's codes came twice."""
    prefixes = [code_prefix(k, own) for k in range(1, len(part_scales(MAX_SCALE)))]
    assert len(set(prefixes)) == len(prefixes) and own not in prefixes
    assert all(len(p) == 2 and p.isdigit() and p != "00" for p in prefixes)


def test_the_twelfth_part_of_beijing_has_codes_of_its_own(parts):
    first = parts[0].tables
    twelfth = {name: table.copy() for name, table in first.items()}
    displace(twelfth, 11, dict.fromkeys(REGISTRY, 10**6))
    for name in ("districts", "streets", "estates"):
        assert not set(first[name].code) & set(twelfth[name].code), name


def test_parts_load_as_one_sample_with_every_key_resolving(parts, scratch_database):
    url = scratch_database("onemap_copies", MIGRATED)
    counts = load_parts(url, parts)
    assert counts["estates"] == sum(len(p.tables["estates"]) for p in parts)
    with psycopg.connect(url) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM buildings b LEFT JOIN estates e ON e.id = b.estate_id "
            "WHERE e.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        wrong_street = conn.execute(
            "SELECT count(*) FROM estates e JOIN streets s ON s.code = e.street_code "
            "WHERE NOT ST_Intersects(s.geom, e.geom)"
        ).fetchone()[0]
        assert wrong_street == 0  # codes and geometry moved together
        next_id = conn.execute("SELECT nextval(pg_get_serial_sequence('estates', 'id'))")
        assert next_id.fetchone()[0] == counts["estates"] + 1
