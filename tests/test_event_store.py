"""Events through real stores: round trips, stale writers, encryption at rest, upcasting."""
from __future__ import annotations

import threading

import pytest
from eventsourcing.domain import Aggregate

from audit_service import domain
from audit_service.errors import Conflict
from tests.conftest import ADMIN, BOARD, INSPECTOR, build_app
from tests.world import build_world, ref, violation


def all_event_classes() -> set[str]:
    """Every event class the domain defines, as stored topics."""
    topics = set()
    for agg in (domain.Unit, domain.Officer, domain.Inspection, domain.Proceeding,
                domain.Decision, domain.MonthlyGrade, domain.AnnualRating, domain.Index):
        for name in dir(agg):
            attr = getattr(agg, name)
            if (isinstance(attr, type) and issubclass(attr, Aggregate.Event)
                    and attr.__qualname__.startswith(agg.__name__ + ".")
                    and attr.__qualname__.count(".") == 1
                    and name not in ("Event", "Created")):
                topics.add(f"{attr.__module__}:{attr.__qualname__}")
    return topics


def exercise_everything(app):
    """Append at least one event of every type."""
    w = build_world(app)
    app.rename_unit(ADMIN, w.ward2, new_name="Phường Nhật Tân mới", effective_on="2024-01-01")
    app.rate_unit(ADMIN, w.ward, year=2023, rating="weak", source="QĐ 1/QĐ-UBND")
    app.transfer_officer(ADMIN, w.officer, to_unit_id=w.ward2, effective_on="2024-02-01",
                         decision_ref=ref("1", "2024-01-20"), kind="rotation")
    app.decide_reappointment(BOARD, w.leader, outcome="reappointed", decided_on="2026-01-15",
                             decision_ref=ref("2", "2026-01-15"))
    app.correct_reappointment(BOARD, w.leader, corrects_decision_ref=ref("2", "2026-01-15"),
                              outcome="not_reappointed", reason="Nhầm kết quả",
                              decision_ref=ref("2b", "2026-01-20"))
    f2 = app.record_finding(INSPECTOR, w.inspection, conduct_code="qd522-absent",
                            description="Vắng", observed_at="2024-03-02T09:00:00+07:00",
                            evidence_sha256=["a" * 64])
    app.correct_finding(INSPECTOR, w.inspection, w.finding, reason="Sai giờ",
                        description="Đến muộn 30 phút")
    app.withdraw_finding(INSPECTOR, w.inspection, f2.id, reason="Nhầm người")
    app.close_inspection(INSPECTOR, w.inspection, closed_on="2024-03-05", conclusion_ref="KL-1")
    p = app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2024-03-10", violations=[
        violation("2024-03-01", finding_id=str(w.finding), inspection_id=str(w.inspection))])
    app.defer_proceeding(BOARD, p.id, reason="serious_illness", until="2024-03-20",
                         deferred_on="2024-03-11")
    d = app.decide_proceeding(BOARD, p.id, form="canh_cao", decision_ref=ref("3", "2024-04-01"),
                              effective_from="2024-04-01")
    a = app.lodge_appeal(BOARD, d.id, lodged_on="2024-04-05", grounds="Nặng quá")
    app.resolve_appeal(BOARD, d.id, a.id, outcome="form_changed", new_form="khien_trach",
                       resolved_on="2024-05-01")
    app.annul_decision(BOARD, d.id, reason="Sai thẩm quyền", decision_ref=ref("4", "2024-06-01"))
    p2 = app.open_proceeding(BOARD, officer_id=w.vien_chuc, opened_on="2024-03-10",
                             violations=[violation("2024-02-01")])
    app.dismiss_proceeding(BOARD, p2.id, reason="Không vi phạm", dismissed_on="2024-03-15")
    app.record_monthly_grade(BOARD, officer_id=w.officer, period="2024-05", score=72)
    app.correct_monthly_grade(BOARD, officer_id=w.officer, period="2024-05", score=91,
                              reason="Cộng điểm thưởng")
    app.record_annual_rating(BOARD, officer_id=w.officer, year=2023, rating="HTNV")
    app.correct_annual_rating(BOARD, officer_id=w.officer, year=2023, rating="KHTNV",
                              reason="Bị kỷ luật trong năm")
    app.merge_unit(ADMIN, w.ward2, into_unit_id=w.ward, effective_on="2025-07-01")
    app.record_leaving(ADMIN, w.vien_chuc, left_on="2025-01-01", reason="Nghỉ hưu")
    return w


def test_every_event_type_round_trips(store_env):
    app = build_app(store_env)
    exercise_everything(app)
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    seen = set()
    for n in notifications:
        event = app.mapper.to_domain_event(n)
        again = app.mapper.to_stored_event(event)
        assert again.topic == n.topic
        assert app.mapper.to_domain_event(again) == event
        seen.add(n.topic)
    assert all_event_classes() <= seen, all_event_classes() - seen
    # A second application on the same store rebuilds identical aggregates.
    other = build_app(store_env)
    for n in notifications:
        assert other.repository.get(n.originator_id).__dict__ == \
            app.repository.get(n.originator_id).__dict__
    other.close()
    app.close()


def test_two_stale_writers_exactly_one_wins(store_env):
    app = build_app(store_env)
    w = build_world(app)
    # Both writers load version N of the same officer, then both try to save a change.
    a = app.get_officer(w.officer)
    b = app.get_officer(w.officer)
    a.transfer(to_unit_id=w.ward2, effective_on=a.joined_on, decision_ref=ref("1", "2024-01-01"),
               kind="transfer", new_position=None, **ADMIN.kw)
    b.leave_service(left_on=b.joined_on, reason="Nghỉ việc", **ADMIN.kw)
    before = app.recorder.max_notification_id()
    app._save(a.id, a)
    with pytest.raises(Conflict) as info:
        app._save(b.id, b)
    assert info.value.code == "stale_write"
    assert app.recorder.max_notification_id() == before + 1
    assert app.get_officer(w.officer).unit_id == w.ward2
    assert app.get_officer(w.officer).left_on is None
    app.close()


def test_concurrent_duplicate_claims_one_wins(store_env):
    """Many threads register the same personnel code at once: one officer, the rest refused."""
    app = build_app(store_env)
    w = build_world(app)
    results, errors = [], []
    barrier = threading.Barrier(6)

    def register(n):
        barrier.wait()
        try:
            results.append(app.register_officer(
                ADMIN, personnel_code="HN-777", full_name=f"Vũ Văn {n}", category="cong_chuc",
                unit_id=w.ward, position="Chuyên viên"))
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1
    assert len(errors) == 5
    assert {e.code for e in errors} == {"personnel_code_taken"}
    assert app.find_officer(personnel_code="hn-777").id == results[0].id
    app.close()


def test_national_id_never_in_raw_bytes(store_env, cipher_key):
    env = {**store_env, "AUDIT_CIPHER_KEY": cipher_key}
    app = build_app(env)
    w = build_world(app)
    nid = "001190012345"
    result = app.register_officer(ADMIN, personnel_code="HN-500", full_name="Hoàng Thị Lan",
                                  category="cong_chuc", unit_id=w.ward, position="Chuyên viên",
                                  national_id=nid)
    assert app.find_officer(national_id=nid).id == result.id
    raw = raw_database_bytes(env)
    assert nid.encode() not in raw
    assert "Hoàng Thị Lan".encode() not in raw  # all event state is encrypted at rest
    # Without the key, the same store cannot be read.
    plain = build_app(store_env)
    with pytest.raises(Exception):
        plain.get_officer(result.id)
    plain.close()
    app.close()


def raw_database_bytes(env: dict) -> bytes:
    from audit_service.config import Settings

    db = Settings.from_env(env).database
    if db.kind == "sqlite":
        import glob
        import sqlite3

        sqlite3.connect(db.path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        return b"".join(open(p, "rb").read() for p in glob.glob(db.path + "*"))
    import psycopg

    with psycopg.connect(db.conninfo()) as conn:
        conn.execute(f"SET search_path TO {db.schema}")
        rows = conn.execute("SELECT originator_id::text, topic, state FROM auditservice_events")
        return b"".join(r[0].encode() + r[1].encode() + bytes(r[2]) for r in rows)


def test_upcaster_loads_version_1_monthly_grade(store_env):
    """A MonthlyGrade.Recorded stored in its version-1 shape (no framework) still loads."""
    import json
    import uuid

    from eventsourcing.persistence import StoredEvent

    app = build_app(store_env)
    w = build_world(app)
    grade_id = domain.MonthlyGrade.id_for(w.officer, "2019-03")
    v1_state = {
        "officer_id": {"_type_": "uuid_hex", "_data_": w.officer.hex},
        "period": "2019-03", "score": 85.0, "grade": "B",
        "actor_id": "legacy", "actor_role": "board",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2019-04-01T01:00:00+00:00"},
        "originator_topic": "audit_service.domain.evaluations:MonthlyGrade",
    }
    stored = StoredEvent(originator_id=grade_id, originator_version=1,
                         topic="audit_service.domain.evaluations:MonthlyGrade.Recorded",
                         state=json.dumps(v1_state).encode())
    app.recorder.insert_events([stored])
    grade = app.repository.get(grade_id)
    assert grade.framework == "3814-QĐ/TU"
    assert (grade.score, grade.grade, grade.officer_id) == (85.0, "B", w.officer)
    # New events are written in version 2 and say so.
    app.record_monthly_grade(BOARD, officer_id=w.officer, period="2024-01", score=50)
    last = app.recorder.select_notifications(start=1, limit=10_000)[-1]
    assert json.loads(last.state)["class_version"] == 2
    assert uuid.UUID(str(last.originator_id)) == domain.MonthlyGrade.id_for(w.officer, "2024-01")
    app.close()


def test_upcaster_loads_version_1_decision_as_state_discipline(store_env):
    """A Decision.Issued stored in its version-1 shape (no discipline_system, no
    class_version: the bytes the old class wrote) loads as state discipline, and the
    projection folds it as state; new decisions are written in version 2."""
    import json
    import uuid

    from eventsourcing.persistence import StoredEvent

    from datetime import date

    from projections.timeline import fold

    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2024-03-01")],
                               opened_on="2024-03-10").id
    decision_id = uuid.uuid4()
    d = lambda s: {"_type_": "date_iso", "_data_": s}  # noqa: E731
    v1_state = {
        "proceeding_id": {"_type_": "uuid_hex", "_data_": proc.hex},
        "officer_id": {"_type_": "uuid_hex", "_data_": w.officer.hex},
        "category": "cong_chuc", "form": "canh_cao", "regime": "nd112-2020",
        "decision_ref": {"number": "7", "symbol": "QĐ-UBND", "issuer": "UBND phường Tây Hồ",
                         "signed_on": d("2024-04-01")},
        "effective_from": d("2024-04-01"), "corruption_related": False,
        "actor_id": "legacy", "actor_role": "board",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2024-04-01T01:00:00+00:00"},
        "originator_topic": "audit_service.domain.proceedings:Decision",
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=decision_id, originator_version=1,
        topic="audit_service.domain.proceedings:Decision.Issued",
        state=json.dumps(v1_state).encode())])
    old = app.repository.get(decision_id)
    assert old.discipline_system == "state"
    assert (old.form, old.effective_from, old.officer_id) == ("canh_cao", date(2024, 4, 1),
                                                              w.officer)
    app.annul_decision(BOARD, decision_id, reason="sai thẩm quyền",
                       decision_ref=ref("8", "2024-05-01"))  # an old aggregate takes new events
    assert app.get_decision(decision_id).status == "annulled"
    # a party decision is written in version 2 and says so
    proc2 = app.open_proceeding(BOARD, officer_id=w.leader, violations=[violation("2025-11-01")],
                                opened_on="2025-11-05").id
    app.decide_proceeding(BOARD, proc2, form="canh_cao", decision_ref=ref("9", "2025-11-20"),
                          effective_from="2025-11-20", discipline_system="party")
    issued = [n for n in app.recorder.select_notifications(start=1, limit=10_000)
              if n.topic.endswith("Decision.Issued")]
    assert json.loads(issued[-1].state)["class_version"] == 2
    assert json.loads(issued[-1].state)["discipline_system"] == "party"
    rows = [{"position": n.id, "event_type": "Decision.Issued", "subject_id": str(n.originator_id),
             "occurred_on": None, "recorded_at": "2026-01-01T00:00:00+00:00",
             "data": {k: v for k, v in app.mapper.to_domain_event(n).__dict__.items()
                      if k in ("form", "discipline_system", "effective_from")}}
            for n in issued]
    state = fold(rows)
    assert {d.discipline_system for d in state.decisions.values()} == {"state", "party"}
    app.close()


def test_party_decision_refuses_state_only_forms(store_env):
    from audit_service.errors import ValidationFailed

    app = build_app(store_env)
    w = build_world(app)
    proc = app.open_proceeding(BOARD, officer_id=w.officer, violations=[violation("2025-11-01")],
                               opened_on="2025-11-05").id
    before = len(app.recorder.select_notifications(start=1, limit=10_000))
    with pytest.raises(ValidationFailed):
        app.decide_proceeding(BOARD, proc, form="buoc_thoi_viec", decision_ref=ref("9", "2025-11-20"),
                              effective_from="2025-11-20", discipline_system="party")
    with pytest.raises(ValidationFailed):
        app.decide_proceeding(BOARD, proc, form="canh_cao", decision_ref=ref("9", "2025-11-20"),
                              effective_from="2025-11-20", discipline_system="church")
    assert len(app.recorder.select_notifications(start=1, limit=10_000)) == before
    app.close()


def test_upcaster_loads_version_1_proceeding_without_violation_end(store_env):
    """A Proceeding.Opened stored in its version-1 shape (violations without ended_on /
    ongoing) loads, and the limitation check runs from the violation's date."""
    import json
    import uuid

    from eventsourcing.persistence import StoredEvent

    app = build_app(store_env)
    w = build_world(app)
    pid = uuid.uuid4()
    d = lambda s: {"_type_": "date_iso", "_data_": s}  # noqa: E731
    v1_state = {
        "officer_id": {"_type_": "uuid_hex", "_data_": w.officer.hex},
        "violations": [{"finding_id": None, "inspection_id": None, "source": "other",
                        "conduct_code": "qd522-late", "description": "Đi muộn",
                        "occurred_on": d("2015-01-10"), "detected_on": d("2022-12-01"),
                        "exemption": None}],
        "opened_on": d("2022-12-05"), "actor_id": "legacy", "actor_role": "board",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2022-12-05T01:00:00+00:00"},
        "originator_topic": "audit_service.domain.proceedings:Proceeding",
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=pid, originator_version=1,
        topic="audit_service.domain.proceedings:Proceeding.Opened",
        state=json.dumps(v1_state).encode())])
    old = app.get_proceeding(pid)
    assert old.violations[0]["ended_on"] is None and old.violations[0]["ongoing"] is False
    from audit_service.errors import RuleViolation
    with pytest.raises(RuleViolation) as e:
        app.decide_proceeding(BOARD, pid, form="canh_cao", decision_ref=ref("73", "2023-01-05"),
                              effective_from="2023-01-05")
    assert e.value.code == "limitation_expired"
    app.close()


def test_upcaster_loads_version_1_reappointment_decision(store_env):
    """An Officer.ReappointmentDecided stored in its version-1 shape (no eligibility_verdict,
    no override_reason) loads with both None."""
    import json

    from eventsourcing.persistence import StoredEvent

    app = build_app(store_env)
    w = build_world(app)
    leader = app.get_officer(w.leader)
    d = lambda s: {"_type_": "date_iso", "_data_": s}  # noqa: E731
    v1_state = {
        "outcome": "reappointed", "decided_on": d("2026-02-20"),
        "decision_ref": {"number": "31", "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
                         "signed_on": d("2026-02-20")},
        "eligibility_hash": "0" * 64, "term_start": d("2021-03-01"),
        "actor_id": "legacy", "actor_role": "board",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-02-20T01:00:00+00:00"},
        "originator_topic": "audit_service.domain.officers:Officer",
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=leader.id, originator_version=leader.version + 1,
        topic="audit_service.domain.officers:Officer.ReappointmentDecided",
        state=json.dumps(v1_state).encode())])
    loaded = app.get_officer(w.leader)
    assert loaded.term["term_start"].isoformat() == "2026-03-01"
    event = app.mapper.to_domain_event(
        app.recorder.select_notifications(start=1, limit=100_000)[-1])
    assert (event.eligibility_verdict, event.override_reason) == (None, None)
    app.close()
