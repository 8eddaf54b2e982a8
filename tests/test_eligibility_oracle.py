"""Reappointment eligibility against hand-written reasons: outcome, cited source, both texts
and the log positions each reason rests on, for every rule ``evaluate`` applies.

Oracles, not recomputations: each expected reason is written out from the rule's text in
audit_service/reference/*.toml (rules.toml for the rule and its citation in force on the
date, effect_periods.toml for the periods and their sources, ratings.toml and
discipline_forms.toml for the titles) and the domain notes; dates sit on the day before, of
and after each boundary. Positions are those of the rows the ``Log`` below writes (1: the
registration, 2: the appointment, then one per row in the order written).

Most histories are dated before 2025-07-01 and hold state discipline only, so they read the
Law 52/2019 texts; the rules under review for Law 80/2025 and the Party decisions are covered
by tests/test_scenarios.py.
"""
from __future__ import annotations

import dataclasses
import os
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from audit_service.errors import NotFound
from audit_service.reference import load_reference
from projections.eligibility import evaluate, notice_deadline, working_days

try:
    from .test_timeline import OFFICER, Log
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    from test_timeline import OFFICER, Log

REF = load_reference()

# rules.toml citations (the base text; later_citations from 2025-07-01 are not reached here)
C_TERM = ("Quy định 377-QĐ/TW ngày 08/10/2025 (điều kiện bổ nhiệm lại: hoàn thành nhiệm vụ trong"
          " nhiệm kỳ); trước đó Quy định 80-QĐ/TW (2022); chủ trương của TP Hà Nội (2019): kiên"
          " quyết không bổ nhiệm lại cán bộ không hoàn thành nhiệm vụ")
C_CONSEC = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 29, Điều 58; Nghị định 138/2020/NĐ-CP;"
            " Quy định 80-QĐ/TW (2022), Quy định 377-QĐ/TW (2025): căn cứ miễn nhiệm, cho thôi"
            " việc")
C_OPEN = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82, sửa đổi bởi Luật 52/2019/QH14; Quy định"
          " 377-QĐ/TW ngày 08/10/2025")
C_EFFECT = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82 khoản 2, 3, sửa đổi bởi Luật"
            " 52/2019/QH14 (hợp nhất 25/VBHN-VPQH); Luật Viên chức 58/2010/QH12, Điều 56; Quy"
            " định 80-QĐ/TW (2022), Quy định 377-QĐ/TW (2025) cho kỷ luật Đảng")
C_ENDED = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 79; Luật Viên chức 58/2010/QH12, Điều 52;"
           " Nghị định 112/2020/NĐ-CP")
C_CORRUPT = ("Luật Viên chức 58/2010/QH12, Điều 56 khoản 4, sửa đổi bởi khoản 8 Điều 2 Luật"
             " 52/2019/QH14; Luật Cán bộ, công chức 22/2008/QH12, Điều 82, sửa đổi bởi Luật"
             " 52/2019/QH14")
C_REPEAT = ("Quy định 80-QĐ/TW (2022); Quy định 377-QĐ/TW ngày 08/10/2025; Nghị định"
            " 138/2020/NĐ-CP (căn cứ miễn nhiệm)")
C_RATING = ("Nghị định 90/2020/NĐ-CP; từ ngày 15/9/2023 Nghị định 90/2020/NĐ-CP, Điều 2 khoản 5,"
            " bổ sung bởi khoản 1 Điều 1 Nghị định 48/2023/NĐ-CP; Nghị định 335/2025/NĐ-CP, Điều"
            " 20 khoản 4 điểm c")
C_NOTICE = "Nghị định 138/2020/NĐ-CP"
# effect_periods.toml, state-law52-* and state-2008-*: their sources
S_LAW52 = ("Luật Cán bộ, công chức 22/2008/QH12, Điều 82 khoản 2, 3 sửa đổi bởi khoản 17 Điều 1"
           " Luật 52/2019/QH14 (hợp nhất 25/VBHN-VPQH); Luật Viên chức, Điều 56 sửa đổi bởi"
           " khoản 8 Điều 2 Luật 52/2019/QH14")
S_2008 = "Luật Cán bộ, công chức 22/2008/QH12, Điều 82 khoản 2 (trước sửa đổi năm 2019)"
Q_2008 = ("The 2008 text bars bổ nhiệm for 12 months after any form without saying whether"
          " reappointment to the same post (bổ nhiệm lại) is included: may the officer be"
          " reappointed to the same post?")
DEC12 = "12/QĐ-UBND (UBND phường Tây Hồ)"  # Log.decide's decision reference


def reason(rule_id, outcome, citation, vi, en, positions=()):
    return {"rule_id": rule_id, "outcome": outcome, "citation": citation, "message_vi": vi,
            "message_en": en, "positions": list(positions)}


def reasons(result: dict, rule_id: str) -> list[dict]:
    return [r for r in result["reasons"] if r["rule_id"] == rule_id]


def officer(term: str | None = "2021-01-04", category: str = "cong_chuc") -> Log:
    log = Log()
    log.register(category=category)  # position 1
    if term:
        log.appoint(term)            # position 2
    return log


class Tuned:
    """The reference data with some rules' params replaced: the rules read their figures
    (levels, forms, counts, days, outcomes) from the reference, with the law's as defaults."""

    def __init__(self, **params: dict):
        self._params = {k.replace("_", "-"): v for k, v in params.items()}

    def __getattr__(self, name):
        return getattr(REF, name)

    def rule(self, rule_id):
        rule = REF.rule(rule_id)
        if rule_id in self._params:
            return dataclasses.replace(rule, params=self._params[rule_id])
        return rule

    @property
    def rules(self):  # the catalogue, as the start rules read it
        return {rule_id: self.rule(rule_id) for rule_id in REF.rules}


# --------------------------------------------------------------------------- term-failed-rating

def test_term_failed_rating_reasons_name_the_year_the_term_and_the_rating():
    log = officer()
    log.rate(2021, "HTNV")   # 3
    log.rate(2023, "KHTNV")  # 4
    got = reasons(evaluate(REF, log.rows, "2025-11-03"), "term-failed-rating")
    assert got == [reason(
        "term-failed-rating", "not_eligible", C_TERM,
        "Năm 2023 nằm trong nhiệm kỳ bắt đầu 2021-01-04 và được xếp loại Không hoàn thành nhiệm"
        " vụ (KHTNV): không đủ điều kiện bổ nhiệm lại.",
        "The year 2023 lies within the term that began 2021-01-04 and was rated failed to"
        " complete duties (KHTNV): not eligible for reappointment.", [4])]


def test_term_failed_rating_corrected_to_failed_says_so_and_cites_both_rows():
    log = officer()
    rid = log.rate(2023, "HTNV")                 # 3
    log.correct_rating(rid, 2023, "KHTNV", "HTNV")  # 4
    (got,) = reasons(evaluate(REF, log.rows, "2025-11-03"), "term-failed-rating")
    assert got["message_vi"].endswith("được xếp loại Không hoàn thành nhiệm vụ (KHTNV) (sau đính"
                                      " chính): không đủ điều kiện bổ nhiệm lại.")
    assert got["message_en"].endswith("was rated failed to complete duties (KHTNV) (as"
                                      " corrected): not eligible for reappointment.")
    assert got["positions"] == [3, 4]


def test_term_failed_rating_ok_lists_the_ratings_seen():
    log = officer()
    log.rate(2020, "KHTNV")  # 3: before the term
    log.rate(2021, "HTNV")   # 4
    log.rate(2022, "HTTNV")  # 5
    got = reasons(evaluate(REF, log.rows, "2025-11-03"), "term-failed-rating")
    assert got == [reason(
        "term-failed-rating", "ok", C_TERM,
        "Không có năm nào xếp loại KHTNV trong nhiệm kỳ từ 2021-01-04 đến 2025-11-03 (các năm đã"
        " xếp loại: 2021: HTNV, 2022: HTTNV).",
        "No year rated KHTNV within the term from 2021-01-04 to 2025-11-03 (ratings on record:"
        " 2021: HTNV, 2022: HTTNV).", [4, 5])]


def test_term_failed_rating_ok_without_ratings_and_info_without_a_term():
    got = reasons(evaluate(REF, officer().rows, "2022-03-01"), "term-failed-rating")
    assert got == [reason(
        "term-failed-rating", "ok", C_TERM,
        "Không có năm nào xếp loại KHTNV trong nhiệm kỳ từ 2021-01-04 đến 2022-03-01 (các năm đã"
        " xếp loại: chưa có).",
        "No year rated KHTNV within the term from 2021-01-04 to 2022-03-01 (ratings on record:"
        " none recorded).")]
    got = reasons(evaluate(REF, officer(term=None).rows, "2022-03-01"), "term-failed-rating")
    assert got == [reason(
        "term-failed-rating", "info", C_TERM,
        "Không có nhiệm kỳ lãnh đạo nào trong hồ sơ nên không xét xếp loại trong nhiệm kỳ.",
        "No leadership term on record, so no ratings within a term were checked.")]


# The term's first year counts only if most of it (more than half its days) lies in the term
# (QĐ 377: the years of the term; domain notes: under 6 months worked in a year, no rating).
# (case, term start, failed year, evaluation date, expected outcome)
FIRST_YEAR = [
    ("2021-07-02: 183 of 365 days in the term, the year counts", "2021-07-02", 2021,
     "not_eligible"),
    ("2021-07-03: 182 of 365 days, the year does not count", "2021-07-03", 2021, "ok"),
    ("2021-07-03: the next year counts", "2021-07-03", 2022, "not_eligible"),
    ("2024-07-01: 184 of 366 days (leap year), the year counts", "2024-07-01", 2024,
     "not_eligible"),
    ("2024-07-02: 183 of 366 days, exactly half, the year does not count", "2024-07-02", 2024,
     "ok"),
]


@pytest.mark.parametrize("case,start,year,expected", FIRST_YEAR, ids=[r[0] for r in FIRST_YEAR])
def test_term_first_year_table(case, start, year, expected):
    log = officer(term=start)
    log.rate(year, "KHTNV")
    result = evaluate(REF, log.rows, "2026-06-01")
    assert [r["outcome"] for r in reasons(result, "term-failed-rating")] == [expected], case


def test_the_failed_level_comes_from_the_reference():
    # rules.toml term-failed-rating / consecutive-failed-ratings: params.failed_level; a level
    # the ratings catalogue marks failed (KHTNV) fails whatever the parameter names.
    log = officer()
    log.rate(2022, "HTNV")   # 3
    log.rate(2023, "KHTNV")  # 4
    tuned = Tuned(term_failed_rating={"failed_level": "HTNV", "outcome": "not_eligible"},
                  consecutive_failed_ratings={"failed_level": "HTNV", "outcome": "not_eligible"})
    result = evaluate(tuned, log.rows, "2025-11-03")
    assert [r["positions"] for r in reasons(result, "term-failed-rating")] == [[3], [4]]
    assert [r["positions"] for r in reasons(result, "consecutive-failed-ratings")] == [[3, 4]]
    assert reasons(evaluate(tuned, officer().rows, "2025-11-03"),
                   "term-failed-rating")[0]["message_en"].startswith("No year rated HTNV ")
    other = officer()
    other.rate(2022, "KHTNV")  # 3
    other.rate(2023, "HTNV")   # 4: failed by the parameter alone
    assert [r["positions"] for r in reasons(evaluate(tuned, other.rows, "2025-11-03"),
                                            "consecutive-failed-ratings")] == [[3, 4]]


# --------------------------------------------------------------------------- consecutive ratings

def test_consecutive_failed_years_reason():
    log = officer(term="2021-03-01")
    log.rate(2020, "KHTNV")  # 3
    log.rate(2021, "KHTNV")  # 4
    got = reasons(evaluate(REF, log.rows, "2024-12-02"), "consecutive-failed-ratings")
    assert got == [reason(
        "consecutive-failed-ratings", "not_eligible", C_CONSEC,
        "Hai năm liên tiếp 2020 và 2021 xếp loại không hoàn thành nhiệm vụ: căn cứ miễn nhiệm"
        " hoặc cho thôi việc.",
        "Two consecutive years 2020 and 2021 rated KHTNV: a ground for removal or dismissal.",
        [3, 4])]


CONSEC_OK = reason("consecutive-failed-ratings", "ok", C_CONSEC,
                   "Không có hai năm liên tiếp không hoàn thành nhiệm vụ.",
                   "No two consecutive KHTNV years.")

# The pair counts when its later year is a year of the term up to the evaluation date
# (rules.toml consecutive-failed-ratings), before Law 80/2025. (case, term start, failed
# years, on, hit?)
CONSECUTIVE = [
    ("both years before the term", "2020-03-02", (2018, 2019), "2024-12-02", False),
    ("the later year is the term's first", "2020-03-02", (2019, 2020), "2024-12-02", True),
    ("the two years up to the evaluation date", "2020-03-02", (2023, 2024), "2024-12-02", True),
    ("the later year after the evaluation year", "2020-03-02", (2024, 2025), "2024-12-02",
     False),
    ("two failed years with a year between", "2020-03-02", (2021, 2023), "2024-12-02", False),
]


@pytest.mark.parametrize("case,start,years,on,hit", CONSECUTIVE, ids=[r[0] for r in CONSECUTIVE])
def test_consecutive_failed_table(case, start, years, on, hit):
    log = officer(term=start)
    for y in years:
        log.rate(y, "KHTNV")
    got = reasons(evaluate(REF, log.rows, on), "consecutive-failed-ratings")
    if hit:
        assert [(r["outcome"], r["positions"]) for r in got] == [("not_eligible", [3, 4])], case
    else:
        assert got == [CONSEC_OK], case


def test_consecutive_and_repeated_without_a_term_are_info():
    result = evaluate(REF, officer(term=None).rows, "2023-03-01")
    assert reasons(result, "consecutive-failed-ratings") == [reason(
        "consecutive-failed-ratings", "info", C_CONSEC,
        "Không có nhiệm kỳ đang có hiệu lực để xét.", "No term in force to check.")]
    assert reasons(result, "repeated-discipline-in-term") == [reason(
        "repeated-discipline-in-term", "info", C_REPEAT,
        "Không có nhiệm kỳ đang có hiệu lực để xét.", "No term in force to check.")]


# --------------------------------------------------------------------------- open proceeding

def test_open_proceeding_without_deferral():
    log = officer()
    log.open_proceeding("2023-01-09")  # 3
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    assert got == [reason(
        "open-proceeding", "needs_review", C_OPEN,
        "Đang bị xem xét kỷ luật: việc xem xét mở ngày 2023-01-09, chưa có quyết định; chưa xem"
        " xét bổ nhiệm lại.",
        "A discipline proceeding opened on 2023-01-09 is still undecided; reappointment must"
        " wait for review.", [3])]


def test_no_open_proceeding_names_the_closed_ones():
    log = officer()
    pid = log.open_proceeding("2023-01-09")  # 3
    log.dismiss(pid, "2023-02-01")           # 4
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    assert got == [reason("open-proceeding", "ok", C_OPEN,
                          "Không có việc xem xét kỷ luật nào đang mở vào ngày 2023-03-01.",
                          "No discipline proceeding open on 2023-03-01.", [3, 4])]


PROSECUTED_VI = ("Đang bị khởi tố, tạm giữ, tạm giam: việc xem xét kỷ luật mở ngày 2023-01-09 tạm"
                 " hoãn đến {until}; chưa xem xét bổ nhiệm lại.")
PROSECUTED_EN = ("Under prosecution or detention: the discipline proceeding opened on 2023-01-09"
                 " is deferred until {until}; reappointment must wait for review.")
ENDED_VI = ("Việc xem xét kỷ luật mở ngày 2023-01-09 đã hết thời gian tạm hoãn ({why}) ngày"
            " {until} nhưng chưa có quyết định: vẫn đang xem xét.")
ENDED_EN = ("The discipline proceeding opened on 2023-01-09 was deferred ({why}) until {until};"
            " the deferral has ended and it is still undecided.")
DEFERRED_VI = ("Việc xem xét kỷ luật mở ngày 2023-01-09 tạm hoãn ({why}) đến {until}, nhưng vẫn"
               " là việc chưa giải quyết xong: cần xem xét trước khi bổ nhiệm lại.")
DEFERRED_EN = ("The discipline proceeding opened on 2023-01-09 is deferred ({why}) until {until},"
               " but it is still open business and must be reviewed before reappointment.")
ILL = ("đang ốm đau nặng hoặc điều trị nội trú", "serious illness or in-patient treatment")
PROS = ("đang bị khởi tố, tạm giữ, tạm giam", "being prosecuted, held or detained")

# Deferral (effect_periods.toml deferral_reason; Nghị định 112/2020, 172/2025): the proceeding
# stays open; under prosecution the officer cannot be reviewed until the deferral ends.
# Evaluated on 2023-03-01. (case, reason, deferred on, until, expected (vi, en) templates)
DEFERRALS = [
    ("prosecution until the day after", "prosecution", "2023-02-01", "2023-03-02",
     (PROSECUTED_VI, PROSECUTED_EN), PROS),
    ("prosecution until the evaluation date", "prosecution", "2023-02-01", "2023-03-01",
     (PROSECUTED_VI, PROSECUTED_EN), PROS),
    ("prosecution until the day before: the deferral has ended", "prosecution", "2023-02-01",
     "2023-02-28", (ENDED_VI, ENDED_EN), PROS),
    ("illness until the evaluation date", "serious_illness", "2023-02-01", "2023-03-01",
     (DEFERRED_VI, DEFERRED_EN), ILL),
    ("illness until the day before", "serious_illness", "2023-02-01", "2023-02-28",
     (ENDED_VI, ENDED_EN), ILL),
    ("illness deferred on the evaluation date", "serious_illness", "2023-03-01", "2023-06-01",
     (DEFERRED_VI, DEFERRED_EN), ILL),
]


@pytest.mark.parametrize("case,why,deferred_on,until,texts,titles", DEFERRALS,
                         ids=[r[0] for r in DEFERRALS])
def test_deferral_table(case, why, deferred_on, until, texts, titles):
    log = officer()
    pid = log.open_proceeding("2023-01-09")       # 3
    log.defer(pid, why, deferred_on, until)       # 4
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    vi, en = texts
    assert got == [reason("open-proceeding", "needs_review", C_OPEN,
                          vi.format(until=until, why=titles[0]),
                          en.format(until=until, why=titles[1]), [3, 4])], case


def test_a_deferral_recorded_for_a_later_day_is_not_yet_in_force():
    log = officer()
    pid = log.open_proceeding("2023-01-09")            # 3
    log.defer(pid, "prosecution", "2023-03-02", "2023-09-01")  # 4
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    assert [r["positions"] for r in got] == [[3]]
    assert got[0]["message_en"].startswith("A discipline proceeding opened on 2023-01-09 is")


def test_two_open_proceedings_each_get_a_reason_in_the_order_opened():
    log = officer()
    log.open_proceeding("2023-01-09")  # 3
    log.open_proceeding("2023-02-06")  # 4
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    assert [(r["positions"], r["message_en"][:48]) for r in got] == [
        ([3], "A discipline proceeding opened on 2023-01-09 is "),
        ([4], "A discipline proceeding opened on 2023-02-06 is ")]


# --------------------------------------------------------------------------- discipline effect

# Log.decide writes: the proceeding opened (p), the decision issued (p + 1), the proceeding
# decided (p + 2); the decision's reasons name p + 1 and p + 2.

def test_effect_period_that_bars_the_post_names_the_period_and_its_source():
    # Law 52/2019: giáng chức, 24 months without any appointment (effect_periods.toml)
    log = officer()
    log.decide("giang_chuc", "2022-03-15", signed_on="2022-03-10")  # 3, 4, 5
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "discipline-effect")
    assert got == [reason(
        "discipline-effect", "not_eligible", C_EFFECT,
        f"Quyết định kỷ luật giáng chức số {DEC12}, hiệu lực từ 2022-03-15: thời hạn 24 tháng"
        " theo kỷ luật hành chính nhà nước (không bổ nhiệm vào bất kỳ chức vụ nào), từ 2022-03-15"
        f" đến hết ngày 2024-03-14 (căn cứ: {S_LAW52}): không bổ nhiệm lại vào chức vụ đang giữ.",
        f"The discipline decision (demotion) {DEC12}, effective 2022-03-15: 24-month effect"
        " period under state (administrative) discipline (no appointment at all), from"
        f" 2022-03-15 through 2024-03-14 (source: {S_LAW52}): it bars reappointment to the"
        " same post.", [4, 5])]


def test_effect_period_that_does_not_bar_the_same_post_is_info():
    # Law 52/2019: khiển trách, 12 months without appointment to a HIGHER post
    log = officer()
    log.decide("khien_trach", "2022-03-15", signed_on="2022-03-10")
    got = reasons(evaluate(REF, log.rows, "2023-03-14"), "discipline-effect")
    assert got == [reason(
        "discipline-effect", "info", C_EFFECT,
        f"Quyết định kỷ luật khiển trách số {DEC12}, hiệu lực từ 2022-03-15: thời hạn 12 tháng"
        " theo kỷ luật hành chính nhà nước (không nâng ngạch, quy hoạch, đào tạo, bổ nhiệm vào"
        " chức vụ cao hơn), từ 2022-03-15 đến hết ngày 2023-03-14 (căn cứ:"
        f" {S_LAW52}): không cấm bổ nhiệm lại vào chức vụ đang giữ.",
        f"The discipline decision (reprimand) {DEC12}, effective 2022-03-15: 12-month effect"
        " period under state (administrative) discipline (no promotion, planning, training or"
        " appointment to a higher post), from 2022-03-15 through 2023-03-14 (source:"
        f" {S_LAW52}): it does not bar reappointment to the same post.", [4, 5])]
    higher = reasons(evaluate(REF, log.rows, "2023-03-14", post="higher"), "discipline-effect")
    assert higher[0]["outcome"] == "not_eligible"
    assert higher[0]["message_en"].endswith(": it bars appointment to a higher post.")
    assert higher[0]["message_vi"].endswith(": không bổ nhiệm vào chức vụ cao hơn.")


def test_effect_period_with_an_open_scope_asks_the_question():
    # before 2020-07-01 (2008 text): 12 months, the same-post scope open
    log = officer(term="2017-06-01")
    log.decide("canh_cao", "2019-09-03", signed_on="2019-09-03")
    (got,) = reasons(evaluate(REF, log.rows, "2020-03-02"), "discipline-effect")
    assert got == reason(
        "discipline-effect", "needs_review", C_EFFECT,
        f"Quyết định kỷ luật cảnh cáo số 12/QĐ-UBND (UBND phường Tây Hồ), hiệu lực từ 2019-09-03:"
        " thời hạn 12 tháng theo kỷ luật hành chính nhà nước (không bổ nhiệm; văn bản không nói"
        " rõ có gồm bổ nhiệm lại vào chức vụ đang giữ hay không), từ 2019-09-03 đến hết ngày"
        f" 2020-09-02 (căn cứ: {S_2008}): chưa rõ có cấm bổ nhiệm lại vào chức vụ đang giữ hay"
        f" không; cần xem xét. Câu hỏi còn mở: {Q_2008}",
        f"The discipline decision (warning) {DEC12}, effective 2019-09-03: 12-month effect"
        " period under state (administrative) discipline (no appointment; the text does not say"
        " whether reappointment to the same post is included), from 2019-09-03 through"
        f" 2020-09-02 (source: {S_2008}): whether it bars reappointment to the same post is"
        f" open; needs review. Open question: {Q_2008}", [4, 5])


def test_ended_effect_period_is_ok_and_says_when_it_ended():
    log = officer()
    log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10")
    got = reasons(evaluate(REF, log.rows, "2023-03-15"), "discipline-effect")
    assert got == [reason(
        "discipline-effect", "ok", C_EFFECT,
        f"Quyết định kỷ luật giáng chức số {DEC12}, hiệu lực từ 2021-03-15: các thời hạn hệ quả"
        " đã hết (kỷ luật hành chính nhà nước 24 tháng, hết ngày 2023-03-14).",
        f"The discipline decision (demotion) {DEC12}, effective 2021-03-15: its effect periods"
        " have ended (state (administrative) discipline 24 months, ended 2023-03-14).", [4, 5])]


def test_decision_not_yet_in_effect_is_info():
    log = officer()
    log.decide("canh_cao", "2023-03-02", signed_on="2023-02-20")
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "discipline-effect")
    assert got == [reason(
        "discipline-effect", "info", C_EFFECT,
        f"Quyết định kỷ luật cảnh cáo số {DEC12} có hiệu lực từ 2023-03-02, sau ngày xét"
        " 2023-03-01; thời hạn hệ quả bắt đầu từ ngày đó.",
        f"The discipline decision (warning) {DEC12} takes effect on 2023-03-02, after the"
        " evaluation date 2023-03-01; its effect periods start then.", [4, 5])]


def test_annulled_and_overturned_decisions_are_info_with_the_day():
    # Law 52/2019 Art. 82: the periods run from a decision in force; Luật Khiếu nại 02/2011
    log = officer()
    _, first = log.decide("canh_cao", "2022-03-15", signed_on="2022-03-10")      # 3, 4, 5
    log.annul(first, "2022-06-01")                                                # 6
    _, second = log.decide("khien_trach", "2022-09-01", number="13")              # 7, 8, 9
    aid = log.appeal(second, "2022-09-10")                                        # 10
    log.resolve(second, aid, "overturned", "2022-11-01", previous_form="khien_trach")  # 11
    got = reasons(evaluate(REF, log.rows, "2023-01-10"), "discipline-effect")
    assert got == [
        reason("discipline-effect", "info", C_EFFECT,
               f"Quyết định kỷ luật cảnh cáo số {DEC12} đã bị hủy bỏ ngày 2022-06-01: không còn"
               " tính đến khi xét bổ nhiệm lại.",
               f"The discipline decision (warning) {DEC12} was annulled on 2022-06-01: it no"
               " longer counts for reappointment.", [4, 5, 6]),
        reason("discipline-effect", "info", C_EFFECT,
               "Quyết định kỷ luật khiển trách số 13/QĐ-UBND (UBND phường Tây Hồ) đã bị hủy khi"
               " giải quyết khiếu nại ngày 2022-11-01: không còn tính đến khi xét bổ nhiệm lại.",
               "The discipline decision (reprimand) 13/QĐ-UBND (UBND phường Tây Hồ) was"
               " overturned on appeal on 2022-11-01: it no longer counts for reappointment.",
               [8, 9, 10, 11])]


def test_each_decision_is_answered_whatever_comes_before_it():
    # one reason per decision: a decision not yet in effect, a forced dismissal (answered by
    # ended-employment) and an annulled one do not stop the decisions after them
    log = officer()
    log.decide("buoc_thoi_viec", "2022-01-10")                   # 3, 4, 5
    log.decide("canh_cao", "2023-06-01", number="13")            # 6, 7, 8
    _, gone = log.decide("canh_cao", "2022-02-01", number="14")  # 9, 10, 11
    log.annul(gone, "2022-04-01")                                # 12
    log.decide("giang_chuc", "2022-03-01", number="15")          # 13, 14, 15
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "discipline-effect")
    assert [(r["outcome"], r["positions"]) for r in got] == [
        ("info", [7, 8]), ("info", [10, 11, 12]), ("not_eligible", [14, 15])]


def test_a_form_without_a_catalogued_period_needs_review():
    # effect_periods.toml: Law 80/2025 has no giáng chức entry (no period catalogued)
    log = officer()
    log.decide("giang_chuc", "2025-07-15", signed_on="2025-07-15")  # 3, 4, 5
    log.decide("canh_cao", "2025-08-01", number="13")                # 6, 7, 8
    got, after = reasons(evaluate(REF, log.rows, "2025-09-01"), "discipline-effect")
    assert after["positions"] == [7, 8]  # the next decision is still answered
    assert got["outcome"] == "needs_review" and got["positions"] == [4, 5]
    assert got["message_vi"] == (
        "Quyết định kỷ luật giáng chức số 12/QĐ-UBND (UBND phường Tây Hồ), hiệu lực từ"
        " 2025-07-15: danh mục không có thời hạn hệ quả cho hình thức này (hình thức chấm dứt"
        " việc làm hoặc chức vụ, hoặc không còn áp dụng); cần xem xét.")
    assert got["message_en"] == (
        f"The discipline decision (demotion) {DEC12}, effective 2025-07-15: no effect period is"
        " catalogued for this form (it ends the employment or the post, or no longer applies);"
        " needs review.")


def test_a_form_changed_on_appeal_names_the_original_form():
    log = officer()
    _, did = log.decide("giang_chuc", "2022-03-15", signed_on="2022-03-10")  # 3, 4, 5
    aid = log.appeal(did, "2022-03-20")                                        # 6
    log.resolve(did, aid, "form_changed", "2022-05-01", new_form="khien_trach",
                previous_form="giang_chuc")                                    # 7
    (got,) = reasons(evaluate(REF, log.rows, "2023-03-15"), "discipline-effect")
    assert got == reason(
        "discipline-effect", "ok", C_EFFECT,
        f"Quyết định kỷ luật khiển trách số {DEC12} (hình thức đổi từ giáng chức khi giải quyết"
        " khiếu nại), hiệu lực từ 2022-03-15: các thời hạn hệ quả đã hết (kỷ luật hành chính nhà"
        " nước 12 tháng, hết ngày 2023-03-14).",
        f"The discipline decision (reprimand) {DEC12} (form changed on appeal from demotion),"
        " effective 2022-03-15: its effect periods have ended (state (administrative) discipline"
        " 12 months, ended 2023-03-14).", [4, 5, 6, 7])


def test_pending_appeal_is_said_on_every_kind_of_reason():
    log = officer()
    _, did = log.decide("giang_chuc", "2021-03-15", signed_on="2021-03-10")
    log.appeal(did, "2021-03-20")
    (got,) = reasons(evaluate(REF, log.rows, "2023-03-15"), "discipline-effect")
    assert got["outcome"] == "ok"
    assert got["message_vi"].endswith("hết ngày 2023-03-14). Đang có khiếu nại chưa giải quyết.")
    assert got["message_en"].endswith("ended 2023-03-14). An appeal is pending.")


# --------------------------------------------------------------------------- ended employment

def test_ended_employment_reason_and_its_absence():
    log = officer()
    log.decide("khien_trach", "2021-05-04")                     # 3, 4, 5
    log.decide("buoc_thoi_viec", "2022-01-10", number="13")     # 6, 7, 8
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "ended-employment")
    assert got == [reason(
        "ended-employment", "not_eligible", C_ENDED,
        "Quyết định kỷ luật buộc thôi việc số 13/QĐ-UBND (UBND phường Tây Hồ), hiệu lực từ"
        " 2022-01-10, chấm dứt việc làm hoặc chức vụ: không còn chức vụ để bổ nhiệm lại.",
        "The discipline decision (forced dismissal) 13/QĐ-UBND (UBND phường Tây Hồ), effective"
        " 2022-01-10, ends the employment or the post: there is nothing to reappoint to.",
        [7, 8])]
    assert reasons(evaluate(REF, officer().rows, "2023-03-01"), "ended-employment") == [reason(
        "ended-employment", "ok", C_ENDED, "Không có quyết định buộc thôi việc hoặc bãi nhiệm.",
        "No forced dismissal or bãi nhiệm decision in force.")]


# --------------------------------------------------------------------------- corruption bar

CORRUPT_INFO_VI = ("{label} liên quan đến tham nhũng nhưng không phải cách chức: quy định cấm bổ"
                   " nhiệm vào vị trí quản lý chỉ áp dụng khi bị cách chức do tham nhũng hoặc bị"
                   " kết án về tham nhũng.")
CORRUPT_INFO_EN = ("The {label} is corruption-related but is not removal from post: the bar on"
                   " management posts applies only to removal for corruption or a corruption"
                   " conviction.")


def test_corruption_bar_reasons_for_each_decision_in_force():
    # Luật Viên chức Art. 56(4) as amended 2019: only removal (cách chức) for corruption bars
    # management posts; other corruption-related discipline does not (rules.toml note).
    log = officer()
    log.decide("cach_chuc", "2021-09-01", number="11")                     # 3, 4, 5: not corrupt
    log.decide("khien_trach", "2021-10-01", corruption=True)               # 6, 7, 8
    log.decide("cach_chuc", "2022-01-10", code="corruption", number="13")  # 9, 10, 11
    result = evaluate(REF, log.rows, "2023-03-01")
    assert reasons(result, "corruption-bar") == [
        reason("corruption-bar", "info", C_CORRUPT,
               CORRUPT_INFO_VI.format(label=f"Quyết định kỷ luật khiển trách số {DEC12}"),
               CORRUPT_INFO_EN.format(label=f"discipline decision (reprimand) {DEC12}"), [7, 8]),
        reason("corruption-bar", "not_eligible", C_CORRUPT,
               "Quyết định kỷ luật cách chức số 13/QĐ-UBND (UBND phường Tây Hồ), hiệu lực từ"
               " 2022-01-10, là cách chức do tham nhũng: không được bổ nhiệm vào vị trí lãnh đạo,"
               " quản lý.",
               "The discipline decision (removal from post) 13/QĐ-UBND (UBND phường Tây Hồ),"
               " effective 2022-01-10, is removal from post for corruption: it bars leadership"
               " and management posts.", [9, 10, 11])]
    staff = reasons(evaluate(REF, log.rows, "2023-03-01", leadership=False), "corruption-bar")
    assert staff[1] == reason(
        "corruption-bar", "info", C_CORRUPT,
        "Quyết định kỷ luật cách chức số 13/QĐ-UBND (UBND phường Tây Hồ) liên quan đến tham"
        " nhũng; vị trí đang xét không phải vị trí lãnh đạo, quản lý nên quy định này không áp"
        " dụng.",
        "The discipline decision (removal from post) 13/QĐ-UBND (UBND phường Tây Hồ) is"
        " corruption-related; the post considered is not a leadership post, so this bar does"
        " not apply.", [9, 10, 11])


def test_corruption_bar_flag_without_the_conduct_code_names_only_the_decision():
    log = officer()
    log.decide("cach_chuc", "2022-01-10", corruption=True)  # 3, 4, 5
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "corruption-bar")
    assert [(r["outcome"], r["positions"]) for r in got] == [("not_eligible", [4, 5])]


def test_no_corruption_decision_in_force():
    log = officer()
    log.decide("cach_chuc", "2021-09-01")  # not corruption-related
    assert reasons(evaluate(REF, log.rows, "2023-03-01"), "corruption-bar") == [reason(
        "corruption-bar", "ok", C_CORRUPT,
        "Không có quyết định kỷ luật nào về hành vi tham nhũng đang có hiệu lực.",
        "No corruption-related discipline decision in force.")]


# --------------------------------------------------------------------------- repeated discipline

# Reprimand or warning twice within one term (rules.toml repeated-discipline-in-term, from
# 2022-08-18): the term's first day and the evaluation date both count.
# (case, term start, effective dates, evaluation date, hit?)
REPEATED = [
    ("both within the term", "2021-01-04", ("2022-03-01", "2023-05-02"), "2024-03-01", True),
    ("the first on the term's first day", "2021-01-04", ("2021-01-04", "2023-05-02"),
     "2024-03-01", True),
    ("the first the day before the term", "2021-01-04", ("2021-01-03", "2023-05-02"),
     "2024-03-01", False),
    ("the second on the evaluation date", "2021-01-04", ("2022-03-01", "2024-03-01"),
     "2024-03-01", True),
    ("the second the day after the evaluation date", "2021-01-04", ("2022-03-01", "2024-03-02"),
     "2024-03-01", False),
]


@pytest.mark.parametrize("case,start,days,on,hit", REPEATED, ids=[r[0] for r in REPEATED])
def test_repeated_discipline_table(case, start, days, on, hit):
    log = officer(term=start)
    log.decide("khien_trach", days[0], number="12")  # 3, 4, 5
    log.decide("canh_cao", days[1], number="13")     # 6, 7, 8
    got = reasons(evaluate(REF, log.rows, on), "repeated-discipline-in-term")
    if hit:
        assert got == [reason(
            "repeated-discipline-in-term", "needs_review", C_REPEAT,
            f"2 lần bị khiển trách hoặc cảnh cáo trong nhiệm kỳ từ {start} ({days[0]},"
            f" {days[1]}): căn cứ miễn nhiệm; cần xem xét.",
            f"2 reprimands or warnings within the term from {start} ({days[0]}, {days[1]}): a"
            " ground for removal; needs review.", [4, 5, 7, 8])], case
    else:
        assert got == [reason(
            "repeated-discipline-in-term", "ok", C_REPEAT,
            "Ít hơn 2 lần bị khiển trách hoặc cảnh cáo trong nhiệm kỳ.",
            "Fewer than 2 reprimands or warnings within the term.")], case


def test_heavier_forms_are_not_counted_as_reprimands_or_warnings():
    log = officer()
    log.decide("khien_trach", "2022-03-01")
    log.decide("giang_chuc", "2023-05-02", number="13")
    got = reasons(evaluate(REF, log.rows, "2024-03-01"), "repeated-discipline-in-term")
    assert [r["outcome"] for r in got] == ["ok"]


# --------------------------------------------------------------------------- rating inconsistent

def test_inconsistent_rating_names_the_decision_and_both_levels():
    # Decree 90/2020 (as amended by 48/2023): a year with discipline is rated KHTNV
    log = officer()
    log.decide("canh_cao", "2022-04-01", signed_on="2022-03-25")  # 3, 4, 5
    log.rate(2022, "HTNV")                                         # 6
    got = reasons(evaluate(REF, log.rows, "2023-06-01"), "rating-inconsistent")
    assert got == [reason(
        "rating-inconsistent", "needs_review", C_RATING,
        f"Hồ sơ không thống nhất: năm 2022 có quyết định kỷ luật cảnh cáo số {DEC12} (hiệu lực từ"
        " 2022-04-01) nhưng được xếp loại Hoàn thành nhiệm vụ (HTNV); năm bị kỷ luật phải xếp"
        " loại Không hoàn thành nhiệm vụ (KHTNV). Cần xem xét.",
        f"Inconsistent records: 2022 has a discipline decision (warning) {DEC12} (effective"
        " 2022-04-01) but was rated completed duties (HTNV); a year with discipline must be"
        " rated failed to complete duties (KHTNV). Needs review.", [4, 6])]


def test_consistent_ratings_are_ok():
    log = officer()
    log.decide("canh_cao", "2022-04-01")
    log.rate(2022, "KHTNV")
    assert reasons(evaluate(REF, log.rows, "2023-06-01"), "rating-inconsistent") == [reason(
        "rating-inconsistent", "ok", C_RATING,
        "Không có năm bị kỷ luật nào được xếp loại khác KHTNV.",
        "No year with discipline is rated other than KHTNV.")]


# From the 2020 evaluation year (rules.toml valid_from 2020-01-01); the rated year of each
# decision is the year it took effect. (case, effective date, rated year, rating, hit?)
RATING_YEARS = [
    ("discipline in 2019, the rule's year before", "2019-12-31", 2019, "HTNV", False),
    ("discipline on 2020-01-01, the first year", "2020-01-01", 2020, "HTNV", True),
    ("discipline in 2021, 2021 not yet rated", "2021-05-03", 2020, "HTNV", False),
    ("two years, the second consistent", "2021-05-03", 2021, "KHTNV", False),
]


@pytest.mark.parametrize("case,eff,year,rating,hit", RATING_YEARS, ids=[r[0] for r in RATING_YEARS])
def test_rating_year_table(case, eff, year, rating, hit):
    log = officer(term="2019-03-01")
    log.decide("khien_trach", eff)
    log.rate(year, rating)
    got = reasons(evaluate(REF, log.rows, "2022-06-01"), "rating-inconsistent")
    assert [r["outcome"] for r in got] == ["needs_review" if hit else "ok"], case


def test_an_inconsistency_tuned_informational_is_not_also_reported_consistent():
    # rules.toml params.outcome = "informational" makes the hit an info reason; the year is
    # still inconsistent, so the "no year with discipline is rated other than KHTNV" line
    # must not follow it
    log = officer()
    log.decide("canh_cao", "2022-04-01")  # 3, 4, 5
    log.rate(2022, "HTNV")                # 6
    tuned = Tuned(rating_inconsistent={**REF.rule("rating-inconsistent").params,
                                       "outcome": "informational"})
    got = reasons(evaluate(tuned, log.rows, "2023-06-01"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("info", [4, 6])]
    assert got[0]["message_en"].startswith("Inconsistent records: 2022 has a")


def test_two_decisions_in_one_year_are_named_together():
    log = officer()
    log.decide("khien_trach", "2022-02-01", number="12")  # 3, 4, 5
    log.decide("canh_cao", "2022-09-01", number="13")     # 6, 7, 8
    log.rate(2022, "HTTNV")                                # 9
    (got,) = reasons(evaluate(REF, log.rows, "2023-06-01"), "rating-inconsistent")
    assert got["positions"] == [4, 7, 9]
    assert (f"năm 2022 có quyết định kỷ luật khiển trách số {DEC12} (hiệu lực từ 2022-02-01),"
            " quyết định kỷ luật cảnh cáo số 13/QĐ-UBND (UBND phường Tây Hồ) (hiệu lực từ"
            " 2022-09-01) nhưng") in got["message_vi"]
    assert (f"2022 has a discipline decision (reprimand) {DEC12} (effective 2022-02-01),"
            " discipline decision (warning) 13/QĐ-UBND (UBND phường Tây Hồ) (effective"
            " 2022-09-01) but") in got["message_en"]


@pytest.mark.parametrize("form, hit", [("khien_trach", False), ("canh_cao", True),
                                       ("bai_nhiem", True)])
def test_the_lightest_form_that_forces_the_rating_comes_from_the_reference(form, hit):
    # params.min_form (khiển trách in rules.toml: every form); set to cảnh cáo, a reprimand
    # no longer forces the rating; a form the catalogue does not rank for the officer's
    # category is counted (every discipline form is khiển trách or above)
    tuned = Tuned(rating_inconsistent={**REF.rule("rating-inconsistent").params,
                                       "min_form": "canh_cao"})
    log = officer()
    log.decide(form, "2022-04-01")
    log.rate(2022, "HTNV")
    got = reasons(evaluate(tuned, log.rows, "2023-06-01"), "rating-inconsistent")
    assert [r["outcome"] for r in got] == ["needs_review" if hit else "ok"]


# --------------------------------------------------------------------------- notice window

def notice(on: str, start: str = "2021-06-01") -> list[dict]:
    return reasons(evaluate(REF, officer(term=start).rows, on), "notice-window")


def test_notice_window_branches_around_the_deadline():
    # Decree 138/2020: notice at least 90 working days before the term ends (2026-06-01)
    end = date(2026, 6, 1)
    deadline = notice_deadline(end, 90)
    assert working_days(deadline, end) == 90  # the deadline leaves exactly 90 working days
    before = deadline - timedelta(days=1)
    while working_days(before, end) == 90:  # the working day before the deadline
        before -= timedelta(days=1)
    after = deadline + timedelta(days=1)
    d = deadline.isoformat()

    (early,) = notice(before.isoformat())
    left = working_days(before, end)
    assert left == 91
    assert early == reason(
        "notice-window", "info", C_NOTICE,
        f"Thời hạn bổ nhiệm kết thúc ngày 2026-06-01, còn 91 ngày làm việc (hơn 90 ngày): chưa"
        f" đến thời điểm thông báo; hạn thông báo là {d}.",
        "The appointment term ends on 2026-06-01, 91 working days away (more than 90): the"
        f" notice window has not opened; notice is due by {d}.", [2])
    (due,) = notice(d)
    assert due == reason(
        "notice-window", "ok", C_NOTICE,
        "Thời hạn bổ nhiệm kết thúc ngày 2026-06-01, còn 90 ngày làm việc: trong thời hạn 90 ngày"
        f" làm việc phải thông báo và quyết định bổ nhiệm lại (hạn thông báo {d}).",
        "The appointment term ends on 2026-06-01, 90 working days away: within the"
        f" 90-working-day window for notice and the reappointment decision (notice due by {d}).",
        [2])
    (late,) = notice(after.isoformat())
    n = working_days(after, end)
    assert n in (89, 90)  # the day after may be a day off
    assert late == reason(
        "notice-window", "info", C_NOTICE,
        f"Thời hạn bổ nhiệm kết thúc ngày 2026-06-01, chỉ còn {n} ngày làm việc: đã QUÁ HẠN thông"
        f" báo {d} (90 ngày làm việc trước khi hết thời hạn).",
        f"The appointment term ends on 2026-06-01, only {n} working days away: the notice"
        f" deadline {d} (90 working days before the term ends) was MISSED.", [2])


def test_notice_window_on_the_terms_last_day_and_after():
    (last,) = notice("2026-06-01")
    assert last["message_en"].startswith("The appointment term ends on 2026-06-01, only 0"
                                         " working days away: the notice deadline")
    (over,) = notice("2026-06-02")
    assert over == reason(
        "notice-window", "info", C_NOTICE,
        "Thời hạn bổ nhiệm (từ 2021-06-01) đã hết ngày 2026-06-01, trước ngày xét 2026-06-02.",
        "The appointment term (from 2021-06-01) ended on 2026-06-01, before the evaluation"
        " date 2026-06-02.", [2])


def test_notice_window_without_a_term():
    assert reasons(evaluate(REF, officer(term=None).rows, "2023-03-01"), "notice-window") == [
        reason("notice-window", "info", C_NOTICE, "Không có nhiệm kỳ lãnh đạo nào trong hồ sơ.",
               "No leadership term on record.")]


# --------------------------------------------------------------------------- figures and outcomes from the reference

def _history() -> Log:
    """A term with two failed years in a row, a reprimand and a warning, a removal for
    corruption, a forced dismissal, an open proceeding and a year with discipline rated HTNV:
    every rule has something to say."""
    log = officer(term="2021-01-04")
    log.rate(2021, "KHTNV")
    log.rate(2022, "KHTNV")
    log.decide("khien_trach", "2022-09-01", number="12")
    log.decide("canh_cao", "2023-02-01", number="13")
    log.decide("cach_chuc", "2023-04-03", code="corruption", number="14")
    log.decide("buoc_thoi_viec", "2023-05-02", number="15")
    log.open_proceeding("2023-06-01")
    log.rate(2023, "HTNV")  # a year with discipline rated other than KHTNV
    return log


EXPECTED_HITS = {  # the outcome of each rule's hit on _history() on 2024-02-01, by the law
    "term-failed-rating": {"not_eligible"},
    "consecutive-failed-ratings": {"not_eligible"},
    "open-proceeding": {"needs_review"},
    "ended-employment": {"not_eligible"},
    "corruption-bar": {"not_eligible"},
    "repeated-discipline-in-term": {"needs_review"},
    "rating-inconsistent": {"needs_review"},
}


def _outcomes(result: dict) -> dict:
    return {rule: {r["outcome"] for r in reasons(result, rule)} for rule in EXPECTED_HITS}


def test_the_rules_use_the_laws_figures_when_the_reference_gives_none():
    # every params entry left out but the outcome: the defaults are the law's figures
    # (KHTNV, cách chức, buộc thôi việc / bãi nhiệm, khiển trách + cảnh cáo twice, 90 days)
    stripped = Tuned(**{rule.replace("-", "_"): {"outcome": REF.rule(rule).params["outcome"]}
                        for rule in (*EXPECTED_HITS, "notice-window")})
    stripped._params["corruption-bar"]["conduct_code"] = "corruption"  # a code, no figure
    result = evaluate(stripped, _history().rows, "2024-02-01")
    assert _outcomes(result) == EXPECTED_HITS
    # 2022 (a reprimand, rated KHTNV) is consistent; 2023 (three decisions, rated HTNV) is not
    assert [r["positions"] for r in reasons(result, "rating-inconsistent")] == [[9, 12, 15, 18]]
    assert _outcomes(evaluate(REF, _history().rows, "2024-02-01")) == EXPECTED_HITS
    late = evaluate(stripped, officer(term="2021-06-01").rows, "2026-05-29")
    assert reasons(late, "notice-window")[0]["message_en"].endswith(
        "(90 working days before the term ends) was MISSED.")


def test_what_a_hit_means_comes_from_the_reference():
    # rules.toml: params.outcome says what a hit means; without it each rule has its default
    informational = Tuned(**{r.replace("-", "_"): {**REF.rule(r).params, "outcome": "informational"}
                             for r in EXPECTED_HITS})
    result = evaluate(informational, _history().rows, "2024-02-01")
    assert _outcomes(result) == {rule: {"info"} for rule in EXPECTED_HITS}
    assert {r["rule_id"] for r in result["reasons"] if r["outcome"] == "not_eligible"} == \
        {"discipline-effect"}  # left as it is: the cách chức's 24 months
    silent = Tuned(**{r.replace("-", "_"): {k: v for k, v in REF.rule(r).params.items()
                                           if k != "outcome"} for r in EXPECTED_HITS})
    assert _outcomes(evaluate(silent, _history().rows, "2024-02-01")) == {
        "term-failed-rating": {"not_eligible"}, "consecutive-failed-ratings": {"not_eligible"},
        "open-proceeding": {"needs_review"}, "ended-employment": {"not_eligible"},
        "corruption-bar": {"not_eligible"}, "repeated-discipline-in-term": {"needs_review"},
        "rating-inconsistent": {"needs_review"}}


# --------------------------------------------------------------------------- the result itself

def test_result_fields_for_a_staff_question_as_of_an_instant():
    log = officer()
    as_of = log.recorded_at(2).astimezone(timezone(timedelta(hours=7)))
    result = evaluate(REF, log.rows, date(2023, 3, 1), as_of=as_of, leadership=0)
    assert result["leadership"] is False
    assert result["as_of"] == log.recorded_at(2).astimezone(timezone.utc).isoformat()
    assert result["last_position"] == 2
    assert result["evaluated_on"] == "2023-03-01" and result["post"] == "same"


def test_as_of_is_given_in_utc_whatever_the_machines_zone(monkeypatch):
    log = officer()
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        result = evaluate(REF, log.rows, "2023-03-01",
                          as_of=datetime(2030, 1, 1, 7, tzinfo=timezone(timedelta(hours=7))))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result["as_of"] == "2030-01-01T00:00:00+00:00"
    assert os.environ.get("TZ") != "Asia/Ho_Chi_Minh"


def test_refusals_say_why():
    log = officer()
    with pytest.raises(ValueError, match="^post must be one of same, higher$"):
        evaluate(REF, log.rows, "2023-03-01", post="lower")
    with pytest.raises(ValueError, match="^an evaluation date is required$"):
        evaluate(REF, log.rows, None)
    with pytest.raises(NotFound) as early:
        evaluate(REF, log.rows, "2015-01-04")  # joined 2015-01-05
    assert str(early.value) == "the officer joined on 2015-01-05, after 2015-01-04"
    assert early.value.code == "officer_not_on_record"
    assert early.value.details == {"joined_on": "2015-01-05", "on": "2015-01-04"}
    first = datetime.fromisoformat(log.rows[0]["recorded_at"]) - timedelta(seconds=1)
    with pytest.raises(NotFound) as unknown:
        evaluate(REF, log.rows, "2023-03-01", as_of=first)
    assert str(unknown.value) == "the officer is not on record as of the time asked"
    assert unknown.value.details == {"as_of": first.isoformat()}
    with pytest.raises(NotFound) as nobody:
        evaluate(REF, [], "2023-03-01")
    assert nobody.value.details == {"as_of": None}
    assert OFFICER  # the rows' subject


# --------------------------------------------------------------------------- more histories

def test_prosecution_without_an_end_date():
    # a prosecution deferral "until further notice": the proceeding waits, its end unknown
    log = officer()
    pid = log.open_proceeding("2023-01-09")                # 3
    log.defer(pid, "prosecution", "2023-02-01", None)      # 4
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "open-proceeding")
    assert got == [reason("open-proceeding", "needs_review", C_OPEN,
                          PROSECUTED_VI.format(until="?"), PROSECUTED_EN.format(until="?"),
                          [3, 4])]


def test_a_decision_taking_effect_on_the_evaluation_date_is_in_force():
    log = officer()
    log.decide("buoc_thoi_viec", "2023-03-01")
    assert [r["outcome"] for r in reasons(evaluate(REF, log.rows, "2023-03-01"),
                                           "ended-employment")] == ["not_eligible"]
    assert [r["outcome"] for r in reasons(evaluate(REF, log.rows, "2023-02-28"),
                                           "ended-employment")] == ["ok"]


def test_a_decision_on_a_deferred_proceeding_names_the_row_that_decided_it():
    log = officer()
    pid = log.open_proceeding("2022-01-10")                                  # 3
    log.defer(pid, "serious_illness", "2022-01-20", "2022-02-20")            # 4
    did = "00000000-0000-4000-8000-00000000d001"
    log.add("Decision.Issued", did, "2022-03-15", {                          # 5
        "proceeding_id": pid, "officer_id": OFFICER, "category": "cong_chuc",
        "form": "giang_chuc", "regime": "nd112-2020",
        "decision_ref": {"number": "12", "symbol": "QĐ-UBND", "issuer": "UBND phường Tây Hồ",
                         "signed_on": "2022-03-10"},
        "effective_from": "2022-03-15", "corruption_related": False})
    log.add("Proceeding.Decided", pid, "2022-03-10",                         # 6
            {"decision_id": did, "decided_on": "2022-03-10"})
    got = reasons(evaluate(REF, log.rows, "2023-03-01"), "discipline-effect")
    assert [(r["outcome"], r["positions"]) for r in got] == [("not_eligible", [5, 6])]
    # as recorded before the proceeding was decided: only the decision's own row
    early = evaluate(REF, log.rows, "2023-03-01", as_of=log.recorded_at(5))
    assert [r["positions"] for r in reasons(early, "discipline-effect")] == [[5]]


def test_each_year_with_discipline_is_checked_and_names_the_decisions_first_row():
    log = officer()
    log.decide("khien_trach", "2021-05-03", number="12")  # 3, 4, 5
    log.rate(2021, "KHTNV")                                # 6: consistent
    _, did = log.decide("canh_cao", "2022-04-01", number="13")  # 7, 8, 9
    log.appeal(did, "2022-04-10")                          # 10
    log.rate(2022, "HTNV")                                 # 11
    got = reasons(evaluate(REF, log.rows, "2023-06-01"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("needs_review", [8, 11])]


def test_the_rules_read_their_figures_from_the_reference():
    # each rule's params (rules.toml) set, one at a time here, to a value other than the law's
    def tuned(rule_id, **params):
        return Tuned(**{rule_id.replace("-", "_"): {**REF.rule(rule_id).params, **params}})

    log = officer()
    log.decide("canh_cao", "2022-04-01", corruption=True)  # 3, 4, 5
    log.decide("cach_chuc", "2022-06-01", number="13")     # 6, 7, 8
    log.rate(2022, "KHTNV")                                 # 9
    on = "2022-09-01"
    out = lambda ref, rule: [(r["outcome"], r["positions"])  # noqa: E731
                             for r in reasons(evaluate(ref, log.rows, on), rule)]
    assert out(tuned("corruption-bar", forms=["canh_cao"]), "corruption-bar") == \
        [("not_eligible", [4, 5])]
    assert out(tuned("ended-employment", forms=["cach_chuc"]), "ended-employment") == \
        [("not_eligible", [7, 8])]
    repeated = reasons(evaluate(tuned("repeated-discipline-in-term", forms=["cach_chuc"],
                                      count=1), log.rows, on), "repeated-discipline-in-term")
    assert [(r["outcome"], r["positions"]) for r in repeated] == [("needs_review", [7, 8])]
    assert repeated[0]["message_en"].startswith("1 reprimands or warnings within the term")
    # a year rated KHTNV meets any forced level: ratings.toml marks KHTNV failed, and a failed
    # year is what the rule asks for (the reading term-failed-rating and
    # consecutive-failed-ratings share)
    assert out(tuned("rating-inconsistent", forced_level="HTNV"), "rating-inconsistent") == \
        [("ok", [])]
    # and a year rated the forced level itself is consistent; by the law's KHTNV it is not
    htnv = officer()
    htnv.decide("canh_cao", "2022-04-01")  # 3, 4, 5
    htnv.rate(2022, "HTNV")                # 6
    assert [(r["outcome"], r["positions"]) for r in reasons(
        evaluate(tuned("rating-inconsistent", forced_level="HTNV"), htnv.rows, on),
        "rating-inconsistent")] == [("ok", [])]
    assert [(r["outcome"], r["positions"]) for r in reasons(
        evaluate(REF, htnv.rows, on), "rating-inconsistent")] == [("needs_review", [4, 6])]
    (window,) = reasons(evaluate(tuned("notice-window", notice_working_days=10),
                                 officer(term="2021-06-01").rows, "2026-03-02"),
                        "notice-window")
    assert "(more than 10): the notice window has not opened" in window["message_en"]


# rules.toml rating-inconsistent (decree48_from 2023-09-15): Party discipline counts from the
# evaluation years rated under Decree 48/2023, picked by the year's last day, the day the
# rating is made; without decree48_from Decree 90/2020's text alone applies (state discipline
# only). (case, decree48_from, Party decision's effective date, its year's rating, hit?)
PARTY_YEARS = [
    ("2022 rated on 2022-12-31, before Decree 48/2023", date(2023, 9, 15), "2022-11-01", "HTNV",
     False),
    ("2023 rated on 2023-12-31, after Decree 48/2023's first day", date(2023, 9, 15),
     "2023-02-01", "HTNV", True),
    ("2023 rated KHTNV: consistent", date(2023, 9, 15), "2023-02-01", "KHTNV", False),
    ("decree48_from on the year's last day: that year's rating is under it",
     date(2022, 12, 31), "2022-11-01", "HTNV", True),
    ("decree48_from the day after the year's last day", date(2023, 1, 1), "2022-11-01", "HTNV",
     False),
    ("no decree48_from: Decree 90/2020's text, state discipline only", None, "2023-02-01",
     "HTNV", False),
]


@pytest.mark.parametrize("case,since,eff,rating,hit", PARTY_YEARS,
                         ids=[r[0] for r in PARTY_YEARS])
def test_party_discipline_counts_from_decree_48(case, since, eff, rating, hit):
    log = officer()
    log.decide("khien_trach", eff, system="party")  # 3, 4, 5
    log.rate(int(eff[:4]), rating)                  # 6
    params = {k: v for k, v in REF.rule("rating-inconsistent").params.items()
              if k != "decree48_from"}
    if since is not None:
        params["decree48_from"] = since
    got = reasons(evaluate(Tuned(rating_inconsistent=params), log.rows, "2024-06-03"),
                  "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == \
        ([("needs_review", [4, 6])] if hit else [("ok", [])]), case


def test_the_default_failed_level_is_named_in_the_ok_reason():
    stripped = Tuned(term_failed_rating={"outcome": "not_eligible"})
    (got,) = reasons(evaluate(stripped, officer().rows, "2023-03-01"), "term-failed-rating")
    assert got["message_en"].startswith("No year rated KHTNV within the term")


def test_no_decision_on_record_in_both_languages():
    assert reasons(evaluate(REF, officer().rows, "2023-03-01"), "discipline-effect") == [
        reason("discipline-effect", "ok", C_EFFECT, "Không có quyết định kỷ luật nào trong hồ sơ.",
               "No discipline decision on record.")]


# ------------------------------------------------------------ a Party and a state decision, one act

# rules.toml party-decision-start / party-decision-start-nd172: their citations and question
C_ND71 = "Nghị định 112/2020/NĐ-CP, sửa đổi bởi Nghị định 71/2023/NĐ-CP ngày 20/9/2023"
C_ND172 = ("Nghị định 172/2025/NĐ-CP ngày 30/6/2025 (thay thế Nghị định 112/2020/NĐ-CP và Nghị"
           " định 71/2023/NĐ-CP)")
Q_ND172 = ("Decree 172/2025 replaced Decrees 112/2020 and 71/2023 on 2025-07-01; whether it keeps"
           " the rule that the administrative decision's effect runs from the Party decision's"
           " effective date was not found in the sources read: from which date does the effect"
           " period run?")
DEC13 = "13/QĐ-UBND (UBND phường Tây Hồ)"
S_LAW80 = ("Luật Cán bộ, công chức 80/2025/QH15; Nghị định 172/2025/NĐ-CP (thời hạn do Chính phủ"
           " quy định; mặc định giữ theo Luật 52/2019/QH14)")  # effect_periods.toml state-law80-*
PARTY_KT_VI = f"quyết định kỷ luật khiển trách số {DEC12}"  # the Party decision, Log.decide
PARTY_KT_EN = f"discipline decision (reprimand) {DEC12}"


def party_then_state(party_eff: str, state_signed: str, form: str = "canh_cao",
                     found: str | None = None) -> Log:
    """A Party khiển trách (3 opened, 4 issued, 5 decided) and a state decision on the same
    proceeding, the same act (6 issued, 7 decided), signed and effective on ``state_signed``."""
    log = officer()
    pid, log.party_decision = log.decide("khien_trach", party_eff, system="party",
                                         opened_on=found)
    did = "state-on-the-same-act"
    log.add("Decision.Issued", did, state_signed, {
        "proceeding_id": pid, "officer_id": OFFICER, "category": "cong_chuc", "form": form,
        "regime": "nd112-2020" if state_signed < "2025-07-01" else "nd172-2025",
        "decision_ref": {"number": "13", "symbol": "QĐ-UBND", "issuer": "UBND phường Tây Hồ",
                         "signed_on": state_signed},
        "effective_from": state_signed, "corruption_related": False,
        "discipline_system": "state"})
    log.add("Proceeding.Decided", pid, state_signed,
            {"decision_id": did, "decided_on": state_signed})
    return log


def state_reason(log: Log, on: str, post: str = "higher") -> dict:
    (got,) = [r for r in reasons(evaluate(REF, log.rows, on, post=post), "discipline-effect")
              if 6 in r["positions"]]
    return got


def test_decree_71_the_state_period_runs_from_the_party_decision():
    # Decree 71/2023 (in force 2023-09-20): a state warning signed 2023-12-01 on an act the
    # Party reprimanded on 2023-10-02: its 12 months (Law 52/2019) run from 2023-10-02
    log = party_then_state("2023-10-02", "2023-12-01")
    why_vi = (f" Thời hạn tính từ ngày 2023-10-02, ngày {PARTY_KT_VI} (kỷ luật đảng về cùng hành"
              f" vi) có hiệu lực, không từ ngày 2023-12-01: quyết định ký ngày 2023-12-01, theo"
              f" {C_ND71}.")
    why_en = (f" The period runs from 2023-10-02, the day the {PARTY_KT_EN} (Party discipline"
              " for the same act) took effect, not from 2023-12-01: the decision was signed on"
              f" 2023-12-01, under {C_ND71}.")
    assert state_reason(log, "2024-10-01") == reason(
        "discipline-effect", "not_eligible", C_EFFECT,
        f"Quyết định kỷ luật cảnh cáo số {DEC13}, hiệu lực từ 2023-12-01: thời hạn 12 tháng theo"
        " kỷ luật hành chính nhà nước (không nâng ngạch, quy hoạch, đào tạo, bổ nhiệm vào chức"
        " vụ cao hơn), từ 2023-10-02 đến hết ngày 2024-10-01 (căn cứ:"
        f" {S_LAW52}): không bổ nhiệm vào chức vụ cao hơn.{why_vi}",
        f"The discipline decision (warning) {DEC13}, effective 2023-12-01: 12-month effect"
        " period under state (administrative) discipline (no promotion, planning, training or"
        " appointment to a higher post), from 2023-10-02 through 2024-10-01 (source:"
        f" {S_LAW52}): it bars appointment to a higher post.{why_en}", [4, 6, 7])
    assert state_reason(log, "2024-10-02") == reason(
        "discipline-effect", "ok", C_EFFECT,
        f"Quyết định kỷ luật cảnh cáo số {DEC13}, hiệu lực từ 2023-12-01: các thời hạn hệ quả"
        f" đã hết (kỷ luật hành chính nhà nước 12 tháng, hết ngày 2024-10-01).{why_vi}",
        f"The discipline decision (warning) {DEC13}, effective 2023-12-01: its effect periods"
        f" have ended (state (administrative) discipline 12 months, ended 2024-10-01).{why_en}",
        [4, 6, 7])


def test_before_decree_71_the_state_period_runs_from_its_own_date():
    # signed 2023-09-19, the day before Decree 71/2023: Decree 112/2020's own text
    log = party_then_state("2023-09-01", "2023-09-19")
    got = state_reason(log, "2024-09-18")
    assert got["outcome"] == "not_eligible" and got["positions"] == [4, 6, 7]
    assert got["message_vi"].endswith(
        f" Có {PARTY_KT_VI} (kỷ luật đảng về cùng hành vi, hiệu lực 2023-09-01), nhưng quyết định"
        f" ký ngày 2023-09-19, trước 2023-09-20 ({C_ND71}), nên thời hạn tính từ ngày quyết định"
        " này có hiệu lực.")
    assert got["message_en"].endswith(
        f" A {PARTY_KT_EN} (Party discipline for the same act, effective 2023-09-01) exists, but"
        f" this decision was signed on 2023-09-19, before 2023-09-20 ({C_ND71}), so the period"
        " runs from its own effective date.")
    assert "from 2023-09-19 through 2024-09-18" in got["message_en"]


def test_decree_172_both_starts_computed_and_where_they_differ_the_question_asked():
    # Decree 172/2025 (from 2025-07-01): not verified whether the Party date still counts.
    # Law 80/2025's default 12 months (effect_periods.toml state-law80-canh_cao): from
    # 2025-07-01 they end 2026-06-30, from the Party decision's 2025-06-02 they end 2026-06-01
    log = party_then_state("2025-06-02", "2025-07-01")
    why_vi = (f" Có {PARTY_KT_VI} (kỷ luật đảng về cùng hành vi, hiệu lực 2025-06-02); quyết định"
              f" ký ngày 2025-07-01 theo {C_ND172}. Câu hỏi còn mở: {Q_ND172}")
    why_en = (f" A {PARTY_KT_EN} (Party discipline for the same act, effective 2025-06-02)"
              f" exists; the decision was signed on 2025-07-01, under {C_ND172}. Open question:"
              f" {Q_ND172}")
    got = state_reason(log, "2026-06-02")
    assert (got["outcome"], got["positions"]) == ("needs_review", [4, 6, 7])
    assert got["message_vi"].startswith(
        f"Quyết định kỷ luật cảnh cáo số {DEC13}, hiệu lực từ 2025-07-01: thời hạn 12 tháng theo"
        " kỷ luật hành chính nhà nước")
    assert got["message_vi"].endswith(
        " hết ngày 2026-06-30 nếu tính từ ngày quyết định này có hiệu lực, hoặc ngày 2026-06-01"
        " nếu tính từ ngày 2025-06-02 (quyết định kỷ luật đảng về cùng hành vi); chưa rõ tính từ"
        f" ngày nào; cần xem xét.{why_vi}")
    assert got["message_en"].endswith(
        " ends 2026-06-30 if counted from its own effective date, or 2026-06-01 if counted from"
        " 2025-06-02 (the Party decision for the same act); which applies is open; needs"
        f" review.{why_en}")
    # on the Party-counted period's last day both starts are running: no question
    same = state_reason(log, "2026-06-01")
    assert (same["outcome"], same["positions"]) == ("not_eligible", [4, 6, 7])
    assert same["message_en"] == (
        f"The discipline decision (warning) {DEC13}, effective 2025-07-01: 12-month effect"
        " period under state (administrative) discipline (no appointment; the text does not say"
        " whether reappointment to the same post is included), from 2025-07-01 through"
        f" 2026-06-30 (source: {S_LAW80}): it bars appointment to a higher post.{why_en}")
    # after both: ended, the question still told
    assert state_reason(log, "2026-07-01")["outcome"] == "ok"


def test_an_annulled_party_decision_leaves_the_state_date():
    # rules.toml party-decision-start: the Party decision must be in force
    log = party_then_state("2023-10-02", "2023-12-01")
    log.annul(log.party_decision, "2024-01-15")  # 8
    got = state_reason(log, "2024-10-02")
    assert got["positions"] == [6, 7]
    assert "from 2023-12-01 through 2024-11-30" in got["message_en"]
    assert got["message_en"].endswith(": it bars appointment to a higher post.")


def test_decree_71_a_party_decision_taking_effect_later_delays_the_state_period():
    # the state warning is in force from 2023-12-01, its period only from the Party
    # decision's 2024-01-15 (Decree 71/2023): on 2024-01-14 nothing runs yet
    log = party_then_state("2024-01-15", "2023-12-01")
    why_en = (f" The period runs from 2024-01-15, the day the {PARTY_KT_EN} (Party discipline"
              " for the same act) took effect, not from 2023-12-01: the decision was signed on"
              f" 2023-12-01, under {C_ND71}.")
    got = state_reason(log, "2024-01-14")
    assert got == reason(
        "discipline-effect", "info", C_EFFECT,
        f"Quyết định kỷ luật cảnh cáo số {DEC13}, hiệu lực từ 2023-12-01: thời hạn hệ quả tính từ"
        f" 2024-01-15, sau ngày xét 2024-01-14. Thời hạn tính từ ngày 2024-01-15, ngày"
        f" {PARTY_KT_VI} (kỷ luật đảng về cùng hành vi) có hiệu lực, không từ ngày 2023-12-01:"
        f" quyết định ký ngày 2023-12-01, theo {C_ND71}.",
        f"The discipline decision (warning) {DEC13}, effective 2023-12-01: its effect periods run"
        f" from 2024-01-15, after the evaluation date 2024-01-14.{why_en}", [4, 6, 7])
    assert state_reason(log, "2024-01-15")["outcome"] == "not_eligible"


# --------------------------------------------------------------------- Decree 48/2023, exceptions

ND48_B_VI = ("(coi là đã dùng vi phạm này làm căn cứ; Nghị định 48/2023/NĐ-CP, khoản 5 điểm b"
             " Điều 2 Nghị định 90/2020)")
ND48_B_EN = "(presumed to have rested on it; Decree 48/2023, Art. 2(5)(b) of Decree 90/2020)"
ND48_C_VI = "(Nghị định 48/2023/NĐ-CP, khoản 5 điểm c Điều 2 Nghị định 90/2020)"
ND48_C_EN = "(Decree 48/2023, Art. 2(5)(c) of Decree 90/2020)"
RATING_OK = reason("rating-inconsistent", "ok", C_RATING,
                   "Không có năm bị kỷ luật nào được xếp loại khác KHTNV.",
                   "No year with discipline is rated other than KHTNV.")


def test_decree_48_b_a_violation_already_rated_khtnv_is_not_counted_again():
    # Art. 2(5)(b): a violation found in 2023, a year rated KHTNV, decided in 2024
    log = officer()
    log.rate(2023, "KHTNV")                                              # 3
    log.decide("khien_trach", "2024-03-01", opened_on="2023-10-02")      # 4, 5, 6
    log.rate(2024, "HTTNV")                                              # 7
    got = reasons(evaluate(REF, log.rows, "2025-06-02"), "rating-inconsistent")
    assert got == [reason(
        "rating-inconsistent", "info", C_RATING,
        f"Năm 2024: quyết định kỷ luật khiển trách số {DEC12} (hiệu lực từ 2024-03-01) không"
        " tính để xếp loại năm 2024 vì vi phạm đã được phát hiện năm 2023, năm đã xếp loại KHTNV"
        f" {ND48_B_VI}.",
        f"2024: the discipline decision (reprimand) {DEC12} (effective 2024-03-01) does not"
        f" count for the 2024 rating: its violation was found in 2023, a year rated KHTNV"
        f" {ND48_B_EN}.", [3, 5]), RATING_OK]


def test_decree_48_b_not_before_its_rating_years():
    # the 2022 rating (made 2022-12-31) is under Decree 90/2020's own text: no exception
    log = officer()
    log.rate(2021, "KHTNV")                                              # 3
    log.decide("khien_trach", "2022-03-01", opened_on="2021-10-04")      # 4, 5, 6
    log.rate(2022, "HTTNV")                                              # 7
    got = reasons(evaluate(REF, log.rows, "2023-06-01"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("needs_review", [5, 7])]


def party_and_state_rated(r2023: str | None, r2024: str | None,
                          found: str = "2022-12-01") -> Log:
    """Party khiển trách 2023-11-01 (3, 4, 5), state khiển trách on the same act 2024-02-01
    (6, 7), then the ratings given (8, 9); the violation found on ``found``."""
    log = party_then_state("2023-11-01", "2024-02-01", form="khien_trach", found=found)
    for year, rating in ((2023, r2023), (2024, r2024)):
        if rating:
            log.rate(year, rating)
    return log


BOTH_VI = (f"quyết định kỷ luật khiển trách số {DEC12} (hiệu lực từ 2023-11-01), quyết định kỷ"
           f" luật khiển trách số {DEC13} (hiệu lực từ 2024-02-01)")
BOTH_EN = (f"discipline decision (reprimand) {DEC12} (effective 2023-11-01), discipline decision"
           f" (reprimand) {DEC13} (effective 2024-02-01)")


def test_decree_48_c_one_act_in_two_years_counts_once():
    got = reasons(evaluate(REF, party_and_state_rated("KHTNV", "HTTNV").rows, "2025-06-02"),
                  "rating-inconsistent")
    assert got == [reason(
        "rating-inconsistent", "info", C_RATING,
        f"Cùng một hành vi có {BOTH_VI}, hiệu lực trong các năm 2023, 2024: chỉ tính một năm;"
        f" năm 2023 đã xếp loại KHTNV {ND48_C_VI}.",
        f"One act has the {BOTH_EN}, effective in 2023, 2024: it counts in one year only, and"
        f" 2023 is rated KHTNV {ND48_C_EN}.", [4, 6, 8]), RATING_OK]
    # the violation found in 2023 itself, a year rated KHTNV: exception (b) is presumed first
    # (rules.toml rating-inconsistent note), and the state decision is left out as well
    found_2023 = party_and_state_rated("KHTNV", "HTTNV", found="2023-10-02")
    assert [(r["outcome"], r["positions"], r["message_en"]) for r in reasons(
        evaluate(REF, found_2023.rows, "2025-06-02"), "rating-inconsistent")] == [
        ("info", [6, 8], f"2024: the discipline decision (reprimand) {DEC13} (effective"
         " 2024-02-01) does not count for the 2024 rating: its violation was found in 2023, a"
         f" year rated KHTNV {ND48_B_EN}."),
        ("ok", [], "No year with discipline is rated other than KHTNV.")]
    later = reasons(evaluate(REF, party_and_state_rated("HTTNV", "KHTNV").rows, "2025-06-02"),
                    "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in later] == [("info", [4, 6, 9]), ("ok", [])]
    assert later[0]["message_en"].endswith(
        f"it counts in one year only, and 2024 is rated KHTNV {ND48_C_EN}.")


def test_decree_48_c_one_act_rated_khtnv_in_neither_year():
    got = reasons(evaluate(REF, party_and_state_rated("HTTNV", "HTTNV").rows, "2025-06-02"),
                  "rating-inconsistent")
    assert got == [reason(
        "rating-inconsistent", "needs_review", C_RATING,
        f"Hồ sơ không thống nhất: cùng một hành vi có {BOTH_VI}, hiệu lực trong các năm 2023,"
        " 2024; hành vi chỉ tính một năm nhưng không năm nào xếp loại KHTNV"
        f" {ND48_C_VI}. Cần xem xét.",
        f"Inconsistent records: one act has the {BOTH_EN}, effective in 2023, 2024; it counts"
        f" in one year only, yet none of them is rated KHTNV {ND48_C_EN}. Needs review.",
        [4, 6, 8, 9])]
    # tuned informational, it is still an inconsistency: no "ok" line after it
    tuned = Tuned(rating_inconsistent={**REF.rule("rating-inconsistent").params,
                                       "outcome": "informational"})
    assert [r["outcome"] for r in reasons(evaluate(
        tuned, party_and_state_rated("HTTNV", "HTTNV").rows, "2025-06-02"),
        "rating-inconsistent")] == ["info"]
    # 2024 not rated yet: nothing to compare
    assert reasons(evaluate(REF, party_and_state_rated("HTTNV", None).rows, "2024-06-03"),
                   "rating-inconsistent") == [RATING_OK]


# --------------------------------------------------------------------------- single-failed-rating

C_SINGLE = ("Luật Cán bộ, công chức 80/2025/QH15, Điều 27 khoản 1 điểm c, Điều 44 khoản 2; Nghị"
            " định 335/2025/NĐ-CP, Điều 23 khoản 3")
Q_SINGLE = ("Law 80/2025 Art. 27(1)(c) makes a KHTNV rating a ground to consider a lower job"
            " position or dismissal; it does not say whether that bars reappointment to the same"
            " post: may an official whose latest rating is KHTNV be reappointed?")


def test_law_80_a_single_khtnv_year_asks_for_review():
    # Law 80/2025 Art. 27(1)(c), its evaluation section from 2026-01-01 (Art. 44(2))
    log = officer()
    log.rate(2025, "KHTNV")  # 3
    got = reasons(evaluate(REF, log.rows, "2026-01-01"), "single-failed-rating")
    assert got == [reason(
        "single-failed-rating", "needs_review", C_SINGLE,
        "Kết quả xếp loại gần nhất (năm 2025) là Không hoàn thành nhiệm vụ (KHTNV): cơ quan có"
        " thẩm quyền phải xem xét bố trí vị trí việc làm thấp hơn hoặc cho thôi việc; cần xem"
        f" xét. Câu hỏi còn mở: {Q_SINGLE}",
        "The latest rating (year 2025) is failed to complete duties (KHTNV): the competent"
        " authority must consider a lower job position or dismissal; needs review. Open"
        f" question: {Q_SINGLE}", [3])]
    assert reasons(evaluate(REF, log.rows, "2025-12-31"), "single-failed-rating") == []


def test_law_80_the_last_year_over_decides():
    # the rating checked is the evaluation year before the evaluation date's year
    log = officer()
    log.rate(2024, "KHTNV")  # 3
    assert reasons(evaluate(REF, log.rows, "2026-03-02"), "single-failed-rating") == [reason(
        "single-failed-rating", "ok", C_SINGLE, "Chưa có kết quả xếp loại năm 2025.",
        "No rating on record for 2025.")]
    log.rate(2025, "HTTNV")  # 4
    assert reasons(evaluate(REF, log.rows, "2026-03-02"), "single-failed-rating") == [reason(
        "single-failed-rating", "ok", C_SINGLE,
        "Kết quả xếp loại gần nhất (năm 2025): Hoàn thành tốt nhiệm vụ (HTTNV).",
        "Latest rating (year 2025): good: completed duties well (HTTNV).", [4])]


def test_law_80_covers_cong_chuc_only():
    log = officer(category="vien_chuc")
    log.rate(2025, "KHTNV")
    assert reasons(evaluate(REF, log.rows, "2026-03-02"), "single-failed-rating") == [reason(
        "single-failed-rating", "info", C_SINGLE,
        "Quy định chỉ áp dụng cho cong_chuc; cán bộ này thuộc vien_chuc.",
        "The rule applies to cong_chuc only; this officer is vien_chuc.")]


# --------------------------------------------------------------------------- the new rules' edges

def test_a_decision_before_the_rating_rule_does_not_hide_a_later_one():
    # rules.toml rating-inconsistent from the 2020 evaluation year: 2019 is skipped, 2021 not
    log = officer(term="2019-03-01")
    log.decide("khien_trach", "2019-06-03")               # 3, 4, 5
    log.decide("khien_trach", "2021-05-03", number="13")  # 6, 7, 8
    log.rate(2021, "HTNV")                                # 9
    got = reasons(evaluate(REF, log.rows, "2022-06-01"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("needs_review", [7, 9])]


def test_decree_48_c_an_act_counted_once_does_not_hide_another_act():
    log = party_and_state_rated("KHTNV", None)             # 3-7, 8 (2023)
    log.decide("canh_cao", "2024-05-02", number="14")       # 9, 10, 11
    log.rate(2024, "HTTNV")                                 # 12
    got = reasons(evaluate(REF, log.rows, "2025-06-02"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("info", [4, 6, 8]),
                                                            ("needs_review", [10, 12])]


def test_decree_48_c_a_state_decision_in_2022_and_a_party_one_in_2023():
    # the later year (2023) is rated under Decree 48/2023, so the act counts once: in 2022
    log = party_then_state("2023-02-01", "2022-06-01", form="khien_trach", found="2021-12-01")
    log.rate(2022, "KHTNV")  # 8
    log.rate(2023, "HTTNV")  # 9
    got = reasons(evaluate(REF, log.rows, "2024-06-03"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("info", [4, 6, 8]), ("ok", [])]
    assert got[0]["message_en"].endswith(f"and 2022 is rated KHTNV {ND48_C_EN}.")


@pytest.mark.parametrize("field", ["detected_on", "occurred_on", "ended_on"])
def test_decree_48_b_reads_each_day_of_the_violation(field):
    # rules.toml note: exception (b) when the violation was detected, occurred or ended in an
    # earlier year rated KHTNV; here only ``field`` lies in 2023
    log = officer()
    log.rate(2023, "KHTNV")                                              # 3
    log.decide("khien_trach", "2024-03-01", opened_on="2024-01-05")      # 4, 5, 6
    log.rate(2024, "HTTNV")                                              # 7
    violation = log.rows[3]["data"]["violations"][0]
    violation.update(detected_on="2024-01-05", occurred_on="2024-01-05", ended_on=None)
    violation[field] = "2023-10-02"
    got = reasons(evaluate(REF, log.rows, "2025-06-02"), "rating-inconsistent")
    assert [(r["outcome"], r["positions"]) for r in got] == [("info", [3, 5]), ("ok", [])]


def test_decree_48_names_only_the_decisions_first_row():
    # an appeal adds rows to a decision; the reasons name the decision by its Issued row
    log = officer()
    log.rate(2023, "KHTNV")                                                # 3
    _, did = log.decide("khien_trach", "2024-03-01", opened_on="2023-10-02")  # 4, 5, 6
    log.rate(2024, "HTTNV")                                                # 7
    log.appeal(did, "2024-03-10")                                          # 8
    got = reasons(evaluate(REF, log.rows, "2025-06-02"), "rating-inconsistent")
    assert [r["positions"] for r in got][:1] == [[3, 5]]
    pair = party_and_state_rated("HTTNV", "HTTNV")
    pair.appeal(pair.party_decision, "2023-11-10")                          # 10
    assert [r["positions"] for r in reasons(evaluate(REF, pair.rows, "2025-06-02"),
                                            "rating-inconsistent")] == [[4, 6, 8, 9]]
    twin = party_then_state("2023-10-02", "2023-12-01")
    twin.appeal(twin.party_decision, "2023-10-09")                          # 8
    assert state_reason(twin, "2024-10-01")["positions"] == [4, 6, 7]


def test_decree_172_on_the_party_decisions_first_day_both_starts_run():
    # the Party decision takes effect a month after the state one: on its first day both
    # counts have begun, so the answer stands without the question
    log = party_then_state("2025-08-01", "2025-07-01")
    got = state_reason(log, "2025-08-01")
    assert got["outcome"] == "not_eligible"
    assert "from 2025-07-01 through 2026-06-30" in got["message_en"]
    assert state_reason(log, "2025-07-31")["outcome"] == "needs_review"


def test_decree_71_a_later_party_decision_does_not_hide_other_decisions():
    log = party_then_state("2024-01-15", "2023-12-01")
    log.decide("khien_trach", "2024-01-10", number="14")  # 8, 9, 10
    got = reasons(evaluate(REF, log.rows, "2024-01-14", post="higher"), "discipline-effect")
    # each decision with its own Decided row (the Party one's is 5, not the proceeding's last)
    assert [r["positions"] for r in got] == [[4, 5], [4, 6, 7], [9, 10]]


def test_the_new_rules_read_their_questions_and_outcomes_from_the_reference():
    def without(rule_id, *keys):
        return {k: v for k, v in REF.rule(rule_id).params.items() if k not in keys}

    log = officer()
    log.rate(2025, "KHTNV")  # 3
    bare = Tuned(single_failed_rating=without("single-failed-rating", "open_question",
                                              "outcome"))
    (got,) = reasons(evaluate(bare, log.rows, "2026-03-02"), "single-failed-rating")
    assert got["outcome"] == "needs_review"
    assert got["message_en"].endswith("; needs review. Open question: ")
    assert got["message_vi"].endswith("; cần xem xét. Câu hỏi còn mở: ")
    nd172 = party_then_state("2025-06-02", "2025-07-01")
    bare = Tuned(party_decision_start_nd172=without("party-decision-start-nd172",
                                                    "open_question"))
    assert state_reason(nd172, "2026-06-02")["message_en"].endswith(Q_ND172)
    got = reasons(evaluate(bare, nd172.rows, "2026-06-02", post="higher"), "discipline-effect")
    assert got[1]["message_en"].endswith(f"under {C_ND172}. Open question: ")
    assert got[1]["message_vi"].endswith(f"theo {C_ND172}. Câu hỏi còn mở: ")
    nowhere = party_and_state_rated("HTTNV", "HTTNV")
    bare = Tuned(rating_inconsistent=without("rating-inconsistent", "outcome"))
    assert [r["outcome"] for r in reasons(evaluate(bare, nowhere.rows, "2025-06-02"),
                                          "rating-inconsistent")] == ["needs_review"]


def test_single_failed_rating_reads_its_level_and_categories():
    log = officer()
    log.rate(2025, "HTNV")  # 3
    tuned = Tuned(single_failed_rating={**REF.rule("single-failed-rating").params,
                                        "failed_level": "HTNV"})
    (got,) = reasons(evaluate(tuned, log.rows, "2026-03-02"), "single-failed-rating")
    assert (got["outcome"], got["positions"]) == ("needs_review", [3])
    assert got["message_en"].startswith("The latest rating (year 2025) is completed duties"
                                        " (HTNV): the competent authority")
    assert [r["outcome"] for r in reasons(evaluate(REF, log.rows, "2026-03-02"),
                                          "single-failed-rating")] == ["ok"]
    vc = officer(category="vien_chuc")
    tuned = Tuned(single_failed_rating={**REF.rule("single-failed-rating").params,
                                        "categories": ["cong_chuc", "can_bo"]})
    (got,) = reasons(evaluate(tuned, vc.rows, "2026-03-02"), "single-failed-rating")
    assert (got["message_vi"], got["message_en"]) == (
        "Quy định chỉ áp dụng cho cong_chuc, can_bo; cán bộ này thuộc vien_chuc.",
        "The rule applies to cong_chuc, can_bo only; this officer is vien_chuc.")


def test_rating_inconsistent_names_the_laws_level_when_the_reference_gives_none():
    # without params.forced_level the level is the law's: KHTNV (Decree 90/2020 Art. 2(5))
    log = officer()
    log.decide("canh_cao", "2022-04-01")  # 3, 4, 5
    bare = Tuned(rating_inconsistent={k: v for k, v in REF.rule("rating-inconsistent")
                                      .params.items() if k != "forced_level"})
    assert reasons(evaluate(bare, log.rows, "2023-06-01"), "rating-inconsistent") == [RATING_OK]
    log.rate(2022, "HTNV")                # 6
    (got,) = reasons(evaluate(bare, log.rows, "2023-06-01"), "rating-inconsistent")
    assert got["message_en"].endswith("must be rated failed to complete duties (KHTNV). Needs"
                                      " review.")


# --------------------------------------------------------------------------- party-decision-awaits-state

# rules.toml party-decision-awaits-state: its citation, and the one in force from 2025-07-01
C_AWAITS = ("Nghị định 112/2020/NĐ-CP, Điều 2 khoản 6, sửa đổi bởi khoản 2 Điều 1 Nghị định"
            " 71/2023/NĐ-CP")
C_AWAITS_172 = ("Nghị định 172/2025/NĐ-CP (thay thế Nghị định 112/2020/NĐ-CP và Nghị định"
                " 71/2023/NĐ-CP; việc giữ quy định 30 ngày chưa được xác nhận)")
PARTY12 = f"Quyết định kỷ luật khiển trách số {DEC12}"


def awaits(signed: str, on: str, days: int = 30, late: bool = False, citation: str = C_AWAITS,
           outcome: str = "needs_review", positions=(3, 4, 5)) -> dict:
    """Decree 112/2020 Art. 2(6) as amended by Decree 71/2023: within 30 days of the Party
    decision's announcement the administrative process (if any) must be carried out."""
    late_vi = f" Đã quá {days} ngày kể từ ngày {signed}." if late else ""
    late_en = f" More than {days} days have passed since {signed}." if late else ""
    return reason(
        "party-decision-awaits-state", outcome, citation,
        f"{PARTY12} (kỷ luật đảng, ký ngày {signed}) chưa có quyết định xử lý kỷ luật hành chính"
        f" tương ứng về cùng hành vi: trong {days} ngày kể từ ngày công bố quyết định kỷ luật về"
        f" đảng phải thực hiện quy trình xử lý kỷ luật hành chính (nếu có); cần xem xét.{late_vi}",
        f"The discipline decision (reprimand) {DEC12} (Party discipline, signed {signed}) has"
        f" no administrative decision for the same act on record: the administrative discipline"
        f" process (if any) must follow within {days} days of the Party decision's"
        f" announcement; needs review.{late_en}", positions)


def none_awaiting(on: str, citation: str = C_AWAITS) -> dict:
    return reason("party-decision-awaits-state", "ok", citation,
                  "Không có quyết định kỷ luật về đảng nào đang chờ xử lý kỷ luật hành chính vào"
                  f" ngày {on}.",
                  f"No Party discipline decision awaiting its administrative process on {on}.")


def party_log(signed: str) -> tuple[Log, str, str]:
    log = officer()
    pid, did = log.decide("khien_trach", signed, system="party")  # 3, 4, 5
    return log, pid, did


def state_twin(log: Log, pid: str, signed: str) -> None:
    log.add("Decision.Issued", "state-twin", signed, {
        "proceeding_id": pid, "officer_id": OFFICER, "category": "cong_chuc",
        "form": "khien_trach", "regime": "nd112-2020",
        "decision_ref": {"number": "13", "symbol": "QĐ-UBND", "issuer": "UBND phường Tây Hồ",
                         "signed_on": signed},
        "effective_from": signed, "corruption_related": False, "discipline_system": "state"})


@pytest.mark.parametrize("case, signed, on, expected", [
    ("the 30th day after signing: not yet late", "2024-03-01", "2024-03-31",
     awaits("2024-03-01", "2024-03-31")),
    ("the 31st day: late", "2024-03-01", "2024-04-01", awaits("2024-03-01", "2024-04-01",
                                                              late=True)),
    ("the signing day itself", "2024-03-01", "2024-03-01", awaits("2024-03-01", "2024-03-01")),
    ("the day before signing: nothing awaits", "2024-03-01", "2024-02-29",
     none_awaiting("2024-02-29")),
    ("signed the day before Decree 71/2023", "2023-09-19", "2023-10-02",
     none_awaiting("2023-10-02")),
    ("signed on Decree 71/2023's first day", "2023-09-20", "2023-10-02",
     awaits("2023-09-20", "2023-10-02")),
    ("after 2025-07-01 the Decree 172/2025 citation", "2025-08-01", "2025-10-01",
     awaits("2025-08-01", "2025-10-01", late=True, citation=C_AWAITS_172)),
])
def test_party_decision_awaiting_its_administrative_process(case, signed, on, expected):
    log, _, _ = party_log(signed)
    assert reasons(evaluate(REF, log.rows, on), "party-decision-awaits-state") == [expected], \
        case


@pytest.mark.parametrize("case, twin_signed, dismissed_on, on, waiting", [
    ("a state decision signed by the day asked", "2024-03-20", None, "2024-04-02", False),
    ("a state decision signed on the day asked", "2024-04-02", None, "2024-04-02", False),
    ("a state decision signed after the day asked", "2024-04-03", None, "2024-04-02", True),
    ("the administrative side dismissed by the day asked", None, "2024-03-15", "2024-04-02",
     False),
    ("dismissed on the day asked", None, "2024-04-02", "2024-04-02", False),
    ("dismissed after the day asked", None, "2024-04-03", "2024-04-02", True),
])
def test_a_state_decision_or_a_dismissal_closes_the_administrative_side(
        case, twin_signed, dismissed_on, on, waiting):
    log, pid, _ = party_log("2024-03-01")
    if twin_signed:
        state_twin(log, pid, twin_signed)  # 6
    if dismissed_on:
        log.dismiss(pid, dismissed_on)     # 6
    got = reasons(evaluate(REF, log.rows, on), "party-decision-awaits-state")
    assert got == [awaits("2024-03-01", on, late=True) if waiting else none_awaiting(on)], case


def test_an_annulled_party_decision_calls_for_nothing():
    log, _, did = party_log("2024-03-01")
    log.annul(did, "2024-03-10")
    assert reasons(evaluate(REF, log.rows, "2024-04-02"), "party-decision-awaits-state") == [
        none_awaiting("2024-04-02")]


def test_a_state_decision_alone_calls_for_nothing():
    log = officer()
    log.decide("khien_trach", "2024-03-01")
    assert reasons(evaluate(REF, log.rows, "2024-04-02"), "party-decision-awaits-state") == [
        none_awaiting("2024-04-02")]


def test_two_party_decisions_each_await_their_own_process_in_the_order_decided():
    log, _, _ = party_log("2024-03-01")                                      # 3, 4, 5
    log.decide("khien_trach", "2024-03-20", system="party", number="12")    # 6, 7, 8
    got = reasons(evaluate(REF, log.rows, "2024-04-02"), "party-decision-awaits-state")
    assert got == [awaits("2024-03-01", "2024-04-02", late=True),
                   awaits("2024-03-20", "2024-04-02", positions=(6, 7, 8))]


def test_the_window_and_the_outcome_come_from_the_reference():
    log, _, _ = party_log("2024-03-01")
    tuned = Tuned(party_decision_awaits_state={"within_days": 10, "outcome": "informational"})
    got = reasons(evaluate(tuned, log.rows, "2024-03-12"), "party-decision-awaits-state")
    assert got == [awaits("2024-03-01", "2024-03-12", days=10, late=True, outcome="info")]
    assert evaluate(tuned, log.rows, "2024-03-12")["verdict"] == "eligible"
    on_the_day = reasons(evaluate(tuned, log.rows, "2024-03-11"), "party-decision-awaits-state")
    assert on_the_day == [awaits("2024-03-01", "2024-03-11", days=10, outcome="info")]


def test_a_settled_proceeding_does_not_stop_the_next_one_from_being_answered():
    log, pid, _ = party_log("2024-03-01")                                     # 3, 4, 5
    state_twin(log, pid, "2024-03-10")                                        # 6
    log.decide("khien_trach", "2024-03-20", system="party", number="12")     # 7, 8, 9
    got = reasons(evaluate(REF, log.rows, "2024-04-02"), "party-decision-awaits-state")
    assert got == [awaits("2024-03-20", "2024-04-02", positions=(7, 8, 9))]


def test_the_law_gives_the_window_and_the_outcome_when_the_reference_is_silent():
    log, _, _ = party_log("2024-03-01")
    bare = Tuned(party_decision_awaits_state={})
    assert reasons(evaluate(bare, log.rows, "2024-03-31"), "party-decision-awaits-state") == [
        awaits("2024-03-01", "2024-03-31")]
    assert reasons(evaluate(bare, log.rows, "2024-04-01"), "party-decision-awaits-state") == [
        awaits("2024-03-01", "2024-04-01", late=True)]


def test_effect_start_is_the_verdicts_start_for_the_standing():
    """``effect_start`` (used by the officer's standing) gives the date the verdict's period
    runs from: the Party decision's effective date under Decree 71/2023, the decision's own
    date without a Party twin, and its own date where Decree 172/2025 leaves it open."""
    from projections.eligibility import effect_start
    from projections.timeline import fold

    def start_of(log: Log, on: str) -> date:
        state = fold(log.rows)
        (d,) = [d for d in state.decisions.values() if d.discipline_system == "state"]
        return effect_start(REF, state, d, date.fromisoformat(on))

    assert start_of(party_then_state("2023-11-01", "2024-02-01"), "2024-06-03") == date(
        2023, 11, 1)
    assert start_of(party_then_state("2025-06-02", "2025-07-01"), "2026-06-02") == date(
        2025, 7, 1)
    alone = officer()
    alone.decide("khien_trach", "2024-02-01")
    assert start_of(alone, "2024-06-03") == date(2024, 2, 1)
