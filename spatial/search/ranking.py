"""How results rank, and the statement pieces every way of answering a search shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from layers import Layer
from layers.model import SEARCH_LATIN_LABEL
from spatial.cql import Compiled, SqlText
from spatial.scope import StreetScope, condition
from spatial.search.terms import contains, prefix_condition, terms_condition


@dataclass(frozen=True)
class Search:
    """A search across layers: the caller's searchable layers, in the order results rank."""

    terms: tuple[str, ...]
    layers: tuple[Layer, ...]
    scope: StreetScope | None = None
    limit: int = 10


def _in_scope(search: Search) -> SqlText:
    """Rows of layers a street scope limits are found only inside its streets."""
    limited = [la for la in search.layers if search.scope and search.scope.limits_rows(la)]
    if not limited or search.scope is None:
        return sql.SQL("TRUE")
    scope = search.scope
    return sql.SQL(" AND ").join(
        sql.SQL("(s.layer <> {name} OR EXISTS (SELECT 1 FROM {table} t "
                "WHERE t.id = s.feature_id AND {inside}))").format(
            name=sql.Literal(la.name), table=sql.Identifier(la.name), inside=condition(la, scope)
        )
        for la in limited
    )  # fmt: skip


def _rank(search: Search) -> Compiled:
    """The order results come in: columns ``rank_1`` … (``BY_RANK``), smallest first.

    First the whole label, then a label holding every term ("建国西里 10": building 10 before
    the estate whose code holds a 10), a name starting with the first term, then by layer
    (areas before the features in them), shorter labels, and the label; the feature's id
    settles ties, so that the same search always answers the same. (Separate columns, not
    one row value: comparing row values made ranking 8,600 matches 5 ms slower.)
    """
    starts = prefix_condition(search.terms[0])
    held = holding(search)
    keys = [
        sql.SQL("s.label <> %s"),
        sql.SQL("NOT {}").format(held.sql),
        sql.SQL("NOT {}").format(starts.sql),
        sql.SQL("array_position(%s, s.layer)"),
        sql.SQL("length(s.label)"),
        sql.SQL("s.label"),
        sql.SQL("s.feature_id"),
    ]
    return Compiled(
        sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(key, sql.Identifier(f"rank_{i}"))
            for i, key in enumerate(keys, 1)
        ),
        [" ".join(search.terms), *held.params, *starts.params,
         [layer.name for layer in search.layers]],
    )  # fmt: skip


BY_RANK = ", ".join(f"rank_{i}" for i in range(1, 8))


def statement(template: str, **parts: Compiled) -> Compiled:
    """``template`` with each ``{name}`` filled by ``parts[name]``.

    The parameters follow the names in the order they appear (a part used twice gives its
    parameters twice).
    """
    names = re.findall(r"{(\w+)}", template)
    return Compiled(
        sql.SQL(template).format(**{name: part.sql for name, part in parts.items()}),
        [value for name in names for value in parts[name].params],
    )


def param(value: Any) -> Compiled:
    return Compiled(sql.SQL("%s"), [value])


COLUMNS = "s.layer, s.feature_id, s.label, s.detail, s.place, s.extent, {rank}"


def parts(search: Search) -> dict[str, Compiled]:
    return {
        "match": terms_condition(search.terms),
        "starts": prefix_condition(search.terms[0]),
        "scope": Compiled(_in_scope(search)),
        "rank": _rank(search),
        "names": param([layer.name for layer in search.layers]),
        "limit": param(search.limit),
    }


def best_of_layer(name: str, read: str, keep: str) -> str:
    """A layer's best ``limit`` entries that ``read`` finds and ``keep`` keeps (template).

    ``name`` is in the statement itself (``literal``), so the planner picks the layer's own
    indexes for ``read``; OFFSET 0 keeps ``keep`` out of that choice (offered trigram
    conditions, the planner would read the trigram index, or walk the layer shortest name
    first, whatever ``read`` narrows).
    """
    return (
        "SELECT " + COLUMNS + " FROM (SELECT * FROM search_entries s WHERE s.layer = "
        + name + " AND " + read + " OFFSET 0) s WHERE " + keep
        + " ORDER BY " + BY_RANK + " LIMIT {limit}"
    )  # fmt: skip


def literal(name: str) -> str:
    """A layer's name in the statement itself, so the planner picks the layer's own indexes.

    Only names from the registry come here (``Search.layers``); quoted all the same.
    """
    return "'" + name.replace("'", "''") + "'"


EVERY_MATCH = (
    "SELECT " + COLUMNS + " FROM search_entries s WHERE s.layer = ANY({names}) "
    "AND {match} AND {scope} ORDER BY " + BY_RANK + " LIMIT {limit}"
)


# A label with Latin letters (the partial index's predicate) holding every word.
LATIN_LABEL_HOLDING = (
    "EXISTS (SELECT FROM (SELECT * FROM search_entries s WHERE s.layer = ANY({names})"
    " AND " + SEARCH_LATIN_LABEL + " OFFSET 0) s WHERE {holding} AND {match} AND {scope})"
)


def typed_letters(search: Search) -> bool:
    """Whether a word holds Latin letters: then only a label with Latin letters holds it."""
    return any(typed(term) for term in search.terms)


def typed(term: str) -> bool:
    """Whether ``term`` holds Latin letters (pinyin, initials, an English name)."""
    return any(ch.isascii() and ch.isalpha() for ch in term)


def holding(search: Search) -> Compiled:
    """The entry's label holds every word (``rank_2``'s test; ``LATIN_LABEL_HOLDING``'s)."""
    return Compiled(sql.SQL("s.label ILIKE ALL(%s)"), [[contains(t) for t in search.terms]])


def every_match_sql(search: Search) -> Compiled:
    """Every entry matching every term, ranked: what every other way must answer alike."""
    return outer(statement(EVERY_MATCH, **parts(search)))


def outer(ranked: Compiled) -> Compiled:
    """The ranked rows as the route answers them: a point and a bbox to zoom to."""
    return statement(
        "SELECT r.layer, r.feature_id, r.label, r.detail, ST_AsGeoJSON(r.place, 7)::json, "
        "CASE WHEN r.extent IS NULL THEN NULL ELSE json_build_array(ST_XMin(r.extent), "
        "ST_YMin(r.extent), ST_XMax(r.extent), ST_YMax(r.extent)) END "
        "FROM ({ranked}) r ORDER BY " + BY_RANK,
        ranked=ranked,
    )
