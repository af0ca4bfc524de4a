import re
import subprocess
import sys
from dataclasses import replace

import pytest
import sqlalchemy as sa

from layers import (
    REGISTRY,
    WEB_MERCATOR_COLUMN,
    FieldType,
    Visibility,
    band_column,
    get_layer,
)
from layers.schema import TABLES, metadata
from layers.vocabulary import ITEM_CATEGORY, RENOVATION_ITEM

SPATIAL = [n for n, layer in REGISTRY.items() if layer.is_spatial]


def test_every_layer_has_one_table_with_its_fields():
    assert set(TABLES) == set(REGISTRY)
    system = {"layer_versions", "users", "api_tokens", "jobs", "search_entries",
              "search_definitions", "onemap_pinyin_chars", "holiday_arrangements",
              "served_city"}  # fmt: skip
    assert set(metadata.tables) == set(REGISTRY) | system
    for name, layer in REGISTRY.items():
        columns = set(TABLES[name].columns.keys())
        expected = {"id", "updated_at", *(f.name for f in layer.fields)}
        if layer.is_spatial:
            expected.add("geom")
        if layer.stores_web_mercator:
            expected.add(WEB_MERCATOR_COLUMN)
        expected |= {band_column(b) for b in layer.tile_bands}
        assert columns == expected, name


def test_issue_layers_are_all_there():
    required = {
        "districts",
        "streets",
        "estates",
        "buildings",
        "elevator_retrofits",
        "pipelines",
        "idle_parcels",
        "service_facilities",
        "governance_issues",
        "resident_requests",
        "health_checks",
        "plan_batches",
        "projects",
        "opinions",
        "change_history",
    }
    assert required <= set(REGISTRY)


def test_geometries_are_stored_in_4326():
    for name in SPATIAL:
        geom = TABLES[name].columns["geom"].type
        assert geom.srid == 4326
        assert geom.geometry_type == REGISTRY[name].geometry_type.value.upper()


def test_vocabulary_fields_have_a_database_check():
    for name, layer in REGISTRY.items():
        checks = {c.name for c in TABLES[name].constraints if isinstance(c, sa.CheckConstraint)}
        for f in layer.fields:
            if f.vocabulary is not None:
                assert f"ck_{name}_{f.name}_vocab" in checks, (name, f.name)


def test_references_point_at_unique_columns_of_known_layers():
    for layer in REGISTRY.values():
        for f in layer.fields:
            if f.references:
                target, column = f.references.split(".")
                assert target in REGISTRY, f.references
                col = TABLES[target].columns[column]
                assert col.primary_key or col.unique, f.references


def test_themes_are_vocabulary_fields_and_labels_are_bilingual():
    for layer in REGISTRY.values():
        assert layer.title_zh and layer.title_en
        for theme in layer.themes:
            assert layer.fields_by_name[theme].vocabulary is not None, (layer.name, theme)
        for f in layer.fields:
            assert f.label_zh and f.label_en, (layer.name, f.name)
            if f.vocabulary:
                for term in f.vocabulary.terms:
                    assert term.zh and term.en
                    assert re.fullmatch(r"#[0-9a-f]{6}", term.color)


def test_public_layers_show_public_fields_and_private_fields_stay_hidden():
    estates = get_layer("estates")
    public = {f.name for f in estates.visible_fields(Visibility.PUBLIC)}
    assert {"name_zh", "status", "district_code"} <= public
    assert "maintenance_fund_balance" not in public
    assert "property_nature" not in public
    assert get_layer("pipelines").visible_fields(Visibility.PUBLIC) == ()
    assert get_layer("change_history").visible_fields(Visibility.INTERNAL) == ()
    for layer in REGISTRY.values():
        if layer.visibility is Visibility.PUBLIC:
            assert layer.visible_fields(Visibility.PUBLIC), layer.name


def test_every_renovation_item_has_a_tier():
    assert set(ITEM_CATEGORY) == set(RENOVATION_ITEM.codes)
    assert set(ITEM_CATEGORY.values()) == {"basic", "improvement", "upgrade"}
    assert ITEM_CATEGORY["elevator"] == "improvement"
    assert ITEM_CATEGORY["energy_retrofit"] == "basic"
    assert ITEM_CATEGORY["elder_care"] == "upgrade"


def test_vocabulary_matches_chinese_and_english_labels():
    vocab = get_layer("elevator_retrofits").fields_by_name["stage"].vocabulary
    assert vocab.match("已投用") == "in_service"
    assert vocab.match("In Service") == "in_service"
    assert vocab.match("not_feasible") == "not_feasible"
    assert vocab.match("nonsense") is None


def test_unknown_layer_names_the_known_ones():
    with pytest.raises(KeyError, match="known: districts"):
        get_layer("nope")


def test_array_fields_are_text_arrays():
    assert get_layer("estates").fields_by_name["renovation_items"].type is FieldType.TEXT_ARRAY


def test_editors_are_real_roles_and_no_one_edits_the_history():
    from layers import Role

    for layer in REGISTRY.values():
        assert Role.ANONYMOUS not in layer.editors, layer.name
        if layer.editors:
            assert Role.ADMIN in layer.editors, layer.name
    assert not REGISTRY["change_history"].editors


def test_the_readme_layer_table_is_the_registry():
    from pathlib import Path

    from layers.readme import END, START, layer_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    shown = readme[readme.index(START) : readme.index(END) + len(END)]
    assert shown == layer_table(), "run `onemap layers --markdown` and paste it into README"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tile_bands": (8, 5)}, "tile_bands"),
        ({"tile_bands": (8,), "tile_simplify": False}, "tile_bands"),
        ({"cluster_below": 12}, "only points"),
        ({"tile_from_zoom": (("name_zh", "x", 12),)}, "tile_from_zoom"),
        ({"tile_from_zoom": (("road_class", "motorway", 12),)}, "tile_from_zoom"),
    ],
)
def test_tile_settings_that_cannot_work_are_refused(change, message):
    """The drawing settings of a layer are checked when it is defined, not at the first
    tile or migration."""
    with pytest.raises(ValueError, match=message):
        replace(get_layer("roads"), **change)


def test_the_command_line_and_the_service_start_without_sqlalchemy():
    """The tables are for the migrations: each ``onemap`` process and server worker would
    pay 0.4 s importing SQLAlchemy and GeoAlchemy2 (and numpy, shapely) for nothing."""
    probe = (
        "import sys, cli.main, api.app; from cli import analyses, data, holidays, users; "
        "print(sorted(m for m in ('sqlalchemy', 'geoalchemy2', 'alembic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
