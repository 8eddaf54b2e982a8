"""The case lists and the board's worklists: filters, deadlines, and the board's order
(soonest deadline first, never by id), on SQLite and PostgreSQL; a decision's
``effect_until`` by the start rule the verdict and the standing use (Decree 71/2023, Decree
172/2025)."""
from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from api import create_app
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.eligibility import effect_start
from projections.officer_cache import OfficerCache
from projections.projector import Projector
from projections.queries import ReadModels
from projections.readmodels import snapshot
from projections.timeline import fold
from tests.api_support import ApiHarness, build_city, ref
from tests.conftest import BOARD, build_app


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


# -- effect_until by the verdict's start rule --------------------------------------------------

_NUMBERS = itertools.count(300)


def _models(h) -> ReadModels:
    """Read models with nothing kept between reads: the standing and verdict computed anew."""
    s = h.flask_app.extensions["audit_service"]
    return ReadModels(s.db, s.service.reference, today=s.service.today,
                      cache=OfficerCache(max_rows=0))


def _act(h, officer: str, decisions: list[tuple[str, str, str, str]]) -> dict[str, str]:
    """One proceeding (one act) decided by each ``(system, form, signed_on, effective_from)``
    in the order given; the decision ids by system."""
    first = min(date.fromisoformat(day) for *_, signed, eff in decisions for day in (signed, eff))
    opened = (first - timedelta(days=30)).isoformat()
    proc = h.service.open_proceeding(BOARD, officer_id=officer, opened_on=opened,
                                     violations=_violation(opened)).id
    ids = {}
    for system, form, signed, effective in decisions:
        ids[system] = str(h.service.decide_proceeding(
            BOARD, proc, form=form, decision_ref=ref(str(next(_NUMBERS)), signed),
            effective_from=effective, discipline_system=system).id)
    return ids


def _rows(h) -> dict[str, dict]:
    return {d["decision_id"]: d for d in _items(h, "/decisions", limit=100)}


def _listed_on(h, day: date) -> set[str]:
    return {d["decision_id"] for d in _items(h, "/decisions", in_force_on=day.isoformat(),
                                             limit=100)}


def _standing_span(h, officer: str, decision_id: str) -> tuple[date, date]:
    """(start, first day free) of a decision's effects as the officer's standing has them: the
    start the verdict's rule gives (``effect_start``), the ends the standing lists that day."""
    models = _models(h)
    state = fold(models.timeline_rows(officer))
    d = state.decisions[decision_id]
    start = effect_start(h.service.reference, state, d, d.effective_from)
    effects = [e for e in models.standing(officer, on=start)["effects_in_force"]
               if e["decision_id"] == decision_id]
    assert effects and {e["from"] for e in effects} == {start.isoformat()}, effects
    return start, date.fromisoformat(max(e["until"] for e in effects))


def _verdict_ends(h, officer: str, on: date) -> tuple[date, date]:
    """The two ends the verdict works out where the start is open (Decree 172/2025): counted
    from the decision's own date and from the Party decision's (first days free of it)."""
    verdict = _models(h).eligibility(officer, on=on, post="higher")
    found = [re.search(r"ends (\S+) if counted from its own effective date, or (\S+) if"
                       r" counted from", r["message_en"]) for r in verdict["reasons"]
             if r["rule_id"] == "discipline-effect" and r["outcome"] == "needs_review"]
    found = [m for m in found if m]
    assert len(found) == 1, verdict["reasons"]
    own, alt = (date.fromisoformat(x) + timedelta(days=1) for x in found[0].groups())
    return own, alt


def _assert_listed_as_the_standing(h, officer: str, decision_id: str,
                                   start: date, until: date) -> None:
    """The row's effect_until is ``until``; the decision is listed in force from the later of
    its effective date and ``start`` to the day before ``until``, on neither side beyond."""
    row = _rows(h)[decision_id]
    assert row["effect_until"] == until.isoformat()
    first = max(start, date.fromisoformat(row["effective_from"]))
    one = timedelta(days=1)
    assert [decision_id in _listed_on(h, day) for day in
            (first - one, first, until - one, until)] == [False, True, True, False]


def _assert_rebuild_gives_the_same_rows(h) -> None:
    db = ReadModelDB(h.settings.database)
    try:
        live = snapshot(db)
        Projector(h.service).rebuild()
        assert snapshot(db) == live
    finally:
        db.close()


def test_effect_until_runs_from_the_party_decision_as_the_standing_does(h):
    """Decree 71/2023 (state decisions signed 2023-09-20 to 2025-06-30): a state decision's
    effect runs from the effective date of the Party decision for the same act, issued before
    or after it; signed the day before, or under Decree 172/2025, from its own date (there
    the list keeps it to the later of both ends, the verdict asking which applies)."""
    w = build_city(h)
    o = {n: _officer(h, w, 20 + n, f"Cán bộ {n}") for n in range(6)}
    acts = {
        # Party then state, within Decree 71's window (a dismissal: 24 months)
        "party_first": (w["leader"], [("party", "khien_trach", "2023-11-01", "2023-11-01"),
                                      ("state", "cach_chuc", "2024-02-01", "2024-02-01")]),
        # state then a Party decision taking effect later
        "state_first": (o[0], [("state", "khien_trach", "2024-03-01", "2024-03-01"),
                               ("party", "khien_trach", "2024-05-02", "2024-05-02")]),
        # signed the day before Decree 71, and on its first day
        "before_71": (o[1], [("party", "khien_trach", "2023-08-01", "2023-08-01"),
                             ("state", "khien_trach", "2023-09-19", "2023-09-25")]),
        "first_day_71": (o[2], [("party", "khien_trach", "2023-08-01", "2023-08-01"),
                                ("state", "khien_trach", "2023-09-20", "2023-09-25")]),
        # Decree 71's last day, and Decree 172's first, with a Party decision taking effect later
        "last_day_71": (o[3], [("state", "khien_trach", "2025-06-30", "2025-07-01"),
                               ("party", "khien_trach", "2025-09-01", "2025-09-01")]),
        "first_day_172": (o[4], [("state", "khien_trach", "2025-07-01", "2025-07-01"),
                                 ("party", "khien_trach", "2025-09-01", "2025-09-01")]),
        # to be annulled: the Party decision first
        "annulled": (o[5], [("party", "khien_trach", "2024-01-10", "2024-01-10"),
                            ("state", "khien_trach", "2024-04-01", "2024-04-01")]),
    }
    ids = {name: _act(h, officer, decisions) for name, (officer, decisions) in acts.items()}
    h.project()

    def span(name: str) -> tuple[date, date]:
        return _standing_span(h, acts[name][0], ids[name]["state"])

    starts = {}
    for name in acts:
        if name == "first_day_172":
            continue
        start, until = span(name)
        starts[name] = start.isoformat()
        _assert_listed_as_the_standing(h, acts[name][0], ids[name]["state"], start, until)
    # the start the rule picks, by signing date: the Party decision's, or the decision's own
    assert starts == {"party_first": "2023-11-01", "state_first": "2024-05-02",
                      "before_71": "2023-09-25", "first_day_71": "2023-08-01",
                      "last_day_71": "2025-09-01", "annulled": "2024-01-10"}
    assert _rows(h)[ids["party_first"]["state"]]["effect_until"] == "2025-11-01"

    # Decree 172: the standing counts from the decision's own date, the verdict computes both;
    # the list keeps the decision until the later end, from its own effective date
    officer, state_id = acts["first_day_172"][0], ids["first_day_172"]["state"]
    own_start, own_until = span("first_day_172")
    assert own_start == date(2025, 7, 1)
    own, alt = _verdict_ends(h, officer, own_until)
    assert own == own_until and alt > own
    _assert_listed_as_the_standing(h, officer, state_id, own_start, max(own, alt))
    _assert_rebuild_gives_the_same_rows(h)

    # a Party decision annulled: back to the decision's own date; the state dismissal
    # changed on appeal to a reprimand: its months change, still from the Party decision
    h.service.annul_decision(BOARD, ids["annulled"]["party"], reason="Sai thẩm quyền",
                             decision_ref=ref(str(next(_NUMBERS)), "2024-06-01", symbol="QĐ-UBKT"))
    dismissal = ids["party_first"]["state"]
    appeal = h.service.lodge_appeal(BOARD, dismissal, lodged_on="2024-02-10",
                                    grounds="Không đồng ý").id
    h.service.resolve_appeal(BOARD, dismissal, appeal, outcome="form_changed",
                             new_form="khien_trach", resolved_on="2024-03-15",
                             decision_ref=ref(str(next(_NUMBERS)), "2024-03-15"))
    # the later Party decision overturned on appeal: the state decision's own date again
    party = ids["state_first"]["party"]
    appeal = h.service.lodge_appeal(BOARD, party, lodged_on="2024-05-10",
                                    grounds="Không đồng ý").id
    h.service.resolve_appeal(BOARD, party, appeal, outcome="overturned",
                             resolved_on="2024-06-10")
    h.project()
    for name, expected in (("annulled", "2024-04-01"), ("party_first", "2023-11-01"),
                           ("state_first", "2024-03-01")):
        start, until = span(name)
        assert start.isoformat() == expected
        _assert_listed_as_the_standing(h, acts[name][0], ids[name]["state"], start, until)
    assert _rows(h)[dismissal]["effect_until"] == "2024-11-01"
    _assert_rebuild_gives_the_same_rows(h)


def test_a_store_made_before_effect_from_works_out_the_party_start_again(h, store_env):
    """A casework table without ``effect_from`` (its effect_until counted from the decision's
    own date) is projected again from the log: the Party decision's start applies."""
    w = build_city(h)
    ids = _act(h, w["officer"], [("party", "khien_trach", "2023-11-01", "2023-11-01"),
                                 ("state", "khien_trach", "2024-02-01", "2024-02-01")])
    h.project()
    listed = _items(h, "/decisions")
    db = h.flask_app.extensions["audit_service"].db
    with db.transaction():  # the table as it was before effect_from, with the old end
        db.execute("ALTER TABLE work_decisions DROP COLUMN effect_from")
        db.execute("UPDATE work_decisions SET effect_until = '2025-02-01' WHERE decision_id = ?",
                   (ids["state"],))
    from auditing.bootstrap import init_database

    init_database(Settings.from_env(store_env))
    positions = dict(db.fetchall("SELECT name, position FROM projection_positions"))
    assert int(positions["casework"]) == 0
    h.project()
    assert _items(h, "/decisions") == listed
    start, until = _standing_span(h, w["officer"], ids["state"])
    assert (start, until) == (date(2023, 11, 1), date(2024, 11, 1))
    assert _rows(h)[ids["state"]]["effect_until"] == until.isoformat()
