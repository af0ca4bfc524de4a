"""CQL2 filters (OGC API Features Part 3) compiled to parameterised PostGIS SQL.

The ``cql2`` library parses cql2-text and cql2-json into one canonical JSON tree; this module
walks that tree against the layer registry. Every property must be a field the caller may see,
every literal is typed by its field and sent as a bind parameter: no user text ever becomes
SQL. Geometry literals are in CRS84 unless ``filter-crs`` says otherwise; ``S_DWITHIN``
distances are in metres.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import cql2
import numpy as np
import shapely
from psycopg import sql

from layers import STORAGE_SRID, Field, FieldType, Layer, Visibility
from layers.errors import InvalidInput, shown
from spatial import crs as crs_mod
from spatial.validate import number_for

GEOMETRY_NAMES = ("geom", "geometry")
MAX_NODES = 200  # a bound on filter complexity
# Bounds checked on the text before the parser sees it. The parser (Rust) recurses per
# bracket, prefix and operator and overflows the stack (the process dies) at about 2,000 of
# them on a worker thread; these bounds are a fifth of that.
MAX_FILTER_CHARS = 16_384
MAX_DEPTH = 24
MAX_OPERATORS = 2 * MAX_NODES
MAX_DISTANCE_M = 100_000.0  # S_DWITHIN: more than a city's width is a mistake

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_touches": "ST_Touches", "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps", "s_equals": "ST_Equals",
}  # fmt: skip
_NUMERIC = (FieldType.INTEGER, FieldType.BIGINT, FieldType.FLOAT)
# How many arguments each operator takes (None: one or more).
_ARITY: dict[str, int | None] = {
    "and": None, "or": None, "not": 1, "like": 2, "between": 3, "in": 2, "isnull": 1,
    "s_dwithin": 3, **dict.fromkeys(_COMPARISONS, 2), **dict.fromkeys(_SPATIAL, 2),
}  # fmt: skip

_METRES_PER_DEGREE = 111_320.0


# What psycopg runs: a literal SQL string or one composed from parts (not a bare Identifier).
SqlText = sql.Composed | sql.SQL


@dataclass
class Compiled:
    """A SQL condition with ``%s`` placeholders and the parameters that fill them, in order."""

    sql: SqlText
    params: list[Any] = field(default_factory=list)
    properties: frozenset[str] = frozenset()  # the fields a filter reads


def rendered(statement: SqlText) -> sql.SQL:
    """``statement`` as one piece of SQL text, for statements kept and run many times.

    psycopg turns a composed statement into text on every execution; kept as text, it does
    not (the cost was more than a small tile's or a single item's query).
    """
    return sql.SQL(statement.as_string(None))


_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR_WORDS = frozenset({"and", "or", "not", "like", "between", "in", "is", "div"})
_SYMBOLS = frozenset("=<>!+*/%^")


def check_shape(text: str) -> None:
    """Refuse a filter too long, too deep or with too many operators, before it is parsed.

    Brackets, operators and keywords are counted outside quoted strings, for cql2-text and
    cql2-json alike (JSON brackets nest the same way). A minus sign directly before a number
    is part of the number.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter: longer than {MAX_FILTER_CHARS:,} characters")
    depth = operators = 0
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\" and quote == '"':
                i += 1  # JSON escape: skip the escaped character
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidInput(f"filter: nested more than {MAX_DEPTH} levels deep")
        elif ch in ")]}":
            depth -= 1
        elif ch in _SYMBOLS or (ch == "-" and not text[i + 1 : i + 2].isdigit()):
            operators += 1
        elif ch.isalpha() or ch == "_":
            word = _WORDS.match(text, i)
            if word is not None:
                if word.group().lower() in _OPERATOR_WORDS:
                    operators += 1
                i = word.end()
                continue
        if operators > MAX_OPERATORS:
            raise InvalidInput(f"filter too complex (more than {MAX_OPERATORS} operators)")
        i += 1


def parse(text: str, lang: str) -> dict[str, Any]:
    """Parse a filter in ``cql2-text`` or ``cql2-json`` into the canonical JSON tree."""
    check_shape(text)
    try:
        if lang == "cql2-json":
            expr = cql2.parse_json(text)
        elif lang == "cql2-text":
            expr = cql2.parse_text(text)
        else:
            raise InvalidInput(f"unsupported filter-lang {shown(lang)}; use cql2-text or cql2-json")
        tree: dict[str, Any] = expr.to_json()
        return tree
    except InvalidInput:
        raise
    except Exception as exc:  # the parser's own error types
        raise InvalidInput(f"invalid {lang} filter: {_parser_message(str(exc))}") from None


def _parser_message(text: str) -> str:
    """One line out of the parser's drawing: where it stopped and what it expected."""
    where = re.search(r"-->\s*(\d+):(\d+)", text)
    expected = re.search(r"^\s*=\s*(.+)$", text, re.MULTILINE)
    if where is None:
        return text.strip().splitlines()[0][:200] if text.strip() else "cannot be parsed"
    line, column = where.groups()
    at = f"at character {column}" if line == "1" else f"at line {line}, character {column}"
    return f"{at}: {expected.group(1)[:200]}" if expected else at


class _Compiler:
    def __init__(self, layer: Layer, level: Visibility, filter_crs: crs_mod.Crs) -> None:
        self.fields = {f.name: f for f in layer.visible_fields(level)}
        self.spatial = layer.is_spatial
        self.crs = filter_crs
        self.nodes = 0
        self.used: set[str] = set()

    def compile(self, node: Any) -> Compiled:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidInput(f"filter too complex (more than {MAX_NODES} nodes)")
        if isinstance(node, bool):
            return Compiled(sql.SQL("TRUE" if node else "FALSE"))
        if not isinstance(node, dict) or "op" not in node:
            raise InvalidInput(f"expected a predicate, got {json.dumps(node)[:80]}")
        op = str(node["op"]).lower()
        args = node.get("args", [])
        if op not in _ARITY:
            raise InvalidInput(f"unsupported filter operator {str(node['op'])[:40]!r}")
        arity = _ARITY[op]
        if not isinstance(args, list) or (len(args) != arity if arity else not args):
            wanted = f"{arity} argument{'s' if arity != 1 else ''}" if arity else "arguments"
            raise InvalidInput(f"filter: {op.upper()} takes {wanted}")
        if op in ("and", "or"):
            parts = [self.compile(a) for a in args]
            joined = sql.SQL(f" {op.upper()} ").join(sql.SQL("({})").format(p.sql) for p in parts)
            return Compiled(joined, [v for p in parts for v in p.params])
        if op == "not":
            inner = self.compile(args[0])
            return Compiled(sql.SQL("NOT ({})").format(inner.sql), inner.params)
        if op in _COMPARISONS:
            f, value = self._property_and_value(args)
            return Compiled(
                sql.SQL("{} {} %s").format(sql.Identifier(f.name), sql.SQL(_COMPARISONS[op])),
                [value],
            )
        if op == "like":
            f = self._property(args[0])
            if f.type is not FieldType.TEXT or not isinstance(args[1], str):
                raise InvalidInput(f"LIKE needs a text field and a text pattern ({f.name})")
            return Compiled(sql.SQL("{} LIKE %s").format(sql.Identifier(f.name)), [args[1]])
        if op == "between":
            f = self._property(args[0])
            low, high = (self._value(f, a) for a in args[1:3])
            return Compiled(
                sql.SQL("{} BETWEEN %s AND %s").format(sql.Identifier(f.name)), [low, high]
            )
        if op == "in":
            f = self._property(args[0])
            if not isinstance(args[1], list) or not args[1]:
                raise InvalidInput(f"IN needs a list of values ({f.name})")
            values = [self._value(f, v) for v in args[1]]
            return Compiled(sql.SQL("{} = ANY(%s)").format(sql.Identifier(f.name)), [values])
        if op == "isnull":
            f = self._property(args[0])
            return Compiled(sql.SQL("{} IS NULL").format(sql.Identifier(f.name)))
        if op in _SPATIAL:
            geom = self._geometry_args(args)
            return Compiled(
                sql.SQL("{}(geom, {})").format(sql.SQL(_SPATIAL[op]), geom.sql), geom.params
            )
        if op == "s_dwithin":
            return self._dwithin(args)
        raise InvalidInput(f"unsupported filter operator {str(node['op'])[:40]!r}")

    def _property(self, node: Any) -> Field:
        if not isinstance(node, dict) or "property" not in node:
            raise InvalidInput(f"expected a property, got {json.dumps(node)[:80]}")
        name = node["property"]
        if name not in self.fields:
            raise InvalidInput(f"unknown property {shown(name)} in filter")
        f = self.fields[name]
        if f.type in (FieldType.JSON, FieldType.TEXT_ARRAY):
            raise InvalidInput(f"property {shown(name)} cannot be filtered")
        self.used.add(name)
        return f

    def _property_and_value(self, args: list[Any]) -> tuple[Field, Any]:
        if isinstance(args[0], dict) and "property" in args[0]:
            f = self._property(args[0])
            return f, self._value(f, args[1])
        f = self._property(args[1])  # a literal on the left: `3 < floors`
        return f, self._value(f, args[0])

    def _value(self, f: Field, value: Any) -> Any:
        return typed_value(f, value)

    def _geometry_args(self, args: list[Any]) -> Compiled:
        if not self.spatial:
            raise InvalidInput("this collection has no geometry to filter on")
        prop, literal = args[0], args[1]
        if isinstance(literal, dict) and literal.get("property") in GEOMETRY_NAMES:
            prop, literal = literal, prop
        if not (isinstance(prop, dict) and prop.get("property") in GEOMETRY_NAMES):
            raise InvalidInput("spatial operators compare the property 'geom' with a geometry")
        return self._geometry(literal)

    def _geometry(self, literal: Any) -> Compiled:
        if isinstance(literal, dict) and "bbox" in literal:
            box = literal["bbox"]
            if (
                not isinstance(box, list)
                or len(box) not in (4, 6)
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
            ):
                raise InvalidInput("a bbox literal in a filter has 4 or 6 numbers")
            geom = shapely.box(*box[:2], *box[-2:])
        elif isinstance(literal, dict) and "type" in literal:
            try:
                geom = shapely.from_geojson(json.dumps(literal))
            except Exception:
                raise InvalidInput("invalid geometry literal in filter") from None
        else:
            raise InvalidInput(f"expected a geometry, got {json.dumps(literal)[:80]}")
        if self.crs.flip:
            geom = shapely.transform(geom, lambda c: c[:, ::-1])
        crs_mod.check_coordinates(geom, self.crs, "filter")
        if self.crs.shift:
            geom = crs_mod.to_wgs84(self.crs, np.array([geom]))[0]
        srid = STORAGE_SRID if self.crs.shift else self.crs.srid
        text = sql.SQL("ST_GeomFromText(%s, {})").format(sql.Literal(srid))
        if srid != STORAGE_SRID:
            text = sql.SQL("ST_Transform({}, {})").format(text, sql.Literal(STORAGE_SRID))
        return Compiled(text, [shapely.to_wkt(geom)])

    def _dwithin(self, args: list[Any]) -> Compiled:
        distance = args[2]
        if (
            isinstance(distance, bool)
            or not isinstance(distance, int | float)
            or not 0 <= distance <= MAX_DISTANCE_M  # NaN fails this too
        ):
            raise InvalidInput(
                f"S_DWITHIN takes (geom, geometry, distance in metres from 0 to {MAX_DISTANCE_M:g})"
            )
        geom = self._geometry_args(args[:2])
        metres = float(args[2])
        # The degree box lets the GiST index pick candidates; geography gives exact metres.
        degrees = metres / (_METRES_PER_DEGREE * 0.5)  # cos(60 deg): safe up to 60 N/S
        condition = sql.SQL(
            "(geom && ST_Expand({g}, %s) AND ST_DWithin(geom::geography, {g}::geography, %s))"
        ).format(g=geom.sql)
        return Compiled(condition, [*geom.params, degrees, *geom.params, metres])


def typed_value(f: Field, value: Any) -> Any:
    """A literal converted to the Python type of field ``f``, or a clear error."""
    if isinstance(value, dict) and ("date" in value or "timestamp" in value):
        value = value.get("date") or value.get("timestamp")
    if f.vocabulary is not None and isinstance(value, str) and f.type is FieldType.TEXT:
        return f.vocabulary.match(value) or value
    if f.type in _NUMERIC:
        try:
            return number_for(f, value)
        except ValueError as exc:
            raise InvalidInput(f"{f.name!r}: {exc}") from None
    try:
        if f.type is FieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if f.type is FieldType.DATE:
            return dt.date.fromisoformat(str(value)[:10])
        if f.type is FieldType.DATETIME:
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if f.type is FieldType.TEXT:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        pass
    raise InvalidInput(f"{str(value)[:40]!r} is not a valid {f.type.value} for {f.name!r}")


def compile_filter(
    tree: dict[str, Any], layer: Layer, level: Visibility, filter_crs: crs_mod.Crs
) -> Compiled:
    """Compile a parsed filter for ``layer`` as seen by a caller at ``level``."""
    compiler = _Compiler(layer, level, filter_crs)
    compiled = compiler.compile(tree)
    compiled.properties = frozenset(compiler.used)
    return compiled
