"""Reappointment eligibility: the pure evaluate() on plain timeline rows, no database."""
from __future__ import annotations

import hashlib
import json
import random
from datetime import date, timedelta

import pytest

from audit_service.reference import load_reference
from projections.eligibility import (RULES_CHECKED, evaluate, notice_deadline, result_hash,
                                     working_days)

try:  # the row factories live beside the timeline tests
    from .test_timeline import Log
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    from test_timeline import Log

REF = load_reference()
ON = date(2026, 3, 2)  # a Monday; the default term (2021-06-01 + 5 years) ends 2026-06-01


def officer(term_start: str | None = "2021-06-01", years: int = 5) -> Log:
    log = Log()
    log.register()
    if term_start:
        log.appoint(term_start, years)
    return log


def reasons(result: dict, rule_id: str, outcome: str | None = None) -> list[dict]:
    return [r for r in result["reasons"] if r["rule_id"] == rule_id
            and (outcome is None or r["outcome"] == outcome)]


def only(result: dict, rule_id: str, outcome: str | None = None) -> dict:
    found = reasons(result, rule_id, outcome)
    assert len(found) == 1, (rule_id, outcome, result["reasons"])
    return found[0]


# --------------------------------------------------------------------------- shape

def test_clean_record_is_eligible_and_lists_the_rules_checked():
    log = officer()
    log.rate(2021, "HTTNV")
    log.rate(2022, "HTXSNV")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    assert result["rules_checked"] == list(RULES_CHECKED)
    assert result["rules_not_in_force"] == []
    assert result["rules_version"] == REF.version
    assert result["evaluated_on"] == "2026-03-02" and result["as_of"] is None
    assert result["term"]["term_start"] == "2021-06-01"
    assert result["term"]["term_end"] == "2026-06-01"
    assert {r["rule_id"] for r in result["reasons"]} == set(RULES_CHECKED)
    assert all(r["outcome"] in ("ok", "info") for r in result["reasons"])
    for r in result["reasons"]:
        assert r["citation"] == REF.rule(r["rule_id"]).citation_on(ON, "cong_chuc")
        assert r["message_vi"] and r["message_en"]
    json.dumps(result)  # JSON-ready


def test_rules_not_in_force_on_the_date_are_not_applied():
    log = officer("2017-06-01")
    result = evaluate(REF, log.rows, date(2019, 6, 3))
    assert "open-proceeding" in result["rules_not_in_force"]
    assert "rating-inconsistent" in result["rules_not_in_force"]
    assert "term-failed-rating" in result["rules_checked"]
    assert not reasons(result, "open-proceeding")


# --------------------------------------------------------------------------- term-failed-rating

def test_failed_rating_in_term_is_not_eligible():
    log = officer()
    log.rate(2022, "HTTNV")
    log.rate(2023, "KHTNV")
    failed_pos = log.pos
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "not_eligible"
    r = only(result, "term-failed-rating", "not_eligible")
    assert r["positions"] == [failed_pos]
    assert "2023" in r["message_vi"] and "Không hoàn thành nhiệm vụ" in r["message_vi"]
    assert "2023" in r["message_en"]


def test_failed_rating_before_the_term_does_not_count():
    log = officer()
    log.rate(2020, "KHTNV")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    assert only(result, "term-failed-rating")["outcome"] == "ok"


def test_pre_2020_limited_capacity_level_is_not_a_failure():
    log = officer("2017-06-01")
    log.rate(2018, "HTNV_HCNL")
    result = evaluate(REF, log.rows, date(2022, 3, 1))
    assert only(result, "term-failed-rating")["outcome"] == "ok"
    assert result["verdict"] == "eligible"


def test_khtnv_corrected_to_htnv_no_longer_fails_but_does_as_of_before_the_correction():
    log = officer()
    rid = log.rate(2023, "KHTNV")
    before = log.recorded_at(log.pos)
    correction = log.correct_rating(rid, 2023, "HTNV", "KHTNV")
    now = evaluate(REF, log.rows, ON)
    assert now["verdict"] == "eligible"
    assert correction["position"] in only(now, "term-failed-rating", "ok")["positions"]
    then = evaluate(REF, log.rows, ON, as_of=before)
    assert then["verdict"] == "not_eligible"
    assert then["as_of"] == before.isoformat()
    failed = only(then, "term-failed-rating", "not_eligible")
    assert failed["positions"] == [correction["position"] - 1]


def test_no_term_means_no_term_rating_check():
    log = officer(None)
    log.rate(2023, "KHTNV")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "term-failed-rating")["outcome"] == "info"
    assert result["term"] is None


# --------------------------------------------------------------------------- open-proceeding

def test_open_proceeding_needs_review():
    log = officer()
    log.open_proceeding("2026-01-10")
    opened = log.pos
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "needs_review"
    r = only(result, "open-proceeding", "needs_review")
    assert r["positions"] == [opened]
    assert "2026-01-10" in r["message_vi"]


def test_proceeding_opened_after_the_date_or_closed_does_not_count():
    log = officer()
    pid = log.open_proceeding("2026-04-01")
    assert evaluate(REF, log.rows, ON)["verdict"] == "eligible"
    log.dismiss(pid, "2026-05-01")
    dismissed = officer()
    p2 = dismissed.open_proceeding("2026-01-10")
    dismissed.dismiss(p2, "2026-02-01")
    result = evaluate(REF, dismissed.rows, ON)
    assert result["verdict"] == "eligible"
    assert only(result, "open-proceeding")["outcome"] == "ok"
    # dismissed only after the evaluation date: it was still open on that date
    assert evaluate(REF, dismissed.rows, date(2026, 1, 20))["verdict"] == "needs_review"


def test_prosecution_deferral_needs_review():
    log = officer()
    pid = log.open_proceeding("2026-01-10")
    log.defer(pid, "prosecution", "2026-01-20", "2026-12-31")
    result = evaluate(REF, log.rows, ON)
    r = only(result, "open-proceeding", "needs_review")
    assert "khởi tố" in r["message_vi"] and "prosecution" in r["message_en"]
    assert r["positions"] == [log.pos - 1, log.pos]


def test_illness_or_maternity_deferral_is_still_open_business():
    log = officer()
    pid = log.open_proceeding("2026-01-10")
    log.defer(pid, "maternity", "2026-01-20", "2026-09-30")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "needs_review"
    r = only(result, "open-proceeding", "needs_review")
    assert "open business" in r["message_en"] and "2026-09-30" in r["message_en"]
    assert "thai sản" in r["message_vi"]


def test_decided_proceeding_is_not_open():
    log = officer()
    log.decide("khien_trach", "2024-02-01")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "open-proceeding")["outcome"] == "ok"


# --------------------------------------------------------------------------- discipline-effect

def test_discipline_effect_scope_depends_on_the_post_asked_about():
    """Law 52/2019 (Art. 82(2) as amended): khiển trách/cảnh cáo bar a HIGHER post for 12
    months; reappointment to the same post is not barred (finding 1.1, confirmed)."""
    log = officer()
    _, did = log.decide("canh_cao", "2025-03-03")  # Law 52/2019 regime, through 2026-03-02
    issued = log.pos - 1
    same = evaluate(REF, log.rows, ON)
    assert same["verdict"] == "eligible" and same["post"] == "same"
    r = only(same, "discipline-effect", "info")
    assert "does not bar reappointment to the same post" in r["message_en"]
    higher = evaluate(REF, log.rows, ON, post="higher")
    assert higher["verdict"] == "not_eligible" and higher["post"] == "higher"
    r = only(higher, "discipline-effect", "not_eligible")
    assert issued in r["positions"] and log.pos in r["positions"]
    assert "cảnh cáo" in r["message_vi"] and "12 tháng" in r["message_vi"]
    assert "2026-03-02" in r["message_vi"] and "2026-03-02" in r["message_en"]
    assert "state" in r["message_en"] and "warning" in r["message_en"]
    assert same["hash"] != higher["hash"]


def test_removal_bars_even_the_same_post_for_24_months():
    log = officer()
    log.decide("giang_chuc", "2024-09-02")
    for post in ("same", "higher"):
        result = evaluate(REF, log.rows, ON, post=post)
        assert result["verdict"] == "not_eligible"
        assert "2026-09-01" in only(result, "discipline-effect", "not_eligible")["message_en"]


def test_open_same_post_scope_is_needs_review_with_the_question():
    log = officer()
    log.decide("canh_cao", "2025-09-01")  # Law 80/2025: the same-post scope is open
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "needs_review"
    r = only(result, "discipline-effect", "needs_review")
    assert "Open question" in r["message_en"] and "same post" in r["message_en"]
    assert evaluate(REF, log.rows, ON, post="higher")["verdict"] == "not_eligible"


def test_unknown_post_is_refused():
    with pytest.raises(ValueError, match="post"):
        evaluate(REF, officer().rows, ON, post="lower")


def test_discipline_effect_ended_is_ok():
    log = officer()
    log.decide("canh_cao", "2024-01-15")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    r = only(result, "discipline-effect", "ok")
    assert "2025-01-14" in r["message_en"]


def test_decision_not_yet_effective_is_info():
    log = officer()
    log.decide("canh_cao", "2026-04-01", signed_on="2026-02-20")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "discipline-effect")["outcome"] == "info"


def test_overturned_appeal_removes_the_effect():
    log = officer()
    _, did = log.decide("canh_cao", "2025-09-01")
    aid = log.appeal(did, "2025-09-10")
    assert evaluate(REF, log.rows, ON, post="higher")["verdict"] == "not_eligible"
    pending = only(evaluate(REF, log.rows, ON, post="higher"), "discipline-effect",
                   "not_eligible")
    assert "appeal is pending" in pending["message_en"]
    log.resolve(did, aid, "overturned", "2025-11-01")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    r = only(result, "discipline-effect", "info")
    assert "overturned" in r["message_en"] and "không còn tính" in r["message_vi"]
    assert r["positions"] == list(range(4, log.pos + 1))  # opened is 3; issued..resolved, decided


def test_form_changed_on_appeal_changes_the_period():
    log = officer()
    _, did = log.decide("cach_chuc", "2024-06-01")  # 24 months, through 2026-05-31
    assert evaluate(REF, log.rows, ON)["verdict"] == "not_eligible"
    aid = log.appeal(did, "2024-06-10")
    log.resolve(did, aid, "form_changed", "2024-08-01", new_form="khien_trach",
                previous_form="cach_chuc")
    result = evaluate(REF, log.rows, ON)  # 12 months, ended 2025-05-31
    assert result["verdict"] == "eligible"
    r = only(result, "discipline-effect", "ok")
    assert "form changed on appeal from removal from post" in r["message_en"]
    assert "2025-05-31" in r["message_en"]
    assert evaluate(REF, log.rows, date(2025, 5, 30), post="higher")["verdict"] == "not_eligible"


def test_annulment_removes_the_effect_and_the_reasons_say_so():
    log = officer()
    _, did = log.decide("canh_cao", "2025-09-01")
    annul = log.annul(did, "2025-12-01")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    r = only(result, "discipline-effect", "info")
    assert "annulled on 2025-12-01" in r["message_en"]
    assert "hủy bỏ" in r["message_vi"]
    assert annul["position"] in r["positions"]
    # as of before the annulment was recorded, the effect still applied
    earlier = evaluate(REF, log.rows, ON, as_of=log.recorded_at(annul["position"] - 1),
                       post="higher")
    assert earlier["verdict"] == "not_eligible"


def test_salary_step_reduction_before_the_reform_still_gives_twelve_months():
    log = officer("2023-01-02")
    log.decide("ha_bac_luong", "2025-06-01")
    during = evaluate(REF, log.rows, date(2026, 5, 29), post="higher")
    r = only(during, "discipline-effect", "not_eligible")
    assert "12 tháng" in r["message_vi"] and "2026-05-31" in r["message_en"]
    assert "hạ bậc lương" in r["message_vi"]
    after = evaluate(REF, log.rows, date(2026, 6, 1))
    assert after["verdict"] == "eligible"


def test_party_warning_after_regulation_377_gives_thirty_six_months():
    """Regulation 377-QĐ/TW: Party cảnh cáo bars a higher post for 36 months (finding 1.2)."""
    log = officer("2024-01-02")
    pid, _ = log.decide("canh_cao", "2025-11-01", system="party")
    # the administrative side closed without a state decision (Decree 71/2023's process)
    log.add("Proceeding.Dismissed", pid, "2025-12-01", {"reason": "không xử lý hành chính",
                                                         "dismissed_on": "2025-12-01"})
    first_year = evaluate(REF, log.rows, date(2026, 6, 1), post="higher")
    r = only(first_year, "discipline-effect", "not_eligible")  # Party only: no state period
    assert "36" in r["message_en"] and "Party" in r["message_en"]
    assert "2028-10-31" in r["message_en"] and "Đảng" in r["message_vi"]
    assert evaluate(REF, log.rows, date(2028, 11, 1), post="higher")["verdict"] == "eligible"
    same = evaluate(REF, log.rows, date(2026, 6, 1))
    assert same["verdict"] == "eligible"  # Party periods bar higher posts only
    assert "does not bar" in only(same, "discipline-effect", "info")["message_en"]


def test_state_decision_gets_no_party_period():
    log = officer("2024-01-02")
    log.decide("canh_cao", "2025-11-01")  # state, Law 80 regime: 12 months
    later = evaluate(REF, log.rows, date(2027, 6, 1), post="higher")
    assert later["verdict"] == "eligible"
    assert "Party" not in only(later, "discipline-effect", "ok")["message_en"]


def test_party_warning_under_regulation_80_gives_thirty_months():
    log = officer("2022-01-03")
    log.decide("canh_cao", "2023-03-01", system="party")
    r = only(evaluate(REF, log.rows, date(2025, 8, 1), post="higher"), "discipline-effect",
             "not_eligible")
    assert "30-month" in r["message_en"] and "80-QĐ/TW" in r["message_en"]
    assert evaluate(REF, log.rows, date(2025, 9, 1), post="higher")["verdict"] == "eligible"


def test_warning_before_the_reform_has_no_party_period():
    log = officer("2023-01-02")
    log.decide("canh_cao", "2025-06-01")
    result = evaluate(REF, log.rows, date(2026, 6, 1))
    assert result["verdict"] == "eligible"
    assert "Party" not in only(result, "discipline-effect", "ok")["message_en"]


def test_forced_dismissal_is_not_eligible():
    """Finding 1.6: buộc thôi việc ends the employment: not_eligible, not needs_review."""
    log = officer()
    log.decide("buoc_thoi_viec", "2025-09-01")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "not_eligible"
    r = only(result, "ended-employment", "not_eligible")
    assert "nothing to reappoint" in r["message_en"]
    assert "80/2025/QH15" in r["citation"]  # after 2025-07-01 the new law is cited
    assert not reasons(result, "discipline-effect", "needs_review")


# --------------------------------------------------------------------------- corruption-bar

def test_corruption_bars_leadership_posts_only():
    """Finding 1.4 (Luật Viên chức Art. 56(4) as amended): only cách chức for corruption."""
    log = officer()
    log.decide("cach_chuc", "2022-01-10", corruption=True)
    lead = evaluate(REF, log.rows, ON)
    assert lead["verdict"] == "not_eligible"
    r = only(lead, "corruption-bar", "not_eligible")
    assert "tham nhũng" in r["message_vi"] and "corruption" in r["message_en"]
    plain = evaluate(REF, log.rows, ON, leadership=False)
    assert plain["verdict"] == "eligible"
    assert only(plain, "corruption-bar")["outcome"] == "info"


def test_corruption_conduct_code_counts_even_without_the_flag():
    log = officer()
    log.decide("cach_chuc", "2022-01-10", code="corruption")
    assert only(evaluate(REF, log.rows, ON), "corruption-bar")["outcome"] == "not_eligible"


def test_corruption_related_reprimand_does_not_bar():
    log = officer()
    log.decide("khien_trach", "2022-01-10", corruption=True)
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "eligible"
    assert "not removal from post" in only(result, "corruption-bar", "info")["message_en"]


def test_regime_is_picked_by_the_signing_date_for_effect_periods():
    """Finding 1.5: signed 2025-06-25 (Law 52/2019 regime), effective 2025-07-02: the
    Law 52 period applies (higher post only), not needs_review for want of an entry."""
    log = officer("2022-01-03")
    log.decide("canh_cao", "2025-07-02", signed_on="2025-06-25")
    result = evaluate(REF, log.rows, date(2026, 3, 2))
    assert result["verdict"] == "eligible"
    r = only(result, "discipline-effect", "info")
    assert "52/2019" in r["message_en"] and "2026-07-01" in r["message_en"]


def test_two_consecutive_failed_years_are_not_eligible():
    log = officer("2021-03-01", years=5)
    log.rate(2020, "KHTNV")
    log.rate(2021, "KHTNV")
    result = evaluate(REF, log.rows, date(2025, 12, 1))
    r = only(result, "consecutive-failed-ratings", "not_eligible")
    assert "2020 and 2021" in r["message_en"]


def test_reprimand_twice_in_a_term_needs_review():
    log = officer()
    log.decide("khien_trach", "2022-03-01", number="1")
    log.decide("khien_trach", "2023-05-01", number="2")
    result = evaluate(REF, log.rows, ON)
    r = only(result, "repeated-discipline-in-term", "needs_review")
    assert "2022-03-01, 2023-05-01" in r["message_en"]
    assert result["verdict"] == "needs_review"


def test_term_start_year_spent_mostly_in_the_previous_post_is_not_in_the_term():
    log = officer("2021-10-01")
    log.rate(2021, "KHTNV")  # nine months of 2021 were in the previous post
    result = evaluate(REF, log.rows, date(2026, 6, 1))
    assert not reasons(result, "term-failed-rating", "not_eligible")
    early = officer("2021-03-01")
    early.rate(2021, "KHTNV")
    assert reasons(evaluate(REF, early.rows, date(2026, 1, 5)), "term-failed-rating",
                   "not_eligible")


def test_annulled_corruption_decision_does_not_bar():
    log = officer()
    _, did = log.decide("khien_trach", "2022-01-10", corruption=True)
    log.annul(did, "2022-05-01")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "corruption-bar")["outcome"] == "ok"
    assert result["verdict"] == "eligible"


# --------------------------------------------------------------------------- rating-inconsistent

def test_year_with_discipline_rated_other_than_khtnv_needs_review():
    log = officer()
    log.decide("khien_trach", "2024-03-01")
    issued = log.pos - 1
    log.rate(2024, "HTTNV")
    result = evaluate(REF, log.rows, ON)
    assert result["verdict"] == "needs_review"
    r = only(result, "rating-inconsistent", "needs_review")
    assert r["positions"] == [issued, log.pos]
    assert "Inconsistent records" in r["message_en"] and "2024" in r["message_en"]
    assert "không thống nhất" in r["message_vi"]


def test_year_with_discipline_rated_khtnv_is_consistent():
    log = officer()
    log.decide("khien_trach", "2024-03-01")
    log.rate(2024, "KHTNV")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "rating-inconsistent")["outcome"] == "ok"
    assert only(result, "term-failed-rating")["outcome"] == "not_eligible"


def test_overturned_discipline_does_not_make_the_rating_inconsistent():
    log = officer()
    _, did = log.decide("khien_trach", "2024-03-01")
    aid = log.appeal(did, "2024-03-05")
    log.resolve(did, aid, "overturned", "2024-04-01", previous_form="khien_trach")
    log.rate(2024, "HTTNV")
    result = evaluate(REF, log.rows, ON)
    assert only(result, "rating-inconsistent")["outcome"] == "ok"
    assert result["verdict"] == "eligible"


# --------------------------------------------------------------------------- notice-window

def test_notice_window_far_from_term_end_is_info():
    log = officer("2024-01-02")
    result = evaluate(REF, log.rows, ON)
    r = only(result, "notice-window", "info")
    assert "2029-01-02" in r["message_en"] and "more than 90" in r["message_en"]
    assert result["verdict"] == "eligible"


def test_notice_window_within_ninety_working_days_is_ok():
    on = notice_deadline(date(2026, 6, 1), 90)  # the last day of the window
    result = evaluate(REF, officer().rows, on)
    r = only(result, "notice-window", "ok")
    assert f"{working_days(on, date(2026, 6, 1))} working days" in r["message_en"]


def test_missed_notice_deadline_is_reported_as_missed():
    """Section 2: due 2026-09-18 (term ends 2027-01-25), asked 2026-11-30: missed, not ok."""
    log = officer("2022-01-25")
    result = evaluate(REF, log.rows, date(2026, 11, 30))
    r = only(result, "notice-window", "info")
    assert "was MISSED" in r["message_en"] and "QUÁ HẠN" in r["message_vi"]
    assert notice_deadline(date(2027, 1, 25), 90).isoformat() in r["message_en"]


def test_notice_window_term_already_ended_is_info():
    result = evaluate(REF, officer("2020-01-02").rows, ON)
    r = only(result, "notice-window", "info")
    assert "ended on 2025-01-02" in r["message_en"]


def test_no_term_is_info():
    result = evaluate(REF, officer(None).rows, ON)
    r = only(result, "notice-window", "info")
    assert r["message_en"] == "No leadership term on record."
    assert result["verdict"] == "eligible"


def test_working_days():
    friday, monday = date(2026, 2, 27), date(2026, 3, 2)
    assert working_days(friday, monday) == 1
    assert working_days(monday, monday) == 0
    assert working_days(monday, monday + timedelta(days=7)) == 5
    assert working_days(date(2026, 2, 28), monday) == 1
    deadline = notice_deadline(date(2026, 6, 1), 90)
    assert deadline.weekday() < 5
    assert working_days(deadline, date(2026, 6, 1)) >= 90
    assert working_days(deadline + timedelta(days=1), date(2026, 6, 1)) < 90


def test_working_days_skip_tet_and_public_holidays_and_count_make_up_days():
    """Section 2: Tết 2026 (16–20 Feb), Hùng Kings (observed 27 Apr), 30/4, 1/5 and 2/9 are
    not working days; Saturday 2026-08-22 is a make-up working day (holidays package)."""
    assert working_days(date(2026, 2, 13), date(2026, 2, 20)) == 0
    assert working_days(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert working_days(date(2026, 4, 24), date(2026, 5, 1)) == 2  # only Tue 28 and Wed 29
    assert working_days(date(2026, 8, 21), date(2026, 8, 22)) == 1
    from audit_service.workdays import Calendar
    cal = Calendar(make_up_workdays=frozenset({date(2027, 3, 6)}),
                   extra_days_off=frozenset({date(2027, 3, 8)}))
    assert cal.is_working_day(date(2027, 3, 6)) and not cal.is_working_day(date(2027, 3, 8))


# --------------------------------------------------------------------------- hash

def test_hash_is_stable_for_identical_input_and_is_the_canonical_json_hash():
    log = officer()
    log.rate(2022, "HTTNV")
    log.decide("canh_cao", "2025-09-01")
    a = evaluate(REF, log.rows, ON)
    shuffled = list(log.rows)
    random.Random(7).shuffle(shuffled)
    b = evaluate(REF, shuffled, ON)
    assert a == b
    body = {k: v for k, v in a.items() if k != "hash"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert a["hash"] == expected == result_hash(a)
    assert len(a["hash"]) == 64


def test_hash_changes_when_a_reason_changes():
    log = officer()
    log.rate(2022, "HTTNV")
    before = evaluate(REF, log.rows, ON)
    log.rate(2023, "KHTNV")
    after = evaluate(REF, log.rows, ON)
    assert before["hash"] != after["hash"]
    assert evaluate(REF, log.rows, ON, leadership=False)["hash"] != after["hash"]
    assert evaluate(REF, log.rows, ON + timedelta(days=1))["hash"] != after["hash"]


@pytest.mark.parametrize("seed", range(25))
def test_evaluate_is_deterministic_on_random_histories(seed):
    rng = random.Random(seed)
    log = officer(rng.choice(["2019-03-01", "2021-06-01", "2023-09-15"]))
    for year in range(2019, 2026):
        if rng.random() < 0.7:
            rid = log.rate(year, rng.choice(["HTXSNV", "HTTNV", "HTNV", "KHTNV"]))
            if rng.random() < 0.3:
                log.correct_rating(rid, year, "HTTNV", "?")
    for _ in range(rng.randint(0, 3)):
        eff = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2200))
        if eff >= date(2025, 7, 1):
            form = rng.choice(["khien_trach", "canh_cao", "cach_chuc"])
        else:
            form = rng.choice(["khien_trach", "canh_cao", "ha_bac_luong", "giang_chuc"])
        _, did = log.decide(form, eff.isoformat(), corruption=rng.random() < 0.2)
        if rng.random() < 0.3:
            log.annul(did, (eff + timedelta(days=30)).isoformat())
    on = date(2026, 3, 2)
    a, b = evaluate(REF, log.rows, on), evaluate(REF, list(reversed(log.rows)), on)
    assert a == b
    outcomes = {r["outcome"] for r in a["reasons"]}
    expected = ("not_eligible" if "not_eligible" in outcomes else
                "needs_review" if "needs_review" in outcomes else "eligible")
    assert a["verdict"] == expected
    for r in a["reasons"]:
        assert r["positions"] == sorted(set(r["positions"]))
        assert all(1 <= p <= log.pos for p in r["positions"])


def test_rating_inconsistent_from_the_2020_evaluation_year_and_party_from_2023():
    """Decree 90/2020 already made discipline in the year a KHTNV criterion; Decree 48/2023
    added Party discipline (finding 1.6)."""
    log = officer("2019-03-01", years=5)
    log.decide("khien_trach", "2021-04-01", number="1")
    log.rate(2021, "HTTNV")
    r = only(evaluate(REF, log.rows, date(2023, 6, 1)), "rating-inconsistent", "needs_review")
    assert "2021" in r["message_en"]
    party = officer("2019-03-01", years=5)
    party.decide("khien_trach", "2021-04-01", number="1", system="party")
    party.rate(2021, "HTTNV")
    party.decide("khien_trach", "2023-10-01", number="2", system="party")
    party.rate(2023, "HTTNV")
    found = reasons(evaluate(REF, party.rows, date(2024, 2, 1)), "rating-inconsistent",
                    "needs_review")
    assert [("2023" in x["message_en"], "2021" in x["message_en"]) for x in found] == \
        [(True, False)]


def test_the_term_in_force_on_the_date_is_used_not_a_future_one():
    """Section 2: after a reappointment decision the next term is not yet in force."""
    log = officer("2022-01-13")
    log.reappoint("reappointed", "2026-11-20", "2027-01-13")
    now = evaluate(REF, log.rows, date(2026, 11, 30))
    assert (now["term"]["term_start"], now["term"]["term_end"]) == ("2022-01-13", "2027-01-13")
    later = evaluate(REF, log.rows, date(2027, 2, 1))
    assert later["term"]["term_start"] == "2027-01-13"
    before = evaluate(REF, log.rows, date(2021, 6, 1))
    assert before["term"] is None
    for r in before["reasons"]:
        assert "2022-01-13 to 2021" not in r["message_en"]
    assert only(before, "term-failed-rating", "info")["message_en"].startswith("No leadership")


def test_officer_not_on_record_gets_no_verdict():
    """Section 2: before registration is recorded (as_of) or before joining (on): 404."""
    from audit_service.errors import NotFound
    log = officer("2021-06-01")
    with pytest.raises(NotFound) as e:
        evaluate(REF, log.rows, ON, as_of=log.recorded_at(1) - timedelta(seconds=1))
    assert e.value.code == "officer_not_on_record"
    with pytest.raises(NotFound) as e:
        evaluate(REF, log.rows, date(2014, 12, 31))  # joined 2015-01-05
    assert e.value.code == "officer_not_on_record"
    assert evaluate(REF, log.rows, date(2015, 1, 5))["verdict"] == "eligible"
