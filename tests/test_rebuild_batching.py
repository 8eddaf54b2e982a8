"""Batched projection writes: a failed flush keeps nothing, lookups that must read the tables
agree with the in-memory ones, and a rebuilt table has the keys and indexes of a new one."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from projections import readmodels
from projections.db import ReadModelDB
from projections.projector import Projector, create_tables
from projections.readmodels import PROJECTIONS, event_data, iso_ts, snapshot, to_json
from projections.summaries import summarize
from projections.timeline import jsonable
from tests.conftest import BOARD, INSPECTOR, build_app
from tests.test_event_store import exercise_everything
from tests.test_projections import generate_history


def row_counts(db) -> dict[str, int]:
    return {table: db.fetchone(f"SELECT COUNT(*) FROM {table}")[0]
            for cls in PROJECTIONS for table in cls.tables}


def project_from_scratch(projector: Projector) -> None:
    """Empty read models at position 0, then the live projector over the whole log."""
    for cls in PROJECTIONS:
        cls(projector.app.reference).drop(projector.db)
    create_tables(projector.db)
    projector.db.execute("UPDATE projection_positions SET position = 0")
    projector.catch_up()


def own_positions(projector: Projector) -> set[int]:
    positions = projector.positions()
    return {positions[p.name] for p in projector.projections}


def indexes(db, table: str) -> set[tuple[bool, tuple[str, ...]]]:
    """(unique, columns) of every index on ``table``, whatever it is named."""
    if db.kind == "sqlite":
        found = set()
        for _, name, unique, *_ in db.fetchall(f"PRAGMA index_list({table})"):
            columns = tuple(r[2] for r in db.fetchall(f"PRAGMA index_info({name})"))
            found.add((bool(unique), columns))
        return found
    rows = db.fetchall("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                       " AND tablename = ?", (table,))
    return {(" UNIQUE " in d,
             tuple(c.strip().strip('"') for c in d.rsplit("(", 1)[1].rstrip(")").split(",")))
            for (d,) in rows}


def moved_finding_history(app):
    """Every event type, then a finding moved from one officer to another and withdrawn, and
    corrections of grades and ratings (lookups the rebuild answers from the tables)."""
    w = exercise_everything(app)
    inspection = app.open_inspection(INSPECTOR, unit_id=w.ward, team=[], announced=True,
                                     started_on="2024-09-02").id
    finding = app.record_finding(INSPECTOR, inspection, officer_id=w.officer,
                                 conduct_code="qd522-late", description="Đến muộn",
                                 observed_at="2024-09-03T08:40:00+07:00").id
    app.correct_finding(INSPECTOR, inspection, finding, reason="Nhầm người",
                        officer_id=w.leader)
    app.withdraw_finding(INSPECTOR, inspection, finding, reason="Không vi phạm")
    for person in (w.officer, w.leader):
        app.record_monthly_grade(BOARD, officer_id=person, period="2024-08", score=70)
        app.record_annual_rating(BOARD, officer_id=person, year=2024, rating="HTNV")
    for person in (w.officer, w.leader):
        app.correct_monthly_grade(BOARD, officer_id=person, period="2024-08", score=88,
                                  reason="Chấm lại")
        app.correct_annual_rating(BOARD, officer_id=person, year=2024, rating="HTTNV",
                                  reason="Xét lại")
    return w, finding


def test_a_batch_that_fails_mid_flush_leaves_no_rows_and_no_position(store_env, monkeypatch):
    app = build_app(store_env)
    generate_history(app, officers=10)
    head = app.recorder.max_notification_id()
    projector = Projector(app, batch_size=10_000)
    written: list[str] = []
    insert_rows = ReadModelDB.insert_rows

    def fail_on_the_second_table(self, table, rows):
        written.append(table)
        if len(written) == 2:
            # the database's fault (not the events'): the batch is tried again later, never
            # applied event by event and quarantined
            raise sqlite3.OperationalError("database or disk is full")
        insert_rows(self, table, rows)

    monkeypatch.setattr(ReadModelDB, "insert_rows", fail_on_the_second_table)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        projector.run_once()
    assert len(written) == 2, "one table was sent before the failure"
    assert own_positions(projector) == {0}
    assert set(row_counts(projector.db).values()) == {0}
    monkeypatch.undo()
    assert projector.catch_up() == head
    assert own_positions(projector) == {head}
    live = snapshot(projector.db)
    projector.rebuild()
    assert snapshot(projector.db) == live
    app.close()


def test_a_rebuild_that_fails_part_way_leaves_the_live_tables(store_env, monkeypatch):
    app = build_app(store_env)
    generate_history(app)
    projector = Projector(app, batch_size=20)
    projector.catch_up()
    live = snapshot(projector.db)
    apply_batch = Projector._apply_batch
    batches: list[int] = []

    def fail_on_the_fifth_batch(self, *args):
        batches.append(1)
        if len(batches) == 5:
            raise RuntimeError("boom")
        apply_batch(self, *args)

    monkeypatch.setattr(Projector, "_apply_batch", fail_on_the_fifth_batch)
    with pytest.raises(RuntimeError, match="boom"):
        projector.rebuild()
    monkeypatch.undo()
    assert snapshot(projector.db) == live
    assert projector.rebuild() == app.recorder.max_notification_id()
    assert snapshot(projector.db) == live
    app.close()


def test_lookups_from_the_tables_agree_with_lookups_in_memory(store_env, monkeypatch):
    app = build_app(store_env)
    w, finding = moved_finding_history(app)
    # Live, one event per batch: every lookup not written in the same batch reads the tables.
    projector = Projector(app, batch_size=1)
    projector.catch_up()
    live = snapshot(projector.db)
    withdrawn = projector.db.fetchall("SELECT officer_id FROM officer_timeline WHERE"
                                      " event_type = 'Inspection.FindingWithdrawn' AND"
                                      " subject_id = ?", (str(finding),))
    assert withdrawn == [(str(w.leader),)], "the finding concerns the corrected officer"
    # A rebuild never reads its half-loaded tables: lookups answer from memory, and the
    # officer of a corrected grade or rating comes from the grade's first event in the log.
    reads, firsts = [], []
    read, first_event = readmodels.Projection._read, Projector.first_event
    monkeypatch.setattr(readmodels.Projection, "_read",
                        lambda self, *a: reads.append(a) or read(self, *a))
    monkeypatch.setattr(Projector, "first_event",
                        lambda self, oid: firsts.append(oid) or first_event(self, oid))
    projector = Projector(app, batch_size=4)
    projector.rebuild()
    assert snapshot(projector.db) == live
    corrections = [n for n in app.recorder.select_notifications(start=1, limit=100_000)
                   if n.topic.endswith(("MonthlyGrade.Corrected", "AnnualRating.Corrected"))]
    assert reads == [] and len(firsts) == len(corrections) >= 4
    monkeypatch.undo()
    # With room for 2 keys in memory, a rebuild's lookups move the rest to a temporary file
    # and find them there.
    spilled, found = [], []
    put_many, get = readmodels.SpillStore.put_many, readmodels.SpillStore.get

    def counted_put(self, space, items):
        items = list(items)
        spilled.extend(key for key, _ in items)
        put_many(self, space, items)

    def counted_get(self, space, key):
        answer = get(self, space, key)
        found.append(answer[0])
        return answer

    monkeypatch.setattr(readmodels, "SPILL_KEYS", 2)
    monkeypatch.setattr(readmodels.SpillStore, "put_many", counted_put)
    monkeypatch.setattr(readmodels.SpillStore, "get", counted_get)
    projector.rebuild()
    assert snapshot(projector.db) == live
    assert str(w.officer) in spilled and any(found), "keys went to the file and came back"
    # Live, with tiny lookups, the projector soon drops them and reads the tables instead.
    monkeypatch.setattr(readmodels, "LOOKUP_LIMIT", 3)
    projector.batch_size = 10_000
    project_from_scratch(projector)
    assert snapshot(projector.db) == live
    app.close()


def test_a_rebuilt_table_has_the_keys_and_indexes_of_a_new_one(store_env):
    app = build_app(store_env)
    generate_history(app, officers=10)
    projector = Projector(app, batch_size=10)
    tables = [table for cls in PROJECTIONS for table in cls.tables]
    created = {table: indexes(projector.db, table) for table in tables}
    assert (True, ("officer_id", "position")) in created["officer_timeline"]
    assert (False, ("subject_id", "position")) in created["officer_timeline"]
    for _ in range(2):
        projector.rebuild()
        assert {table: indexes(projector.db, table) for table in tables} == created
    app.close()


def test_cached_summaries_are_the_summaries(store_env):
    app = build_app(store_env)
    moved_finding_history(app)
    projector = Projector(app)
    projector.catch_up()
    columns = ("position", "event_type", "recorded_at", "occurred_on", "subject_id", "actor_id",
               "actor_role", "summary_vi", "summary_en", "data")
    rows = projector.db.fetchall(f"SELECT {', '.join(columns)} FROM officer_timeline")
    assert len(rows) > 30
    for values in rows:
        row = dict(zip(columns, values))
        row["data"] = json.loads(row["data"])
        assert summarize(row, app.reference) == (row["summary_vi"], row["summary_en"])
    app.close()


def test_fast_encodings_match_the_plain_ones(store_env):
    app = build_app(store_env)
    exercise_everything(app)
    for n in app.recorder.select_notifications(start=1, limit=10_000):
        event = app.mapper.to_domain_event(n)
        plain = {k: jsonable(v) for k, v in event.__dict__.items()
                 if k not in readmodels.SKIP_FIELDS}
        assert event_data(event) == plain
        assert to_json(plain) == json.dumps(plain, ensure_ascii=False, sort_keys=True)
    app.close()
    moments = [datetime(2024, 3, 1, 8, 45, 0, 123456, tzinfo=timezone.utc),
               datetime(2024, 3, 1, 8, 45, 0, 0, tzinfo=timezone.utc),
               datetime(2024, 3, 1, 8, 45, 0, 7, tzinfo=timezone(timedelta(hours=7))),
               datetime(999, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)]
    for moment in moments:
        assert iso_ts(moment) == moment.astimezone(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f+00:00")
    data = {"b": [1, 2.5, None, True], "a": {"z": "Nguyễn \"Văn\"\n", "y": -0.0}, "c": 1e300}
    assert to_json(data) == json.dumps(data, ensure_ascii=False, sort_keys=True)
