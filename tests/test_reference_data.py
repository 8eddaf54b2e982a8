"""Legal reference data: the shipped files' schema, the loader's rejections, and queries."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tomllib
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from audit_service.reference import (
    FORM_CODES,
    PACKAGE_DIR,
    REFERENCE_FILES,
    ReferenceData,
    ReferenceDataError,
    load_reference,
)


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


@pytest.fixture
def ref_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped reference files."""
    for name in REFERENCE_FILES:
        shutil.copyfile(PACKAGE_DIR / name, tmp_path / name)
    return tmp_path


def _append(directory: Path, name: str, text: str) -> None:
    with (directory / name).open("a", encoding="utf-8") as fh:
        fh.write("\n" + text.strip() + "\n")


# --------------------------------------------------------------------------- shipped files

def _raw(name: str) -> dict:
    return tomllib.loads((PACKAGE_DIR / name).read_text(encoding="utf-8"))


def _entry_lists(data: dict):
    """Every array of tables in a parsed file, with its key."""
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            yield key, value


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_the_package_ships_exactly_the_known_files():
    assert sorted(p.name for p in PACKAGE_DIR.glob("*.toml")) == sorted(REFERENCE_FILES)


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_every_file_has_title_note_and_cited_entries(name):
    data = _raw(name)
    assert isinstance(data["title"], str) and data["title"].strip()
    assert isinstance(data["note"], str) and data["note"].strip()
    lists = dict(_entry_lists(data))
    assert lists, f"{name} has no entries"
    for key, entries in lists.items():
        for entry in entries:
            citation = entry.get("source", entry.get("citation"))
            assert isinstance(citation, str) and citation.strip(), (name, key, entry)
            if entry.get("uncertain"):
                assert entry.get("note", "").strip(), (name, key, entry)
            for field in ("valid_from", "valid_until", "abolished_on"):
                if field in entry:
                    assert type(entry[field]) is date, (name, key, entry)
            if "valid_until" in entry:
                assert entry["valid_from"] <= entry["valid_until"], (name, key, entry)


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_all_text_is_nfc(name):
    for s in _strings(_raw(name)):
        assert unicodedata.is_normalized("NFC", s), (name, s)


def test_vietnamese_titles_keep_their_diacritics(ref):
    assert ref.categories["cong_chuc"].title_vi == "Công chức"
    assert ref.categories["can_bo"].title_vi == "Cán bộ"
    assert ref.categories["vien_chuc"].title_vi == "Viên chức"
    titles = {f.form: f.title_vi for f in ref.discipline_forms}
    assert titles["khien_trach"] == "Khiển trách"
    assert titles["ha_bac_luong"] == "Hạ bậc lương"
    assert titles["buoc_thoi_viec"] == "Buộc thôi việc"


def test_catalogue_contents(ref):
    assert set(ref.categories) == {"can_bo", "cong_chuc", "vien_chuc"}
    assert {c: u.rank for c, u in ref.unit_levels.items()} == {
        "city": 1, "department": 2, "district": 2, "ward": 3, "commune": 3}
    assert ref.unit_levels["district"].abolished_on == date(2025, 7, 1)
    assert 12 <= len(ref.conduct_codes) <= 16
    for code in ("qd522-working-hours", "qd522-dress-badge", "qd522-manner-citizens",
                 "qd522-gifts-harassment", "qd522-public-assets", "qd522-absent",
                 "qd522-late", "dossier-overdue", "dossier-wrong-procedure",
                 "official-duty-failure", "corruption", "complaint-citizen"):
        assert code in ref.conduct_codes
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code)
    assert {f.form for f in ref.discipline_forms} == FORM_CODES
    assert set(ref.limitation_exemptions) == {
        "party_expulsion", "internal_political_security", "national_interest", "fake_diploma"}
    assert ref.limitation_restart_on_new_violation is True
    assert set(ref.deferral_reasons) == {"serious_illness", "maternity", "prosecution"}
    assert (ref.handling_max_days, ref.handling_max_days_complex) == (90, 150)
    assert "172/2025" in ref.handling_source
    assert set(ref.annual_levels) == {"HTXSNV", "HTTNV", "HTNV", "HTNV_HCNL", "KHTNV"}
    assert [lvl.code for lvl in ref.annual_levels.values() if lvl.failed] == ["KHTNV"]
    assert set(ref.rules) >= {
        "term-failed-rating", "open-proceeding", "discipline-effect", "corruption-bar",
        "rating-inconsistent", "notice-window", "weak-ward-rotation", "term-length"}
    assert ref.rating_min_months_worked == 6


def test_qd522_entries_cite_the_decision_and_its_date(ref):
    qd522 = [c for c in ref.conduct_codes.values() if c.code.startswith("qd522-")]
    assert qd522
    for c in qd522:
        assert "522/QĐ-UBND" in c.source
        assert c.valid_from == date(2017, 1, 25)
        # clause numbering unverified: no entry may name an article unless marked uncertain
        if "Điều" in c.source:
            assert c.uncertain


def test_as_dict_is_json_ready(ref):
    data = ref.as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert '"valid_from": "2025-07-01"' in text
    assert data["version"] == ref.version
    assert data["handling"]["max_days"] == 90
    assert data["rules"][0]["params"] is not None
    assert {c["code"] for c in data["categories"]} == set(ref.categories)


def test_reference_data_is_immutable(ref):
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.version = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ref.categories["x"] = ref.categories["can_bo"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ref.rule("term-length").params["years"] = 4  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.discipline_forms[0].severity = 9  # type: ignore[misc]


def test_default_load_is_cached(ref):
    assert load_reference() is ref
    assert load_reference(PACKAGE_DIR) is ref


# --------------------------------------------------------------------------- loader rejects

_BAD_CATEGORY = """
[[category]]
code = "nhan_vien"
title_vi = "Nhân viên"
title_en = "Employee"
"""

_FORM = """
[[form]]
form = "{form}"
category = "{category}"
regime = "{regime}"
severity = 1
leaders_only = false
elected_only = false
title_vi = "Khiển trách"
title_en = "Reprimand"
valid_from = {valid_from}
valid_until = {valid_until}
source = "Nghị định 112/2020/NĐ-CP"
"""


def _form(form="khien_trach", category="cong_chuc", regime="nd112-2020",
          valid_from="2024-01-01", valid_until="2024-12-31") -> str:
    return _FORM.format(form=form, category=category, regime=regime,
                        valid_from=valid_from, valid_until=valid_until)


_PERIOD = """
[[period]]
id = "test-period"
category = "{category}"
valid_from = 2021-01-01
valid_until = 2021-12-31
minor_years = 2
other_years = 5
minor_forms = ["khien_trach"]
source = "Luật 52/2019/QH14"
"""

_EFFECT = """
[[effect]]
id = "test-effect"
scope = "state"
form = "{form}"
months = 12
bars = "promotion_and_higher_appointment"
valid_from = 2022-01-01
valid_until = 2022-12-31
source = "Luật 52/2019/QH14"
"""

_CONDUCT = """
[[conduct]]
code = "{code}"
group = "manner"
title_vi = "Thử"
title_en = "Test"
source = {source}
valid_from = 2020-01-01
"""

_RULE = """
[[rule]]
id = "{id}"
title_vi = "Thử"
title_en = "Test"
citation = {citation}
valid_from = 2020-01-01
"""

BROKEN = {
    "missing source": ("categories.toml", _BAD_CATEGORY.replace("nhan_vien", "x"),
                       "missing required field 'source'"),
    "empty source": ("conduct_codes.toml", _CONDUCT.format(code="test-x", source='"  "'),
                     "'source' must be a non-empty string"),
    "empty citation": ("rules.toml", _RULE.format(id="test-x", citation='""'),
                       "'citation' must be a non-empty string"),
    "overlapping form validity": ("discipline_forms.toml", _form(), "overlaps"),
    "overlapping regimes": ("discipline_forms.toml",
                            _form(form="bai_nhiem", regime="other", category="cong_chuc"),
                            "overlaps regime"),
    "overlapping limitation": ("limitation_periods.toml", _PERIOD.format(category="cong_chuc"),
                               "overlaps"),
    "overlapping effect": ("effect_periods.toml", _EFFECT.format(form="canh_cao"), "overlaps"),
    "unknown category in forms": ("discipline_forms.toml", _form(category="nhan_vien"),
                                  "unknown category 'nhan_vien'"),
    "unknown category in periods": ("limitation_periods.toml",
                                    _PERIOD.format(category="nhan_vien"),
                                    "unknown category 'nhan_vien'"),
    "unknown form in forms": ("discipline_forms.toml", _form(form="khai_tru"),
                              "unknown form code 'khai_tru'"),
    "unknown form in effects": ("effect_periods.toml", _EFFECT.format(form="khai_tru"),
                                "unknown form code 'khai_tru'"),
    "valid_from after valid_until": ("discipline_forms.toml",
                                     _form(form="bai_nhiem", category="vien_chuc",
                                           valid_from="2024-01-01", valid_until="2023-01-01"),
                                     "is after valid_until"),
    "duplicate conduct code": ("conduct_codes.toml",
                               _CONDUCT.format(code="corruption", source='"X"'),
                               "duplicate conduct code 'corruption'"),
    "duplicate rule id": ("rules.toml", _RULE.format(id="term-length", citation='"X"'),
                          "duplicate rule id 'term-length'"),
    "unknown field": ("conduct_codes.toml",
                      _CONDUCT.format(code="test-x", source='"X"') + "valid_untill = 2021-01-01",
                      "unknown field(s) 'valid_untill'"),
    "wrong type": ("rules.toml",
                   _RULE.format(id="test-x", citation='"X"').replace("2020-01-01", '"2020-01-01"'),
                   "'valid_from' must be a date"),
    "datetime instead of date": ("rules.toml",
                                 _RULE.format(id="test-x", citation='"X"').replace(
                                     "2020-01-01", "2020-01-01T00:00:00"),
                                 "'valid_from' must be a date"),
    "uncertain without note": ("rules.toml",
                               _RULE.format(id="test-x", citation='"X"') + "uncertain = true",
                               "needs a note"),
    "non-NFC text": ("conduct_codes.toml",
                     _CONDUCT.format(code="test-x", source='"X"').replace(
                         "Thử", unicodedata.normalize("NFD", "Thử")),
                     "not NFC"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_loader_rejects_broken_copy(ref_copy, case):
    name, text, message = BROKEN[case]
    _append(ref_copy, name, text)
    with pytest.raises(ReferenceDataError) as info:
        load_reference(ref_copy)
    assert info.value.file == name
    assert name in str(info.value)
    assert message in str(info.value)


def test_rejection_names_the_entry(ref_copy):
    path = ref_copy / "discipline_forms.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^source = .*\n", "", text, count=1), encoding="utf-8")
    with pytest.raises(ReferenceDataError) as info:
        load_reference(ref_copy)
    assert info.value.entry.startswith("[[form]] #1 (form='khien_trach'")
    assert "missing required field 'source'" in str(info.value)


def test_unknown_category_is_rejected_even_when_otherwise_valid(ref_copy):
    _append(ref_copy, "discipline_forms.toml", _form(category="nhan_vien", valid_from="2030-01-01",
                                                     valid_until="2030-12-31"))
    with pytest.raises(ReferenceDataError, match="unknown category 'nhan_vien'"):
        load_reference(ref_copy)


def test_missing_file_is_rejected(ref_copy):
    (ref_copy / "ratings.toml").unlink()
    with pytest.raises(ReferenceDataError, match="ratings.toml"):
        load_reference(ref_copy)


def test_invalid_toml_is_rejected(ref_copy):
    _append(ref_copy, "rules.toml", "version = ")
    with pytest.raises(ReferenceDataError, match="rules.toml: invalid TOML"):
        load_reference(ref_copy)


def test_a_valid_copy_loads(ref_copy, ref):
    # a non-overlapping addition is accepted and visible
    _append(ref_copy, "conduct_codes.toml", _CONDUCT.format(code="test-extra", source='"X"'))
    copy = load_reference(ref_copy)
    assert copy.conduct_code("test-extra", date(2020, 1, 1)) is not None
    assert ref.conduct_code("test-extra", date(2020, 1, 1)) is None


# --------------------------------------------------------------------------- version

def test_version_is_rules_version_plus_content_hash(ref, ref_copy):
    assert re.fullmatch(r"2026\.1\+[0-9a-f]{12}", ref.version)
    assert load_reference(ref_copy).version == ref.version  # same bytes, same version


def test_version_changes_when_a_file_changes(ref, ref_copy):
    _append(ref_copy, "categories.toml", "# an operator's comment")
    changed = load_reference(ref_copy).version
    assert changed != ref.version
    assert changed.startswith("2026.1+")


# --------------------------------------------------------------------------- discipline forms

def test_salary_step_reduction_ends_with_the_2025_reform(ref):
    old = ref.discipline_form("ha_bac_luong", "cong_chuc", date(2025, 6, 30))
    assert old is not None and old.regime == "nd112-2020" and old.non_leaders_only
    assert ref.discipline_form("ha_bac_luong", "cong_chuc", date(2025, 7, 1)) is None
    assert ref.discipline_form("giang_chuc", "cong_chuc", date(2025, 6, 30)).leaders_only
    assert ref.discipline_form("giang_chuc", "cong_chuc", date(2025, 7, 1)) is None


def test_no_demotion_for_vien_chuc(ref):
    for day in (date(2015, 1, 1), date(2021, 1, 1), date(2025, 6, 30), date(2027, 1, 1)):
        assert ref.discipline_form("giang_chuc", "vien_chuc", day) is None
        assert ref.discipline_form("ha_bac_luong", "vien_chuc", day) is None
        assert ref.discipline_form("cach_chuc", "vien_chuc", day).leaders_only


def test_forms_by_severity(ref):
    before = ref.forms_for("cong_chuc", date(2024, 1, 1))
    assert [f.form for f in before] == [
        "khien_trach", "canh_cao", "giang_chuc", "ha_bac_luong", "cach_chuc", "buoc_thoi_viec"]
    sev = {f.form: f.severity for f in before}
    assert sev["ha_bac_luong"] == sev["giang_chuc"]
    after = ref.forms_for("cong_chuc", date(2025, 7, 1))
    assert [f.form for f in after] == ["khien_trach", "canh_cao", "cach_chuc", "buoc_thoi_viec"]
    assert [f.severity for f in after] == [1, 2, 3, 4]
    can_bo = {f.form: f for f in ref.forms_for("can_bo", date(2026, 1, 1))}
    assert set(can_bo) == {"khien_trach", "canh_cao", "cach_chuc", "bai_nhiem"}
    assert can_bo["bai_nhiem"].elected_only and can_bo["bai_nhiem"].severity == can_bo["cach_chuc"].severity
    assert ref.forms_for("can_bo", date(2009, 12, 31)) == []
    assert ref.forms_for("nhan_vien", date(2024, 1, 1)) == []


def test_bai_nhiem_only_for_can_bo(ref):
    for category in ("cong_chuc", "vien_chuc"):
        for day in (date(2020, 1, 1), date(2026, 1, 1)):
            assert ref.discipline_form("bai_nhiem", category, day) is None
    assert ref.discipline_form("bai_nhiem", "can_bo", date(2020, 1, 1)).regime == "nd112-2020"
    assert ref.discipline_form("bai_nhiem", "can_bo", date(2025, 7, 1)).regime == "nd172-2025"


def test_regimes(ref):
    assert ref.regime_for("cong_chuc", date(2025, 6, 30)) == "nd112-2020"
    assert ref.regime_for("cong_chuc", date(2025, 7, 1)) == "nd172-2025"
    assert ref.regime_for("can_bo", date(2025, 7, 1)) == "nd172-2025"
    assert ref.regime_for("vien_chuc", date(2026, 1, 1)) == "nd112-2020"
    assert ref.discipline_form("khien_trach", "vien_chuc", date(2026, 1, 1)).uncertain
    assert ref.regime_for("cong_chuc", date(2009, 1, 1)) is None


# --------------------------------------------------------------------------- limitation

def test_limitation_periods_change_over_time(ref):
    p2021 = ref.limitation_for("cong_chuc", date(2021, 1, 1))
    assert (p2021.minor_years, p2021.other_years) == (2, 5)
    p2024 = ref.limitation_for("cong_chuc", date(2024, 6, 1))
    assert (p2024.minor_years, p2024.other_years) == (5, 10)
    assert p2024.years_for("khien_trach") == 5 and p2024.years_for("canh_cao") == 10
    assert p2021.years_for("khien_trach") == 2 and p2021.years_for("buoc_thoi_viec") == 5


def test_limitation_boundaries_and_uncertainty(ref):
    # 5 / 10 years from 2022-11-15 (Resolution 76/2022/QH15), not 2023-11-15 (Decree 71/2023)
    assert ref.limitation_for("cong_chuc", date(2022, 11, 14)).other_years == 5
    assert ref.limitation_for("cong_chuc", date(2022, 11, 15)).other_years == 10
    law80 = ref.limitation_for("cong_chuc", date(2025, 7, 1))
    assert (law80.minor_years, law80.other_years) == (5, 10) and law80.uncertain and law80.note
    old = ref.limitation_for("cong_chuc", date(2019, 1, 1))
    # 24 months flat before 2020-07-01, no exemptions then
    assert (old.minor_years, old.other_years) == (2, 2) and old.uncertain
    assert not old.exemptions_apply
    vc = ref.limitation_for("vien_chuc", date(2026, 7, 1))
    assert (vc.minor_years, vc.other_years) == (5, 10)
    assert ref.limitation_for("cong_chuc", date(2009, 12, 31)) is None
    for category in ref.categories:  # every category is covered from 2012 onward
        for year in range(2012, 2031):
            assert ref.limitation_for(category, date(year, 6, 1)) is not None, (category, year)


# --------------------------------------------------------------------------- effects

def test_party_effect_of_warning(ref):
    party = ref.effects_for("canh_cao", date(2025, 12, 1), "party")
    assert len(party) == 1 and party[0].months == 36 and party[0].bars == "higher_post"
    # Regulation 80-QĐ/TW (2022-08-18 to 2025-10-07): 30 months, not confirmed from a source
    (qd80,) = ref.effects_for("canh_cao", date(2024, 1, 1), "party")
    assert qd80.months == 30 and qd80.uncertain and "80-QĐ/TW" in qd80.source
    assert ref.effects_for("canh_cao", date(2022, 8, 17), "party") == []


def test_party_effect_periods(ref):
    def months(on):
        return {f: ref.effects_for(f, on, "party")[0].months
                for f in ("khien_trach", "canh_cao", "cach_chuc")}
    assert months(date(2026, 1, 1)) == {"khien_trach": 24, "canh_cao": 36, "cach_chuc": 60}
    assert months(date(2025, 10, 7)) == {"khien_trach": 12, "canh_cao": 30, "cach_chuc": 60}
    assert all(e.bars == "higher_post" for e in ref.effect_periods if e.scope == "party")


def test_party_entries_never_apply_to_state_decisions(ref):
    assert all(e.scope == "state" for e in ref.effects_for("canh_cao", date(2026, 1, 1), "state"))
    assert all(e.scope == "party" for e in ref.effects_for("canh_cao", date(2026, 1, 1), "party"))


def test_state_effects(ref):
    """Art. 82(2),(3) as amended by Law 52/2019: 12 months barring a HIGHER post, 24 months
    barring any appointment (confirmed: lawnet.vn summary of 25/VBHN-VPQH)."""
    on = date(2024, 3, 1)
    for form, months, bars in (("khien_trach", 12, "promotion_and_higher_appointment"),
                               ("canh_cao", 12, "promotion_and_higher_appointment"),
                               ("ha_bac_luong", 12, "promotion_and_higher_appointment"),
                               ("giang_chuc", 24, "any_appointment"),
                               ("cach_chuc", 24, "any_appointment")):
        (effect,) = ref.effects_for(form, on, "state")
        assert (effect.scope, effect.months, effect.bars) == ("state", months, bars)
        assert not effect.uncertain and "25/VBHN-VPQH" in effect.source
        assert effect.bars_post("higher") is True
        assert effect.bars_post("same") is (bars == "any_appointment")
    after = ref.effects_for("cach_chuc", date(2025, 7, 1), "state")
    assert [(e.scope, e.months) for e in after] == [("state", 24)] and after[0].uncertain
    assert ref.effects_for("giang_chuc", date(2025, 7, 1)) == []
    assert ref.effects_for("buoc_thoi_viec", on) == []


def test_open_same_post_scope_carries_its_question(ref):
    for on in (date(2019, 6, 1), date(2025, 8, 1)):
        (effect,) = ref.effects_for("khien_trach", on, "state")
        assert effect.bars == "appointment_scope_open" and effect.uncertain
        assert effect.bars_post("same") is None and effect.bars_post("higher") is True
        assert "same post" in effect.open_question
    (old,) = ref.effects_for("cach_chuc", date(2019, 6, 1), "state")
    assert old.months == 12  # the 2008 text: 12 months after any form (review claim)


def test_scope_open_entry_without_question_is_refused(tmp_path):
    import shutil
    from audit_service.reference import PACKAGE_DIR, ReferenceDataError, load_reference
    for name in PACKAGE_DIR.glob("*.toml"):
        shutil.copy(name, tmp_path / name.name)
    path = tmp_path / "effect_periods.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('open_question = "The 2008')
    path.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="open_question"):
        load_reference(tmp_path)


# --------------------------------------------------------------------------- ratings

def test_monthly_grade_thresholds(ref):
    assert ref.monthly_grade_for(100) == "A"
    assert ref.monthly_grade_for(90) == "A"
    assert ref.monthly_grade_for(89.5) == "B"
    assert ref.monthly_grade_for(70) == "B"
    assert ref.monthly_grade_for(69) == "C"
    assert ref.monthly_grade_for(50) == "C"
    assert ref.monthly_grade_for(49) == "D"
    assert ref.monthly_grade_for(0) == "D"
    assert [g.grade for g in ref.monthly_grades] == ["A", "B", "C", "D"]
    assert all(g.uncertain for g in ref.monthly_grades)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "90", None, True])
def test_monthly_grade_rejects_bad_scores(ref, bad):
    with pytest.raises(ValueError):
        ref.monthly_grade_for(bad)


def test_legacy_rating_level(ref):
    assert ref.annual_level("HTNV_HCNL", 2019).rank == 3
    assert ref.annual_level("HTNV_HCNL", 2020) is None
    assert ref.annual_level("HTNV", 2019) is None
    assert ref.annual_level("HTNV", 2020).rank == 3
    assert ref.annual_level("KHTNV", 2026).failed
    assert ref.annual_level("HTXSNV", 2018).rank == 1
    assert ref.annual_level("XYZ", 2020) is None


def test_decree335_bands(ref):
    assert ref.decree335.category == "cong_chuc"
    assert ref.decree335.valid_from == date(2026, 1, 1)
    assert [ref.decree335_level_for(s) for s in (100, 90, 89, 70, 69, 50, 49, 0)] == [
        "HTXSNV", "HTXSNV", "HTTNV", "HTTNV", "HTNV", "HTNV", "KHTNV", "KHTNV"]


# --------------------------------------------------------------------------- rules & codes

def test_rules(ref):
    assert ref.rules_version == "2026.1"
    assert ref.rule("notice-window").params["notice_working_days"] == 90
    assert ref.rule("term-length").params["years"] == 5
    assert ref.rule("rating-inconsistent").params["forced_level"] == "KHTNV"
    assert "335/2025" in ref.rule("rating-inconsistent").citation
    assert "377-QĐ/TW" in ref.rule("term-failed-rating").citation
    weak = ref.rule("weak-ward-rotation")
    assert weak.valid_on(date(2020, 1, 1)) and not weak.valid_on(date(2025, 7, 1))
    with pytest.raises(KeyError):
        ref.rule("no-such-rule")
    hash(ref.rule("term-length"))  # hashable despite its params mapping


def test_conduct_code_validity(ref):
    assert ref.conduct_code("qd522-late", date(2017, 1, 25)) is not None
    assert ref.conduct_code("qd522-late", date(2017, 1, 24)) is None
    assert ref.conduct_code("dossier-overdue", date(2024, 5, 1)).group == "administrative_procedure"
    assert ref.conduct_code("nonexistent", date(2024, 5, 1)) is None
