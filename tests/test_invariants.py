"""One test per domain invariant, on SQLite and PostgreSQL: refused with its code, nothing appended."""
from __future__ import annotations

import pytest

from audit_service.errors import AuditError, NotFound, RuleViolation, ValidationFailed
from tests.conftest import ADMIN, BOARD, INSPECTOR, event_count
from tests.world import build_world, ref, violation


def refused(app, expected, call, *args, **kwargs):
    """Run a command that must be refused with ``code``; check the log did not grow."""
    before = event_count(app)
    with pytest.raises(AuditError) as info:
        call(*args, **kwargs)
    assert info.value.code == expected, info.value.as_dict()
    assert event_count(app) == before
    return info.value


@pytest.fixture
def world(app):
    return build_world(app)


def test_unique_personnel_code(app, world):
    refused(app, "personnel_code_taken", app.register_officer, ADMIN,
            personnel_code="hn-000001", full_name="Phạm Văn Dũng", category="cong_chuc",
            unit_id=world.ward, position="Chuyên viên")


def test_unique_unit_code(app, world):
    refused(app, "unit_code_taken", app.register_unit, ADMIN, code="w-qa", name="Khác",
            level="ward", parent_id=world.city)


def _decide(app, officer, number, signed_on="2024-04-01", form="khien_trach",
            issuer="UBND phường Tây Hồ", occurred="2024-03-01"):
    p = app.open_proceeding(BOARD, officer_id=officer, violations=[violation(occurred)],
                            opened_on=signed_on)
    return p, lambda: app.decide_proceeding(
        BOARD, p.id, form=form, decision_ref=ref(number, signed_on, issuer=issuer),
        effective_from=signed_on)


def test_unique_decision_reference(app, world):
    _, decide = _decide(app, world.officer, "12")
    decide()
    _, decide_again = _decide(app, world.vien_chuc, "012")
    # Same issuer (spacing and case differ), symbol, number and year: the same document.
    error = refused(app, "decision_ref_taken", decide_again)
    assert "12/QĐ-UBND" in error.message
    # Numbers restart each year: the same number next year is another document.
    _, next_year = _decide(app, world.vien_chuc, "12", signed_on="2025-01-10")
    assert next_year().positions


def test_form_must_exist_for_category_under_regime(app, world):
    # hạ bậc lương was abolished for công chức from 2025-07-01 ...
    _, after = _decide(app, world.officer, "30", signed_on="2025-07-15", form="ha_bac_luong",
                       occurred="2025-07-01")
    error = refused(app, "form_not_applicable", after)
    assert "khien_trach" in error.details["allowed"]
    # ... but was a form for công chức before it.
    _, before = _decide(app, world.officer, "31", signed_on="2025-06-20", form="ha_bac_luong",
                        occurred="2025-06-01")
    assert before().positions
    # giáng chức never applies to a viên chức.
    _, vc = _decide(app, world.vien_chuc, "32", signed_on="2024-05-01", form="giang_chuc")
    refused(app, "form_not_applicable", vc)


def test_leaders_only_form_needs_a_leadership_post(app, world):
    _, decide = _decide(app, world.officer, "40", form="cach_chuc")
    refused(app, "form_leaders_only", decide)
    _, leader = _decide(app, world.leader, "41", form="cach_chuc")
    assert leader().positions


def test_statute_of_limitations(app, world):
    # A reprimand-level violation from 2015 decided in 2021: the 2-year period (Law 52/2019) ran out.
    p = app.open_proceeding(BOARD, officer_id=world.officer,
                            violations=[violation("2015-01-10", "2020-12-01")],
                            opened_on="2021-01-05")
    error = refused(app, "limitation_expired", app.decide_proceeding, BOARD, p.id,
                    form="khien_trach", decision_ref=ref("50", "2021-02-01"),
                    effective_from="2021-02-01")
    assert error.details["violations"][0]["occurred_on"] == "2015-01-10"


def test_statute_of_limitations_exemption(app, world):
    p = app.open_proceeding(BOARD, officer_id=world.officer,
                            violations=[violation("2005-01-10", "2020-12-01",
                                                  exemption="fake_diploma")],
                            opened_on="2021-01-05")
    result = app.decide_proceeding(BOARD, p.id, form="buoc_thoi_viec",
                                   decision_ref=ref("51", "2021-02-01"),
                                   effective_from="2021-02-01")
    assert len(result.positions) == 3


def test_statute_of_limitations_restarts_on_new_violation(app, world):
    # 2016 violation, then a new one in 2017 within the period: the clock restarted in 2017.
    p = app.open_proceeding(BOARD, officer_id=world.officer,
                            violations=[violation("2016-06-01", "2019-01-01"),
                                        violation("2017-12-01", "2019-01-01")],
                            opened_on="2019-01-05")
    # Reprimand on 2019-06-01, 24 months flat before 2020-07-01: the 2016 violation's own
    # period ended 2018-06-01; only the restart at 2017-12-01 keeps it open until 2019-12-01.
    result = app.decide_proceeding(BOARD, p.id, form="khien_trach",
                                   decision_ref=ref("52", "2019-06-01"),
                                   effective_from="2019-06-01")
    assert result.positions


def test_no_decision_on_dismissed_proceeding(app, world):
    p, decide = _decide(app, world.officer, "60")
    app.dismiss_proceeding(BOARD, p.id, reason="Không đủ căn cứ", dismissed_on="2024-04-01")
    refused(app, "proceeding_dismissed", decide)


def test_no_decision_while_deferred(app, world):
    p, decide = _decide(app, world.officer, "61", signed_on="2024-04-01")
    app.defer_proceeding(BOARD, p.id, reason="maternity", until="2024-09-30",
                         deferred_on="2024-04-01")
    refused(app, "proceeding_deferred", decide)
    later = app.decide_proceeding(BOARD, p.id, form="khien_trach",
                                  decision_ref=ref("62", "2024-10-15"),
                                  effective_from="2024-10-15")
    assert later.positions


def test_no_finding_on_closed_inspection(app, world):
    app.close_inspection(INSPECTOR, world.inspection, closed_on="2024-03-10")
    refused(app, "inspection_closed", app.record_finding, INSPECTOR, world.inspection,
            conduct_code="qd522-absent", description="Vắng mặt",
            observed_at="2024-03-02T09:00:00+07:00")


def test_inspector_not_on_team_cannot_record(app, world):
    from audit_service.application import Actor

    stranger = Actor("insp-9", "inspector")
    refused(app, "not_on_team", app.record_finding, stranger, world.inspection,
            conduct_code="qd522-absent", description="Vắng mặt",
            observed_at="2024-03-02T09:00:00+07:00")


@pytest.mark.parametrize("field,call", [
    ("observed_at", lambda app, w: app.record_finding(
        INSPECTOR, w.inspection, conduct_code="qd522-late", description="x",
        observed_at="2030-01-01T00:00:00Z")),
    ("effective_on", lambda app, w: app.transfer_officer(
        ADMIN, w.officer, to_unit_id=w.ward2, effective_on="2031-01-01",
        decision_ref=ref("70", "2024-01-01"))),
    ("period", lambda app, w: app.record_monthly_grade(
        BOARD, officer_id=w.officer, period="2027-01", score=80)),
    ("year", lambda app, w: app.record_annual_rating(
        BOARD, officer_id=w.officer, year=2027, rating="HTNV")),
])
def test_no_date_in_the_future(app, world, field, call):
    before = event_count(app)
    with pytest.raises(ValidationFailed) as info:
        call(app, world)
    assert field in info.value.details
    assert event_count(app) == before


def test_transfer_needs_existing_target_unit(app, world):
    import uuid

    refused(app, "target_unit_not_found", app.transfer_officer, ADMIN, world.officer,
            to_unit_id=str(uuid.uuid4()), effective_on="2024-01-01",
            decision_ref=ref("71", "2024-01-01"))


def test_one_annual_rating_per_officer_and_year(app, world):
    app.record_annual_rating(BOARD, officer_id=world.officer, year=2023, rating="HTTNV")
    refused(app, "rating_exists", app.record_annual_rating, BOARD, officer_id=world.officer,
            year=2023, rating="HTNV")
    # The explicit correction is the way to change it.
    assert app.correct_annual_rating(BOARD, officer_id=world.officer, year=2023, rating="HTNV",
                                     reason="Sai sót khi nhập").positions


def test_legacy_rating_only_before_2020(app, world):
    refused(app, "validation_failed", app.record_annual_rating, BOARD, officer_id=world.officer,
            year=2021, rating="HTNV_HCNL")
    assert app.record_annual_rating(BOARD, officer_id=world.officer, year=2019,
                                    rating="HTNV_HCNL").positions


def test_monthly_grade_must_match_score(app, world):
    error = refused(app, "validation_failed", app.record_monthly_grade, BOARD,
                    officer_id=world.officer, period="2024-05", score=89.5, grade="A")
    assert "grade" in error.details


def test_unknown_ids_are_not_found(app, world):
    import uuid

    before = event_count(app)
    with pytest.raises(NotFound):
        app.record_annual_rating(BOARD, officer_id=str(uuid.uuid4()), year=2023, rating="HTNV")
    assert event_count(app) == before


def test_bad_input_lists_every_field(app, world):
    error = refused(app, "validation_failed", app.register_officer, ADMIN, personnel_code="",
                    full_name=None, category="boss", unit_id="nope", position="x")
    assert set(error.details) == {"personnel_code", "full_name", "category", "unit_id"}


def test_national_id_refused_without_cipher_key(app, world):
    error = refused(app, "validation_failed", app.register_officer, ADMIN,
                    personnel_code="HN-9", full_name="Đỗ Thị Hoa", category="cong_chuc",
                    unit_id=world.ward, position="Chuyên viên", national_id="001190012345")
    assert "AUDIT_CIPHER_KEY" in error.details["national_id"]


def test_appeal_and_annulment_rules(app, world):
    _, decide = _decide(app, world.officer, "80")
    decision = decide()
    appeal = app.lodge_appeal(BOARD, decision.id, lodged_on="2024-04-10", grounds="Oan sai")
    refused(app, "appeal_pending", app.lodge_appeal, BOARD, decision.id, lodged_on="2024-04-11",
            grounds="Lần hai")
    app.resolve_appeal(BOARD, decision.id, appeal.id, outcome="overturned",
                       resolved_on="2024-05-01")
    refused(app, "decision_overturned", app.annul_decision, BOARD, decision.id,
            reason="x", decision_ref=ref("81", "2024-06-01"))


def test_rule_violation_is_a_conflict_status():
    assert RuleViolation("x").status == 409 and ValidationFailed("x").status == 422


def test_non_leaders_only_form_refused_for_a_leader(app, world):
    _, leader = _decide(app, world.leader, "42", form="ha_bac_luong")
    refused(app, "form_non_leaders_only", leader)
    _, officer = _decide(app, world.officer, "43", form="ha_bac_luong")
    decision = officer()
    appeal = app.lodge_appeal(BOARD, decision.id, lodged_on="2024-04-10", grounds="Nặng")
    # An appeal cannot turn it into a leaders-only form for a non-leader either.
    refused(app, "form_leaders_only", app.resolve_appeal, BOARD, decision.id, appeal.id,
            outcome="form_changed", new_form="giang_chuc", resolved_on="2024-05-01")


def test_transfer_into_merged_unit_only_refused_after_the_merge(app, world):
    app.merge_unit(ADMIN, world.ward2, into_unit_id=world.ward, effective_on="2025-07-01")
    refused(app, "unit_merged", app.transfer_officer, ADMIN, world.officer,
            to_unit_id=world.ward2, effective_on="2025-07-01",
            decision_ref=ref("90", "2025-06-20"))
    # A transfer that took effect before the merge, recorded late, is still accepted.
    assert app.transfer_officer(ADMIN, world.officer, to_unit_id=world.ward2,
                                effective_on="2025-06-30",
                                decision_ref=ref("91", "2025-06-20")).positions


def test_early_morning_finding_counts_on_the_vietnamese_day(app, world):
    # 06:30 in Hanoi on the inspection's first day is still 2024-02-29 in UTC.
    result = app.record_finding(INSPECTOR, world.inspection, conduct_code="qd522-absent",
                                description="Vắng mặt đầu giờ",
                                observed_at="2024-03-01T06:30:00+07:00")
    assert result.positions
    refused(app, "finding_before_inspection", app.record_finding, INSPECTOR, world.inspection,
            conduct_code="qd522-absent", description="Trước ngày kiểm tra",
            observed_at="2024-02-29T23:30:00+07:00")


def test_leadership_forms_are_judged_on_the_decision_date(app, world):
    # The leader was appointed on 2021-03-01: before that, hạ bậc lương fitted and cách chức
    # did not, even though the decision is recorded after the appointment.
    _, before_post = _decide(app, world.leader, "44", signed_on="2020-12-01",
                             form="ha_bac_luong", occurred="2020-11-01")
    assert before_post().positions
    _, removal = _decide(app, world.leader, "45", signed_on="2020-12-02", form="cach_chuc",
                         occurred="2020-11-02")
    refused(app, "form_leaders_only", removal)


def test_grades_and_ratings_need_an_officer_not_just_any_record(app):
    world = build_world(app)
    for call, kwargs in ((app.record_monthly_grade, {"period": "2026-10", "score": 80}),
                         (app.record_annual_rating, {"year": 2025, "rating": "HTNV"})):
        for wrong in (world.ward, world.inspection, "5f0c1a52-0000-4000-8000-000000000000"):
            refused(app, "officer_not_found", call, BOARD, officer_id=wrong, **kwargs)


def test_limitation_clock_runs_from_the_violations_end(app, world):
    """Decree 112/2020 Art. 5(2) as amended (review finding 1.3): the clock runs from the
    violation's end, from its discovery while it is ongoing."""
    ended = app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2022-12-05",
                                violations=[violation("2015-01-10", "2022-12-01",
                                                      ended_on="2021-06-01")])
    assert app.get_proceeding(ended.id).violations[0]["ended_on"].isoformat() == "2021-06-01"
    assert app.decide_proceeding(BOARD, ended.id, form="canh_cao",
                                 decision_ref=ref("70", "2023-01-05"),
                                 effective_from="2023-01-05").positions
    plain = app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2022-12-05",
                                violations=[violation("2015-01-10", "2022-12-01")])
    refused(app, "limitation_expired", app.decide_proceeding, BOARD, plain.id,
            form="canh_cao", decision_ref=ref("71", "2023-01-05"), effective_from="2023-01-05")
    ongoing = app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2022-12-05",
                                  violations=[violation("2015-01-10", "2022-12-01",
                                                        ongoing=True)])
    assert app.decide_proceeding(BOARD, ongoing.id, form="canh_cao",
                                 decision_ref=ref("72", "2023-01-05"),
                                 effective_from="2023-01-05").positions


def test_violation_end_is_validated_before_anything_is_written(app, world):
    from audit_service.errors import ValidationFailed
    before = len(app.recorder.select_notifications(start=1, limit=100_000))
    for bad in ({"ended_on": "2014-01-01"}, {"ended_on": "2016-01-01", "ongoing": True},
                {"ongoing": "yes"}):
        with pytest.raises(ValidationFailed):
            app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2022-12-05",
                                violations=[violation("2015-01-10", "2022-12-01", **bad)])
    assert len(app.recorder.select_notifications(start=1, limit=100_000)) == before


def test_annual_rating_for_a_year_not_yet_at_its_evaluation_month_is_refused(app, world):
    from datetime import date
    app.today = lambda: date(2026, 6, 1)
    before = event_count(app)
    refused(app, "rating_year_not_ended", app.record_annual_rating, BOARD,
            officer_id=world.officer, year=2026, rating="HTTNV")
    assert event_count(app) == before
    app.today = lambda: date(2026, 12, 5)  # evaluations are held in December
    assert app.record_annual_rating(BOARD, officer_id=world.officer, year=2026,
                                    rating="HTTNV").positions


def test_no_finding_grade_or_rating_after_the_officer_left(app, world):
    app.record_leaving(ADMIN, world.officer, left_on="2024-06-30", reason="Nghỉ hưu")
    before = event_count(app)
    refused(app, "officer_left_service", app.record_finding, INSPECTOR, world.inspection,
            officer_id=world.officer, conduct_code="qd522-late", description="Đến muộn",
            observed_at="2024-07-02T08:45:00+07:00")
    refused(app, "officer_left_service", app.record_monthly_grade, BOARD,
            officer_id=world.officer, period="2024-07", score=80)
    refused(app, "officer_left_service", app.record_annual_rating, BOARD,
            officer_id=world.officer, year=2025, rating="HTTNV")
    assert event_count(app) == before
    assert app.record_monthly_grade(BOARD, officer_id=world.officer, period="2024-06",
                                    score=80).positions
    assert app.record_annual_rating(BOARD, officer_id=world.officer, year=2024,
                                    rating="HTNV").positions


def test_no_inspection_of_a_unit_merged_away_before_it_started(app, world):
    app.merge_unit(ADMIN, world.ward2, into_unit_id=world.ward, effective_on="2025-07-01")
    before = event_count(app)
    refused(app, "unit_merged", app.open_inspection, INSPECTOR, unit_id=world.ward2,
            team=["insp-2"], started_on="2025-08-01", announced=False)
    assert event_count(app) == before
    assert app.open_inspection(INSPECTOR, unit_id=world.ward2, team=["insp-2"],
                               started_on="2025-06-02", announced=False).positions


def test_a_finding_is_handled_by_one_proceeding_unless_that_one_was_dismissed(app, world):
    cite = dict(finding_id=world.finding, inspection_id=world.inspection)
    first = app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2024-03-10",
                                violations=[violation("2024-03-01", **cite)])
    before = event_count(app)
    error = refused(app, "finding_already_cited", app.open_proceeding, BOARD,
                    officer_id=world.officer, opened_on="2024-03-12",
                    violations=[violation("2024-03-01", **cite)])
    assert error.details["proceeding_id"] == str(first.id)
    with pytest.raises(ValidationFailed):
        app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2024-03-12",
                            violations=[violation("2024-03-01", **cite),
                                        violation("2024-03-01", **cite)])
    assert event_count(app) == before
    app.dismiss_proceeding(BOARD, first.id, reason="Không đủ căn cứ", dismissed_on="2024-03-20")
    again = app.open_proceeding(BOARD, officer_id=world.officer, opened_on="2024-04-01",
                                violations=[violation("2024-03-01", **cite)])
    assert again.positions
