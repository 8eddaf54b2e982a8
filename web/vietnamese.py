"""Vietnamese text for the pages: collation (sort order) and how dates and times are shown.

Vietnamese sorts by letter first, with ă, â, đ, ê, ô, ơ, ư letters of their own
(a < ă < â < b < c < d < đ < e < ê < …), and only then by tone, in the dictionary order
ngang < huyền < hỏi < ngã < sắc < nặng. Personal names are sorted by given name (the last
word), then by the whole name, as Vietnamese lists of people are.
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone

from audit_service.clock import VIETNAM

ALPHABET = ["a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l",
            "m", "n", "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z"]
_RANK = {letter: n for n, letter in enumerate(ALPHABET)}
# combining marks that make a letter of its own (breve, circumflex, horn)
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}
# tone marks in dictionary order (no mark = 0): huyền, hỏi, ngã, sắc, nặng
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def collation_key(text: str) -> tuple:
    """A sort key ordering Vietnamese text as a dictionary does (case-insensitive)."""
    letters: list[tuple[int, str]] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", (text or "").casefold()):
        if ch in _TONES:
            if tones:
                tones[-1] = _TONES[ch]
            continue
        if ch in _LETTER_MARKS and letters:
            base = letters[-1][1]
            composed = unicodedata.normalize("NFC", base + ch)
            letters[-1] = (_RANK.get(composed, 100), composed)
            continue
        if unicodedata.combining(ch):
            continue
        letters.append((_RANK.get(ch, 100 + ord(ch)), ch))
        tones.append(0)
    return tuple(r for r, _ in letters), tuple(tones), text or ""


def name_key(full_name: str) -> tuple:
    """Sort key for a person's name: given name first, then the whole name."""
    words = (full_name or "").split()
    return collation_key(words[-1] if words else ""), collation_key(full_name)


def as_date(value: date | datetime | str | None) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def show_date(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy, the way dates are written in Vietnam."""
    day = as_date(value)
    return day.strftime("%d/%m/%Y") if day else ""


def as_instant(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(VIETNAM)


def show_time(value: datetime | str | None) -> str:
    """An instant as dd/mm/yyyy HH:MM in Vietnam time (UTC+7)."""
    moment = as_instant(value)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""
