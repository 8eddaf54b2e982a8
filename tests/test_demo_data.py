"""The demo-data generator: loads through the service, is deterministic, and has what a demo needs.

Runs on a small city (60 officers) on both stores; the PostgreSQL runs skip without a server.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Iterator
from uuid import UUID

import pytest

from audit_service.application import AuditService
from auditing.bootstrap import init_database
from audit_service.config import Settings
from scripts.demo_data import generate
from tests.conftest import FIXED_TODAY, build_app, drop_pg_schema, make_pg_schema

OFFICERS = 60
SEED = 2026

#: returned count -> the event that each counted command appends once
COUNTED_EVENTS = {
    "units": "Unit.Registered",
    "unit_merges": "Unit.Merged",
    "officers": "Officer.Registered",
    "appointments": "Officer.Appointed",
    "reappointments": "Officer.ReappointmentDecided",
    "leavings": "Officer.LeftService",
    "inspections": "Inspection.Opened",
    "inspections_closed": "Inspection.Closed",
    "findings": "Inspection.FindingRecorded",
    "finding_corrections": "Inspection.FindingCorrected",
    "findings_withdrawn": "Inspection.FindingWithdrawn",
    "proceedings": "Proceeding.Opened",
    "deferrals": "Proceeding.Deferred",
    "dismissals": "Proceeding.Dismissed",
    "decisions": "Decision.Issued",
    "appeals": "Decision.AppealLodged",
    "appeals_resolved": "Decision.AppealResolved",
    "annulments": "Decision.Annulled",
    "annual_ratings": "AnnualRating.Recorded",
    "annual_rating_corrections": "AnnualRating.Corrected",
    "monthly_grades": "MonthlyGrade.Recorded",
    "monthly_grade_corrections": "MonthlyGrade.Corrected",
}


def read_events(app) -> list[tuple[str, UUID, dict[str, Any]]]:
    """Every stored event in log order: (type, aggregate id, fields without id/version/time)."""
    out = []
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=500)
        if not notifications:
            return out
        for n in notifications:
            event = app.mapper.to_domain_event(n)
            fields = {k: v for k, v in vars(event).items()
                      if k not in ("originator_id", "originator_version", "timestamp")}
            out.append((n.topic.split(":", 1)[1], event.originator_id, fields))
        start = notifications[-1].id + 1


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical(events: list[tuple[str, UUID, dict]]) -> list[tuple[str, Any]]:
    """The sequence with every UUID (or UUID text) replaced by its order of first appearance;
    an idempotency record's request hash (of a body that quotes such ids) is left out."""
    ids: dict[UUID, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, str) and UUID_TEXT.fullmatch(value):
            value = UUID(value)
        if isinstance(value, UUID):
            return ids.setdefault(value, f"#{len(ids)}")
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return [(topic, walk(aggregate_id),
             walk({k: v for k, v in fields.items() if k != "request_sha256"}))
            for topic, aggregate_id, fields in events]


@contextmanager
def another_store(env: dict, tmp_path) -> Iterator[dict]:
    """A second fresh store of the same kind as ``env``."""
    if env["AUDIT_DATABASE_URL"].startswith("sqlite"):
        other = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/second.sqlite3"}
        init_database(Settings.from_env(other))
        yield other
        return
    schema = make_pg_schema()
    other = {"AUDIT_DATABASE_URL": env["AUDIT_DATABASE_URL"].split("?")[0] + f"?schema={schema}"}
    try:
        init_database(Settings.from_env(other))
        yield other
    finally:
        drop_pg_schema(schema)


def run(env: dict, **kwargs) -> tuple[dict[str, int], list]:
    app = build_app(env)
    try:
        counts = generate(app, officers=OFFICERS, seed=SEED, progress=False, **kwargs)
        assert app.recorder.max_notification_id() == counts["events"]
        return counts, read_events(app)
    finally:
        app.close()


def test_counts_match_the_store_and_the_city_has_every_kind_of_record(store_env):
    counts, events = run(store_env)
    by_type = Counter(topic for topic, _, _ in events)

    # what generate() returns is what the store holds
    assert counts["events"] == len(events)
    for kind, event_type in COUNTED_EVENTS.items():
        assert by_type[event_type] == counts[kind], kind
    assert by_type["Unit.Rated"] == counts["unit_ratings"] + counts["unit_rating_corrections"]
    assert by_type["Proceeding.Decided"] == counts["decisions"]
    transferred = Counter(f["kind"] for t, _, f in events if t == "Officer.Transferred")
    assert transferred == Counter({"transfer": counts["transfers"],
                                   "rotation": counts["rotations"]})
    claimed = Counter(f["kind"] for t, _, f in events if t == "Index.Claimed")
    assert claimed["unit-code"] == counts["units"]
    assert claimed["personnel-code"] == counts["officers"] == OFFICERS
    assert claimed["decision-ref"] == (counts["appointments"] + counts["reappointments"]
                                       + counts["decisions"] + counts["annulments"]
                                       + counts["appeals_resolved"])
    assert sum(by_type.values()) == counts["events"]

    # the minimum a demo needs
    assert counts["units"] >= 20 and counts["inspections"] >= 40
    for kind in ("decisions", "appeals", "annulments", "deferrals", "unit_merges", "dismissals",
                 "findings", "reappointments", "monthly_grades", "annual_ratings"):
        assert counts[kind] >= 1, kind
    assert any(f["rating"] == "KHTNV" for t, _, f in events if t == "AnnualRating.Recorded")
    merges = [f for t, _, f in events if t == "Unit.Merged"]
    assert {m["effective_on"] for m in merges} == {date(2025, 7, 1)}

    # officers: codes HN-000001..., Vietnamese full names, no national IDs
    registered = [f for t, _, f in events if t == "Officer.Registered"]
    assert [f["personnel_code"] for f in registered] == [
        f"HN-{n:06d}" for n in range(1, OFFICERS + 1)]
    assert all(len(f["full_name"].split()) >= 3 for f in registered)
    assert all(f["national_id"] is None and f["national_id_hash"] is None for f in registered)
    assert {f["category"] for f in registered} <= {"can_bo", "cong_chuc", "vien_chuc"}

    # who acted
    actors = {(f["actor_id"], f["actor_role"]) for _, _, f in events}
    assert ("demo-admin", "admin") in actors and ("demo-board", "board") in actors
    inspectors = {a for a, role in actors if role == "inspector"}
    assert inspectors and all(re.fullmatch(r"insp-0[1-6]", a) for a in inspectors)


def all_dates(value: Any) -> Iterator[date]:
    if isinstance(value, datetime):
        yield value.date()
    elif isinstance(value, date):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from all_dates(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from all_dates(v)


def test_the_data_obeys_the_rules_a_reader_would_check(store_env):
    """Dates not after today, forms fit the officer, discipline years rated KHTNV."""
    app = build_app(store_env)
    try:
        generate(app, officers=OFFICERS, seed=SEED, progress=False)
        reference = app.reference
        events = read_events(app)
    finally:
        app.close()

    for topic, _, fields in events:
        checked = {k: v for k, v in fields.items() if not (topic == "Proceeding.Deferred"
                                                           and k == "until")}
        assert all(d <= FIXED_TODAY for d in all_dates(checked)), (topic, fields)

    officers = {aid: f for t, aid, f in events if t == "Officer.Registered"}
    term_starts: dict[UUID, list[date]] = defaultdict(list)
    for t, aid, f in events:
        if t == "Officer.Appointed":
            term_starts[aid].append(f["term_start"])
    voided: dict[UUID, date] = {}
    for t, aid, f in events:
        if t == "Decision.Annulled":
            voided[aid] = f["annulled_on"]
        elif t == "Decision.AppealResolved" and f["outcome"] == "overturned":
            voided[aid] = f["resolved_on"]
    rating_keys: dict[UUID, tuple[UUID, int]] = {}
    ratings: dict[tuple[UUID, int], str] = {}
    for t, aid, f in events:
        if t == "AnnualRating.Recorded":
            rating_keys[aid] = (f["officer_id"], f["year"])
            ratings[rating_keys[aid]] = f["rating"]
        elif t == "AnnualRating.Corrected":
            ratings[rating_keys[aid]] = f["rating"]

    decisions = [(aid, f) for t, aid, f in events if t == "Decision.Issued"]
    assert decisions
    for aid, f in decisions:
        signed = f["decision_ref"]["signed_on"]
        entry = reference.discipline_form(f["form"], f["category"], signed)
        assert entry is not None, f
        leader = any(start <= signed for start in term_starts[f["officer_id"]])
        assert not entry.leaders_only or leader, f
        assert not entry.non_leaders_only or not leader, f
        assert not entry.elected_only, f
        assert f["effective_from"].year == signed.year
        # discipline in a year makes that year KHTNV, unless the decision was annulled or
        # overturned (before the rating, or later with a correction)
        if 2019 <= signed.year <= 2025 and aid not in voided:
            assert ratings.get((f["officer_id"], signed.year)) in (None, "KHTNV"), f
    # every rating level is valid for its year
    for (officer_id, year), rating in ratings.items():
        assert officer_id in officers
        assert reference.annual_level(rating, year) is not None, (year, rating)


def test_same_seed_same_commands_on_two_fresh_stores(store_env, tmp_path):
    counts_a, events_a = run(store_env)
    with another_store(store_env, tmp_path) as other:
        counts_b, events_b = run(other)
    assert counts_a == counts_b
    assert canonical(events_a) == canonical(events_b)


def test_another_seed_gives_another_city(tmp_path, capsys):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/other-seed.sqlite3"}
    init_database(Settings.from_env(env))
    app = build_app(env)
    try:
        generate(app, officers=OFFICERS, seed=SEED + 1, progress=True)
        names = [f["full_name"] for t, _, f in read_events(app) if t == "Officer.Registered"]
    finally:
        app.close()
    assert "demo data" in capsys.readouterr().err  # the progress bar
    env_a = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/default-seed.sqlite3"}
    init_database(Settings.from_env(env_a))
    _, events = run(env_a)
    assert names != [f["full_name"] for t, _, f in events if t == "Officer.Registered"]


def test_refuses_bad_arguments_before_appending_anything(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/refused.sqlite3"}
    init_database(Settings.from_env(env))
    app = build_app(env)
    early = AuditService(Settings.from_env(env), today=lambda: date(2025, 3, 1))
    try:
        with pytest.raises(ValueError):
            generate(app, officers=0, progress=False)
        with pytest.raises(ValueError):
            generate(early, officers=5, progress=False)
        assert not app.recorder.max_notification_id()
    finally:
        app.close()
        early.close()


def test_default_demo_city_loads_as_make_run_does(tmp_path):
    """The README's first command at full size, on the real today (the rest of the suite
    runs on FIXED_TODAY, and test_demo_every_day on every day of a year): nothing is refused."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "AUDIT_DATABASE_URL": ""}
    env.pop("AUDIT_CIPHER_KEY", None)
    env.pop("AUDIT_TODAY", None)
    for args in (["init-db"], ["demo-data", "--if-empty"]):
        done = subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    loaded = {kind: int(n) for n, kind in
              re.findall(r"(\d+) (\w+)", done.stdout.split("loaded:")[1])}
    assert loaded["officers"] == 520 and loaded["units"] >= 20
    app = AuditService(Settings.from_env({"AUDIT_DATABASE_URL":
                                          f"sqlite:///{tmp_path}/var/audit.sqlite3"}))
    assert app.recorder.max_notification_id() == loaded["events"]
    app.close()


def test_the_demo_boards_quote_the_eligibility_they_saw(store_env):
    """Each demo reappointment decision carries the hash of the eligibility answered just
    before it; an auditor's verification recomputes and matches every one."""
    from auditing.verify import verify_store
    from projections.db import ReadModelDB
    from auditing.integrity import IntegrityFollower

    app = build_app(store_env)
    db = ReadModelDB(app.settings.database)
    try:
        counts = generate(app, officers=120, seed=7, progress=False)
        assert counts["reappointments"] > 0
        from projections.projector import Projector

        Projector(app, db=db).catch_up()  # verification recomputes from the read models
        follower = IntegrityFollower(app)
        follower.catch_up()
        follower.close()
        report = verify_store(app, db)
        board = report["board"]
        assert board["decisions"] == counts["reappointments"]
        assert board["matched"] == board["decisions"] and board["mismatched"] == 0
    finally:
        db.close()
        app.close()


def test_a_second_load_of_the_same_city_appends_nothing(store_env):
    """On a store holding the complete city, generate() answers with its summary; a load made
    for another day is refused with the day to finish it on."""
    counts, events = run(store_env)
    app = build_app(store_env)
    later = AuditService(Settings.from_env(store_env), today=lambda: date(2026, 12, 1))
    try:
        assert generate(app, officers=OFFICERS, seed=SEED, progress=False) == counts
        with pytest.raises(ValueError, match="AUDIT_TODAY=2026-11-20"):
            generate(later, officers=OFFICERS, seed=SEED, progress=False)
        assert read_events(app) == events
    finally:
        app.close()
        later.close()
