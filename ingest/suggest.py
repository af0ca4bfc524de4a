"""A draft mapping for a file and a layer, for a person to finish (``--suggest-mapping``).

The draft has the three sections of ``ingest.mapping``: the columns OneMap matched, and for
every other column the fields it could be, ranked by how the column's name reads against
the fields' labels, whether its type fits and whether its values do; for each coded field,
every source value outside the vocabulary with the nearest terms to choose from; and a
``set`` line for each required field no column gives. Guesses are written as comments or
left ``null`` (which a run refuses), so that running a draft unread changes nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

from ingest.mapping import Mapping, label_index, name_key, source_text
from layers import Field, FieldType, Layer, Visibility
from layers.vocabulary import Term, Vocabulary

NUMBERS = {FieldType.INTEGER, FieldType.BIGINT, FieldType.FLOAT}
SURE = 0.6  # a column whose best field scores this much is put in ``columns`` (commented why)
MAX_VALUES = 200  # distinct values listed per field; more are counted
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Candidate:
    field: Field
    score: float


def text_similarity(a: str, b: str) -> float:
    """How alike two names or values read, 0–1.

    1 when equal; high when one holds the other (by characters for Chinese, by words for
    Latin); else the share of matching characters, discounted.
    """
    a, b = name_key(a), name_key(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if a.isascii() and b.isascii():
        if a in _WORDS.findall(b) or b in _WORDS.findall(a):
            return 0.85
    elif a in b or b in a:
        return 0.7 + 0.2 * min(len(a), len(b)) / max(len(a), len(b))
    return difflib.SequenceMatcher(None, a, b).ratio() * 0.8


def nearest_terms(value: str, vocabulary: Vocabulary, count: int = 3) -> list[Term]:
    """The terms a source value most likely means, best first (none below a weak match)."""
    scored = []
    for order, term in enumerate(vocabulary.terms):
        texts = (term.code, term.zh, term.en)
        score = max(text_similarity(value, t) for t in texts)
        if any(name_key(value) == name_key(word) for word in term.also):
            score = max(score, 0.9)
        scored.append((-score, order, term))
    scored.sort(key=lambda s: s[:2])
    return [term for negative, _, term in scored[:count] if -negative >= 0.35]


def _distinct(series: pd.Series) -> pd.Series:
    """Distinct non-blank values (as ``values`` keys them) with their row counts."""
    keys = series.dropna().map(source_text)
    return keys[keys != ""].value_counts()


def _type_fit(f: Field, distinct: pd.Series) -> float:
    """The share of the column's distinct values the field's type can take."""
    values = list(distinct.index[:MAX_VALUES])
    if not values:
        return 0.5
    if f.vocabulary is not None:
        return sum(
            f.vocabulary.match(v) is not None or bool(nearest_terms(v, f.vocabulary, 1))
            for v in values
        ) / len(values)
    if f.type in NUMBERS:
        return float(pd.to_numeric(pd.Series(values), errors="coerce").notna().mean())
    if f.type in (FieldType.DATE, FieldType.DATETIME):
        return sum(_is_date(v) for v in values) / len(values)
    if f.type is FieldType.BOOLEAN:
        return sum(v.casefold() in ("true", "false", "1", "0", "是", "否", "yes", "no")
                   for v in values) / len(values)  # fmt: skip
    numeric = pd.to_numeric(pd.Series(values), errors="coerce").notna().mean()
    return 1.0 - 0.5 * float(numeric)  # free text takes anything; numbers less likely


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def rank_fields(column: str, series: pd.Series, fields: list[Field]) -> list[Candidate]:
    """Fields ``column`` could be, best first: label 55 %, values 45 %."""
    distinct = _distinct(series)
    ranked = []
    for f in fields:
        label = max(text_similarity(column, t) for t in (f.name, f.label_zh, f.label_en))
        score = 0.55 * label + 0.45 * _type_fit(f, distinct)
        ranked.append(Candidate(f, round(score, 2)))
    ranked.sort(key=lambda c: -c.score)
    return ranked


def _scalar(value: Any) -> str:
    """``value`` as a YAML scalar that reads back as itself."""
    if value is None:
        return "null"
    text = str(value)
    plain = re.fullmatch(r"[^\s:#{}\[\],&*!|>'\"%@`-][^:#{}\[\],]*", text) is not None
    if plain and text == text.strip():
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _term(term: Term) -> str:
    return f"{term.code} {term.zh}"


def draft(
    frame: pd.DataFrame, layer: Layer, given: Mapping, level: Visibility, *, file: str
) -> str:
    """The draft mapping (YAML with comments) for ``frame``'s columns into ``layer``."""
    writable = [f for f in layer.writable_fields(level) if not f.author]
    by_label = label_index(layer)
    names = {f.name for f in writable}
    columns: dict[str, tuple[str, str]] = {}  # source column -> (field, comment)
    taken: set[str] = set(given.set)
    unmatched = []
    for column in map(str, frame.columns):
        found = given.columns.get(column) or by_label.get(name_key(column))
        if found in names and found not in taken:
            how = "your mapping" if column in given.columns else "name or label"
            columns[column] = (found, f"matched by {how}")
            taken.add(found)
        else:
            unmatched.append(column)
    lines = [
        f"# OneMap mapping draft: {file} → {layer.name} ({layer.title_zh} {layer.title_en}).",
        "# Check every line; null means you still have to choose. Then run again with",
        "# --mapping <this file>.",
        "columns:",
    ]
    for column in unmatched:
        free = [f for f in writable if f.name not in taken]
        ranked = rank_fields(column, frame[column], free)[:3]
        listed = ", ".join(f"{c.field.name} {c.field.label_zh} ({c.score:.2f})" for c in ranked)
        if ranked and ranked[0].score >= SURE:
            best = ranked[0].field.name
            columns[column] = (best, f"guessed; candidates: {listed}")
            taken.add(best)
        else:
            lines.append(f"  # {_scalar(column)}: ?   # not loaded; candidates: {listed or 'none'}")
    for column, (target, comment) in columns.items():
        lines.append(f"  {_scalar(column)}: {target}   # {comment}")
    lines.append("values:")
    for column, (target, _) in columns.items():
        vocabulary = layer.fields_by_name[target].vocabulary
        if vocabulary is None:
            continue
        chosen = given.values.get(target, {})
        outside = [
            (v, n) for v, n in _distinct(frame[column]).items()
            if v not in chosen and vocabulary.match(v) is None
        ]  # fmt: skip
        if not outside and not chosen:
            continue
        lines.append(f"  {target}:")
        for source, code in chosen.items():
            lines.append(f"    {_scalar(source)}: {_scalar(code)}")
        for source, rows in outside[:MAX_VALUES]:
            options = " | ".join(_term(t) for t in nearest_terms(source, vocabulary))
            hint = f"choose: {options}" if options else f"one of: {', '.join(vocabulary.codes)}"
            lines.append(f"    {_scalar(source)}: null   # {rows} rows; {hint}")
        if len(outside) > MAX_VALUES:
            lines.append(f"    # … and {len(outside) - MAX_VALUES} more values")
    lines.append("set:")
    for name, value in given.set.items():
        lines.append(f"  {name}: {_scalar(value)}")
    for f in writable:
        if f.required and f.name not in taken:
            if f.vocabulary is not None:
                hint = "one of: " + ", ".join(_term(t) for t in f.vocabulary.terms)
            else:
                hint = f"a {f.type.value}"
            lines.append(f"  {f.name}: null   # required ({f.label_zh}), no column: {hint}")
    return "\n".join(lines) + "\n"
