"""Input checking shared by every entry point (HTTP, CLI, bulk import).

Each helper normalises one raw value or records why it is bad in a ``Checker``; the
service raises one ``ValidationFailed`` listing every bad field before touching the store.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Any, Iterable
from uuid import UUID

from .clock import local_date
from .errors import ValidationFailed

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")

# The range of every date and instant the service takes (its documented bounds): nothing
# before the founding of the state, nothing so far ahead that date arithmetic or a
# time-zone shift could leave the calendar.
EARLIEST_DATE = date(1945, 9, 2)
LATEST_DATE = date(2199, 12, 31)
EARLIEST_INSTANT = datetime(1945, 9, 2, tzinfo=timezone.utc)
LATEST_INSTANT = datetime(2199, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
# Log positions and ids are 64-bit signed integers in both stores.
MAX_POSITION = 2**63 - 1

# Text fields that may span lines (tab, newline and carriage return allowed); every other
# text field is one line. Matched on the field's own name, also inside lists and objects
# ("violations[0].description").
MULTILINE_FIELDS = frozenset({"description", "reason", "grounds", "correction_reason",
                              "override_reason", "rotation_exception_reason"})

# What no stored text may hold: C0 controls (NUL cannot be stored in PostgreSQL text; the
# others are invisible and break readers), DEL and C1 controls (invisible; usually a
# Windows-1252 byte decoded wrongly), lone surrogates (not encodable as UTF-8) and the
# Unicode non-characters U+FDD0..U+FDEF, U+xFFFE and U+xFFFF.
_NONCHARACTERS = "".join(rf"\U{p:04x}fffe\U{p:04x}ffff" for p in range(17))
_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef" + _NONCHARACTERS
_BAD_IN_MULTILINE = re.compile(f"[{_FORBIDDEN}]")
_BAD_IN_LINE = re.compile(rf"[{_FORBIDDEN}\t\n\r]")


def is_multiline(field: str) -> bool:
    """Whether the field named ``field`` (a path such as ``violations[0].description``)
    may hold tabs and line breaks."""
    return field.rsplit(".", 1)[-1].split("[", 1)[0] in MULTILINE_FIELDS


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    found = (_BAD_IN_MULTILINE if multiline else _BAD_IN_LINE).search(value)
    if found is None:
        return None
    char = found.group()
    point = ord(char)
    kind = ("a tab or line break; the field is one line" if char in "\t\n\r" else
            "a lone surrogate" if 0xD800 <= point <= 0xDFFF else
            "a Unicode non-character" if point >= 0xFDD0 else "a control character")
    return f"must not contain U+{point:04X} ({kind}), found at character {found.start() + 1}"


def field_text_problem(field: str, value: str) -> str | None:
    """``text_problem`` for the field named ``field`` (multi-line per ``MULTILINE_FIELDS``)."""
    return text_problem(value, multiline=is_multiline(field))


def has_no_bad_text(json_text: str) -> bool:
    """True when no string in the JSON document ``json_text`` can hold a character
    ``text_problems`` refuses: without escapes every string is a slice of the text, so a
    text free of them (tabs and line breaks included) needs no walk of the parsed value.
    False only means: look with ``text_problems``."""
    return "\\" not in json_text and _BAD_IN_LINE.search(json_text.strip(" \t\r\n")) is None


def text_problems(value: Any, path: str = "") -> dict[str, str]:
    """Every string in a JSON-like value (object keys included) that cannot be stored,
    by field path: for input that arrives whole, such as an imported record."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        problem = field_text_problem(path or "_value", value)
        if problem:
            found[path or "_value"] = problem
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            problem = text_problem(key)
            if problem:
                found[f"{path}.{ascii(key)}" if path else ascii(key)] = f"field name {problem}"
                continue
            found.update(text_problems(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found.update(text_problems(item, f"{path}[{n}]"))
    return found


def nfc(text: str) -> str:
    """Vietnamese text is stored NFC-normalised with outer whitespace trimmed."""
    return unicodedata.normalize("NFC", text).strip()


class Checker:
    """Collects field errors; ``done()`` raises them all at once."""

    def __init__(self, today: date):
        self.today = today
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            fields = ", ".join(sorted(self.errors))
            raise ValidationFailed(f"invalid input: {fields}", details=dict(self.errors))

    def text(self, field: str, value: Any, *, required: bool = True,
             max_len: int = 2000) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return None
        problem = field_text_problem(field, value)
        if problem:
            self.fail(field, problem)
            return None
        value = nfc(value)
        if len(value) > max_len:
            self.fail(field, f"must be at most {max_len} characters")
        return value

    def choice(self, field: str, value: Any, choices: Iterable[str], *,
               required: bool = True) -> str | None:
        choices = list(choices)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if value not in choices:
            self.fail(field, f"must be one of: {', '.join(choices)}")
            return None
        return value

    def uuid(self, field: str, value: Any, *, required: bool = True) -> UUID | None:
        if value is None or value == "":
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, UUID):
            return value
        try:
            return UUID(str(value))
        except ValueError:
            self.fail(field, "must be a UUID")
            return None

    def date(self, field: str, value: Any, *, required: bool = True,
             past: bool = True) -> date | None:
        """An ISO date in the world; never in the future unless ``past`` is False."""
        if value is None or value == "":
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            try:
                value = date.fromisoformat(str(value))
            except ValueError:
                self.fail(field, "must be an ISO 8601 date (YYYY-MM-DD)")
                return None
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            self.fail(field, f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
            return None
        if past and value > self.today:
            self.fail(field, "must not be in the future")
            return None
        return value

    def datetime(self, field: str, value: Any, *, required: bool = True) -> datetime | None:
        """An ISO timestamp; naive ones are taken as UTC; never in the future."""
        if value is None or value == "":
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, datetime):
            try:
                value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                self.fail(field, "must be an ISO 8601 date-time")
                return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # compared before converting: 9999-12-31T23:59-14:00 has no UTC form
        if not EARLIEST_INSTANT <= value <= LATEST_INSTANT:
            self.fail(field, f"must be between {EARLIEST_INSTANT.isoformat()} and"
                      f" {LATEST_INSTANT.isoformat()}")
            return None
        value = value.astimezone(timezone.utc)
        if local_date(value) > self.today:
            self.fail(field, "must not be in the future")
            return None
        return value

    def integer(self, field: str, value: Any, *, lo: int, hi: int,
                required: bool = True) -> int | None:
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
                value = int(value)
            else:
                self.fail(field, "must be an integer")
                return None
        if not lo <= value <= hi:
            self.fail(field, f"must be between {lo} and {hi}")
            return None
        return value

    def number(self, field: str, value: Any, *, lo: float, hi: float) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(field, "must be a number")
            return None
        if not lo <= value <= hi:
            self.fail(field, f"must be between {lo:g} and {hi:g}")
            return None
        return float(value)

    def boolean(self, field: str, value: Any, *, default: bool | None = None) -> bool | None:
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self.fail(field, "must be true or false")
            return None
        return value

    def period(self, field: str, value: Any) -> str | None:
        """A month, YYYY-MM, not after the current month."""
        if not isinstance(value, str) or not _PERIOD.fullmatch(value):
            self.fail(field, "must be a month as YYYY-MM")
            return None
        year, month = int(value[:4]), int(value[5:])
        if (year, month) > (self.today.year, self.today.month):
            self.fail(field, "must not be in the future")
            return None
        if year < EARLIEST_DATE.year:
            self.fail(field, f"must not be before {EARLIEST_DATE.year}")
            return None
        return value

    def sha256_list(self, field: str, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, "must be a list of SHA-256 hex digests")
            return []
        out = []
        for item in value:
            if not isinstance(item, str) or not _SHA256.fullmatch(item.lower()):
                self.fail(field, "every item must be a 64-character SHA-256 hex digest")
                return []
            out.append(item.lower())
        return out

    def str_list(self, field: str, value: Any, *, required: bool = True) -> list[str]:
        if not isinstance(value, list) or (required and not value):
            self.fail(field, "must be a non-empty list of strings")
            return []
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(field, "every item must be a non-empty string")
            return []
        for n, v in enumerate(value):
            problem = field_text_problem(f"{field}[{n}]", v)
            if problem:
                self.fail(f"{field}[{n}]", problem)
                return []
        return [nfc(v) for v in value]

    def decision_ref(self, field: str, value: Any, *, required: bool = True) -> dict | None:
        """A document reference: number, symbol, issuer and signing date (số, ký hiệu, cơ quan)."""
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, dict):
            self.fail(field, "must be an object with number, symbol, issuer, signed_on")
            return None
        before = len(self.errors)
        number = self.text(f"{field}.number", value.get("number"), max_len=20)
        symbol = self.text(f"{field}.symbol", value.get("symbol"), max_len=60)
        issuer = self.text(f"{field}.issuer", value.get("issuer"), max_len=300)
        signed_on = self.date(f"{field}.signed_on", value.get("signed_on"))
        extra = set(value) - {"number", "symbol", "issuer", "signed_on"}
        if extra:
            self.fail(field, f"unknown fields: {', '.join(sorted(extra))}")
        if len(self.errors) != before:
            return None
        return {"number": number, "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


def decision_ref_key(ref: dict) -> str:
    """The identity of a document: issuer + symbol + number + year (numbers restart yearly)."""
    issuer = " ".join(nfc(ref["issuer"]).casefold().split())
    symbol = "".join(nfc(ref["symbol"]).upper().split())
    number = ref["number"].strip().lstrip("0") or "0"
    return f"{issuer}|{symbol}|{number}|{ref['signed_on'].year}"


def decision_ref_text(ref: dict | None, *, with_date: bool = False) -> str:
    """Human form, '123/QĐ-UBND (UBND quận Tây Hồ)', with ', 2018-05-02' when ``with_date``.

    Tolerates partial references (as stored in old events or read models).
    """
    if not ref:
        return ""
    number, symbol, issuer = ref.get("number"), ref.get("symbol"), ref.get("issuer")
    text = f"{number}/{symbol}" if number is not None and symbol else str(number or symbol or "")
    extra = [str(issuer)] if issuer else []
    signed = ref.get("signed_on")
    if with_date and signed:
        extra.append(signed.isoformat() if hasattr(signed, "isoformat") else str(signed)[:10])
    return f"{text} ({', '.join(extra)})" if extra else text
