"""What a client's ``Accept`` and ``Accept-Encoding`` headers ask for, weights included.

RFC 9110 §12.5: each item carries a weight ``q`` (0 = not acceptable), and the most specific
media range that matches a type gives its weight; a range's parameters must match too
(``…openapi+json;version=3.0``, which GDAL sends, does not accept version 3.1). Read by
looking at the first item, or for a substring, ``application/geo+json;q=0.1,
text/html;q=0.9`` got GeoJSON and ``Accept-Encoding: gzip;q=0`` got gzip. python-mimeparse
was tried first: it lets a range match whatever its parameters say.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

HTML = "text/html"
_MAX_ITEMS = 64  # a header of thousands of ranges is weighed by its first ones only


def _remembered(read: Callable[..., T]) -> Callable[..., T]:
    """``read`` remembering the answers for short headers.

    Clients send a few headers over and over (a browser's Accept weighs in 8 µs, remembered
    0.1 µs); long ones, which only an attacker sends, are weighed each time and not kept.
    """
    cached = functools.lru_cache(maxsize=512)(read)

    @functools.wraps(read)
    def remembered(header: str, *args: Any) -> T:
        return cached(header, *args) if len(header) <= 512 else read(header, *args)

    return remembered


def _items(header: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """(value, parameters, weight) of each item of a weighted list; unreadable ones skipped."""
    for item in header.split(",")[:_MAX_ITEMS]:
        value, *params = (part.strip() for part in item.split(";"))
        pairs = {}
        for param in params:
            name, _, v = param.partition("=")
            pairs[name.strip().lower()] = v.strip().strip('"')
        try:
            q = float(pairs.pop("q", "1"))
        except ValueError:
            continue
        if value and 0 <= q <= 1:
            yield value.lower(), pairs, q


def _weight(offered: str, ranges: list[tuple[str, dict[str, str], float]]) -> float:
    """The weight of the most specific range matching ``offered`` (0 when none does)."""
    kind, *params = (part.strip() for part in offered.lower().split(";"))
    own = dict(p.split("=", 1) for p in params)
    main, _, sub = kind.partition("/")
    best: tuple[int, float] = (-1, 0.0)
    for value, wanted, q in ranges:
        r_main, _, r_sub = value.partition("/")
        if r_main not in ("*", main) or r_sub not in ("*", sub):
            continue
        if any(own.get(name) != v for name, v in wanted.items()):
            continue
        specificity = (r_main != "*") + (r_sub != "*") + len(wanted)
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


@_remembered
def preferred(accept: str, offered: tuple[str, ...]) -> str:
    """The ``offered`` type the client weighs most; the first on a tie or without a header.

    A header that accepts none of them gets the first too: RFC 9110 lets a server answer
    with its default rather than 406, which GIS clients' odd Accept headers would meet.
    """
    ranges = list(_items(accept))
    if not ranges:
        return offered[0]
    weights = [_weight(media_type, ranges) for media_type in offered]
    best = max(weights)
    return offered[weights.index(best)] if best > 0 else offered[0]


def wants_html(
    f: str | None, accept: str, data_types: Sequence[str] = ("application/json",)
) -> bool:
    """``f=html``; without ``f``, a client weighing HTML above every ``data_types`` (a browser)."""
    if f is not None:
        return f == "html"
    return preferred(accept, (*data_types, HTML)) == HTML


@_remembered
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether gzip is acceptable: by name (or x-gzip), else by ``*``, weighing above 0."""
    weights = {coding: q for coding, _, q in _items(accept_encoding)}
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag``, compared weakly as RFC 9110 §13.1.2 asks.

    ``W/"x"`` matches ``"x"``: nginx marks the ETags of what it gzips weak, and the clients
    behind it sent them back to a 200 every time; ``*`` matches any representation.
    """
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == opaque:
            return True
    return False
