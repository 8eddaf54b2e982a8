"""Timeline folding, entry statuses, summaries and the rotation check: plain rows, no database."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from audit_service.reference import load_reference
from audit_service.rotation import check_rotation
from projections.summaries import SUMMARIZED_EVENT_TYPES, summarize
from projections.timeline import add_months, entry_status_changes, entry_statuses, fold

REF = load_reference()
OFFICER = "00000000-0000-4000-8000-000000000001"
UNIT_A = "00000000-0000-4000-8000-0000000000a1"
UNIT_B = "00000000-0000-4000-8000-0000000000b2"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Log:
    """Builds timeline rows as the projector stores them: positions and recorded times grow."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.pos = 0

    def add(self, event_type: str, subject_id: str, occurred_on: str | None, data: dict,
            *, recorded_at: datetime | None = None) -> dict:
        self.pos += 1
        row = {"position": self.pos, "event_type": event_type,
               "recorded_at": (recorded_at or T0 + timedelta(days=self.pos)).isoformat(),
               "occurred_on": occurred_on, "subject_id": subject_id,
               "actor_id": "u1", "actor_role": "board", "data": data}
        self.rows.append(row)
        return row

    def recorded_at(self, position: int) -> datetime:
        return datetime.fromisoformat(self.rows[position - 1]["recorded_at"])

    # -- officer

    def register(self, *, category: str = "cong_chuc", joined_on: str = "2015-01-05") -> dict:
        return self.add("Officer.Registered", OFFICER, joined_on, {
            "personnel_code": "HN-0001", "full_name": "Nguyễn Văn An", "category": category,
            "unit_id": UNIT_A, "position": "Chuyên viên", "joined_on": joined_on})

    def appoint(self, term_start: str, years: int = 5, position: str = "Trưởng phòng") -> dict:
        return self.add("Officer.Appointed", OFFICER, term_start, {
            "position": position, "term_start": term_start, "term_years": years,
            "decision_ref": ref("1", "QĐ-UBND", term_start)})

    def reappoint(self, outcome: str, decided_on: str, term_start: str) -> dict:
        return self.add("Officer.ReappointmentDecided", OFFICER, decided_on, {
            "outcome": outcome, "decided_on": decided_on,
            "decision_ref": ref("2", "QĐ-UBND", decided_on), "eligibility_hash": None,
            "term_start": term_start})

    def correct_reappointment(self, outcome: str, decided_on: str, corrected_on: str,
                              term_start: str, years: int = 5) -> dict:
        return self.add("Officer.ReappointmentDecisionCorrected", OFFICER, corrected_on, {
            "corrects_version": 3, "corrects_decision_ref": ref("2", "QĐ-UBND", decided_on),
            "outcome": outcome, "decided_on": decided_on, "corrected_on": corrected_on,
            "reason": "nhầm kết quả", "decision_ref": ref("3", "QĐ-UBND", corrected_on),
            "term": {"position": "Trưởng phòng", "term_start": term_start,
                     "term_years": years},
            "eligibility_hash": None, "eligibility_verdict": None, "override_reason": None})

    def transfer(self, effective_on: str, kind: str = "rotation") -> dict:
        return self.add("Officer.Transferred", OFFICER, effective_on, {
            "from_unit_id": UNIT_A, "to_unit_id": UNIT_B, "effective_on": effective_on,
            "decision_ref": ref("3", "QĐ-UBND", effective_on), "kind": kind,
            "new_position": "Phó trưởng phòng"})

    def leave(self, left_on: str) -> dict:
        return self.add("Officer.LeftService", OFFICER, left_on,
                        {"left_on": left_on, "reason": "nghỉ hưu"})

    # -- findings

    def finding(self, observed: str, code: str = "dossier-overdue") -> str:
        fid = new_id()
        self.add("Inspection.FindingRecorded", fid, observed, {
            "finding_id": fid, "officer_id": OFFICER, "conduct_code": code,
            "description": "Hồ sơ quá hạn 3 ngày", "observed_at": observed + "T09:00:00+07:00",
            "evidence_sha256": [], "inspection_id": new_id(), "unit_id": UNIT_A})
        return fid

    def correct_finding(self, fid: str, observed: str, code: str) -> dict:
        return self.add("Inspection.FindingCorrected", fid, observed, {
            "finding_id": fid, "reason": "sai mã", "officer_id": OFFICER, "conduct_code": code,
            "description": "Hồ sơ quá hạn", "observed_at": observed + "T09:00:00+07:00",
            "evidence_sha256": []})

    def withdraw_finding(self, fid: str, on: str) -> dict:
        return self.add("Inspection.FindingWithdrawn", fid, on,
                        {"finding_id": fid, "reason": "không có căn cứ"})

    # -- proceedings and decisions

    def open_proceeding(self, opened_on: str, code: str = "dossier-overdue") -> str:
        pid = new_id()
        self.add("Proceeding.Opened", pid, opened_on, {
            "officer_id": OFFICER, "opened_on": opened_on, "violations": [{
                "finding_id": None, "inspection_id": None, "source": "other",
                "conduct_code": code, "description": "vi phạm", "occurred_on": opened_on,
                "detected_on": opened_on, "exemption": None}]})
        return pid

    def defer(self, pid: str, reason: str, deferred_on: str, until: str) -> dict:
        return self.add("Proceeding.Deferred", pid, deferred_on,
                        {"reason": reason, "until": until, "deferred_on": deferred_on})

    def dismiss(self, pid: str, on: str) -> dict:
        return self.add("Proceeding.Dismissed", pid, on, {"reason": "không đủ căn cứ",
                                                           "dismissed_on": on})

    def decide(self, form: str, effective_from: str, *, signed_on: str | None = None,
               opened_on: str | None = None, corruption: bool = False, category: str = "cong_chuc",
               code: str = "dossier-overdue", number: str = "12",
               system: str | None = None) -> tuple[str, str]:
        signed_on = signed_on or effective_from
        pid = self.open_proceeding(opened_on or signed_on, code)
        did = new_id()
        regime = "nd112-2020" if date.fromisoformat(signed_on) < date(2025, 7, 1) else "nd172-2025"
        self.add("Decision.Issued", did, effective_from, {
            "proceeding_id": pid, "officer_id": OFFICER, "category": category, "form": form,
            "regime": regime, "decision_ref": ref(number, "QĐ-UBND", signed_on),
            "effective_from": effective_from, "corruption_related": corruption,
            **({"discipline_system": system} if system else {})})
        self.add("Proceeding.Decided", pid, signed_on,
                 {"decision_id": did, "decided_on": signed_on})
        return pid, did

    def appeal(self, did: str, lodged_on: str) -> str:
        aid = new_id()
        self.add("Decision.AppealLodged", did, lodged_on,
                 {"appeal_id": aid, "lodged_on": lodged_on, "grounds": "không đúng"})
        return aid

    def resolve(self, did: str, aid: str, outcome: str, resolved_on: str,
                new_form: str | None = None, previous_form: str = "canh_cao") -> dict:
        return self.add("Decision.AppealResolved", did, resolved_on, {
            "appeal_id": aid, "outcome": outcome, "new_form": new_form,
            "previous_form": previous_form, "resolved_on": resolved_on, "decision_ref": None})

    def annul(self, did: str, annulled_on: str) -> dict:
        return self.add("Decision.Annulled", did, annulled_on, {
            "reason": "sai thẩm quyền", "decision_ref": ref("99", "QĐ-UBND", annulled_on),
            "annulled_on": annulled_on})

    # -- ratings

    def rate(self, year: int, rating: str) -> str:
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rating:{year}"))
        self.add("AnnualRating.Recorded", rid, f"{year}-12-31",
                 {"officer_id": OFFICER, "year": year, "rating": rating})
        return rid

    def correct_rating(self, rid: str, year: int, rating: str, previous: str) -> dict:
        return self.add("AnnualRating.Corrected", rid, f"{year}-12-31",
                        {"rating": rating, "previous_rating": previous, "reason": "nhầm"})

    def grade(self, period: str, score: float, grade: str) -> str:
        gid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"grade:{period}"))
        self.add("MonthlyGrade.Recorded", gid, _month_end(period), {
            "officer_id": OFFICER, "period": period, "score": score, "grade": grade,
            "framework": "3814-QĐ/TU"})
        return gid

    def correct_grade(self, gid: str, period: str, score: float, grade: str) -> dict:
        return self.add("MonthlyGrade.Corrected", gid, _month_end(period),
                        {"score": score, "grade": grade, "reason": "chấm lại"})


def new_id() -> str:
    return str(uuid.uuid4())


def ref(number: str, symbol: str, signed_on: str, issuer: str = "UBND phường Tây Hồ") -> dict:
    return {"number": number, "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


def _month_end(period: str) -> str:
    y, m = map(int, period.split("-"))
    return (add_months(date(y, m, 1), 1) - timedelta(days=1)).isoformat()


# --------------------------------------------------------------------------- fold

def test_fold_officer_and_term():
    log = Log()
    log.register()
    appointed = log.appoint("2021-03-01")
    log.transfer("2022-01-10")
    state = fold(log.rows)
    assert state.personnel_code == "HN-0001"
    assert state.unit_id == UNIT_B
    assert state.position == "Phó trưởng phòng"
    assert state.joined_on == date(2015, 1, 5)
    assert state.term.term_start == date(2021, 3, 1)
    assert state.term.term_end == date(2026, 3, 1)
    assert state.term.appointed_position == appointed["position"]
    as_json = json.loads(json.dumps(state.as_dict()))
    assert as_json["term"]["term_end"] == "2026-03-01"


def test_reappointment_starts_next_term_at_old_end_and_not_reappointed_ends_it():
    log = Log()
    log.register()
    log.appoint("2019-03-01")
    row = log.reappoint("reappointed", "2024-01-15", "2019-03-01")
    state = fold(log.rows)
    assert state.term.term_start == date(2024, 3, 1)
    assert state.term.term_end == date(2029, 3, 1)
    assert state.term.appointed_position == row["position"]
    log.reappoint("not_reappointed", "2028-12-01", "2024-03-01")
    assert fold(log.rows).term is None


def test_fold_ignores_rows_recorded_after_as_of_and_sorts_by_position():
    log = Log()
    log.register()
    log.appoint("2021-03-01")
    log.leave("2024-05-01")
    cutoff = log.recorded_at(2)
    assert fold(log.rows, as_of=cutoff).left_on is None
    assert fold(list(reversed(log.rows))).left_on == date(2024, 5, 1)
    assert fold(log.rows, as_of=cutoff).last_position == 2


def test_fold_decisions_appeals_and_proceedings():
    log = Log()
    log.register()
    pid, did = log.decide("canh_cao", "2024-03-01")
    aid = log.appeal(did, "2024-03-10")
    state = fold(log.rows)
    d = state.decisions[did]
    assert d.appeal_pending and d.status == "in_force" and d.form == "canh_cao"
    assert d.signed_on == date(2024, 3, 1)
    log.resolve(did, aid, "form_changed", "2024-04-01", new_form="khien_trach")
    d = fold(log.rows).decisions[did]
    assert (d.form, d.original_form, d.appeal_pending) == ("khien_trach", "canh_cao", False)
    assert len(d.positions) == 3
    p = fold(log.rows).proceedings[pid]
    assert p.status == "decided" and p.decision_id == did

    pid2 = log.open_proceeding("2025-01-01")
    log.defer(pid2, "maternity", "2025-01-05", "2025-09-01")
    p2 = fold(log.rows).proceedings[pid2]
    assert (p2.status, p2.deferral_reason, p2.deferred_until) == (
        "deferred", "maternity", date(2025, 9, 1))


def test_fold_ratings_grades_and_findings():
    log = Log()
    log.register()
    rid = log.rate(2023, "KHTNV")
    log.correct_rating(rid, 2023, "HTNV", "KHTNV")
    gid = log.grade("2024-02", 65, "C")
    log.correct_grade(gid, "2024-02", 72, "B")
    fid = log.finding("2024-04-02")
    log.withdraw_finding(fid, "2024-05-01")
    state = fold(log.rows)
    assert state.ratings[2023].rating == "HTNV" and state.ratings[2023].status == "corrected"
    assert state.monthly_grades["2024-02"].grade == "B"
    assert state.findings[fid].status == "withdrawn"
    assert state.findings[fid].observed_on == date(2024, 4, 2)
    out = json.loads(json.dumps(state.as_dict()))
    assert out["ratings"]["2023"]["rating"] == "HTNV"


# --------------------------------------------------------------------------- entry statuses

def test_entry_statuses_corrected_rating_and_grade():
    log = Log()
    log.register()
    rid = log.rate(2023, "KHTNV")
    corr = log.correct_rating(rid, 2023, "HTNV", "KHTNV")
    gid = log.grade("2024-02", 65, "C")
    g2 = log.correct_grade(gid, "2024-02", 72, "B")
    statuses = entry_statuses(log.rows)
    assert statuses == {1: "active", 2: "corrected", 3: "active", 4: "corrected", 5: "active"}
    assert entry_status_changes(log.rows)[2]["changed_by"] == corr["position"]
    assert g2["position"] == 5
    # as of before the correction, the rating row still stands
    assert entry_statuses(log.rows, as_of=log.recorded_at(2))[2] == "active"


def test_entry_statuses_withdrawn_and_corrected_finding():
    log = Log()
    fid = log.finding("2024-04-02")
    log.correct_finding(fid, "2024-04-02", "qd522-late")
    other = log.finding("2024-04-03")
    statuses = entry_statuses(log.rows)
    assert statuses == {1: "corrected", 2: "active", 3: "active"}
    log.withdraw_finding(fid, "2024-05-01")
    statuses = entry_statuses(log.rows)
    assert statuses == {1: "withdrawn", 2: "withdrawn", 3: "active", 4: "withdrawn"}
    assert fold(log.rows).findings[other].status == "active"
    assert fold(log.rows).findings[fid].conduct_code == "qd522-late"


def test_entry_statuses_annulled_decision_including_issued_and_decided_rows():
    log = Log()
    log.register()
    pid, did = log.decide("canh_cao", "2024-03-01")  # rows 2 opened, 3 issued, 4 decided
    annul = log.annul(did, "2024-06-01")
    statuses = entry_statuses(log.rows)
    assert statuses == {1: "active", 2: "active", 3: "annulled", 4: "annulled", 5: "annulled"}
    assert entry_status_changes(log.rows)[3]["changed_by"] == annul["position"]
    assert fold(log.rows).decisions[did].status == "annulled"
    assert entry_statuses(log.rows, as_of=log.recorded_at(4))[3] == "active"


def test_entry_statuses_overturned_and_upheld():
    log = Log()
    log.register()
    _, did = log.decide("canh_cao", "2024-03-01")  # 2, 3, 4
    aid = log.appeal(did, "2024-03-10")  # 5
    log.resolve(did, aid, "overturned", "2024-04-01")  # 6
    _, kept = log.decide("khien_trach", "2024-05-01", number="13")  # 7, 8, 9
    aid2 = log.appeal(kept, "2024-05-10")  # 10
    log.resolve(kept, aid2, "upheld", "2024-06-01", previous_form="khien_trach")  # 11
    statuses = entry_statuses(log.rows)
    assert [statuses[p] for p in (3, 4, 5, 6)] == ["overturned"] * 4
    assert statuses[2] == "active"
    assert all(statuses[p] == "active" for p in (7, 8, 9, 10, 11))
    assert fold(log.rows).decisions[did].status == "overturned"


# --------------------------------------------------------------------------- summaries

def _all_event_rows() -> list[dict]:
    log = Log()
    log.register()
    log.appoint("2021-03-01")
    log.transfer("2022-01-10")
    log.reappoint("reappointed", "2025-12-01", "2021-03-01")
    log.correct_reappointment("not_reappointed", "2025-12-01", "2025-12-10", "2021-03-01")
    fid = log.finding("2024-04-02")
    log.correct_finding(fid, "2024-04-02", "qd522-late")
    log.withdraw_finding(fid, "2024-05-01")
    pid = log.open_proceeding("2024-06-01")
    log.defer(pid, "serious_illness", "2024-06-05", "2024-08-01")
    log.dismiss(pid, "2024-09-01")
    _, did = log.decide("canh_cao", "2024-03-01")
    aid = log.appeal(did, "2024-03-10")
    log.resolve(did, aid, "form_changed", "2024-04-01", new_form="khien_trach")
    log.annul(did, "2024-06-01")
    rid = log.rate(2023, "KHTNV")
    log.correct_rating(rid, 2023, "HTNV", "KHTNV")
    gid = log.grade("2024-02", 65, "C")
    log.correct_grade(gid, "2024-02", 72.5, "B")
    log.leave("2026-01-01")
    return log.rows


def test_summaries_cover_every_event_type():
    rows = _all_event_rows()
    types = {r["event_type"] for r in rows}
    assert types == set(SUMMARIZED_EVENT_TYPES)
    for row in rows:
        vi, en = summarize(row, REF)
        assert vi and en and "\n" not in vi and "\n" not in en
        assert vi != row["event_type"], row["event_type"]


def test_a_corrected_reappointment_folds_to_the_corrected_outcome():
    """The corrected decision's row stays, marked corrected by the correction; the term is
    what the corrected outcome gives, either way."""
    log = Log()
    log.register()
    log.appoint("2021-03-01")
    decided = log.reappoint("reappointed", "2026-02-20", "2021-03-01")["position"]
    assert fold(log.rows).term.term_start == date(2026, 3, 1)
    fixed = log.correct_reappointment("not_reappointed", "2026-02-20", "2026-03-05",
                                      "2021-03-01")["position"]
    state = fold(log.rows)
    assert state.term is None and [t.term_start for t in state.terms] == [date(2021, 3, 1)]
    statuses = entry_statuses(log.rows)
    assert (statuses[decided], statuses[fixed]) == ("corrected", "active")
    back = Log()
    back.register()
    back.appoint("2021-03-01")
    back.reappoint("not_reappointed", "2026-02-20", "2021-03-01")
    back.correct_reappointment("reappointed", "2026-02-20", "2026-03-05", "2021-03-01")
    term = fold(back.rows).term
    assert (term.term_start, term.term_end) == (date(2026, 3, 1), date(2031, 3, 1))


def test_summary_of_a_decision_uses_reference_titles():
    log = Log()
    log.decide("canh_cao", "2024-03-01")
    vi, en = summarize(log.rows[1], REF)
    assert vi == ("Quyết định kỷ luật cảnh cáo số 12/QĐ-UBND (UBND phường Tây Hồ),"
                  " hiệu lực từ 2024-03-01")
    assert en == ("Discipline decision: warning, 12/QĐ-UBND (UBND phường Tây Hồ),"
                  " effective 2024-03-01")


def test_summary_texts_for_ratings_and_deferral():
    log = Log()
    rid = log.rate(2018, "HTNV_HCNL")
    log.correct_rating(rid, 2018, "KHTNV", "HTNV_HCNL")
    assert "hạn chế về năng lực" in summarize(log.rows[0], REF)[0]
    vi, en = summarize(log.rows[1], REF)
    assert "năm 2018" in vi and "Không hoàn thành nhiệm vụ (KHTNV)" in vi
    assert "for 2018" in en
    pid = log.open_proceeding("2024-06-01")
    row = log.defer(pid, "maternity", "2024-06-05", "2025-06-01")
    vi, en = summarize(row, REF)
    assert "nghỉ thai sản" in vi and "maternity" in en.lower()


def test_summary_falls_back_to_the_event_type():
    row = {"position": 1, "event_type": "Unit.Renamed", "data": {}}
    assert summarize(row, REF) == ("Unit.Renamed", "Unit.Renamed")
    broken = {"position": 2, "event_type": "Decision.Issued", "data": {"decision_ref": "oops"}}
    assert summarize(broken, REF) == ("Decision.Issued", "Decision.Issued")


# --------------------------------------------------------------------------- rotation

WARD = {"unit_id": "w1", "level": "ward", "name": "UBND phường Phúc Xá"}
DISTRICT = {"unit_id": "d1", "level": "district", "name": "UBND quận Ba Đình"}
OTHER_WARD = {"unit_id": "w2", "level": "ward", "name": "UBND phường Trúc Bạch"}


def test_rotation_from_weak_ward_up_is_flagged():
    flag = check_rotation(REF, WARD, DISTRICT, {"year": 2019, "rating": "weak", "position": 42})
    assert flag is not None
    assert flag["rule_id"] == "weak-ward-rotation"
    assert flag["citation"] == REF.rule("weak-ward-rotation").citation
    assert flag["positions"] == [42]
    assert "Phúc Xá" in flag["message_vi"] and "2019" in flag["message_en"]


@pytest.mark.parametrize("from_unit,to_unit,rating", [
    (WARD, DISTRICT, {"year": 2019, "rating": "average", "position": 1}),
    (WARD, DISTRICT, None),
    (WARD, OTHER_WARD, {"year": 2019, "rating": "weak", "position": 1}),
    (DISTRICT, WARD, {"year": 2019, "rating": "weak", "position": 1}),
])
def test_rotation_not_flagged(from_unit, to_unit, rating):
    assert check_rotation(REF, from_unit, to_unit, rating) is None


def test_rotation_rule_out_of_force_on_the_move_date():
    weak = {"year": 2024, "rating": "weak", "position": 1}
    assert check_rotation(REF, WARD, DISTRICT, weak, on=date(2024, 5, 1)) is not None
    assert check_rotation(REF, WARD, DISTRICT, weak, on=date(2025, 8, 1)) is None


@pytest.mark.parametrize("on, flagged", [
    # Hanoi practice statement (2019); the district level's last day was 2025-06-30
    (date(2018, 12, 31), False), (date(2019, 1, 1), True),
    ("2025-06-30", True), ("2025-07-01", False), (None, True),
])
def test_rotation_rule_in_force_from_2019_to_the_districts_last_day(on, flagged):
    weak = {"year": 2018, "rating": "weak", "position": 7}
    assert (check_rotation(REF, WARD, DISTRICT, weak, on=on) is not None) is flagged


def test_rotation_flag_names_both_units_their_levels_the_year_and_the_rule():
    flag = check_rotation(REF, WARD, DISTRICT, {"year": 2021, "rating": "weak", "position": 9})
    assert flag["outcome"] == "not_allowed" and flag["positions"] == [9]
    assert flag["message_vi"].startswith(
        "Luân chuyển từ UBND phường Phúc Xá (phường, xếp loại yếu năm 2021) lên UBND quận Ba"
        " Đình (quận, huyện, thị xã, cấp cao hơn): trái chủ trương chấm dứt luân chuyển")
    assert flag["message_en"].startswith(
        "Rotation from UBND phường Phúc Xá (ward, rated weak in 2021) up to UBND quận Ba Đình"
        " (district (urban or rural) or town, a higher level): contrary to the policy: no"
        " rotation of officials")


def test_rotation_flag_without_names_or_position_uses_the_unit_ids():
    flag = check_rotation(REF, {"unit_id": "w9", "level": "ward"},
                          {"unit_id": "d1", "level": "district"}, {"year": 2020, "rating": "weak"})
    assert flag["positions"] == []
    assert flag["message_en"].startswith("Rotation from w9 (ward, rated weak in 2020) up to d1"
                                         " (district (urban or rural) or town, a higher level)")


@pytest.mark.parametrize("from_unit, to_unit, rating", [
    (WARD, {"unit_id": "x", "level": "galaxy"}, {"year": 2019, "rating": "weak"}),
    ({"unit_id": "x", "level": "galaxy"}, DISTRICT, {"year": 2019, "rating": "weak"}),
    (WARD, {}, {"year": 2019, "rating": "weak"}),
    (WARD, DISTRICT, {"year": 2019}),
    (WARD, DISTRICT, {}),
])
def test_rotation_not_flagged_without_levels_or_a_weak_rating(from_unit, to_unit, rating):
    assert check_rotation(REF, from_unit, to_unit, rating) is None


@pytest.mark.parametrize("params, outcome", [
    ({"outcome": "needs_review"}, "needs_review"),  # the reference data decides
    ({}, "not_allowed"),                            # and says not_allowed by default
])
def test_rotation_outcome_is_the_reference_rules(params, outcome):
    import dataclasses

    class Ref:
        unit_levels = REF.unit_levels

        def rule(self, rule_id):
            return dataclasses.replace(REF.rule(rule_id), params=params)

    flag = check_rotation(Ref(), WARD, DISTRICT, {"year": 2020, "rating": "weak"})
    assert flag["outcome"] == outcome
