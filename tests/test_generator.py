import numpy as np
import pytest
import shapely

from data_samples.estates import weighted
from data_samples.generator import checksum, generate_city
from layers import REGISTRY


def test_same_seed_same_city_other_seed_other_city(sample_city, sample_spec):
    scale, seed = sample_spec
    assert checksum(generate_city(scale, seed)) == checksum(sample_city)
    assert checksum(generate_city(scale, seed + 1)) != checksum(sample_city)


def test_every_layer_is_generated_with_registry_fields(sample_city):
    assert set(sample_city) == set(REGISTRY)
    for name, table in sample_city.items():
        layer = REGISTRY[name]
        assert len(table) > 0, name
        unknown = set(table.columns) - {"id", "geometry", *layer.fields_by_name}
        assert not unknown, (name, unknown)
        for f in layer.fields:
            if f.required:
                assert f.name in table and table[f.name].notna().all(), (name, f.name)
            if f.vocabulary is not None and f.name in table and f.type.value == "text":
                values = set(table[f.name].dropna())
                assert values <= set(f.vocabulary.codes), (name, f.name, values)


def test_ids_are_unique_and_references_resolve(sample_city):
    for name, table in sample_city.items():
        assert table["id"].is_unique, name
    estates = set(sample_city["estates"].id)
    assert set(sample_city["buildings"].estate_id) <= estates
    assert set(sample_city["elevator_retrofits"].building_id) <= set(sample_city["buildings"].id)


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        generate_city(0, 1)


@pytest.fixture(scope="module")
def full_city():
    return generate_city(1.0, 42)


@pytest.mark.slow
def test_full_scale_meets_the_city_floors(full_city):
    counts = {name: len(t) for name, t in full_city.items()}
    assert counts["estates"] >= 6_000
    assert counts["buildings"] >= 50_000
    assert counts["pipelines"] >= 300_000
    assert counts["idle_parcels"] >= 3_000
    assert counts["service_facilities"] >= 5_000
    assert counts["districts"] == 16
    assert counts["streets"] == 349


@pytest.mark.slow
def test_full_scale_attribute_mix_is_plausible(full_city):
    b = full_city["buildings"]
    walkups = b.floors.between(4, 7) & ~b.has_elevator
    assert walkups.mean() > 0.7  # walk-ups without elevators dominate old estates
    assert (b.floors == 6).mean() > 0.4
    e = full_city["estates"]
    assert 300 < e.households.median() < 650  # Beijing: about 450 households per estate
    assert 7 <= e.building_count.mean() <= 11
    assert e.build_year.min() >= 1955 and e.build_year.max() <= 2000
    area_ha = e.area_m2 / 10_000
    assert 1 <= area_ha.median() <= 15
    plot_ratio = e.floor_area_m2 / e.area_m2  # docs/SAMPLE_CITY.md: Beijing's slab estates
    assert 1.2 < plot_ratio.median() < 1.8 and plot_ratio.quantile(0.9) < 2.5
    assert e.status.nunique() == 6


@pytest.mark.slow
def test_geometry_is_valid_and_in_beijing(full_city):
    for name, table in full_city.items():
        if "geometry" not in table:
            continue
        geoms = np.asarray(table.geometry.to_numpy())
        assert shapely.is_valid(geoms).all(), name
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        assert xmin > 115.4 and xmax < 117.6 and ymin > 39.4 and ymax < 41.1, name


def test_weighted_draws_are_the_draws_of_rng_choice():
    """``weighted`` skips ``rng.choice``'s checks, not its draws: same picks, same state after."""
    for options in ({"a": 55, "b": 10, "c": 35}, {"only": 1}, {"x": 0.2, "y": 0.8}):
        keys = np.array(list(options), dtype=object)
        p = np.array(list(options.values()), dtype=float)
        for n in (0, 1, 7, 1000):
            ours, numpy_s = np.random.default_rng(n), np.random.default_rng(n)
            picked = weighted(ours, options, n)
            assert list(picked) == list(keys[numpy_s.choice(len(keys), size=n, p=p / p.sum())])
            assert ours.random() == numpy_s.random()


def test_a_network_with_no_segments_draws_nothing():
    """A tiny city may have no road of a network: no draw, and the stream is where it was."""
    from data_samples.networks import _draws

    rng, untouched = np.random.default_rng(3), np.random.default_rng(3)
    for tier in (np.array([], int), None):
        draws = _draws("drainage_storm", np.array([], int), tier, rng)
        assert all(len(column) == 0 for column in draws.values())
    assert rng.random() == untouched.random()
