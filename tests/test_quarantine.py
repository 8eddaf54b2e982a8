"""Poison events: an event a projection cannot apply is quarantined, never a halt.

The events are written under the command validation, through the library (an aggregate's
own method and ``app.save``, or a stored event given to the recorder), on real stores; the
projector, the integrity follower, the API and the CLI are the real ones.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import StoredEvent

from api import create_app
from auditing.signing import AuditSettings, Signer
from audit_service.config import Settings
from audit_service.domain.officers import Officer as DomainOfficer
from projections import quarantine
from projections.eligibility import result_hash
from auditing.integrity import IntegrityFollower, chain_position, follow_with, latest_checkpoint
from projections.projector import Projector
from projections.readmodels import snapshot
from scripts.cli import main as cli
from tests.api_support import ApiHarness
from tests.conftest import ADMIN, BOARD, INSPECTOR, build_app
from tests.world import build_world


class Officer:
    """Stands for the Officer aggregate of a later version, which knows one more event."""

    class Commended(DomainOfficer.LeftService):
        pass


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    flask_app.extensions["audit_service"].read_wait_seconds = 0.3
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    harness.env = store_env
    yield harness
    harness.close()


def follow(app, signer: Signer) -> tuple[Projector, IntegrityFollower]:
    """The projector as ``audit-service project`` runs it: the chain follows in each turn."""
    projector = Projector(app, batch_size=50)
    follower = follow_with(projector, IntegrityFollower(
        app, settings=AuditSettings(every_events=10_000, every_seconds=0.0, signer=signer)))
    return projector, follower


def write_future_event(app, officer_id) -> tuple[int, str]:
    """Store an officer event of a type this code does not know (its topic resolves to
    nothing), as a later version of the service would: the library's own stored form."""
    officer = app.repository.get(officer_id)
    officer.leave_service(left_on=date(2026, 1, 5), reason="Khen thưởng", **ADMIN.kw)
    pending = officer.collect_events()
    stored = app.mapper.to_stored_event(pending[-1])
    topic = f"audit_service.later_{uuid.uuid4().hex[:8]}:Officer.Commended"
    app.recorder.insert_events([StoredEvent(
        originator_id=stored.originator_id, originator_version=stored.originator_version,
        topic=topic, state=stored.state)])
    return app.recorder.max_notification_id(), topic


def metric(text: str, name: str, projection: str) -> float:
    prefix = f'{name}{{projection="{projection}"}} '
    return float(next(line[len(prefix):] for line in text.splitlines()
                      if line.startswith(prefix)))


def status_json(env: dict) -> dict:
    r = CliRunner().invoke(cli, ["projections", "status", "--json"], env=env)
    assert r.exit_code == 0, r.output
    return {row["name"]: row for row in json.loads(r.output)}


def test_an_unknown_event_type_is_quarantined_reported_and_retried_after_the_fix(h):
    app = h.service
    w = build_world(app)
    position, topic = write_future_event(app, w.leader)
    # events after it, of other aggregates
    later = app.record_finding(INSPECTOR, w.inspection, officer_id=w.officer,
                               conduct_code="qd522-late", description="Vắng mặt buổi sáng",
                               observed_at="2024-03-04T08:00:00+07:00")
    app.record_annual_rating(BOARD, officer_id=w.vien_chuc, year=2024, rating="HTTNV")
    head = app.recorder.max_notification_id()
    signer = Signer.generate()
    projector, follower = follow(app, signer)
    projector.catch_up()

    # the projector moved past it, and projected what followed
    assert set(projector.positions().values()) == {head}
    history = h.get("board", f"/officers/{w.officer}/history").get_json()
    assert later.positions[-1] in [e["position"] for e in history["entries"]]
    assert h.get("board", f"/officers/{w.vien_chuc}/standing").get_json()["ratings"] == \
        {"2024": "HTTNV"}

    # status (CLI), readyz and metrics show it
    status = status_json(h.env)
    aside = status["officer_timeline"]["quarantined"]
    assert [q["position"] for q in aside] == [position]
    assert aside[0]["topic"] == topic and aside[0]["error_type"] == "TopicError"
    assert status["directory"]["quarantined"] == []  # it takes no such event: not concerned
    ready = h.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "degraded" and ready.get_json()["quarantined"] == 1
    assert ready.get_json()["projections"]["officer_timeline"]["quarantined"] == 1
    metrics = h.client.get("/metrics").get_data(as_text=True)
    assert metric(metrics, "audit_projection_quarantined_events", "officer_timeline") == 1
    assert metric(metrics, "audit_projection_quarantined_events", "directory") == 0

    # an undecodable event's officer is unknown: every officer read carries the warning
    for officer in (w.leader, w.officer):
        for what in ("history", "standing", "eligibility"):
            body = h.get("board", f"/officers/{officer}/{what}").get_json()
            assert body["warnings"][0]["code"] == "quarantined_events", (officer, what)
            assert body["warnings"][0]["positions"] == [position]
            assert body["warnings"][0]["undecoded_positions"] == [position]
    verdict = h.get("board", f"/officers/{w.leader}/eligibility", on="2026-03-01").get_json()
    hashed = {k: v for k, v in verdict.items() if k not in ("officer_id", "warnings")}
    assert result_hash(hashed) == verdict["hash"]  # the warning is outside the hashed verdict

    # the auditors' event stream lists it, with its stored bytes and why it is not decoded
    lines = [json.loads(line) for line in h.client.get(
        "/api/v1/events", query_string={"after": position - 1, "limit": 1},
        headers=h.headers("auditor")).get_data(as_text=True).splitlines()]
    assert [(e["position"], e["data"], e["decode_error"][:10]) for e in lines] == \
        [(position, None, "TopicError")]
    assert lines[0]["recorded_at"].endswith("+00:00")

    # the chain covers every stored event, the poison one too, and a checkpoint is signed
    assert chain_position(projector.db) == head
    checkpoint = latest_checkpoint(projector.db, signed_only=True)
    assert checkpoint["position"] == head and checkpoint["key_id"] == signer.key_id

    # a retry before the fix fails again and keeps it, with the attempt counted
    r = CliRunner().invoke(cli, ["projections", "retry"], env=h.env)
    assert r.exit_code == 1 and "still quarantined" in r.output
    assert quarantine.unresolved(projector.db)[0]["attempts"] == 2

    # the fix: this version learns the event type; the retry applies it and clears it
    from eventsourcing.utils import register_topic

    register_topic(topic, Officer.Commended)
    r = CliRunner().invoke(cli, ["projections", "retry", "--projection", "officer_timeline"],
                           env=h.env)
    assert r.exit_code == 0, r.output
    assert f"officer_timeline position {position}: applied" in r.output
    assert status_json(h.env)["officer_timeline"]["quarantined"] == []
    assert h.client.get("/readyz").get_json()["status"] == "ready"
    body = h.get("board", f"/officers/{w.leader}/history").get_json()
    assert body["warnings"] == []
    assert [e["event_type"] for e in body["entries"] if e["position"] == position] == \
        ["Officer.Commended"]
    kept = quarantine.rows(projector.db, "resolved_at IS NOT NULL")
    assert [(q["position"], q["resolution"], q["attempts"]) for q in kept] == \
        [(position, "applied", 3)]
    projector.db.close()
    follower.close()


def write_nul_finding(app, w, inspection_id=None) -> tuple[int, uuid.UUID]:
    """A finding whose description holds a NUL, through the aggregate and ``app.save``:
    (its position, the finding's id)."""
    inspection = app.get_inspection(inspection_id or w.inspection)
    finding_id = uuid.uuid4()
    inspection.record_finding(
        finding_id=finding_id, officer_id=w.officer, conduct_code="qd522-late",
        description="Đến muộn\x00 45 phút",
        observed_at=datetime(2024, 3, 5, 8, 45, tzinfo=timezone(timedelta(hours=7))),
        evidence_sha256=[], **INSPECTOR.kw)
    app.save(inspection)
    return app.recorder.max_notification_id(), finding_id


@pytest.mark.parametrize("store_env", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_nul_in_stored_text_is_quarantined_on_postgresql_and_the_rest_goes_on(h):
    app = h.service
    w = build_world(app)
    poison, finding = write_nul_finding(app, w)
    stored = app.recorder.select_notifications(start=poison, limit=1)[0]
    assert b"\\u0000" in bytes(stored.state)  # escaped in the stored JSON: the log takes it
    later = app.record_finding(INSPECTOR, w.inspection, officer_id=w.officer,
                               conduct_code="qd522-late", description="Đến muộn 10 phút",
                               observed_at="2024-03-06T08:10:00+07:00")
    renamed = app.register_unit(ADMIN, code="W-XL", name="Phường Xuân La", level="ward",
                                parent_id=w.city)
    head = app.recorder.max_notification_id()
    projector, follower = follow(app, Signer.generate())
    projector.catch_up()

    assert set(projector.positions().values()) == {head}
    aside = quarantine.unresolved(projector.db)
    assert [(q["projection"], q["position"], q["error_type"]) for q in aside] == \
        [("officer_timeline", poison, "DataError")]  # ... and no other
    assert "NUL" in aside[0]["error"]
    assert {str(w.officer), str(w.inspection)} <= set(aside[0]["officer_ids"])
    # the later events are there; the poison event's finding is not, and reads say so
    history = h.get("board", f"/officers/{w.officer}/history").get_json()
    positions = [e["position"] for e in history["entries"]]
    assert later.positions[-1] in positions and poison not in positions
    assert history["warnings"][0]["positions"] == [poison]
    assert "undecoded_positions" not in history["warnings"][0]
    assert h.get("board", f"/officers/{w.leader}/history").get_json()["warnings"] == []
    assert h.get("inspector", f"/units/{renamed.id}").status_code == 200

    # an officer whose registration cannot be projected is not "not found": the reads answer
    # what they hold (nothing) and say why
    from audit_service.domain.officers import Officer as Registered

    newcomer = Registered(personnel_code="HN-000099", full_name="Ngô\x00 Văn Mới",
                          category="cong_chuc", unit_id=w.ward, position="Chuyên viên",
                          national_id=None, national_id_hash=None, joined_on=date(2020, 1, 6),
                          **ADMIN.kw)
    app.save(newcomer)
    registered = app.recorder.max_notification_id()
    projector.catch_up()
    for what in ("history", "standing"):
        r = h.get("board", f"/officers/{newcomer.id}/{what}")
        assert r.status_code == 200, (what, r.get_json())
        assert r.get_json()["warnings"][0]["positions"] == [registered], what
    # no verdict without a registration: 404 officer_not_on_record, saying why
    r = h.get("board", f"/officers/{newcomer.id}/eligibility")
    assert (r.status_code, r.get_json()["code"]) == (404, "officer_not_on_record")
    assert r.get_json()["details"]["warnings"][0]["positions"] == [registered]
    assert h.get("board", f"/officers/{uuid.uuid4()}/history").status_code == 404
    head = app.recorder.max_notification_id()
    assert h.client.get("/readyz").get_json()["status"] == "degraded"
    # the chain hashed the stored bytes of the poison event like any other
    assert chain_position(projector.db) == head
    assert latest_checkpoint(projector.db, signed_only=True)["position"] == head

    # more of them, in other inspections (so in several shares of a split rebuild), each
    # followed by a finding of the same inspection (which looks up what the poison one wrote)
    poisons = [poison]
    for n in range(6):
        other = app.open_inspection(INSPECTOR, unit_id=w.ward, team=[], announced=True,
                                    started_on="2024-03-01").id
        poisons.append(write_nul_finding(app, w, other)[0])
        app.record_finding(INSPECTOR, other, officer_id=w.leader, conduct_code="qd522-late",
                           description=f"Lần {n}", observed_at="2024-04-02T08:00:00+07:00")
    # the finding corrected to clean text: the correction is projected (for the officer it
    # names), the quarantined event stays quarantined
    corrected = app.correct_finding(INSPECTOR, w.inspection, finding, reason="Sửa ký tự lỗi",
                                    description="Đến muộn 45 phút")
    projector.catch_up()
    assert [q["position"] for q in quarantine.unresolved(projector.db)
            if q["projection"] == "officer_timeline"] == poisons[:1] + [registered] + poisons[1:]
    entries = h.get("board", f"/officers/{w.officer}/history").get_json()["entries"]
    assert [e["data"]["description"] for e in entries
            if e["position"] == corrected.positions[-1]] == ["Đến muộn 45 phút"]

    # a rebuild over the log completes, sets the events aside again and equals the live tables
    live = snapshot(projector.db)
    projector.rebuild(workers=3)
    aside = sorted([poisons[0], registered] + poisons[1:])
    assert sorted((q["position"], q["projection"]) for q in projector.rebuild_quarantined) == \
        sorted([(registered, "directory")] + [(p, "officer_timeline") for p in aside])
    assert snapshot(projector.db) == live
    again = quarantine.unresolved(projector.db)
    assert sorted((q["position"], q["projection"], q["attempts"]) for q in again) == \
        sorted([(registered, "directory", 2)] + [(p, "officer_timeline", 2) for p in aside])
    projector.db.close()
    follower.close()


def test_a_read_model_failure_never_stops_the_chain(h):
    """With the read models unable to write at all (a table gone), the projector's turn fails
    and is retried later (nothing is quarantined for a fault of the database), while the
    integrity chain advances and signs in the same turn."""
    app = h.service
    build_world(app)
    head = app.recorder.max_notification_id()
    projector, follower = follow(app, Signer.generate())
    projector.db.execute("DROP TABLE timeline_inspections")
    with pytest.raises(Exception):
        projector.run_once()
    assert chain_position(projector.db) == head
    assert latest_checkpoint(projector.db, signed_only=True)["position"] == head
    assert set(projector.positions()[p.name] for p in projector.projections) == {0}
    assert quarantine.unresolved(projector.db) == []
    projector.db.close()
    follower.close()


def test_a_rebuild_sets_aside_an_unknown_event_and_keeps_the_quarantine_consistent(h):
    app = h.service
    w = build_world(app)
    position, topic = write_future_event(app, w.leader)
    app.record_annual_rating(BOARD, officer_id=w.officer, year=2024, rating="HTTNV")
    head = app.recorder.max_notification_id()
    projector = Projector(app, batch_size=7)
    projector.catch_up()
    live = snapshot(projector.db)
    assert projector.rebuild(workers=2) == head  # split between processes on PostgreSQL
    assert [(q["projection"], q["position"], q["topic"])
            for q in projector.rebuild_quarantined] == [("officer_timeline", position, topic)]
    assert snapshot(projector.db) == live
    assert [q["position"] for q in quarantine.unresolved(projector.db)] == [position]
    # once this code knows the event type, a rebuild applies it and resolves the row
    from eventsourcing.utils import register_topic

    register_topic(topic, Officer.Commended)
    r = CliRunner().invoke(cli, ["projections", "rebuild", "officer_timeline", "--workers", "1"],
                           env=h.env)
    assert r.exit_code == 0, r.output
    assert quarantine.unresolved(projector.db) == []
    assert [q["resolution"] for q in quarantine.rows(projector.db, "1 = 1")] == ["rebuilt"]
    projector.db.close()


def test_init_db_adds_the_quarantine_table_to_an_older_store(store_env):
    from auditing.bootstrap import init_database
    from projections.db import ReadModelDB

    settings = Settings.from_env(store_env)
    db = ReadModelDB(settings.database)
    db.execute(f"DROP TABLE {quarantine.TABLE}")  # a store made before the table existed
    assert quarantine.counts(db) == {}  # reports read it as empty, never fail
    init_database(settings)
    assert db.table_exists(quarantine.TABLE)
    db.close()
