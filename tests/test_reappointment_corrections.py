"""A board's mistaken reappointment decision corrected by a new event that names it: nothing
stored is changed, the correction's eligibility hash is recomputed at write time, a decision
that does not exist or was already corrected is refused (409, nothing appended), the term
follows the corrected outcome, the history shows both, and verify checks both. SQLite and
PostgreSQL."""
from __future__ import annotations

import json
from datetime import date

import pytest
from eventsourcing.persistence import StoredEvent

from audit_service.errors import RuleViolation
from auditing.board import Corrections
from projections.db import ReadModelDB
from tests.api_support import harness_for, build_city, ref
from tests.conftest import BOARD, build_app
from tests.world import build_world, edit_snapshot
from tests.world import ref as world_ref


@pytest.fixture
def h(store_env):
    harness = harness_for(store_env, read_wait_seconds=2)
    yield harness
    harness.close()


def _hash(h, officer: str, on: str) -> str:
    h.project()
    r = h.get("board", f"/officers/{officer}/eligibility", on=on)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["hash"]


def test_a_reappointment_corrected_over_http_and_followed_by_verify(h):
    w = build_city(h)
    leader = w["leader"]
    decided = h.ok("board", f"/officers/{leader}/reappointment-decisions", {
        "outcome": "reappointed", "decided_on": "2026-02-20",
        "decision_ref": ref("31", "2026-02-20"),
        "eligibility_hash": _hash(h, leader, "2026-02-20")})
    path = f"/officers/{leader}/reappointment-corrections"
    body = {"corrects_decision_ref": ref("31", "2026-02-20"), "outcome": "not_reappointed",
            "reason": "Hội đồng nhầm kết quả bỏ phiếu", "decision_ref": ref("32", "2026-03-05")}
    h.project()  # the write-time check waits for the read models (no projector runs here)
    before = h.event_count()
    # refused, nothing appended: a hash the service does not give now; an unknown decision
    r = h.post("board", path, {**body, "eligibility_hash": "0" * 64})
    assert r.status_code == 409 and r.get_json()["code"] == "eligibility_hash_unknown"
    r = h.post("board", path, {**body, "corrects_decision_ref": ref("99", "2026-02-20")})
    assert r.status_code == 409 and r.get_json()["code"] == "reappointment_decision_not_found"
    assert h.event_count() == before
    shown = _hash(h, leader, "2026-02-20")  # what the board sees now, for the decision date
    corrected = h.ok("board", path, {**body, "eligibility_hash": shown})
    assert h.get("board", f"/officers/{leader}").get_json()["term"] is None
    h.project()
    # a second correction of the same decision is refused
    count = h.event_count()
    r = h.post("board", path, {**body, "outcome": "reappointed",
                               "decision_ref": ref("33", "2026-03-06")})
    assert r.status_code == 409 and r.get_json()["code"] == "reappointment_already_corrected"
    assert h.event_count() == count
    # the stored original is untouched; the correction names it and says who corrected it
    events = {n.topic.rsplit(".", 1)[-1]: n for n in
              h.service.recorder.select_notifications(start=1, limit=100_000)
              if n.originator_id.hex == leader.replace("-", "")}
    original = json.loads(events["ReappointmentDecided"].state)
    assert original["outcome"] == "reappointed"
    fix = json.loads(events["ReappointmentDecisionCorrected"].state)
    assert (fix["outcome"], fix["eligibility_hash"], fix["actor_id"]) == (
        "not_reappointed", shown, h.users["board"])
    assert fix["corrects_version"] == events["ReappointmentDecided"].originator_version
    assert fix["reason"] == "Hội đồng nhầm kết quả bỏ phiếu"
    # the history shows both; the read models' term follows the correction
    h.project()
    history = json.dumps(h.get("auditor", f"/officers/{leader}/history").get_json(),
                         ensure_ascii=False)
    assert "Reappointment decision: reappointed" in history and "corrected to" in history
    db = ReadModelDB(h.settings.database)
    try:
        assert db.fetchone("SELECT 1 FROM work_terms WHERE officer_id = ?", (leader,)) is None
    finally:
        db.close()
    # verify checks both hashes and links them
    report = h.get("auditor", "/audit/verify").get_json()
    checks = {c["position"]: c for c in report["board"]["checks"]}
    first, second = min(decided["positions"]), min(corrected["positions"])  # not the claims
    assert checks[first]["status"] == checks[second]["status"] == "match"
    assert checks[first]["corrected_by"] == second
    assert checks[second]["corrects_position"] == first
    assert report["board"]["corrected"] == 1 and report["ok"], report["faults"]


def test_not_reappointed_corrected_to_reappointed_restores_the_term(store_env):
    app = build_app(store_env)
    w = build_world(app)
    app.decide_reappointment(BOARD, w.leader, outcome="not_reappointed",
                             decided_on="2026-02-20", decision_ref=world_ref("31", "2026-02-20"))
    assert app.get_officer(w.leader).term is None
    with pytest.raises(RuleViolation) as e:  # the correction must change something
        app.correct_reappointment(BOARD, w.leader,
                                  corrects_decision_ref=world_ref("31", "2026-02-20"),
                                  outcome="not_reappointed", reason="Nhầm",
                                  decision_ref=world_ref("32", "2026-03-01"))
    assert e.value.code == "correction_changes_nothing"
    app.correct_reappointment(BOARD, w.leader,
                              corrects_decision_ref=world_ref("31", "2026-02-20"),
                              outcome="reappointed", reason="Nhầm kết quả",
                              decision_ref=world_ref("32", "2026-03-01"),
                              override_reason="Hội đồng quyết định bổ nhiệm lại")
    officer = app.get_officer(w.leader)
    assert officer.term == {"position": "Phó Chủ tịch UBND phường",
                            "term_start": date(2026, 3, 1), "term_years": 5}
    assert officer.leadership[-1][1] is None  # the leadership period is open again
    assert officer.led_on(date(2026, 6, 1))
    # an appointment after it closes the decision to corrections
    app.appoint_officer(BOARD, w.leader, position="Chủ tịch UBND phường",
                        term_start="2026-07-01", decision_ref=world_ref("34", "2026-06-20"))
    with pytest.raises(RuleViolation) as e:
        app.correct_reappointment(BOARD, w.leader,
                                  corrects_decision_ref=world_ref("31", "2026-02-20"),
                                  outcome="not_reappointed", reason="Nhầm",
                                  decision_ref=world_ref("35", "2026-07-02"))
    assert e.value.code == "reappointment_decision_not_found"
    app.close()


def test_verify_reports_a_correction_that_names_no_decision(h):
    """A correction written into the log without the service's check (the bytes of one
    naming the officer's registration, not a decision) is a board fault."""
    w = build_city(h)
    leader = h.service.get_officer(w["leader"])
    d = lambda s: {"_type_": "date_iso", "_data_": s}  # noqa: E731
    decision_ref = {"number": "40", "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
                    "signed_on": d("2026-03-05")}
    state = {"corrects_version": 1, "corrects_decision_ref": decision_ref,
             "outcome": "not_reappointed", "decided_on": d("2026-02-20"),
             "corrected_on": d("2026-03-05"), "reason": "?", "decision_ref": decision_ref,
             "term": None, "eligibility_hash": None, "eligibility_verdict": None,
             "override_reason": None, "actor_id": "board-x", "actor_role": "board",
             "timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-05T01:00:00+00:00"}}
    h.service.recorder.insert_events([StoredEvent(
        originator_id=leader.id, originator_version=leader.version + 1,
        topic="audit_service.domain.officers:Officer.ReappointmentDecisionCorrected",
        state=json.dumps(state).encode())])
    h.project()
    report = h.get("auditor", "/audit/verify").get_json()
    assert not report["ok"] and report["board"]["bad_corrections"] == 1
    assert any("reappointment correction" in f["detail"] for f in report["faults"])


class _Event:
    def __init__(self, officer: str, version: int, corrects: int | None = None,
                 outcome: str = "reappointed"):
        self.originator_id, self.originator_version = officer, version
        self.outcome = outcome
        if corrects is not None:
            self.corrects_version = corrects


def test_corrections_link_each_decision_and_refuse_a_second_correction():
    c = Corrections()
    c.feed(_Event("a", 3), 10)
    c.feed(_Event("a", 4, corrects=3, outcome="not_reappointed"), 11)
    c.feed(_Event("a", 5, corrects=3, outcome="reappointed"), 12)   # already corrected
    c.feed(_Event("b", 2, corrects=2, outcome="not_reappointed"), 13)   # names no decision
    checks = c.annotate([{"position": 10, "officer_id": "a", "version": 3},
                         {"position": 11, "officer_id": "a", "version": 4,
                          "corrects_version": 3}])
    assert checks[0]["corrected_by"] == 11 and checks[1]["corrects_position"] == 10
    bad = [x for x in checks if x.get("status") == "bad_correction"]
    assert [x["position"] for x in bad] == [12, 13]
    assert "already corrected at position 11" in bad[0]["reason"]


def test_an_officer_snapshotted_before_corrections_existed_is_read_from_its_events(app):
    """A snapshot taken by a service that did not track the latest reappointment decision
    (no ``last_reappointment`` in its state) does not hide the decision from a correction."""
    w = build_world(app)
    app.decide_reappointment(BOARD, w.leader, outcome="not_reappointed",
                             decided_on="2026-02-20", decision_ref=world_ref("31", "2026-02-20"))
    app.take_snapshot(w.leader)

    def before_corrections(state: dict) -> None:
        assert state.pop("last_reappointment")["outcome"] == "not_reappointed"

    edit_snapshot(app, w.leader, before_corrections)
    assert "last_reappointment" not in vars(app.get_officer(w.leader))  # the old snapshot
    app.correct_reappointment(BOARD, w.leader, corrects_decision_ref=world_ref("31", "2026-02-20"),
                              outcome="reappointed", reason="Nhầm kết quả",
                              decision_ref=world_ref("32", "2026-03-01"),
                              override_reason="Hội đồng quyết định bổ nhiệm lại")
    assert app.get_officer(w.leader).term["term_start"] == date(2026, 3, 1)
