"""How a department's file meets a layer: columns, their values, and constants.

A mapping has three sections (YAML or JSON)::

    columns: {管线类型: network, 材质: material}        # source column -> field
    values:                                            # per field: source value -> code or label
      network: {排水: drainage_combined}
      material: {铸铁: grey_cast_iron, PVC: pvc_u}
    set: {category: elevator, status: received}        # one value for every row

The flat ``{column: field}`` form is the ``columns`` section alone. Columns not in the mapping
still match a field by its name or either label (ignoring case and spaces). A value that
``values`` does not list goes through as it is (a vocabulary code or label passes; anything
else fails with its row). A field in ``set`` must not also come from a column: the file is
refused rather than one of the two silently winning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from layers import Field, Layer, Visibility
from layers.errors import InvalidInput, shown
from layers.files import input_file, yaml_document

SECTIONS = ("columns", "values", "set")
MAX_MAPPING_BYTES = 64 << 10  # as large as an HTTP form field may be


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)


def parse_mapping(text: str, origin: str = "mapping") -> Mapping:
    """A mapping from YAML or JSON text; its shape is checked, not yet against a layer."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MAPPING_BYTES:
        raise InvalidInput(f"{origin}: at most {MAX_MAPPING_BYTES >> 10} KiB")
    data = yaml_document(text, origin)
    if data is None:
        return Mapping()
    if not isinstance(data, dict):
        raise InvalidInput(f"{origin}: expected a mapping with {', '.join(SECTIONS)}, got "
                           f"{json.dumps(data, ensure_ascii=False, default=str)[:80]}")  # fmt: skip
    if not any(k in SECTIONS and isinstance(v, dict | None) for k, v in data.items()):
        return Mapping(columns=_texts(data, origin))  # the flat form: columns only
    unknown = sorted(str(k) for k in data if k not in SECTIONS)
    if unknown:
        raise InvalidInput(f"{origin}: unknown sections {', '.join(unknown)}; "
                           f"use {', '.join(SECTIONS)}")  # fmt: skip
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, dict | None) for v in values.values()):
        raise InvalidInput(f"{origin}: values: expected {{field: {{source value: code}}}}")
    constants = data.get("set") or {}
    if not isinstance(constants, dict):
        raise InvalidInput(f"{origin}: set: expected {{field: value}}")
    for name, value in constants.items():
        if isinstance(value, dict | list):
            raise InvalidInput(f"{origin}: set.{name}: expected one value, got a "
                               f"{'list' if isinstance(value, list) else 'mapping'}")  # fmt: skip
    return Mapping(
        columns=_texts(data.get("columns") or {}, f"{origin}: columns"),
        values={str(f): {source_text(k): v for k, v in (m or {}).items()}
                for f, m in values.items()},
        set={str(k): v for k, v in constants.items()},
    )  # fmt: skip


def load_mapping(path: Path | None) -> Mapping:
    """The mapping file at ``path`` (an empty mapping for None)."""
    if path is None:
        return Mapping()
    input_file(path)
    try:
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise InvalidInput(f"{path}: at most {MAX_MAPPING_BYTES >> 10} KiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the mapping file {path}: {exc}") from None
    return parse_mapping(text, str(path))


def _texts(data: Any, origin: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidInput(f"{origin}: expected {{source column: field}}")
    return {str(k): v for k, v in data.items()}


def source_text(value: Any) -> str:
    """A source value as ``values`` keys it: text, whole numbers without ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_mapping(mapping: Mapping, layer: Layer, level: Visibility) -> None:
    """Check what needs no file: the fields exist and are writable, the codes are terms."""
    fields = layer.fields_by_name
    writable = {f.name for f in layer.writable_fields(level)}
    for source, target in mapping.columns.items():
        if target not in fields:
            raise InvalidInput(f"mapping: columns.{source[:40]}: {shown(target)} is not a field of "
                               f"{layer.name}")  # fmt: skip
    for name, crosswalk in mapping.values.items():
        if name not in fields:
            raise InvalidInput(f"mapping: values.{name}: not a field of {layer.name}")
        for source, target in crosswalk.items():
            _check_value(fields[name], target, f"values.{name}.{source}")
    for name, value in mapping.set.items():
        if name not in fields:
            raise InvalidInput(f"mapping: set.{name}: not a field of {layer.name}")
        if name not in writable:
            raise InvalidInput(f"mapping: set.{name}: the field is kept by OneMap or above "
                               "your access level")  # fmt: skip
        if value is None:
            raise InvalidInput(f"mapping: set.{name} has no value: write the value every row "
                               "gets, or remove the line")  # fmt: skip
        _check_value(fields[name], value, f"set.{name}")


def _check_value(f: Field, value: Any, where: str) -> None:
    if value is None:
        raise InvalidInput(f"mapping: {where} has no value: choose one, or remove the line")
    if f.vocabulary is not None and f.vocabulary.match(str(value)) is None:
        raise InvalidInput(f"mapping: {where}: {str(value)[:40]!r} is not one of "
                           f"{', '.join(f.vocabulary.codes)}")  # fmt: skip


def name_key(text: str) -> str:
    """A name or label as matching compares it: no spaces, any case."""
    return "".join(str(text).split()).casefold()


def label_index(layer: Layer) -> dict[str, str]:
    """Field names and labels (normalised) to the field they name."""
    by_label: dict[str, str] = {}
    for f in layer.fields:
        for label in (f.name, f.label_zh, f.label_en):
            by_label.setdefault(name_key(label), f.name)
    return by_label


def match_columns(
    columns: list[str], layer: Layer, mapping: Mapping, level: Visibility = Visibility.PRIVATE,
) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """({source column: field}, unknown columns), for a writer at ``level``.

    The write rule of single edits holds: a column matched to a field above the writer's
    level refuses the file (not silently dropped); one OneMap keeps itself is left out.
    """
    check_mapping(mapping, layer, level)
    writable = {f.name for f in layer.writable_fields(level)}
    for source in mapping.columns:
        if source not in columns:
            raise InvalidInput(f"mapping: the file has no column {shown(source)}")
    by_label = label_index(layer)
    matched: dict[str, str] = {}
    unknown = []
    for column in columns:
        found = mapping.columns.get(column) or by_label.get(name_key(column))
        if found is None or found in matched.values():
            unknown.append(column)
        elif layer.fields_by_name[found].maintained:
            unknown.append(column)  # OneMap keeps it (an exported file carries it): left out
        elif found not in writable:
            raise InvalidInput(
                f"column {shown(column)}: the field {found!r} is above your access level; "
                "remove the column or leave it out of the mapping"
            )
        elif found in mapping.set:
            raise InvalidInput(
                f"mapping: set.{found}: the file also has a column for it ({shown(column)}); "
                "remove the column from the file or the line from set"
            )
        else:
            matched[column] = found
    for name in mapping.values:
        if name not in matched.values():
            raise InvalidInput(f"mapping: values.{name}: no column of the file maps to {name}")
    return matched, unknown


def apply_values(frame: pd.DataFrame, mapping: Mapping, rows: int) -> dict[str, Any]:
    """Translate ``values`` and add ``set`` in ``frame`` (fields as columns), in place.

    Returns what each section did, for the report: per field, each source value translated
    and on how many rows; per constant, the value and the rows it was given to.
    """
    done: dict[str, Any] = {"values": {}, "set": {}}
    for name, crosswalk in mapping.values.items():
        column = frame[name]
        keys = column.map(lambda v: None if _blank(v) else source_text(v))
        hits = keys.isin(list(crosswalk))
        frame[name] = column.where(~hits, keys[hits].map(crosswalk))
        counts = keys[hits].value_counts()
        done["values"][name] = {
            source: {"to": crosswalk[source], "rows": int(counts.get(source, 0))}
            for source in crosswalk
        }
    for name, value in mapping.set.items():
        frame[name] = [value] * rows
        done["set"][name] = {"value": value, "rows": rows}
    return done


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
