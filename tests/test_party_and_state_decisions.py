"""One state and one Party decision on the same proceeding (Decree 71/2023, then Decree
172/2025: for a Party member the administrative decision follows the Party one, on the same
act), in either order; a second decision of the same system is refused and appends nothing;
both decisions name the proceeding, in the events and in the read models. SQLite and
PostgreSQL."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from eventsourcing.persistence import StoredEvent

from audit_service.errors import RuleViolation
from projections.db import ReadModelDB
from projections.queries import ReadModels
from projections.timeline import fold
from tests.api_support import harness_for, build_city
from tests.api_support import ref as api_ref
from tests.conftest import BOARD, build_app
from tests.world import build_world, edit_snapshot, ref, violation


def _count(app) -> int:
    return len(app.recorder.select_notifications(start=1, limit=100_000))


def _decide(app, proc, system: str, number: str, day: str, form: str = "canh_cao"):
    return app.decide_proceeding(BOARD, proc, form=form, decision_ref=ref(number, day),
                                 effective_from=day, discipline_system=system)


@pytest.mark.parametrize("first", ["party", "state"])
def test_a_party_and_a_state_decision_on_one_proceeding_in_either_order(store_env, first):
    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-09-01")],
                               opened_on="2025-09-10").id
    second = "state" if first == "party" else "party"
    one = _decide(app, proc, first, "21", "2025-10-01")
    assert app.get_proceeding(proc).status == "decided"
    two = _decide(app, proc, second, "22", "2025-10-20")
    ids = {first: one.id, second: two.id}
    p = app.get_proceeding(proc)
    assert p.decisions() == ids
    assert (p.decision_id, p.party_decision_id) == (ids["state"], ids["party"])
    for system, did in ids.items():
        d = app.get_decision(did)
        assert (d.proceeding_id, d.discipline_system) == (proc, system)
    # a second decision of either system is refused, and nothing is appended
    before = _count(app)
    for system, code in (("party", "proceeding_party_decided"), ("state", "proceeding_decided")):
        with pytest.raises(RuleViolation) as e:
            _decide(app, proc, system, "23", "2025-11-03")
        assert e.value.code == code
        assert e.value.details["decision_id"] == str(ids[system])
    assert _count(app) == before
    # a reload from the store (and from a snapshot-free second app) agrees
    other = build_app(store_env)
    assert other.get_proceeding(proc).decisions() == ids
    other.close()
    app.close()


def test_a_dismissed_proceeding_takes_no_decision_of_either_system(store_env):
    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-09-01")],
                               opened_on="2025-09-10").id
    app.dismiss_proceeding(BOARD, proc, reason="Không vi phạm", dismissed_on="2025-09-20")
    for system in ("party", "state"):
        with pytest.raises(RuleViolation) as e:
            _decide(app, proc, system, "31", "2025-10-01")
        assert e.value.code == "proceeding_dismissed"
    app.close()


def test_after_a_party_decision_alone_the_administrative_side_can_be_closed(store_env):
    """A Party decision calls for the administrative process "if any" (Decree 112/2020 Art.
    2(6) as amended by Decree 71/2023): until a state decision or a dismissal of the
    administrative side is recorded, eligibility says needs_review; a dismissal closes it and
    then takes no state decision; after a state decision nothing can be dismissed."""
    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-09-01")],
                               opened_on="2025-09-10").id
    _decide(app, proc, "party", "41", "2025-10-01", form="khien_trach")

    before = _count(app)
    with pytest.raises(RuleViolation) as e:  # not before the proceeding was opened
        app.dismiss_proceeding(BOARD, proc, reason="x", dismissed_on="2025-09-01")
    assert e.value.code == "dismissal_before_proceeding" and _count(app) == before
    app.dismiss_proceeding(BOARD, proc, reason="Không xử lý kỷ luật hành chính",
                           dismissed_on="2025-10-20")
    assert _count(app) == before + 1
    with pytest.raises(RuleViolation) as e:
        _decide(app, proc, "state", "42", "2025-11-03")
    assert e.value.code == "proceeding_dismissed"
    with pytest.raises(RuleViolation) as e:  # dismissed once only
        app.dismiss_proceeding(BOARD, proc, reason="again", dismissed_on="2025-11-03")
    assert e.value.code == "proceeding_dismissed" and _count(app) == before + 1
    # a proceeding with a state decision has nothing left to dismiss
    other = app.open_proceeding(BOARD, officer_id=w.officer,
                                violations=[violation("2025-09-02")], opened_on="2025-09-10").id
    _decide(app, other, "state", "43", "2025-10-01")
    count = _count(app)
    with pytest.raises(RuleViolation) as e:
        app.dismiss_proceeding(BOARD, other, reason="x", dismissed_on="2025-10-20")
    assert e.value.code == "proceeding_decided" and _count(app) == count
    app.close()


def _offered(app, proc) -> tuple[list[str], bool, bool]:
    o = app.proceeding_options(proc)
    return [s["system"] for s in o["systems"]], o["dismissible"], o["awaiting_state"]


def _refused(call) -> str:
    with pytest.raises(RuleViolation) as e:
        call()
    return e.value.code


def test_the_options_a_page_offers_are_what_the_service_then_takes(store_env):
    """``proceeding_options`` (what the proceeding page offers) at each stage, each offer
    then taken and each absence refused by the service."""
    app = build_app(store_env)
    w = build_world(app)
    opened = [app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2025-09-10",
                                  violations=[violation(f"2025-09-0{n}")]).id for n in (1, 2, 3)]
    party_first, state_first, dismissed = opened
    assert _offered(app, party_first) == (["state", "party"], True, False)
    options = app.proceeding_options(party_first)["systems"]
    category = app.get_officer(w.officer).category
    assert options[0]["forms"] == [f.form for f in app.reference.forms_for(category,
                                                                          app.today())]
    assert options[1]["forms"] == ["khien_trach", "canh_cao", "cach_chuc"]

    _decide(app, party_first, "party", "51", "2025-10-01", form="khien_trach")
    assert _offered(app, party_first) == (["state"], True, True)
    assert _refused(lambda: _decide(app, party_first, "party", "52", "2025-10-02")) == \
        "proceeding_party_decided"
    app.dismiss_proceeding(BOARD, party_first, reason="Không kỷ luật hành chính",
                           dismissed_on="2025-10-20")
    assert _offered(app, party_first) == ([], False, False)
    assert _refused(lambda: _decide(app, party_first, "state", "53", "2025-11-03")) == \
        "proceeding_dismissed"

    _decide(app, state_first, "state", "54", "2025-10-01")
    assert _offered(app, state_first) == (["party"], False, False)
    assert _refused(lambda: app.dismiss_proceeding(BOARD, state_first, reason="x",
                                                   dismissed_on="2025-10-20")) == \
        "proceeding_decided"
    _decide(app, state_first, "party", "55", "2025-10-05")
    assert _offered(app, state_first) == ([], False, False)

    app.dismiss_proceeding(BOARD, dismissed, reason="Không vi phạm", dismissed_on="2025-09-20")
    assert _offered(app, dismissed) == ([], False, False)
    assert _refused(lambda: app.dismiss_proceeding(BOARD, dismissed, reason="again")) == \
        "proceeding_dismissed"
    app.close()


def test_a_version_1_decided_event_is_read_by_its_decisions_system(store_env):
    """A Proceeding.Decided stored in its version-1 shape (no discipline_system: it closed the
    proceeding) loads; the service reads the system from the decision it names, so a stored
    Party decision still takes its state decision, and not a second Party one."""
    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-09-01")],
                               opened_on="2025-09-10")
    party = _decide(app, proc.id, "party", "41", "2025-10-01")
    # rewrite the log as the old code wrote it: the Decided event in version 1
    stored = app.recorder.select_events(proc.id)
    decided = stored[-1]
    assert decided.topic.endswith("Proceeding.Decided")
    state = json.loads(decided.state)
    assert state["class_version"] == 2 and state["discipline_system"] == "party"
    del state["class_version"], state["discipline_system"]
    legacy_id = uuid.uuid4()
    for event in stored:
        body = json.loads(event.state)
        if event is decided:
            body = state
        app.recorder.insert_events([StoredEvent(
            originator_id=legacy_id, originator_version=event.originator_version,
            topic=event.topic, state=json.dumps(body).encode())])
    loaded = app.get_proceeding(legacy_id)
    assert loaded.decided_system_unrecorded and loaded.decision_id == party.id
    assert loaded.decisions() == {"state": party.id, "party": party.id}  # as recorded then
    before = _count(app)
    with pytest.raises(RuleViolation) as e:
        _decide(app, legacy_id, "party", "42", "2025-10-15")
    assert e.value.code == "proceeding_party_decided" and _count(app) == before
    # the page is offered the state decision only; no dismissal (the old decision counts
    # as both systems there, as ``dismiss`` reads it)
    assert _offered(app, legacy_id) == (["state"], False, True)
    # the Decision aggregate names the copied proceeding's original: build the state one
    # against the copy, whose Decided names the Party decision
    state_decision = _decide(app, legacy_id, "state", "43", "2025-10-20")
    after = app.get_proceeding(legacy_id)
    assert after.decisions() == {"state": state_decision.id, "party": party.id}
    assert not after.decided_system_unrecorded
    app.close()


# --------------------------------------------------------------------------- over HTTP

@pytest.fixture
def h(store_env):
    harness = harness_for(store_env)
    yield harness
    harness.close()


def test_over_http_both_decisions_are_linked_by_the_proceeding_in_the_read_models(h):
    w = build_city(h)
    proc = h.ok("board", "/proceedings", {"officer_id": w["leader"], "violations": [{
        "conduct_code": "qd522-absent", "occurred_on": "2025-10-20",
        "detected_on": "2025-10-21", "description": "Vắng mặt"}], "opened_on": "2025-10-25"})
    pid = proc["id"]
    party = h.ok("board", f"/proceedings/{pid}/decision", {
        "form": "canh_cao", "decision_ref": api_ref("77", "2025-11-03", symbol="QĐ-UBKT"),
        "effective_from": "2025-11-03", "discipline_system": "party"})["id"]
    state = h.ok("board", f"/proceedings/{pid}/decision", {
        "form": "canh_cao", "decision_ref": api_ref("78", "2025-11-20"),
        "effective_from": "2025-11-20", "discipline_system": "state"})["id"]
    count = h.event_count()
    again = h.post("board", f"/proceedings/{pid}/decision", {
        "form": "khien_trach", "decision_ref": api_ref("79", "2025-11-25", symbol="QĐ-UBKT"),
        "effective_from": "2025-11-25", "discipline_system": "party"})
    assert again.status_code == 409
    assert again.get_json()["code"] == "proceeding_party_decided"
    assert h.event_count() == count
    body = h.get("board", f"/proceedings/{pid}").get_json()
    assert (body["decision_id"], body["party_decision_id"]) == (state, party)
    h.project()
    db = ReadModelDB(h.settings.database)
    try:
        linked = dict(db.fetchall("SELECT decision_id, proceeding_id FROM work_decisions"))
        assert linked[party] == linked[state] == pid
        row = db.fetchone("SELECT status, decision_id FROM work_proceedings"
                          " WHERE proceeding_id = ?", (pid,))
        assert tuple(row) == ("decided", state)
        models = ReadModels(db, h.service.reference)
        timeline = fold(models.timeline_rows(w["leader"]))
    finally:
        db.close()
    p = timeline.proceedings[pid]
    assert (p.decision_id, p.party_decision_id, p.status) == (state, party, "decided")
    assert p.decided_on.isoformat() == "2025-11-03"  # the first decision's date
    assert {d.discipline_system: d.proceeding_id for d in timeline.decisions.values()} == {
        "party": pid, "state": pid}

def test_a_proceeding_snapshotted_before_version_2_reads_its_decision_by_its_system(store_env):
    """A snapshot the old code took of a Party-decided proceeding holds the Party decision
    as ``decision_id`` and no flag: it is read as a decision of unrecorded system, so the
    state decision may still follow."""
    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-09-01")],
                               opened_on="2025-09-10").id
    party = _decide(app, proc, "party", "51", "2025-10-01").id
    app.take_snapshot(proc)

    def as_the_old_code_kept_it(state: dict) -> None:
        state["decision_id"] = state.pop("party_decision_id")
        del state["_system_unrecorded"]

    edit_snapshot(app, proc, as_the_old_code_kept_it)
    old = app.get_proceeding(proc)
    assert old.decided_system_unrecorded and old.decision_id == party
    with pytest.raises(RuleViolation) as e:
        _decide(app, proc, "party", "52", "2025-10-10")
    assert e.value.code == "proceeding_party_decided"
    state_id = _decide(app, proc, "state", "53", "2025-10-20").id
    assert app.get_proceeding(proc).decisions() == {"state": state_id, "party": party}
    app.close()


def test_standing_runs_a_state_period_from_the_party_decision_as_the_verdict_does(h):
    """Decree 71/2023 (state decisions signed 2023-09-20 to 2025-06-30): where a Party
    decision exists for the act, the administrative effect runs from the Party decision's
    effective date. The officer's standing says the same dates as the verdict's reason."""
    w = build_city(h)
    pid = h.ok("board", "/proceedings", {"officer_id": w["leader"], "violations": [{
        "conduct_code": "qd522-absent", "occurred_on": "2023-10-02",
        "detected_on": "2023-10-03", "description": "Vắng mặt"}], "opened_on": "2023-10-10"})["id"]
    h.ok("board", f"/proceedings/{pid}/decision", {
        "form": "khien_trach", "decision_ref": api_ref("81", "2023-11-01", symbol="QĐ-UBKT"),
        "effective_from": "2023-11-01", "discipline_system": "party"})
    state = h.ok("board", f"/proceedings/{pid}/decision", {
        "form": "khien_trach", "decision_ref": api_ref("82", "2024-02-01"),
        "effective_from": "2024-02-01", "discipline_system": "state"})["id"]
    h.project()

    db = ReadModelDB(h.settings.database)
    try:
        models = ReadModels(db, h.service.reference)

        def state_effect(on: str) -> list[dict]:
            body = models.standing(w["leader"], on=date.fromisoformat(on))
            return [e for e in body["effects_in_force"] if e["decision_id"] == state]

        running = state_effect("2024-10-31")
        assert running and {(e["from"], e["until"]) for e in running} == {
            ("2023-11-01", "2024-11-01")}
        assert state_effect("2024-11-01") == []  # from its own date it would run to 2025-02-01
        verdict = models.eligibility(w["leader"], on="2024-10-31", post="higher")
    finally:
        db.close()
    reasons = [r for r in verdict["reasons"] if r["rule_id"] == "discipline-effect"
               and "82" in r["message_en"]]
    assert len(reasons) == 1, verdict["reasons"]
    assert "from 2023-11-01 through 2024-10-31" in reasons[0]["message_en"]
