"""Numbers written as text, read one way: ASCII digits, a sign, a point and an exponent.

Python's ``int`` and ``float`` also read ``5_0`` (50), `` 5`` and other scripts' digits
(``١١٦`` is 116), which a proxy, a log reader or another OGC server reads differently or not
at all: two readers of one request see two numbers.
"""

from __future__ import annotations

import math
import re

from layers.errors import shown

# Digits in one integer: beyond any id, count or code. Python's own limit (4,300) answers
# with advice about ``sys.set_int_max_str_digits``, meant for programmers.
MAX_DIGITS = 64

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def integer(text: str) -> int:
    """``text`` as an integer; ValueError unless it is written in ASCII digits."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"expected an integer in the digits 0-9, got {shown(text)}")
    if len(text.lstrip("+-")) > MAX_DIGITS:
        raise ValueError(f"expected an integer of at most {MAX_DIGITS} digits, got {len(text):,}")
    return int(text)


def decimal(text: str) -> float:
    """``text`` as a finite number; ValueError unless it is written in ASCII digits.

    NaN and infinity are not, nor digits too many for a float (``1e999``, 400 nines).
    """
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"expected a number in the digits 0-9, got {shown(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {shown(text)}")
    return value


def checked_integer(value: object) -> object:
    """For a pydantic BeforeValidator: a string must be an ASCII integer; the rest passes on."""
    if isinstance(value, str):
        integer(value)
    return value
