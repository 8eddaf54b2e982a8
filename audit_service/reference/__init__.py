"""Legal reference data (catalogues with citations and validity dates), loaded from TOML.

The data lives in the ``*.toml`` files beside this module, one file per catalogue. Every entry
names its legal source; entries the law leaves unclear carry ``uncertain = true`` and a ``note``
so an operator can review and override them (by pointing :func:`load_reference` at a copied,
edited directory). Validity dates are inclusive; ``valid_until`` absent means open-ended.

Only the standard library is used (``tomllib``). Everything returned is immutable: frozen
dataclasses, tuples and read-only mappings. Any schema violation raises
:class:`ReferenceDataError` naming the file and the entry.
"""
from __future__ import annotations

import functools
import hashlib
import math
import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "AnnualRatingLevel", "Category", "ConductCode", "Decree335Bands", "DeferralReason",
    "DisciplineForm", "EffectPeriod", "FORM_CODES", "LimitationExemption", "LimitationPeriod",
    "MonthlyFramework", "MonthlyGrade", "PACKAGE_DIR", "POSTS", "REFERENCE_FILES", "ReferenceData",
    "ReferenceDataError", "Rule", "ScoreBand", "UnitLevel", "load_reference",
]

PACKAGE_DIR = Path(__file__).resolve().parent

REFERENCE_FILES = (
    "categories.toml",
    "conduct_codes.toml",
    "discipline_forms.toml",
    "effect_periods.toml",
    "limitation_periods.toml",
    "ratings.toml",
    "rules.toml",
    "unit_levels.toml",
    "workdays.toml",  # read by audit_service.workdays; here for the version hash
)

#: Every discipline form code the catalogues may use.
FORM_CODES = frozenset({
    "khien_trach", "canh_cao", "ha_bac_luong", "giang_chuc", "cach_chuc", "buoc_thoi_viec",
    "bai_nhiem",
})
EFFECT_SCOPES = ("state", "party")
#: What an effect period bars; ``appointment_scope_open`` needs an ``open_question``.
EFFECT_BARS = frozenset({"promotion_and_higher_appointment", "any_appointment", "higher_post",
                         "appointment_scope_open"})
#: The post an eligibility question is about: the same post (bổ nhiệm lại) or a higher one.
POSTS = ("same", "higher")


class ReferenceDataError(Exception):
    """A reference file is missing, unparsable or breaks the schema."""

    def __init__(self, file: str, entry: str | None, message: str):
        self.file = file
        self.entry = entry
        self.message = message
        where = f"{file}: {entry}" if entry else file
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- entry types

def _valid_on(valid_from: date, valid_until: date | None, on: date) -> bool:
    return valid_from <= on and (valid_until is None or on <= valid_until)


@dataclass(frozen=True)
class Category:
    code: str
    title_vi: str
    title_en: str
    source: str
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class UnitLevel:
    code: str
    rank: int  # 1 = highest
    title_vi: str
    title_en: str
    source: str
    abolished_on: date | None = None  # informational: never invalidates older records
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class ConductCode:
    code: str
    group: str
    title_vi: str
    title_en: str
    source: str
    valid_from: date
    valid_until: date | None = None
    uncertain: bool = False
    note: str = ""

    def valid_on(self, on: date) -> bool:
        return _valid_on(self.valid_from, self.valid_until, on)


@dataclass(frozen=True)
class DisciplineForm:
    form: str
    category: str
    regime: str
    severity: int  # rank within the regime, 1 = lightest
    leaders_only: bool
    elected_only: bool
    title_vi: str
    title_en: str
    valid_from: date
    valid_until: date | None
    source: str
    uncertain: bool = False
    note: str = ""
    non_leaders_only: bool = False

    def valid_on(self, on: date) -> bool:
        return _valid_on(self.valid_from, self.valid_until, on)


@dataclass(frozen=True)
class LimitationPeriod:
    id: str
    category: str
    valid_from: date
    valid_until: date | None
    minor_years: int
    other_years: int
    minor_forms: tuple[str, ...]
    source: str
    uncertain: bool = False
    note: str = ""
    exemptions_apply: bool = True  # no exemptions before 2020-07-01

    def valid_on(self, on: date) -> bool:
        return _valid_on(self.valid_from, self.valid_until, on)

    def years_for(self, form: str) -> int:
        """The period for a violation whose deserved form is ``form``."""
        return self.minor_years if form in self.minor_forms else self.other_years


@dataclass(frozen=True)
class LimitationExemption:
    code: str
    title_vi: str
    title_en: str
    source: str
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class EffectPeriod:
    id: str
    scope: str  # 'state' | 'party'
    form: str
    months: int
    bars: str  # one of EFFECT_BARS
    valid_from: date
    valid_until: date | None
    source: str
    uncertain: bool = False
    note: str = ""
    open_question: str = ""

    def bars_post(self, post: str) -> bool | None:
        """Whether the period bars appointment to ``post`` ('same' or 'higher'); None when
        the text leaves it open (see ``open_question``)."""
        if self.bars == "any_appointment" or post == "higher":
            return True
        if self.bars == "appointment_scope_open":
            return None
        return False

    def valid_on(self, on: date) -> bool:
        return _valid_on(self.valid_from, self.valid_until, on)


@dataclass(frozen=True)
class DeferralReason:
    code: str
    title_vi: str
    title_en: str
    source: str
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class AnnualRatingLevel:
    code: str
    rank: int  # 1 = best
    title_vi: str
    title_en: str
    valid_from_year: int
    valid_until_year: int | None
    failed: bool
    source: str
    uncertain: bool = False
    note: str = ""

    def valid_for(self, year: int) -> bool:
        return self.valid_from_year <= year and (
            self.valid_until_year is None or year <= self.valid_until_year)


@dataclass(frozen=True)
class MonthlyGrade:
    grade: str
    min_score: int | float
    title_vi: str
    title_en: str
    valid_from: date
    valid_until: date | None
    source: str
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class MonthlyFramework:
    source: str
    valid_from: date
    points_discipline_ethics: int
    points_task_results: int
    points_bonus: int
    grade_a_cap_percent: int
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class ScoreBand:
    level: str
    min_score: int | float


@dataclass(frozen=True)
class Decree335Bands:
    category: str
    valid_from: date
    source: str
    points_general: int
    points_task_results: int
    htxsnv_cap_percent: int
    bands: tuple[ScoreBand, ...]  # by min_score, highest first
    uncertain: bool = False
    note: str = ""

    def level_for(self, score: int | float) -> str:
        _check_score(score)
        for band in self.bands:
            if score >= band.min_score:
                return band.level
        raise ValueError(f"score {score!r} is below every band")


@dataclass(frozen=True)
class Rule:
    id: str
    title_vi: str
    title_en: str
    citation: str
    valid_from: date
    valid_until: date | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    uncertain: bool = False
    note: str = ""
    #: Later instruments that replace the citation from a date, optionally per category:
    #: ({"valid_from": date, "citation": str, "categories": [..]}, ...), oldest first.
    later_citations: tuple = field(default=(), hash=False)

    def citation_on(self, on: date, category: str | None = None) -> str:
        """The citation in force on ``on`` for an officer of ``category``."""
        text = self.citation
        for c in self.later_citations:
            cats = c.get("categories") or ()
            if c["valid_from"] <= on and (not cats or category in cats):
                text = c["citation"]
        return text

    def valid_on(self, on: date) -> bool:
        return _valid_on(self.valid_from, self.valid_until, on)


def _check_score(score: Any) -> None:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ValueError(f"score must be a finite number, not {score!r}")
    if score < 0:
        raise ValueError(f"score must not be negative, not {score!r}")


# --------------------------------------------------------------------------- the data set

@dataclass(frozen=True, eq=False)
class ReferenceData:
    """All catalogues, immutable. Build it with :func:`load_reference`."""

    version: str
    categories: Mapping[str, Category]
    unit_levels: Mapping[str, UnitLevel]
    conduct_codes: Mapping[str, ConductCode]
    discipline_forms: tuple[DisciplineForm, ...]
    limitation_periods: tuple[LimitationPeriod, ...]
    limitation_exemptions: Mapping[str, LimitationExemption]
    limitation_restart_on_new_violation: bool
    effect_periods: tuple[EffectPeriod, ...]
    deferral_reasons: Mapping[str, DeferralReason]
    handling_max_days: int
    handling_max_days_complex: int
    handling_source: str
    handling_valid_from: date
    annual_levels: Mapping[str, AnnualRatingLevel]
    rating_min_months_worked: int
    monthly_grades: tuple[MonthlyGrade, ...]  # by min_score, highest first
    monthly_framework: MonthlyFramework
    decree335: Decree335Bands
    rules: Mapping[str, Rule]
    rules_version: str
    titles: Mapping[str, str]  # file name -> its top-level title
    notes: Mapping[str, str]  # file name -> its top-level note

    # -- queries ---------------------------------------------------------------------------

    def conduct_code(self, code: str, on: date) -> ConductCode | None:
        entry = self.conduct_codes.get(code)
        return entry if entry is not None and entry.valid_on(on) else None

    def forms_for(self, category: str, on: date) -> list[DisciplineForm]:
        """The forms available for ``category`` on ``on``, lightest first."""
        found = [f for f in self.discipline_forms if f.category == category and f.valid_on(on)]
        return sorted(found, key=lambda f: (f.severity, f.form))

    def discipline_form(self, form: str, category: str, on: date) -> DisciplineForm | None:
        for entry in self.discipline_forms:
            if entry.form == form and entry.category == category and entry.valid_on(on):
                return entry
        return None

    def regime_for(self, category: str, on: date) -> str | None:
        forms = self.forms_for(category, on)
        return forms[0].regime if forms else None

    def limitation_periods_for(self, category: str) -> list[LimitationPeriod]:
        """Every limitation period of ``category``, oldest first."""
        return sorted((p for p in self.limitation_periods if p.category == category),
                      key=lambda p: p.valid_from)

    def limitation_for(self, category: str, on: date) -> LimitationPeriod | None:
        for entry in self.limitation_periods:
            if entry.category == category and entry.valid_on(on):
                return entry
        return None

    def effects_for(self, form: str, on: date, system: str | None = None) -> list[EffectPeriod]:
        """Effects of ``form`` for a decision of the discipline ``system`` ('state' or
        'party'; None: both) whose regime date is ``on``."""
        found = [e for e in self.effect_periods if e.form == form and e.valid_on(on)
                 and (system is None or e.scope == system)]
        return sorted(found, key=lambda e: (EFFECT_SCOPES.index(e.scope), e.id))

    def annual_level(self, code: str, year: int) -> AnnualRatingLevel | None:
        entry = self.annual_levels.get(code)
        return entry if entry is not None and entry.valid_for(year) else None

    def monthly_grade_for(self, score: int | float) -> str:
        """Hanoi monthly grade ('A'..'D') for a score out of 100 (3814-QĐ/TU)."""
        _check_score(score)
        for grade in self.monthly_grades:
            if score >= grade.min_score:
                return grade.grade
        raise ValueError(f"score {score!r} is below every grade")  # unreachable: lowest is 0

    def decree335_level_for(self, score: int | float) -> str:
        """Annual level for a Decree 335/2025 score (công chức, from 2026), before caps."""
        return self.decree335.level_for(score)

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise KeyError(f"unknown reference rule {rule_id!r}") from None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready catalogues: dates as ISO strings, tuples as lists."""
        return _jsonable({
            "version": self.version,
            "rules_version": self.rules_version,
            "categories": list(self.categories.values()),
            "unit_levels": list(self.unit_levels.values()),
            "conduct_codes": list(self.conduct_codes.values()),
            "discipline_forms": list(self.discipline_forms),
            "limitation": {
                "restart_on_new_violation": self.limitation_restart_on_new_violation,
                "periods": list(self.limitation_periods),
                "exemptions": list(self.limitation_exemptions.values()),
            },
            "effect_periods": list(self.effect_periods),
            "handling": {
                "max_days": self.handling_max_days,
                "max_days_complex": self.handling_max_days_complex,
                "valid_from": self.handling_valid_from,
                "source": self.handling_source,
            },
            "deferral_reasons": list(self.deferral_reasons.values()),
            "ratings": {
                "min_months_worked": self.rating_min_months_worked,
                "annual_levels": list(self.annual_levels.values()),
                "monthly_framework": self.monthly_framework,
                "monthly_grades": list(self.monthly_grades),
                "decree335": self.decree335,
            },
            "rules": list(self.rules.values()),
            "files": {name: {"title": self.titles[name], "note": self.notes[name]}
                      for name in sorted(self.titles)},
        })


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- schema checks

# field kinds
STR = "non-empty string"
TEXT = "string"
INT = "integer"
POSINT = "positive integer"
NONNEG = "non-negative number"
BOOL = "boolean"
DATE = "date"
STRLIST = "list of non-empty strings"
TABLE = "table"
ENTRIES = "array of tables"

_COMMON = {"uncertain": (BOOL, False), "note": (TEXT, False)}


class _File:
    """Validation context for one file: raises errors naming it."""

    def __init__(self, name: str, data: dict[str, Any]):
        self.name = name
        self.data = data

    def fail(self, entry: str | None, message: str) -> None:
        raise ReferenceDataError(self.name, entry, message)

    def top(self, spec: dict[str, tuple[str, bool]]) -> dict[str, Any]:
        spec = {"title": (STR, True), "note": (STR, True), **spec}
        return _check(self, None, self.data, spec)

    def entries(self, key: str, spec: dict[str, tuple[str, bool]],
                label: Callable[[dict[str, Any]], str]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for i, raw in enumerate(self.data.get(key, [])):
            name = f"[[{key}]] #{i + 1}"
            if isinstance(raw, dict):
                extra = label(raw)
                if extra:
                    name = f"{name} ({extra})"
            else:
                self.fail(name, "must be a table")
            values = _check(self, name, raw, {**spec, **_COMMON})
            if values.get("uncertain") and not values.get("note", "").strip():
                self.fail(name, "an uncertain entry needs a note explaining why")
            out.append((name, values))
        return out


def _check(ctx: _File, entry: str | None, table: dict[str, Any],
           spec: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    unknown = sorted(set(table) - set(spec))
    if unknown:
        ctx.fail(entry, f"unknown field(s) {', '.join(map(repr, unknown))}")
    out: dict[str, Any] = {}
    for name, (kind, required) in spec.items():
        if name not in table:
            if required:
                ctx.fail(entry, f"missing required field {name!r}")
            continue
        value = table[name]
        _check_nfc(ctx, entry, name, value)
        if not _kind_ok(kind, value):
            ctx.fail(entry, f"field {name!r} must be a {kind}, got {value!r}")
        out[name] = value
    return out


def _kind_ok(kind: str, value: Any) -> bool:
    if kind == STR:
        return isinstance(value, str) and bool(value.strip())
    if kind == TEXT:
        return isinstance(value, str)
    if kind in (INT, POSINT):
        return isinstance(value, int) and not isinstance(value, bool) and (
            kind == INT or value > 0)
    if kind == NONNEG:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and value >= 0)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == DATE:
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == STRLIST:
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if kind == TABLE:
        return isinstance(value, dict)
    if kind == ENTRIES:
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    raise AssertionError(kind)


def _check_nfc(ctx: _File, entry: str | None, name: str, value: Any) -> None:
    if isinstance(value, str):
        if not unicodedata.is_normalized("NFC", value):
            ctx.fail(entry, f"field {name!r} is not NFC-normalised Unicode")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_nfc(ctx, entry, f"{name}.{k}", v)
    elif isinstance(value, list):
        for v in value:
            _check_nfc(ctx, entry, name, v)


def _check_window(ctx: _File, entry: str, values: dict[str, Any]) -> None:
    until = values.get("valid_until")
    if until is not None and until < values["valid_from"]:
        ctx.fail(entry, f"valid_from {values['valid_from']} is after valid_until {until}")


def _unique(ctx: _File, entry: str, seen: dict[Any, str], key: Any, what: str) -> None:
    if key in seen:
        ctx.fail(entry, f"duplicate {what} {key!r} (already in {seen[key]})")
    seen[key] = entry


def _no_overlap(ctx: _File, items: Iterable[tuple[str, Any]], key: Callable[[Any], Any],
                what: str) -> None:
    groups: dict[Any, list[tuple[str, Any]]] = defaultdict(list)
    for name, item in items:
        groups[key(item)].append((name, item))
    for k, group in groups.items():
        group.sort(key=lambda pair: pair[1].valid_from)
        for (name_a, a), (name_b, b) in zip(group, group[1:]):
            if a.valid_until is None or a.valid_until >= b.valid_from:
                ctx.fail(name_b, f"validity overlaps {name_a} for the same {what} {k!r}")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _label(*keys: str) -> Callable[[dict[str, Any]], str]:
    return lambda raw: ", ".join(f"{k}={raw[k]!r}" for k in keys if k in raw)


# --------------------------------------------------------------------------- per file

def _load_categories(f: _File) -> dict[str, Category]:
    f.top({"category": (ENTRIES, True)})
    out: dict[str, Category] = {}
    seen: dict[Any, str] = {}
    spec = {"code": (STR, True), "title_vi": (STR, True), "title_en": (STR, True),
            "source": (STR, True)}
    for name, v in f.entries("category", spec, _label("code")):
        _unique(f, name, seen, v["code"], "category code")
        out[v["code"]] = Category(**v)
    if not out:
        f.fail(None, "no categories")
    return out


def _load_unit_levels(f: _File) -> dict[str, UnitLevel]:
    f.top({"unit_level": (ENTRIES, True)})
    out: dict[str, UnitLevel] = {}
    seen: dict[Any, str] = {}
    spec = {"code": (STR, True), "rank": (POSINT, True), "title_vi": (STR, True),
            "title_en": (STR, True), "source": (STR, True), "abolished_on": (DATE, False)}
    for name, v in f.entries("unit_level", spec, _label("code")):
        _unique(f, name, seen, v["code"], "unit level code")
        out[v["code"]] = UnitLevel(**v)
    return out


def _load_conduct_codes(f: _File) -> dict[str, ConductCode]:
    f.top({"conduct": (ENTRIES, True)})
    out: dict[str, ConductCode] = {}
    seen: dict[Any, str] = {}
    spec = {"code": (STR, True), "group": (STR, True), "title_vi": (STR, True),
            "title_en": (STR, True), "source": (STR, True), "valid_from": (DATE, True),
            "valid_until": (DATE, False)}
    for name, v in f.entries("conduct", spec, _label("code")):
        if not v["code"].isascii() or v["code"] != v["code"].strip():
            f.fail(name, f"conduct code {v['code']!r} must be an ASCII slug")
        _unique(f, name, seen, v["code"], "conduct code")
        _check_window(f, name, v)
        out[v["code"]] = ConductCode(**v)
    return out


def _load_discipline_forms(f: _File, categories: Mapping[str, Category]) -> tuple[DisciplineForm, ...]:
    f.top({"form": (ENTRIES, True)})
    spec = {"form": (STR, True), "category": (STR, True), "regime": (STR, True),
            "severity": (POSINT, True), "leaders_only": (BOOL, True),
            "non_leaders_only": (BOOL, False), "elected_only": (BOOL, True),
            "title_vi": (STR, True), "title_en": (STR, True), "valid_from": (DATE, True),
            "valid_until": (DATE, False), "source": (STR, True)}
    items: list[tuple[str, DisciplineForm]] = []
    for name, v in f.entries("form", spec, _label("form", "category", "regime")):
        if v["form"] not in FORM_CODES:
            f.fail(name, f"unknown form code {v['form']!r}")
        if v["category"] not in categories:
            f.fail(name, f"unknown category {v['category']!r}")
        if v["leaders_only"] and v.get("non_leaders_only"):
            f.fail(name, "leaders_only and non_leaders_only are exclusive")
        _check_window(f, name, v)
        items.append((name, DisciplineForm(valid_until=v.pop("valid_until", None), **v)))
    _no_overlap(f, items, lambda d: (d.form, d.category), "(form, category)")
    # one regime per category at any date
    for i, (name_a, a) in enumerate(items):
        for name_b, b in items[i + 1:]:
            if a.category == b.category and a.regime != b.regime and _overlaps(a, b):
                f.fail(name_b, f"regime {b.regime!r} overlaps regime {a.regime!r} ({name_a}) "
                               f"for category {a.category!r}")
    return tuple(d for _, d in items)


def _overlaps(a: Any, b: Any) -> bool:
    a_end = a.valid_until or date.max
    b_end = b.valid_until or date.max
    return a.valid_from <= b_end and b.valid_from <= a_end


def _load_limitation(f: _File, categories: Mapping[str, Category]):
    top = f.top({"restart_on_new_violation": (BOOL, True), "period": (ENTRIES, True),
                 "exemption": (ENTRIES, True)})
    spec = {"id": (STR, True), "category": (STR, True), "valid_from": (DATE, True),
            "valid_until": (DATE, False), "minor_years": (POSINT, True),
            "other_years": (POSINT, True), "minor_forms": (STRLIST, True),
            "source": (STR, True), "exemptions_apply": (BOOL, False)}
    periods: list[tuple[str, LimitationPeriod]] = []
    seen: dict[Any, str] = {}
    for name, v in f.entries("period", spec, _label("id", "category")):
        _unique(f, name, seen, v["id"], "period id")
        if v["category"] not in categories:
            f.fail(name, f"unknown category {v['category']!r}")
        bad = [x for x in v["minor_forms"] if x not in FORM_CODES]
        if bad:
            f.fail(name, f"unknown form code(s) in minor_forms: {bad!r}")
        if v["minor_years"] > v["other_years"]:
            f.fail(name, "minor_years is longer than other_years")
        _check_window(f, name, v)
        v["minor_forms"] = tuple(v["minor_forms"])
        periods.append((name, LimitationPeriod(valid_until=v.pop("valid_until", None), **v)))
    _no_overlap(f, periods, lambda p: p.category, "category")
    exemptions: dict[str, LimitationExemption] = {}
    seen = {}
    spec = {"code": (STR, True), "title_vi": (STR, True), "title_en": (STR, True),
            "source": (STR, True)}
    for name, v in f.entries("exemption", spec, _label("code")):
        _unique(f, name, seen, v["code"], "exemption code")
        exemptions[v["code"]] = LimitationExemption(**v)
    return tuple(p for _, p in periods), exemptions, top["restart_on_new_violation"]


def _load_effects(f: _File):
    top = f.top({"handling": (TABLE, True), "deferral_reason": (ENTRIES, True),
                 "effect": (ENTRIES, True)})
    handling = _check(f, "[handling]", top["handling"], {
        "max_days": (POSINT, True), "max_days_complex": (POSINT, True),
        "valid_from": (DATE, True), "source": (STR, True), **_COMMON})
    if handling["max_days_complex"] < handling["max_days"]:
        f.fail("[handling]", "max_days_complex is shorter than max_days")
    reasons: dict[str, DeferralReason] = {}
    seen: dict[Any, str] = {}
    spec = {"code": (STR, True), "title_vi": (STR, True), "title_en": (STR, True),
            "source": (STR, True)}
    for name, v in f.entries("deferral_reason", spec, _label("code")):
        _unique(f, name, seen, v["code"], "deferral reason code")
        reasons[v["code"]] = DeferralReason(**v)
    spec = {"id": (STR, True), "scope": (STR, True), "form": (STR, True),
            "months": (POSINT, True), "bars": (STR, True), "valid_from": (DATE, True),
            "valid_until": (DATE, False), "source": (STR, True), "open_question": (TEXT, False)}
    effects: list[tuple[str, EffectPeriod]] = []
    seen = {}
    for name, v in f.entries("effect", spec, _label("id")):
        _unique(f, name, seen, v["id"], "effect id")
        if v["scope"] not in EFFECT_SCOPES:
            f.fail(name, f"unknown scope {v['scope']!r} (expected one of {EFFECT_SCOPES})")
        if v["form"] not in FORM_CODES:
            f.fail(name, f"unknown form code {v['form']!r}")
        if v["bars"] not in EFFECT_BARS:
            f.fail(name, f"unknown bars value {v['bars']!r}")
        if v["bars"] == "appointment_scope_open" and not v.get("open_question"):
            f.fail(name, "bars = appointment_scope_open needs the open_question it leaves")
        _check_window(f, name, v)
        effects.append((name, EffectPeriod(valid_until=v.pop("valid_until", None), **v)))
    _no_overlap(f, effects, lambda e: (e.scope, e.form), "(scope, form)")
    return handling, reasons, tuple(e for _, e in effects)


def _load_ratings(f: _File, categories: Mapping[str, Category]):
    top = f.top({"min_months_worked": (POSINT, True), "annual_level": (ENTRIES, True),
                 "monthly_framework": (TABLE, True), "monthly_grade": (ENTRIES, True),
                 "decree335": (TABLE, True)})
    levels: dict[str, AnnualRatingLevel] = {}
    seen: dict[Any, str] = {}
    spec = {"code": (STR, True), "rank": (POSINT, True), "title_vi": (STR, True),
            "title_en": (STR, True), "valid_from_year": (POSINT, True),
            "valid_until_year": (POSINT, False), "failed": (BOOL, True),
            "source": (STR, True)}
    for name, v in f.entries("annual_level", spec, _label("code")):
        _unique(f, name, seen, v["code"], "annual level code")
        until = v.get("valid_until_year")
        if until is not None and until < v["valid_from_year"]:
            f.fail(name, "valid_from_year is after valid_until_year")
        levels[v["code"]] = AnnualRatingLevel(valid_until_year=v.pop("valid_until_year", None), **v)

    mf = _check(f, "[monthly_framework]", top["monthly_framework"], {
        "source": (STR, True), "valid_from": (DATE, True),
        "points_discipline_ethics": (POSINT, True), "points_task_results": (POSINT, True),
        "points_bonus": (POSINT, True), "grade_a_cap_percent": (POSINT, True), **_COMMON})
    framework = MonthlyFramework(**mf)

    grades: list[MonthlyGrade] = []
    seen, seen_min = {}, {}
    spec = {"grade": (STR, True), "min_score": (NONNEG, True), "title_vi": (STR, True),
            "title_en": (STR, True), "valid_from": (DATE, True), "valid_until": (DATE, False),
            "source": (STR, True)}
    for name, v in f.entries("monthly_grade", spec, _label("grade")):
        _unique(f, name, seen, v["grade"], "monthly grade")
        _unique(f, name, seen_min, v["min_score"], "monthly grade min_score")
        _check_window(f, name, v)
        grades.append(MonthlyGrade(valid_until=v.pop("valid_until", None), **v))
    grades.sort(key=lambda g: g.min_score, reverse=True)
    if not grades or grades[-1].min_score != 0:
        f.fail("[[monthly_grade]]", "the lowest monthly grade must start at min_score 0")

    d = _check(f, "[decree335]", top["decree335"], {
        "category": (STR, True), "valid_from": (DATE, True), "source": (STR, True),
        "points_general": (POSINT, True), "points_task_results": (POSINT, True),
        "htxsnv_cap_percent": (POSINT, True), "bands": (ENTRIES, True), **_COMMON})
    if d["category"] not in categories:
        f.fail("[decree335]", f"unknown category {d['category']!r}")
    bands: list[ScoreBand] = []
    seen = {}
    for i, raw in enumerate(d.pop("bands")):
        name = f"[decree335] bands #{i + 1}"
        b = _check(f, name, raw, {"level": (STR, True), "min_score": (NONNEG, True)})
        if b["level"] not in levels:
            f.fail(name, f"unknown annual level {b['level']!r}")
        _unique(f, name, seen, b["min_score"], "band min_score")
        bands.append(ScoreBand(**b))
    bands.sort(key=lambda b: b.min_score, reverse=True)
    if not bands or bands[-1].min_score != 0:
        f.fail("[decree335]", "the lowest band must start at min_score 0")
    decree335 = Decree335Bands(bands=tuple(bands), **d)
    return levels, top["min_months_worked"], tuple(grades), framework, decree335


def _load_rules(f: _File) -> tuple[str, dict[str, Rule]]:
    top = f.top({"version": (STR, True), "rule": (ENTRIES, True)})
    rules: dict[str, Rule] = {}
    seen: dict[Any, str] = {}
    spec = {"id": (STR, True), "title_vi": (STR, True), "title_en": (STR, True),
            "citation": (STR, True), "valid_from": (DATE, True), "valid_until": (DATE, False),
            "params": (TABLE, False), "later_citations": (ENTRIES, False)}
    for name, v in f.entries("rule", spec, _label("id")):
        _unique(f, name, seen, v["id"], "rule id")
        _check_window(f, name, v)
        v["params"] = _freeze(v.get("params", {}))
        later = []
        for c in v.pop("later_citations", []):
            c = _check(f, name, c, {"valid_from": (DATE, True), "citation": (STR, True),
                                    "categories": (STRLIST, False)})
            later.append(_freeze(c))
        v["later_citations"] = tuple(sorted(later, key=lambda c: c["valid_from"]))
        rules[v["id"]] = Rule(**v)
    return top["version"], rules


# --------------------------------------------------------------------------- loading

def _read(directory: Path) -> tuple[dict[str, _File], str]:
    files: dict[str, _File] = {}
    digest = hashlib.sha256()
    for name in sorted(REFERENCE_FILES):
        path = directory / name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ReferenceDataError(name, None, f"cannot read {path}: {exc}") from None
        digest.update(raw)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ReferenceDataError(name, None, f"not UTF-8: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ReferenceDataError(name, None, f"invalid TOML: {exc}") from None
        files[name] = _File(name, data)
    return files, digest.hexdigest()[:12]


def _build(directory: Path) -> ReferenceData:
    files, digest = _read(directory)
    categories = _load_categories(files["categories.toml"])
    unit_levels = _load_unit_levels(files["unit_levels.toml"])
    conduct = _load_conduct_codes(files["conduct_codes.toml"])
    forms = _load_discipline_forms(files["discipline_forms.toml"], categories)
    periods, exemptions, restart = _load_limitation(files["limitation_periods.toml"], categories)
    handling, reasons, effects = _load_effects(files["effect_periods.toml"])
    levels, min_months, grades, framework, decree335 = _load_ratings(
        files["ratings.toml"], categories)
    rules_version, rules = _load_rules(files["rules.toml"])
    ro = MappingProxyType
    return ReferenceData(
        version=f"{rules_version}+{digest}",
        categories=ro(categories),
        unit_levels=ro(unit_levels),
        conduct_codes=ro(conduct),
        discipline_forms=forms,
        limitation_periods=periods,
        limitation_exemptions=ro(exemptions),
        limitation_restart_on_new_violation=restart,
        effect_periods=effects,
        deferral_reasons=ro(reasons),
        handling_max_days=handling["max_days"],
        handling_max_days_complex=handling["max_days_complex"],
        handling_source=handling["source"],
        handling_valid_from=handling["valid_from"],
        annual_levels=ro(levels),
        rating_min_months_worked=min_months,
        monthly_grades=grades,
        monthly_framework=framework,
        decree335=decree335,
        rules=ro(rules),
        rules_version=rules_version,
        titles=ro({n: f.data["title"] for n, f in files.items()}),
        notes=ro({n: f.data["note"] for n, f in files.items()}),
    )


@functools.lru_cache(maxsize=1)
def _load_default() -> ReferenceData:
    return _build(PACKAGE_DIR)


def load_reference(directory: Path | str | None = None) -> ReferenceData:
    """Load and validate the reference data from ``directory`` (default: this package).

    The default directory is loaded once and cached; other directories (operator overrides,
    test copies) are read afresh on every call.
    """
    if directory is None or Path(directory).resolve() == PACKAGE_DIR:
        return _load_default()
    return _build(Path(directory))
