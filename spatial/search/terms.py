"""What a search's words are, and the SQL that an entry matches them (alias ``s``).

Used by ``/search`` and by items' ``q=``. Everything is matched through the pinyin columns,
which carry pg_trgm indexes (migration 0008).
"""

from __future__ import annotations

import re

from psycopg import sql

from layers import Layer
from layers.errors import InvalidInput
from spatial.cql import Compiled

MAX_TEXT = 200  # characters: a name and an address, with room to spare
MAX_TERMS = 8
_WORD_RUNS = re.compile(r"[a-z0-9]+")
# A building's or a unit's number at the end of a name ("…10号楼", "…3单元"): in nearly every
# building's entry, so its trigrams ("hao", "lou") fill the index's longest lists.
_NUMBERED_PART = re.compile(r"[0-9一二三四五六七八九十]+\s*(号楼|号院|单元|栋|幢|号)$")
# The same typed in pinyin or initials ("…10haolou", "…10hl").
_NUMBERED_TYPED = re.compile(r"[0-9]+\s*(haolou|haoyuan|danyuan|dong|zhuang|hao|hl|hy|dy)$")


def parse_terms(text: str | None, name: str = "q") -> tuple[str, ...]:
    """The whitespace-separated terms of a search, checked; InvalidInput names ``name``."""
    if text is None or not text.strip():
        raise InvalidInput(f"{name}: give at least one character to search for")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{name}: at most {MAX_TEXT} characters")
    if any(not ch.isprintable() for ch in text if not ch.isspace()):
        raise InvalidInput(f"{name}: control characters are not searchable")
    terms = tuple(dict.fromkeys(text.split()))
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"{name}: at most {MAX_TERMS} words")
    return terms


def parse_alternatives(text: str | None) -> tuple[tuple[str, ...], ...]:
    """``q=`` on items: comma-separated alternatives (OGC), each a list of terms."""
    parts = [part for part in (text or "").split(",") if part.strip()]
    if not parts:
        return (parse_terms(text),)
    if len(parts) > MAX_TERMS:
        raise InvalidInput(f"q: at most {MAX_TERMS} comma-separated alternatives")
    return tuple(parse_terms(part) for part in parts)


def _escaped(term: str) -> str:
    """``term`` with LIKE's own characters taken literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(term: str) -> str:
    return f"%{_escaped(term)}%"


def indexed(term: str) -> bool:
    """Whether pg_trgm can narrow a substring search for ``term``.

    It takes trigrams from runs of letters and digits: three in a row in Latin script, two
    Chinese characters (their pinyin). Without one ("%%%", "a-b", "——") it would read every
    entry to find nothing (0.74 s at scale 10, for anyone to send).
    """
    if term.isascii():
        return any(len(run) >= 3 for run in _WORD_RUNS.findall(term.lower()))
    return sum(ch.isalnum() for ch in term) >= 2


def short_number(term: str) -> bool:
    """A number too short for the trigram index to narrow ("3", "10"), as in "号楼 10"."""
    return term.isdigit() and not indexed(term)


def without_short_numbers(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The words whose entries ranking every match reads: a short number narrows none."""
    return tuple(term for term in terms if not short_number(term))


def term_condition(term: str, entry: str = "s") -> Compiled:
    """An entry (alias ``entry``) contains ``term`` in its text, pinyin or initials."""
    e = sql.Identifier(entry)
    if term.isascii():  # pinyin, initials, numbers, English names: all lower case in the index
        typed = term.lower()
        part = probe(typed)
        pattern = contains(part)
        through_index = sql.SQL(
            "({e}.pinyin LIKE %s OR {e}.pinyin_alternate LIKE %s OR {e}.initials LIKE %s)"
        ).format(e=e)
        if part == typed:
            return Compiled(through_index, [pattern, pattern, pattern])
        # The whole term confirmed with strpos, which no index serves: the index is asked
        # for the part alone ("nanlishilunanli10haolou" at scale 40: 53 -> 23 ms).
        return Compiled(
            sql.SQL(
                "({through_index} AND (strpos({e}.pinyin, %s) > 0 "
                "OR strpos({e}.pinyin_alternate, %s) > 0 OR strpos({e}.initials, %s) > 0))"
            ).format(through_index=through_index, e=e),
            [pattern, pattern, pattern, typed, typed, typed],
        )
    # Chinese: the pinyin of its distinctive part (``probe``) finds candidates through the
    # index; the whole term in the text confirms them. The pattern is a subquery so that it
    # is computed once (an InitPlan), not again for each candidate the index's recheck reads:
    # 月坛西里3区 at scale 10, 15.6 -> 5.9 ms.
    return Compiled(
        sql.SQL(
            "({e}.pinyin LIKE (SELECT '%%' || replace(replace(replace(onemap_pinyin(%s::text), "
            "'\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '%%') AND {e}.haystack ILIKE %s)"
        ).format(e=e),
        [probe(term), contains(term)],
    )


def probe(term: str) -> str:
    """The part of a term whose pinyin the index is asked for.

    Without a building's number at its end when what is left can still be narrowed
    ("南礼士路南里10号楼" -> "南礼士路南里", "nlslnl10hl" -> "nlslnl"). A text that holds
    the whole term holds the part, and pinyin is read character by character, so every
    entry of the whole term is among the part's candidates; the whole term then confirms
    them. At scale 40 the index read 4,564 pages for the whole name (88-140 ms) and 1,638
    for the estate's (12-17 ms).
    """
    part = (_NUMBERED_TYPED if term.isascii() else _NUMBERED_PART).sub("", term)
    return part if part != term and indexed(part) else term


def prefix_condition(term: str, entry: str = "s") -> Compiled:
    """An entry's name starts with ``term`` (or its pinyin or initials do)."""
    e = sql.Identifier(entry)
    if term.isascii():
        pattern = _escaped(term.lower()) + "%"
        return Compiled(
            sql.SQL("({e}.pinyin LIKE %s OR {e}.initials LIKE %s)").format(e=e), [pattern] * 2
        )
    return Compiled(sql.SQL("{e}.haystack LIKE %s").format(e=e), [_escaped(term) + "%"])


def terms_condition(terms: tuple[str, ...], entry: str = "s") -> Compiled:
    """Every term matches.

    When none is long enough for the index to narrow ("j", "jg", "建" while someone types),
    they match the start of the name instead, through btree indexes: what a person typing
    expects, and fast.
    """
    match = term_condition if any(indexed(t) for t in terms) else prefix_condition
    parts = [match(term, entry) for term in terms]
    return Compiled(
        sql.SQL(" AND ").join(p.sql for p in parts), [v for p in parts for v in p.params]
    )


def matching_ids(layer: Layer, alternatives: tuple[tuple[str, ...], ...]) -> Compiled:
    """``id IN (…)``: the layer's features that match one of the alternatives (items' ``q=``)."""
    if not layer.search:
        raise InvalidInput(
            f"q: {layer.name!r} has no text to search; use filter= or a property=value"
        )
    parts = [terms_condition(terms) for terms in alternatives]
    return Compiled(
        sql.SQL("id IN (SELECT s.feature_id FROM search_entries s WHERE s.layer = %s AND ({}))")
        .format(sql.SQL(" OR ").join(sql.SQL("({})").format(p.sql) for p in parts)),
        [layer.name, *(v for p in parts for v in p.params)],
    )  # fmt: skip
