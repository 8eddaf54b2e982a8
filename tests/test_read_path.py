"""The officer read path and the lists beside it, on SQLite and PostgreSQL: history pages and
kinds, answers kept between reads that stay exact (the same as a fresh computation, replaced
by any new event about the officer), one audited-read helper for the API and the pages,
worklists paged by the database, and a decision's ``effect_until`` by its discipline system
and signing date."""
from __future__ import annotations

import re
from datetime import date

from audit_service.config import Settings
from auditing.access import AccessLog
from auditing.accounts import Accounts
from projections.officer_cache import OfficerCache
from projections.queries import ReadModels
from tests.api_support import build_city, ref
from tests.conftest import BOARD
from tests.test_history_pages import _pages
from tests.test_worklists import h  # noqa: F401 - the fixture: an API on each kind of store

GRADES = 40


def _services(h):
    return h.flask_app.extensions["audit_service"]


def _fresh(h) -> ReadModels:
    """Read models with nothing kept between reads: every answer computed anew."""
    s = _services(h)
    return ReadModels(s.db, s.service.reference, today=s.service.today,
                      cache=OfficerCache(max_rows=0))


def _graded_officer(h) -> tuple[dict, str]:
    w = build_city(h)
    officer = w["officer"]
    for i in range(GRADES):
        h.service.record_monthly_grade(BOARD, officer_id=officer,
                                       period=f"{2020 + i // 12}-{i % 12 + 1:02d}", score=70)
    # a correction recorded last marks an entry of the first page
    h.service.correct_monthly_grade(BOARD, officer_id=officer, period="2020-01", score=95,
                                    reason="Chấm lại")
    h.project()
    return w, officer


def test_history_pages_and_kinds_match_a_fresh_reading(h):
    _, officer = _graded_officer(h)
    whole = _fresh(h).history(officer)
    total = len(whole["entries"])
    assert total > GRADES
    pages = _pages(h, officer, limit=7)
    assert [len(p["entries"]) for p in pages[:-1]] == [7] * (len(pages) - 1)
    assert [e for p in pages for e in p["entries"]] == whole["entries"]
    first_grade = next(e for e in pages[0]["entries"] if e["event_type"] == "MonthlyGrade.Recorded")
    assert first_grade["status"] == "corrected"
    # the default answer is the whole history here, the same as the first page of the rest
    assert h.get("board", f"/officers/{officer}/history").get_json()["entries"] == \
        whole["entries"]
    grades = [e for p in _pages(h, officer, kind="MonthlyGrade", limit=9) for e in p["entries"]]
    assert [e["position"] for e in grades] == [
        e["position"] for e in whole["entries"] if e["event_type"].startswith("MonthlyGrade.")]
    corrected = _pages(h, officer, kind="MonthlyGrade.Corrected")
    assert [[e["event_type"] for e in p["entries"]] for p in corrected] == [
        ["MonthlyGrade.Corrected"]]
    middle = whole["entries"][10]["position"]
    after = h.get("board", f"/officers/{officer}/history", after=middle, limit=3).get_json()
    assert [e["position"] for e in after["entries"]] == [
        e["position"] for e in whole["entries"][11:14]]


def test_kept_answers_are_exact_and_replaced_by_a_new_event(h):
    w, officer = _graded_officer(h)
    cache = _services(h).officer_cache
    path = f"/officers/{officer}/eligibility"
    first = h.get("board", path, on="2026-11-20").get_json()
    hits = cache.hits
    again = h.get("board", path, on="2026-11-20").get_json()
    assert cache.hits > hits  # answered from what the first read computed
    fresh = _fresh(h).eligibility(officer, on="2026-11-20")
    assert again == first
    assert again["hash"] == fresh["hash"] and again["verdict"] == fresh["verdict"]
    standing = h.get("board", f"/officers/{officer}/standing", on="2026-11-20").get_json()
    assert standing["open_proceedings"] == []
    before = h.get("board", f"/officers/{officer}/history").get_json()

    # any new event about the officer replaces what was kept
    opened = h.ok("board", "/proceedings", {
        "officer_id": officer, "opened_on": "2026-11-10",
        "violations": [{"conduct_code": "qd522-late", "occurred_on": "2026-11-01",
                        "detected_on": "2026-11-02", "description": "Đi muộn"}]})["id"]
    h.project()
    after = h.get("board", path, on="2026-11-20").get_json()
    fresh = _fresh(h).eligibility(officer, on="2026-11-20")
    assert after["hash"] == fresh["hash"] != first["hash"]
    assert any(r["rule_id"] == "open-proceeding" and r["outcome"] != "ok"
               for r in after["reasons"])
    standing = h.get("board", f"/officers/{officer}/standing", on="2026-11-20").get_json()
    assert [p["proceeding_id"] for p in standing["open_proceedings"]] == [opened]
    history = h.get("board", f"/officers/{officer}/history").get_json()
    assert len(history["entries"]) == len(before["entries"]) + 1
    assert history == _fresh(h).history(officer)
    # another question is computed for itself, and matches a fresh computation too
    higher = h.get("board", path, on="2026-11-20", post="higher").get_json()
    assert higher["hash"] == _fresh(h).eligibility(officer, on="2026-11-20",
                                                   post="higher")["hash"]
    # a read as of a time before the proceeding still answers what was known then
    as_of = before["entries"][-1]["recorded_at"]
    past = h.get("board", path, on="2026-11-20", as_of=as_of).get_json()
    assert past["hash"] == _fresh(h).eligibility(officer, on="2026-11-20", as_of=as_of)["hash"]
    assert past["verdict"] == first["verdict"]
    assert w["officer"] == officer


def test_the_quarantine_is_read_once_per_officer_request(h):
    _, officer = _graded_officer(h)
    models = _fresh(h)
    seen = []
    fetchall = models.db.fetchall

    def counting(sql, params=()):
        seen.append(sql)
        return fetchall(sql, params)

    models.db.fetchall = counting
    try:
        models.officer_record(officer, on=_services(h).service.today())
    finally:
        models.db.fetchall = fetchall
    assert sum("projection_quarantine" in sql for sql in seen) <= 1
    assert sum("FROM officer_timeline" in sql and "COUNT" not in sql for sql in seen) == 1


# -- the audited-read helper --------------------------------------------------------------

def _signed_in(h, name: str, role: str):
    Accounts(_services(h).db).set_password(name, "a-long-test-password", role=role)
    client = h.flask_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"csrf_token": token, "user_name": name,
                                    "password": "a-long-test-password"})
    assert r.status_code == 302
    return client


def _log(h) -> list[dict]:
    return AccessLog(_services(h).db).entries(limit=1000)["items"]


def _decided(h, w) -> tuple[str, str]:
    proc = h.ok("board", "/proceedings", {
        "officer_id": w["officer"], "opened_on": "2026-03-10",
        "violations": [{"conduct_code": "qd522-late", "occurred_on": "2026-03-01",
                        "detected_on": "2026-03-01", "description": "Đi muộn"}]})["id"]
    dec = h.ok("board", f"/proceedings/{proc}/decision", {
        "form": "khien_trach", "decision_ref": ref("12", "2026-04-01"),
        "effective_from": "2026-04-01"})["id"]
    h.project()
    return proc, dec


def test_page_reads_and_refused_reads_are_logged_like_the_api(h):
    w = build_city(h)
    proc, dec = _decided(h, w)
    board = _signed_in(h, "board.reader", "board")
    inspector = _signed_in(h, "insp.reader", "inspector")
    start = len(_log(h))
    assert board.get(f"/decisions/{dec}").status_code == 200
    assert board.get(f"/proceedings/{proc}").status_code == 200
    assert board.get(f"/officers/{w['officer']}").status_code == 200
    assert inspector.get(f"/decisions/{dec}").status_code == 403
    assert inspector.get(f"/officers/{w['officer']}").status_code == 403
    assert board.get("/favicon.ico").status_code == 404  # not a page: not a read
    h.get("inspector", f"/officers/{w['officer']}/history")  # refused by the API
    new = _log(h)[start:]
    seen = [(e["role"], e["officer_id"], e["what"], e["status"]) for e in new]
    assert seen[:2] == [("board", w["officer"], "decision", None),
                        ("board", w["officer"], "proceeding", None)]
    assert sorted(s[2] for s in seen[2:5]) == ["eligibility", "history", "standing"]
    assert all(s[:2] == ("board", w["officer"]) for s in seen[2:5])
    assert seen[5] == ("inspector", "", f"/decisions/{dec}", 403)
    assert seen[6] == ("inspector", w["officer"], f"/officers/{w['officer']}", 403)
    assert seen[7][0] == "inspector" and seen[7][3] == 403
    assert len(seen) == 8


# -- worklists ----------------------------------------------------------------------------

def _officer(h, w, n: int) -> str:
    return h.ok("admin", "/officers", {
        "personnel_code": f"HN-2{n:05d}", "full_name": f"Cán bộ {n}", "category": "cong_chuc",
        "unit_id": w["ward"], "position": "Chuyên viên"})["id"]


def test_worklists_are_paged_by_the_database(h):
    w = build_city(h)
    for n in range(7):
        h.ok("board", "/proceedings", {
            "officer_id": _officer(h, w, n), "opened_on": f"2026-0{n % 5 + 3}-1{n}",
            "violations": [{"conduct_code": "qd522-late", "occurred_on": "2026-03-01",
                            "detected_on": "2026-03-01", "description": "Đi muộn"}]})
    h.project()
    whole = h.get("board", "/worklists/proceedings-due", limit=100).get_json()
    assert whole["next"] is None and len(whole["items"]) == 7
    fetched = []
    db = _services(h).db
    fetchall = db.fetchall

    def counting(sql, params=()):
        rows = fetchall(sql, params)
        if "work_proceedings" in sql:
            fetched.append(len(rows))
        return rows

    db.fetchall = counting
    try:
        items, after = [], None
        while True:
            page = h.get("board", "/worklists/proceedings-due", limit=3,
                         **({"after": after} if after else {})).get_json()
            items += page["items"]
            after = page["next"]
            if after is None:
                break
    finally:
        db.fetchall = fetchall
    assert items == whole["items"]
    assert fetched == [4, 4, 1]  # a page and the row after it, never the whole list
    listed = h.get("board", "/proceedings", limit=2, after="6").get_json()
    assert listed["next"] is None and len(listed["items"]) == 1


def test_effect_until_follows_the_discipline_system_and_the_signing_date(h):
    w = build_city(h)
    s = h.service
    cases = {}
    for n, (system, form, signed, effective) in enumerate([
            ("state", "khien_trach", "2026-04-01", "2026-04-01"),
            ("party", "khien_trach", "2026-04-01", "2026-04-01"),
            ("state", "cach_chuc", "2020-06-20", "2020-07-10")]):
        officer = _officer(h, w, 50 + n)
        if form == "cach_chuc":  # a leaders-only form: the officer held a post then
            s.appoint_officer(BOARD, officer, position="Trưởng phòng", term_start="2019-01-10",
                              term_years=5, decision_ref=ref("60", "2019-01-05"))
        proc = s.open_proceeding(BOARD, officer_id=officer, opened_on=signed[:8] + "01",
                                 violations=[{"conduct_code": "qd522-late",
                                              "occurred_on": signed[:8] + "01",
                                              "detected_on": signed[:8] + "01",
                                              "description": "Đi muộn"}]).id
        dec = s.decide_proceeding(BOARD, proc, form=form, decision_ref=ref(str(70 + n), signed),
                                  effective_from=effective, discipline_system=system).id
        cases[str(dec)] = (officer, system)
    h.project()
    rows = {d["decision_id"]: d for d in
            h.get("board", "/decisions", limit=100).get_json()["items"]}
    until = {dec: rows[dec]["effect_until"] for dec in cases}
    # state reprimand: 12 months (Law 80/2025 default), never the Party's 24
    # Party reprimand: 24 months (Regulation 377-QĐ/TW)
    # state dismissal signed under the 2008 text: 12 months, not the 24 of Law 52/2019
    assert sorted(until.values()) == ["2021-07-10", "2027-04-01", "2028-04-01"]
    by_system = {(cases[d][1], rows[d]["form"]): u for d, u in until.items()}
    assert by_system[("state", "khien_trach")] == "2027-04-01"
    assert by_system[("party", "khien_trach")] == "2028-04-01"
    # the same ends as the officer's standing shows (one rule for both)
    for dec, (officer, _) in cases.items():
        standing = _fresh(h).standing(officer, on=date(2020, 7, 10) if until[dec] < "2022"
                                      else None)
        ends = [e["until"] for e in standing["effects_in_force"] if e["decision_id"] == dec]
        assert max(ends) == until[dec]
    in_force = h.get("board", "/decisions", in_force_on="2027-06-01").get_json()["items"]
    assert [d["decision_id"] for d in in_force] == [
        d for d in cases if until[d] == "2028-04-01"]
    soonest = h.get("board", "/decisions", in_force_on="2026-11-20", limit=1).get_json()
    assert [d["effect_until"] for d in soonest["items"]] == ["2027-04-01"]
    assert soonest["next"] == "1"


def test_a_store_made_before_effect_until_gets_it_from_the_events(h, store_env):
    w = build_city(h)
    _decided(h, w)
    listed = h.get("board", "/decisions").get_json()["items"]
    assert listed[0]["effect_until"] == "2027-04-01"
    db = _services(h).db
    with db.transaction():  # the table as it was made before the three columns
        db.execute("DROP INDEX IF EXISTS ix_work_decisions_until_0")
        for column in ("regime_on", "discipline_system", "effect_until"):
            db.execute(f"ALTER TABLE work_decisions DROP COLUMN {column}")
    from auditing.bootstrap import init_database

    init_database(Settings.from_env(store_env))
    positions = dict(db.fetchall("SELECT name, position FROM projection_positions"))
    assert int(positions["casework"]) == 0 and int(positions["officer_timeline"]) > 0
    assert db.fetchall("SELECT * FROM work_decisions") == []
    h.project()
    assert h.get("board", "/decisions").get_json()["items"] == listed
