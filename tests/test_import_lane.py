"""The import's fast lane (grades and ratings stored without aggregates) stores exactly what
the commands store: the same events byte for byte, in the same order, so the same read
models and the same integrity chain; bad lines get the commands' own errors; a re-run
appends nothing; and a lane that no longer matches the events switches itself off."""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone

import eventsourcing.domain
import pytest

from audit_service import import_lane
from audit_service.config import Settings
from audit_service.domain import MonthlyGrade, index_id
from audit_service.importing import IMPORTER, import_records
from audit_service.recorders import COPY_THRESHOLD, BatchingSQLiteApplicationRecorder
from audit_service.validation import has_no_bad_text, text_problems
from auditing.bootstrap import init_database
from auditing.integrity import IntegrityFollower, chain_entry
from projections.db import ReadModelDB
from projections.projector import Projector
from projections.readmodels import snapshot
from tests.conftest import build_app, drop_pg_schema, make_pg_schema

MOMENT = datetime(2026, 11, 19, 8, 30, 15, 123456, tzinfo=timezone.utc)


def records() -> list[str]:
    """Units, officers, a hundred grades and ratings, a leaving, and bad lines of every
    kind the fast lane must hand to the commands."""
    out: list[dict] = [
        {"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"},
        {"type": "unit", "code": "W-1", "name": "Phường Một", "level": "ward", "parent_code": "01"},
    ]
    for n in range(4):
        out.append({"type": "officer", "personnel_code": f"HN-{n}", "full_name": f"Lê Văn {n}",
                    "category": "cong_chuc", "unit_code": "W-1", "position": "Chuyên viên"})
    for n in range(4):
        for year in range(2016, 2026):
            out.append({"type": "annual_rating", "personnel_code": f"HN-{n}", "year": year,
                        "rating": "HTTNV" if year % 3 else "HTXSNV"})
        for month in range(1, 13):
            out.append({"type": "monthly_grade", "personnel_code": f"HN-{n}",
                        "period": f"2025-{month:02d}", "score": 50 + 4 * month + n / 2})
    out[20:20] = [
        {"type": "monthly_grade", "personnel_code": "HN-9", "period": "2025-01", "score": 80},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2025-13", "score": 80},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2024-01", "score": 101},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2024-02", "score": 90,
         "grade": "D"},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2024-03", "score": "90"},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2027-01", "score": 90},
        {"type": "monthly_grade", "personnel_code": " ", "period": "2024-04", "score": 90},
        {"type": "monthly_grade", "personnel_code": 7, "period": "2024-04", "score": 90},
        {"type": "annual_rating", "personnel_code": "HN-1", "year": 2026, "rating": "HTTNV"},
        {"type": "annual_rating", "personnel_code": "HN-1", "year": 2020, "rating": "giỏi"},
        {"type": "annual_rating", "personnel_code": "HN-1", "year": "2019", "rating": "HTTNV"},
        {"type": "annual_rating", "personnel_code": "HN-1", "year": 1980, "rating": "HTTNV"},
    ]
    # the same slot twice (the second is refused), a grade after leaving, a grade with its
    # grade letter given, a rating whose level text needs normalising
    out += [
        {"type": "monthly_grade", "personnel_code": "HN-2", "period": "2025-03", "score": 61},
        {"type": "leaving", "personnel_code": "HN-3", "left_on": "2025-06-30",
         "reason": "retired"},
        {"type": "monthly_grade", "personnel_code": "HN-3", "period": "2025-12", "score": 70},
        {"type": "monthly_grade", "personnel_code": "HN-0", "period": "2024-05", "score": 95,
         "grade": "A"},
        {"type": "annual_rating", "personnel_code": "HN-0", "year": 2015, "rating": " HTTNV "},
    ]
    return [json.dumps(r, ensure_ascii=False) for r in out]


def second_store(store_env: dict, tmp_path) -> tuple[dict, str | None]:
    if store_env["AUDIT_DATABASE_URL"].startswith("sqlite"):
        env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/second.sqlite3"}
        schema = None
    else:
        schema = make_pg_schema()
        env = {"AUDIT_DATABASE_URL": store_env["AUDIT_DATABASE_URL"].split("?")[0]
               + f"?schema={schema}"}
    init_database(Settings.from_env(env))
    return env, schema


@pytest.fixture
def frozen(monkeypatch):
    """The same aggregate ids (uuid4) and recorded times in every import of a test."""
    def restart() -> None:
        rng = random.Random(15)
        monkeypatch.setattr(eventsourcing.domain, "uuid4",
                            lambda: uuid.UUID(int=rng.getrandbits(128), version=4))
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: MOMENT)
    monkeypatch.setattr(import_lane, "_now",
                        lambda: eventsourcing.domain.datetime_now_with_tzinfo().isoformat())
    return restart


def run_import(env: dict, lines: list[str], *, lane: bool, monkeypatch) -> dict:
    used = {"fast": 0}
    original = import_lane.FastLane._prepare

    def counting(self, *args):
        used["fast"] += 1
        return original(self, *args)

    monkeypatch.setattr(import_lane.FastLane, "_prepare", counting)
    if not lane:
        monkeypatch.setattr("audit_service.importing.lanes_agree", lambda app, actor: False)
    app = build_app(env)
    try:
        report = import_records(app, lines, batch_size=25)
        rerun = import_records(app, lines, batch_size=40)
        events = [(n.originator_id, n.originator_version, n.topic, bytes(n.state))
                  for n in app.recorder.select_notifications(start=1, limit=100_000)]
        db = ReadModelDB(app.settings.database)
        Projector(app, db=db).catch_up()
        follower = IntegrityFollower(app, db)
        follower.catch_up()
        head = chain_entry(db, app.recorder.max_notification_id())
        follower.close()
        models = snapshot(db)
    finally:
        app.close()
        monkeypatch.undo()
    return {"report": report, "rerun": rerun, "events": events, "models": models,
            "chain": head, "fast": used["fast"]}


def test_the_fast_lane_stores_what_the_commands_store(store_env, tmp_path, frozen,
                                                      monkeypatch):
    lines = records()
    other_env, schema = second_store(store_env, tmp_path)
    try:
        frozen()
        fast = run_import(store_env, lines, lane=True, monkeypatch=monkeypatch)
        monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: MOMENT)
        monkeypatch.setattr(import_lane, "_now", lambda: MOMENT.isoformat())
        frozen()
        slow = run_import(other_env, lines, lane=False, monkeypatch=monkeypatch)
    finally:
        if schema:
            drop_pg_schema(schema)
    # the lane took the grades and ratings, the commands none
    assert fast["fast"] >= 90 and slow["fast"] == 0
    assert fast["report"].as_dict() == slow["report"].as_dict()
    assert [b.as_dict() for b in fast["report"].bad] == [b.as_dict() for b in slow["report"].bad]
    # eleven bad lines, HN-1's 2019 rating after the one with year "2019", the second
    # HN-2 2025-03 grade and HN-3's grade after leaving
    assert len(fast["report"].bad) == 14
    assert fast["events"] == slow["events"]  # ids, versions, topics, state bytes, order
    assert len(fast["events"]) == fast["report"].events_appended >= 200
    assert fast["models"] == slow["models"]
    assert fast["chain"] is not None and fast["chain"] == slow["chain"]
    # a re-run of the file appends nothing, on either path
    for run in (fast, slow):
        assert run["rerun"].events_appended == 0 and run["rerun"].imported == 0
        assert run["rerun"].already_imported == run["report"].imported


def test_bad_lines_of_the_lane_leave_nothing_and_name_the_commands_rule(app):
    lines = records()
    report = import_records(app, lines, batch_size=500)
    codes = {b.line: b.code for b in report.bad}
    assert codes[21] == "validation_failed"  # unknown officer, as the command says
    assert sorted(set(codes.values())) == ["officer_left_service", "rating_exists",
                                           "rating_year_not_ended", "validation_failed"]
    stored = {n.originator_id for n in app.recorder.select_notifications(start=1, limit=10_000)}
    officer = app.find_officer(personnel_code="HN-1").id
    for period in ("2024-01", "2024-02", "2024-03", "2027-01"):
        assert MonthlyGrade.id_for(officer, period) not in stored
    leaver = app.find_officer(personnel_code="HN-3").id  # its December was graded before
    december = app._get(MonthlyGrade, MonthlyGrade.id_for(leaver, "2025-12"), "monthly_grade")
    assert (december.score, december.version) == (99.5, 1)  # not the refused 70


def test_a_lane_that_no_longer_matches_the_events_switches_off(app, monkeypatch):
    assert import_lane.lanes_agree(app, IMPORTER)
    # a new version of the grade event: the lane's template still writes version 2
    monkeypatch.setattr(MonthlyGrade.Recorded, "class_version", 3)
    assert not import_lane.lanes_agree(app, IMPORTER)
    report = import_records(app, records(), batch_size=100)
    assert report.imported > 90
    grade_id = MonthlyGrade.id_for(app.find_officer(personnel_code="HN-0").id, "2025-01")
    state = next(bytes(n.state) for n in app.recorder.select_notifications(start=1, limit=10_000)
                 if n.originator_id == grade_id)
    assert state.endswith(b'"class_version":3}')  # written by the command's mapper


def test_large_sqlite_batches_get_their_own_positions(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/b.sqlite3"}
    init_database(Settings.from_env(env))
    app = build_app(env)
    try:
        assert isinstance(app.recorder, BatchingSQLiteApplicationRecorder)
        officer = uuid.uuid4()
        grades = [MonthlyGrade(officer_id=officer, period=f"{2000 + i // 12}-{i % 12 + 1:02d}",
                               score=80.0, grade="B", framework="3814-QĐ/TU",
                               actor_id="t", actor_role="system")
                  for i in range(COPY_THRESHOLD * 2 + 3)]
        first = app.save(*grades[:3])  # below the threshold: the library's insert
        recordings = app.save(*grades[3:])
        positions = [r.notification.id for r in recordings]
        assert positions == list(range(first[-1].notification.id + 1,
                                       first[-1].notification.id + 1 + len(grades) - 3))
        stored = {(n.originator_id, n.originator_version): n.id
                  for n in app.recorder.select_notifications(start=1, limit=1000)}
        assert [stored[(g.id, 1)] for g in grades[3:]] == positions
        with pytest.raises(Exception):  # a duplicate refuses the whole batch
            app.events.put([e for g in grades[3:] for e in MonthlyGrade(
                officer_id=officer, period=g.period, score=70.0, grade="C",
                framework="3814-QĐ/TU", actor_id="t", actor_role="system").collect_events()])
        assert app.recorder.max_notification_id() == positions[-1]
    finally:
        app.close()


@pytest.mark.parametrize("text", [
    '{"a": "b"}', '{"a":\t"b"}', '{"a": "b\\u0000"}', '{"a": "\ufdd0"}', '{"a": "x\\ty"}',
    '{"description": "x\\ny"}', '{"a\\u0001": 1}', '{"a": ["\ud800"]}', '{"a": "\x85"}',
])
def test_the_whole_line_check_agrees_with_the_field_walk(text):
    value = json.loads(text)
    if has_no_bad_text(text):
        assert text_problems(value) == {}
    else:  # only says "look": the walk decides (tabs between tokens are fine)
        assert text in ('{"a":\t"b"}', '{"a": "x\\ty"}', '{"description": "x\\ny"}') \
            or text_problems(value)


def test_derived_ids_are_the_uuid5_they_always_were():
    from audit_service.domain.base import NAMESPACE, index_id, name_id
    from audit_service.domain import IdempotencyRecord

    rng = random.Random(5)
    for _ in range(500):
        name = "".join(rng.choice("aĐ:-\n09ế") for _ in range(rng.randint(0, 30)))
        ours = name_id(name)
        assert ours == uuid.uuid5(NAMESPACE, name) and ours.version == 5
        assert str(ours) == str(uuid.uuid5(NAMESPACE, name))
    assert index_id("personnel-code", "HN-1") == uuid.uuid5(NAMESPACE, "personnel-code:HN-1")
    assert IdempotencyRecord.create_id("u", "k") == uuid.uuid5(NAMESPACE, "idempotency-sha:u\nk")


def test_with_a_cipher_key_the_lane_stores_encrypted_events_that_load(tmp_path, cipher_key):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/c.sqlite3", "AUDIT_CIPHER_KEY": cipher_key}
    init_database(Settings.from_env(env))
    app = build_app(env)
    try:
        assert import_lane.lanes_agree(app, IMPORTER)
        report = import_records(app, records(), batch_size=50)
        assert report.imported > 90
        officer = app.find_officer(personnel_code="HN-2").id
        grade = app._get(MonthlyGrade, MonthlyGrade.id_for(officer, "2025-05"), "monthly_grade")
        expected = (71.0, app.reference.monthly_grade_for(71.0), officer)
        assert (grade.score, grade.grade, grade.officer_id) == expected
        states = [bytes(n.state) for n in app.recorder.select_notifications(start=1, limit=10_000)]
        assert states and not any(b'"period"' in s or b"HTTNV" in s for s in states)
    finally:
        app.close()


def test_a_key_taken_after_the_chunk_looked_is_reported_not_fatal(app, monkeypatch):
    """The chunk's one look-up said a personnel code was free, then someone registered it
    before the commit: the batch is refused, run again asking the store key by key, and the
    line is reported as a taken code while the rest lands."""
    first = records()[:6]  # the units and four officers
    assert import_records(app, first).bad == []
    taken = {"type": "officer", "personnel_code": "HN-2", "full_name": "Người khác",
             "category": "cong_chuc", "unit_code": "W-1", "position": "Chuyên viên"}
    fresh = {"type": "monthly_grade", "personnel_code": "HN-2", "period": "2024-01", "score": 77}
    real, calls = app.existing_ids, []

    def stale_once(ids):
        found = real(ids)
        calls.append(len(ids))
        if len(calls) == 1:  # the chunk's look-up misses the code registered "meanwhile"
            found.discard(index_id("personnel-code", "HN-2"))
        return found

    monkeypatch.setattr(app, "existing_ids", stale_once)
    report = import_records(app, [json.dumps(taken, ensure_ascii=False), json.dumps(fresh)])
    assert [(b.line, b.code) for b in report.bad] == [(1, "personnel_code_taken")]
    assert report.imported == 1 and len(calls) == 2
    officer = app.find_officer(personnel_code="HN-2")
    assert officer.full_name == "Lê Văn 2"
    assert app._get(MonthlyGrade, MonthlyGrade.id_for(officer.id, "2024-01"),
                    "monthly_grade").score == 77.0
