"""JSON from untrusted input (request bodies, imported lines), parsed within bounds.

Python's parser recurses once per nesting level (thousands of levels end in
``RecursionError``) and refuses integers of more than 4,300 digits with a bare
``ValueError``. Here nesting is measured before parsing and refused beyond
``MAX_DEPTH``, and an integer literal longer than ``MAX_INT_DIGITS`` is kept as a
``NumberTooLong`` marker, so the field that holds it is refused by name, like any other
value of the wrong type.
"""
from __future__ import annotations

import json
import re
from typing import Any

# No request or record of this service nests deeper than 4 levels.
MAX_DEPTH = 16
# Beyond 64 bits no number means anything here (positions, years, scores all fit).
MAX_INT_DIGITS = 20

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """The document nests arrays and objects deeper than ``MAX_DEPTH``."""

    def __init__(self, limit: int):
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


class NumberTooLong:
    """Stands for an integer literal too long to be any field's value."""

    __slots__ = ("digits",)

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:
        return f"<integer of {self.digits} digits>"


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects deeper than ``limit`` (brackets inside
    strings do not count); measured without parsing or recursion."""
    if text.count("[") + text.count("{") <= limit:
        return False
    level = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            level += 1
            if level > limit:
                return True
        else:
            level -= 1
    return False


def _int(literal: str) -> int | NumberTooLong:
    digits = len(literal.lstrip("-"))
    return int(literal) if digits <= MAX_INT_DIGITS else NumberTooLong(digits)


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` within bounds: ``TooDeep`` beyond ``max_depth``; invalid JSON or
    UTF-8 raises ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if too_deep(text, max_depth):
        raise TooDeep(max_depth)
    return _DECODER.decode(text)


# made once: json.loads(text, parse_int=…) builds a decoder on every call
_DECODER = json.JSONDecoder(parse_int=_int)
