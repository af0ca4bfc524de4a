"""Schemathesis hooks: besides what the OpenAPI document allows, what an attacker sends.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=fuzz_hooks`` (see ``fuzz.fuzz``). Each
generated request may have one query or path parameter replaced by a hostile value, or
repeated many times, and a JSON body may get a non-finite number, a huge one or deep nesting.
The server must answer each with a 4xx (or ignore it), never a 5xx, and stay up.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st

DEEP = 3_000


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_TEXT = [
    "nan", "NaN", "inf", "-Infinity", "1e309", "-1e400", "9" * 400, "-0", "0x10",
    "(" * DEEP + "1" + ")" * DEEP, "NOT " * DEEP + "true",
    '{"op":"not","args":[' * 300 + "true" + "]}" * 300,
    "x" * 20_000, "\x00", "../../../../etc/passwd", "/vsicurl/http://127.0.0.1/",
    "1,2,3," * 2_000, "'; SELECT pg_sleep(10); --",
]  # fmt: skip
HOSTILE_JSON: list[Any] = [
    # NaN and Infinity cannot go through Schemathesis's JSON encoder: test_attacks sends them.
    10**400, -(10**400), -(2**70), 2**63, 1e308, -1e308, 5e-324,
    _nested(100),
    "x" * 100_000,
]  # fmt: skip
REPEATS = [1, 1, 200]


def _replace(values: dict[str, Any], hostile: list[Any], repeat: bool):  # type: ignore[no-untyped-def]
    """The values as drawn, or with one of them replaced by a hostile one (perhaps repeated)."""
    names = sorted(values)
    swapped = st.tuples(
        st.sampled_from(names), st.sampled_from(hostile),
        st.sampled_from(REPEATS if repeat else [1]),
    ).map(lambda t: {**values, t[0]: [t[1]] * t[2] if t[2] > 1 else t[1]})  # fmt: skip
    return st.one_of(st.just(values), swapped)


@schemathesis.hook
def flatmap_query(ctx, query):  # type: ignore[no-untyped-def]
    return _replace(query, HOSTILE_TEXT, repeat=True) if query else st.just(query)


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):  # type: ignore[no-untyped-def]
    if not path_parameters:
        return st.just(path_parameters)
    return _replace(path_parameters, ["nan", "1e309", "9" * 40, "-1", "%2e%2e"], repeat=False)


@schemathesis.hook
def flatmap_body(ctx, body):  # type: ignore[no-untyped-def]
    if not isinstance(body, dict) or not body:
        return st.just(body)
    properties = body.get("properties")
    if isinstance(properties, dict) and properties:  # a GeoJSON feature: aim at its fields
        return _replace(properties, HOSTILE_JSON, repeat=False).map(
            lambda p: {**body, "properties": p}
        )
    return _replace(body, HOSTILE_JSON, repeat=False)
