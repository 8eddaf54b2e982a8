"""The case lists and the board's worklists: filters, deadlines, and the board's order
(soonest deadline first, never by id), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from api import create_app
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector
from projections.readmodels import snapshot
from tests.api_support import ApiHarness, build_city, ref
from tests.conftest import build_app


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def _violation(day: str) -> list[dict]:
    return [{"conduct_code": "qd522-late", "occurred_on": day, "detected_on": day,
             "description": "Đi muộn"}]


def _officer(h, w, n: int, name: str) -> str:
    return h.ok("admin", "/officers", {
        "personnel_code": f"HN-1{n:05d}", "full_name": name, "category": "cong_chuc",
        "unit_id": w["ward2"] if n % 2 else w["ward"], "position": "Chuyên viên"})["id"]


def _items(h, path: str, **params) -> list[dict]:
    r = h.get("board", path, **params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_proceedings_due_soonest_deadline_first_with_days_left(h):
    w = build_city(h)
    # opened out of date order, so log order and id order both differ from deadline order
    officers = [_officer(h, w, n, f"Cán bộ {n}") for n in range(3)]
    late = h.ok("board", "/proceedings", {"officer_id": officers[0],
                                          "violations": _violation("2026-10-01"),
                                          "opened_on": "2026-10-01"})["id"]
    early = h.ok("board", "/proceedings", {"officer_id": officers[1],
                                           "violations": _violation("2026-07-01"),
                                           "opened_on": "2026-07-01"})["id"]
    middle = h.ok("board", "/proceedings", {"officer_id": officers[2],
                                            "violations": _violation("2026-09-01"),
                                            "opened_on": "2026-09-01"})["id"]
    h.ok("board", f"/proceedings/{middle}/deferral", {"reason": "serious_illness",
                                                      "until": "2026-12-31",
                                                      "deferred_on": "2026-09-05"})
    h.project()
    due = _items(h, "/worklists/proceedings-due")
    assert [p["proceeding_id"] for p in due] == [early, middle, late]
    first = due[0]
    assert first["deadline"] == "2026-09-29"          # 90 days after 2026-07-01
    assert first["deadline_complex"] == "2026-11-28"  # 150 days
    assert first["days_left"] == -52 and first["overdue"] is True  # today is 2026-11-20
    assert due[1]["status"] == "deferred" and due[1]["deferred_until"] == "2026-12-31"
    assert due[0]["full_name"] == "Cán bộ 1"
    assert [p["proceeding_id"] for p in _items(h, "/proceedings", status="deferred")] == [middle]
    assert [p["proceeding_id"] for p in _items(h, "/proceedings", officer_id=officers[0])] == [late]
    in_ward = _items(h, "/worklists/proceedings-due", unit_id=w["ward"])
    assert {p["proceeding_id"] for p in in_ward} == {late, middle}
    page = h.get("board", "/proceedings", limit=2).get_json()
    assert [p["proceeding_id"] for p in page["items"]] == [early, middle]
    rest = h.get("board", "/proceedings", limit=2, after=page["next"]).get_json()
    assert [p["proceeding_id"] for p in rest["items"]] == [late] and rest["next"] is None


def test_decisions_in_force_and_appeals_pending(h):
    w = build_city(h)
    proc = h.ok("board", "/proceedings", {"officer_id": w["officer"],
                                          "violations": _violation("2026-03-01"),
                                          "opened_on": "2026-03-10"})["id"]
    dec = h.ok("board", f"/proceedings/{proc}/decision", {
        "form": "khien_trach", "decision_ref": ref("12", "2026-04-01"),
        "effective_from": "2026-04-01"})["id"]
    h.ok("board", f"/decisions/{dec}/appeals", {"lodged_on": "2026-04-10",
                                               "grounds": "Không đồng ý"})
    h.project()
    on_day = _items(h, "/decisions", in_force_on="2026-11-20")
    assert [d["decision_id"] for d in on_day] == [dec]
    assert on_day[0]["form"] == "khien_trach" and on_day[0]["effect_until"] > "2026-11-20"
    assert _items(h, "/decisions", in_force_on="2026-03-31") == []  # before it took effect
    pending = _items(h, "/worklists/appeals-pending")
    assert [(a["decision_id"], a["appeal_lodged_on"], a["days_waiting"]) for a in pending] == [
        (dec, "2026-04-10", 224)]
    h.ok("board", f"/decisions/{dec}/annulment", {"reason": "Sai thẩm quyền",
                                                 "decision_ref": ref("13", "2026-05-01")})
    h.project()
    assert _items(h, "/decisions", in_force_on="2026-11-20") == []
    assert _items(h, "/decisions", officer_id=w["officer"])[0]["status"] == "annulled"


def test_terms_ending_with_notice_due_date_and_status(h):
    w = build_city(h)
    soon = _officer(h, w, 7, "Lê Văn Cường")
    later = _officer(h, w, 8, "Phạm Thị Dung")
    middle = _officer(h, w, 9, "Đỗ Văn Em")
    for officer, start in ((later, "2022-05-20"), (soon, "2022-01-10"), (middle, "2022-04-10")):
        h.ok("board", f"/officers/{officer}/appointments", {
            "position": "Trưởng phòng", "term_start": start, "term_years": 5,
            "decision_ref": ref(start[5:7] + start[-2:], start)})
    h.project()
    terms = _items(h, "/worklists/terms-ending", within_days=200)
    assert [t["officer_id"] for t in terms] == [soon, middle, later]
    # today is 2026-11-20; notice is due 90 working days before the term ends
    assert (terms[0]["term_end"], terms[0]["notice_status"]) == ("2027-01-10", "overdue")
    assert terms[0]["notice_due_on"] < "2026-11-20" and terms[0]["working_days_left"] < 90
    assert (terms[1]["term_end"], terms[1]["notice_status"]) == ("2027-04-10", "due")
    assert "2026-11-20" <= terms[1]["notice_due_on"] <= "2026-12-20"
    assert (terms[2]["term_end"], terms[2]["notice_status"]) == ("2027-05-20", "not_yet_due")
    assert [t["officer_id"] for t in _items(h, "/worklists/terms-ending", within_days=60)] == [soon]
    h.ok("board", f"/officers/{soon}/reappointment-decisions", {
        "outcome": "reappointed", "decided_on": "2026-11-01",
        "decision_ref": ref("77", "2026-11-01")})
    h.project()
    assert [t["officer_id"] for t in _items(h, "/worklists/terms-ending", within_days=200)] == [
        middle, later]


def test_inspections_by_team_member_and_status(h):
    w = build_city(h)
    first = h.ok("inspector", "/inspections", {"unit_id": w["ward"],
                                               "started_on": "2026-03-01"})["id"]
    second = h.ok("inspector", "/inspections", {"unit_id": w["ward2"],
                                                "started_on": "2026-02-01"})["id"]
    h.ok("inspector", f"/inspections/{first}/close", {"closed_on": "2026-03-05",
                                                      "conclusion_ref": "KL-01"})
    h.project()
    me = h.users["inspector"]
    mine = h.get("inspector", "/inspections", team_member=me).get_json()["items"]
    assert [i["inspection_id"] for i in mine] == [second, first]  # open first
    assert mine[1]["status"] == "closed" and mine[1]["conclusion_ref"] == "KL-01"
    assert h.get("inspector", "/inspections", team_member="nobody").get_json()["items"] == []
    assert [i["inspection_id"] for i in h.get("inspector", "/inspections", status="open")
            .get_json()["items"]] == [second]


def test_casework_rebuilds_to_the_live_tables(h):
    w = build_city(h)
    proc = h.ok("board", "/proceedings", {"officer_id": w["officer"],
                                          "violations": _violation("2026-03-01"),
                                          "opened_on": "2026-03-10"})["id"]
    h.ok("board", f"/proceedings/{proc}/dismissal", {"reason": "Không đủ căn cứ"})
    h.project()
    db = ReadModelDB(h.settings.database)
    try:
        live = snapshot(db)
        assert live["work_proceedings"] and live["work_terms"]
        Projector(h.service).rebuild()
        assert snapshot(db) == live
    finally:
        db.close()
