"""Rules against hand-written tables of expected verdicts, each row with its legal source.

These are oracles, not recomputations: every expected verdict is written by hand from the
cited text, and the dates sit on the day before, of and after each boundary. The reference
data may change its figures in a later review; a row here only states what the law says.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from audit_service.errors import AuditError
from audit_service.limitation import expired_violations
from audit_service.reference import PACKAGE_DIR, load_reference
from projections.eligibility import evaluate
from tests.conftest import BOARD, build_app, event_count
from tests.world import build_world, ref, violation

try:  # the row factories live beside the timeline tests
    from .test_timeline import Log
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    from test_timeline import Log

REF = load_reference()

QD377 = "Quy định 377-QĐ/TW ngày 08/10/2025 (bổ nhiệm lại: hoàn thành nhiệm vụ trong nhiệm kỳ)"
LAW52_ART82 = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82, sửa đổi bởi Luật 52/2019/QH14"
               " (đang bị xem xét kỷ luật: chưa bổ nhiệm)")
LAW52_EFFECT = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82 khoản 3, sửa đổi bởi Luật"
                " 52/2019/QH14 (giáng chức, cách chức: 24 tháng không bổ nhiệm)")
LAW52_LIMIT = ("Luật 52/2019/QH14 sửa đổi Điều 80 Luật Cán bộ, công chức và Điều 53 Luật Viên"
               " chức (thời hiệu 2 / 5 năm, tính lại khi có vi phạm mới trong thời hạn)")
CIVIL_CODE = ("Bộ luật Dân sự 91/2015/QH13, Điều 147–148 (thời hạn tính theo năm; không có ngày"
              " tương ứng thì hết vào ngày cuối tháng)")


def rule_reasons(result: dict, rule_id: str) -> list[dict]:
    return [r for r in result["reasons"] if r["rule_id"] == rule_id]


def outcomes(result: dict, rule_id: str) -> set[str]:
    return {r["outcome"] for r in rule_reasons(result, rule_id)}


# --------------------------------------------------------------------------- term-failed-rating

# (case, term start, {year: rating}, evaluation date, expected outcome, source)
TERM_RATINGS = [
    ("failed in the term's first year", "2021-01-04", {2021: "KHTNV", 2022: "HTTNV"},
     "2025-11-03", "not_eligible", QD377),
    ("failed in a middle year", "2021-01-04", {2021: "HTTNV", 2023: "KHTNV"},
     "2025-11-03", "not_eligible", QD377),
    ("failed in the evaluation year itself", "2021-01-04", {2021: "HTTNV", 2025: "KHTNV"},
     "2025-12-31", "not_eligible", QD377),
    ("failed the year before the term began", "2021-01-04", {2020: "KHTNV", 2021: "HTTNV"},
     "2025-11-03", "ok", QD377),
    ("every year completed", "2021-01-04", {2021: "HTNV", 2022: "HTTNV", 2023: "HTXSNV",
                                            2024: "HTNV"},
     "2025-11-03", "ok", QD377),
    ("failed in the first year, evaluated on the term's first day", "2021-01-04",
     {2021: "KHTNV"}, "2021-01-04", "not_eligible", QD377),
    ("failed the year after the evaluation year", "2021-01-04", {2021: "HTTNV", 2026: "KHTNV"},
     "2025-11-03", "ok", QD377),
]


@pytest.mark.parametrize("case,start,ratings,on,expected,source", TERM_RATINGS,
                         ids=[row[0] for row in TERM_RATINGS])
def test_term_failed_rating_table(case, start, ratings, on, expected, source):
    log = Log()
    log.register()
    log.appoint(start)
    for year, rating in ratings.items():
        log.rate(year, rating)
    result = evaluate(REF, log.rows, on)
    assert outcomes(result, "term-failed-rating") == {expected}, (case, source)
    assert (result["verdict"] == "not_eligible") == (expected == "not_eligible"), (case, source)


# --------------------------------------------------------------------------- open-proceeding

ON = date(2026, 3, 2)

# (case, how the proceeding ended, on which day (None: still open), expected outcome, source)
PROCEEDINGS = [
    ("decided the day before", "decided", "2026-03-01", "ok", LAW52_ART82),
    ("decided on the evaluation date", "decided", "2026-03-02", "ok", LAW52_ART82),
    ("decided the day after", "decided", "2026-03-03", "needs_review", LAW52_ART82),
    ("dismissed the day before", "dismissed", "2026-03-01", "ok", LAW52_ART82),
    ("dismissed on the evaluation date", "dismissed", "2026-03-02", "ok", LAW52_ART82),
    ("dismissed the day after", "dismissed", "2026-03-03", "needs_review", LAW52_ART82),
    ("never decided", None, None, "needs_review", LAW52_ART82),
]


@pytest.mark.parametrize("case,ending,ended_on,expected,source", PROCEEDINGS,
                         ids=[row[0] for row in PROCEEDINGS])
def test_open_proceeding_table(case, ending, ended_on, expected, source):
    log = Log()
    log.register()
    log.appoint("2021-06-01")
    opened = "2026-01-12"
    if ending == "decided":
        log.decide("khien_trach", ended_on, signed_on=ended_on, opened_on=opened)
    else:
        pid = log.open_proceeding(opened)
        if ending == "dismissed":
            log.dismiss(pid, ended_on)
    result = evaluate(REF, log.rows, ON)
    assert outcomes(result, "open-proceeding") == {expected}, (case, source)


def test_proceeding_opened_after_the_evaluation_date_is_not_open():
    log = Log()
    log.register()
    log.appoint("2021-06-01")
    log.open_proceeding("2026-03-03")
    assert outcomes(evaluate(REF, log.rows, ON), "open-proceeding") == {"ok"}
    assert outcomes(evaluate(REF, log.rows, date(2026, 3, 3)), "open-proceeding") == \
        {"needs_review"}


# --------------------------------------------------------------------------- discipline effect

# Demotion effective 2021-03-15 (Law 52/2019 in force): 24 months without any appointment,
# through 2023-03-14. (case, evaluation date, expected discipline-effect outcome, source)
DEMOTION = [
    ("the day before the effect begins", "2021-03-14", "info", LAW52_EFFECT),
    ("the day the effect begins", "2021-03-15", "not_eligible", LAW52_EFFECT),
    ("the last day of the 24 months", "2023-03-14", "not_eligible", LAW52_EFFECT),
    ("the first day after the 24 months", "2023-03-15", "ok", LAW52_EFFECT),
]


@pytest.mark.parametrize("case,on,expected,source", DEMOTION, ids=[r[0] for r in DEMOTION])
def test_demotion_effect_period_table(case, on, expected, source):
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10", opened_on="2021-02-01")
    result = evaluate(REF, log.rows, on)
    assert outcomes(result, "discipline-effect") == {expected}, (case, source)


# --------------------------------------------------------------------------- limitation

def v(day: str, exemption: str | None = None) -> dict:
    return {"occurred_on": date.fromisoformat(day), "exemption": exemption}


EXEMPT = {"fake_diploma", "party_expulsion", "internal_political_security", "national_interest"}

# (case, violations, years, decided on, indexes expired, source)
LIMITATION = [
    ("5 years: decided the day before the anniversary", [v("2016-06-01")], 5, "2021-05-31",
     [], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("5 years: decided on the anniversary (the last day)", [v("2016-06-01")], 5, "2021-06-01",
     [], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("5 years: decided the day after the anniversary", [v("2016-06-01")], 5, "2021-06-02",
     [0], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("2 years: decided the day after the anniversary", [v("2020-09-01")], 2, "2022-09-02",
     [0], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("29 February: decided on 28 February two years on (the last day)", [v("2020-02-29")], 2,
     "2022-02-28", [], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("29 February: decided on 1 March two years on", [v("2020-02-29")], 2, "2022-03-01",
     [0], f"{LAW52_LIMIT}; {CIVIL_CODE}"),
    ("a new violation within the period restarts the old one's clock",
     [v("2016-06-01"), v("2019-01-01")], 5, "2022-01-01", [], LAW52_LIMIT),
    ("a new violation on the last day of the period still restarts it",
     [v("2016-06-01"), v("2021-06-01")], 5, "2022-01-01", [], LAW52_LIMIT),
    ("a new violation after the period ran out restarts nothing",
     [v("2016-06-01"), v("2021-06-02")], 5, "2022-01-01", [0], LAW52_LIMIT),
    ("the restart is counted from the new violation's date",
     [v("2016-06-01"), v("2018-01-01")], 5, "2023-01-02", [0, 1], LAW52_LIMIT),
    ("order of listing does not matter", [v("2019-01-01"), v("2016-06-01")], 5, "2022-01-01",
     [], LAW52_LIMIT),
    ("fake diplomas never expire", [v("2005-01-10", "fake_diploma")], 5, "2021-02-01", [],
     "Luật 52/2019/QH14 (không áp dụng thời hiệu: văn bằng, chứng chỉ giả)"),
    ("an exempt violation does not shelter the others", [v("2005-01-10", "fake_diploma"),
                                                          v("2016-06-01")], 5, "2022-01-03",
     [1], "Luật 52/2019/QH14 (không áp dụng thời hiệu: văn bằng, chứng chỉ giả)"),
]


@pytest.mark.parametrize("case,violations,years,decided,expired,source", LIMITATION,
                         ids=[row[0] for row in LIMITATION])
def test_limitation_table(case, violations, years, decided, expired, source):
    found = expired_violations(violations, years, date.fromisoformat(decided), EXEMPT)
    assert sorted(e.index for e in found) == expired, (case, source)


def test_limitation_reports_the_day_the_period_ran_out():
    (only,) = expired_violations([v("2016-06-01")], 5, date(2021, 6, 2), EXEMPT)
    assert (only.clock_start, only.expired_on) == (date(2016, 6, 1), date(2021, 6, 1))
    (restarted,) = [e for e in expired_violations([v("2016-06-01"), v("2018-01-01")], 5,
                                                  date(2023, 1, 2), EXEMPT) if e.index == 0]
    assert (restarted.clock_start, restarted.expired_on) == (date(2018, 1, 1), date(2023, 1, 1))


# -- the reference flag, through the service

def _reference_without_restart(tmp_path: Path):
    copy = tmp_path / "reference"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    toml = copy / "limitation_periods.toml"
    text = toml.read_text(encoding="utf-8")
    assert "restart_on_new_violation = true" in text
    toml.write_text(text.replace("restart_on_new_violation = true",
                                 "restart_on_new_violation = false"), encoding="utf-8")
    reference = load_reference(copy)
    assert reference.limitation_restart_on_new_violation is False
    return reference


def _decide_reprimand(app, officer):
    """Viên chức, reprimand decided 2021-06-01 under Law 52/2019 (2 years): the 2019 violation
    ran out on 2021-03-01 unless the 2020 one restarted its clock."""
    p = app.open_proceeding(BOARD, officer_id=officer,
                            violations=[violation("2019-03-01", "2021-04-01"),
                                        violation("2020-09-01", "2021-04-01")],
                            opened_on="2021-04-05")
    return lambda: app.decide_proceeding(BOARD, p.id, form="khien_trach",
                                         decision_ref=ref("70", "2021-06-01"),
                                         effective_from="2021-06-01")


def test_limitation_restart_follows_the_reference_flag(store_env, tmp_path):
    # Source: LAW52_LIMIT. With the flag on (the law), the 2020 violation restarts the clock.
    app = build_app(store_env)
    try:
        w = build_world(app)
        assert _decide_reprimand(app, w.vien_chuc)().positions
    finally:
        app.close()


def test_limitation_without_restart_refuses_the_same_decision(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    from auditing.bootstrap import init_database
    from audit_service.config import Settings

    init_database(Settings.from_env(env))
    app = build_app(env, reference=_reference_without_restart(tmp_path))
    try:
        w = build_world(app)
        decide = _decide_reprimand(app, w.vien_chuc)
        before = event_count(app)
        with pytest.raises(AuditError) as info:
            decide()
        assert info.value.code == "limitation_expired"
        (first,) = info.value.details["violations"]
        assert (first["occurred_on"], first["expired_on"]) == ("2019-03-01", "2021-03-01")
        assert event_count(app) == before
    finally:
        app.close()


# --------------------------------------------------------------------------- 12-month effect

LAW52_12 = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82 khoản 3, sửa đổi bởi Luật"
            " 52/2019/QH14 (khiển trách, cảnh cáo, hạ bậc lương: 12 tháng không bổ nhiệm)")

# Effective 2021-03-15: the 12 months run through 2022-03-14. The verdict inside the period
# is left to the rule under review (reappointment to the same post may be allowed); what
# the law fixes is the period: through its last day, and free the day after.
# (case, form, evaluation date, in the period?, source)
TWELVE_MONTHS = [
    (f"{form}: {label}", form, on, inside, LAW52_12)
    for form in ("khien_trach", "canh_cao", "ha_bac_luong")
    for label, on, inside in (("the day it begins", "2021-03-15", True),
                              ("the last day of the 12 months", "2022-03-14", True),
                              ("the first day after the 12 months", "2022-03-15", False))
]


@pytest.mark.parametrize("case,form,on,inside,source", TWELVE_MONTHS,
                         ids=[r[0] for r in TWELVE_MONTHS])
def test_twelve_month_effect_period_table(case, form, on, inside, source):
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    log.decide(form, "2021-03-15", signed_on="2021-03-10", opened_on="2021-02-01")
    reasons = rule_reasons(evaluate(REF, log.rows, on), "discipline-effect")
    assert len(reasons) == 1, (case, source)
    if inside:
        assert reasons[0]["outcome"] != "ok", case
        assert "12-month effect period" in reasons[0]["message_en"]
        assert "from 2021-03-15 through 2022-03-14" in reasons[0]["message_en"]
        assert "từ 2021-03-15 đến hết ngày 2022-03-14" in reasons[0]["message_vi"]
    else:
        assert reasons[0]["outcome"] == "ok", case
        assert "12 months, ended 2022-03-14" in reasons[0]["message_en"]
        assert "12 tháng, hết ngày 2022-03-14" in reasons[0]["message_vi"]


# --------------------------------------------------------------------------- decisions that no longer count

LAW52_ANNUL = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82, sửa đổi bởi Luật 52/2019/QH14"
               " (the periods run from a decision in force; one annulled, or overturned on a"
               " complaint under Luật Khiếu nại 02/2011/QH13, is no longer in force)")


@pytest.mark.parametrize("how", ["annulled", "overturned"])
def test_an_annulled_or_overturned_demotion_does_not_count(how):
    # source: LAW52_ANNUL
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    _, did = log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10",
                        opened_on="2021-02-01")
    if how == "annulled":
        log.annul(did, "2021-06-01")
        said = "was annulled on 2021-06-01"
    else:
        aid = log.appeal(did, "2021-03-20")
        log.resolve(did, aid, "overturned", "2021-06-01", previous_form="giang_chuc")
        said = "was overturned on appeal on 2021-06-01"
    reasons = rule_reasons(evaluate(REF, log.rows, "2022-01-10"), "discipline-effect")
    assert [r["outcome"] for r in reasons] == ["info"], how
    assert said in reasons[0]["message_en"]
    assert "no longer counts for reappointment" in reasons[0]["message_en"]


def test_a_demotion_changed_to_a_reprimand_on_appeal_has_the_reprimands_12_months():
    # source: LAW52_12 and LAW52_EFFECT: the form after the appeal sets the period
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    _, did = log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10",
                        opened_on="2021-02-01")
    aid = log.appeal(did, "2021-03-20")
    log.resolve(did, aid, "form_changed", "2021-05-01", new_form="khien_trach",
                previous_form="giang_chuc")
    after = rule_reasons(evaluate(REF, log.rows, "2022-03-15"), "discipline-effect")
    assert [r["outcome"] for r in after] == ["ok"]
    assert "form changed on appeal from" in after[0]["message_en"]
    inside = rule_reasons(evaluate(REF, log.rows, "2022-03-14"), "discipline-effect")
    assert "12-month effect period" in inside[0]["message_en"]


def test_a_pending_appeal_does_not_suspend_the_effect_period():
    # source: LAW52_EFFECT; Luật Khiếu nại 02/2011/QH13, Điều 35 (the decision complained of
    # is carried out while the complaint is resolved, unless its execution is suspended)
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    _, did = log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10",
                        opened_on="2021-02-01")
    log.appeal(did, "2021-03-20")
    reasons = rule_reasons(evaluate(REF, log.rows, "2022-01-10"), "discipline-effect")
    assert [r["outcome"] for r in reasons] == ["not_eligible"]
    assert reasons[0]["message_en"].endswith(" An appeal is pending.")
    assert reasons[0]["message_vi"].endswith(" Đang có khiếu nại chưa giải quyết.")


def test_no_decision_on_record_is_ok_for_the_effect_rule():
    log = Log()
    log.register()
    log.appoint("2020-09-01")
    reasons = rule_reasons(evaluate(REF, log.rows, "2022-01-10"), "discipline-effect")
    assert [(r["outcome"], r["message_en"]) for r in reasons] == \
        [("ok", "No discipline decision on record.")]



@pytest.mark.parametrize("first, corrected, expected", [
    ("HTNV", "KHTNV", "not_eligible"),  # corrected to a failed year: counts as failed
    ("KHTNV", "HTNV", "ok"),            # corrected from a failed year: no longer counts
])
def test_a_corrected_rating_counts_as_corrected(first, corrected, expected):
    # source: QD377 (the rating of each year of the term, as it stands)
    log = Log()
    log.register()
    log.appoint("2021-01-04")
    rid = log.rate(2023, first)
    log.correct_rating(rid, 2023, corrected, first)
    reasons = rule_reasons(evaluate(REF, log.rows, "2025-11-03"), "term-failed-rating")
    assert {r["outcome"] for r in reasons} == {expected}
    if expected == "not_eligible":
        assert "(as corrected)" in reasons[0]["message_en"]
        assert "(sau đính chính)" in reasons[0]["message_vi"]
