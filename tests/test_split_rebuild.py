"""A rebuild split between processes (PostgreSQL) gives the rows of the live projector, takes
the events after its load in the swap, fails whole when a helper dies, and keeps its lookups'
overflow in a temporary file."""
from __future__ import annotations

import signal

import pytest

from auditing.bootstrap import init_database
from audit_service.config import Settings
from audit_service.domain import AnnualRating, MonthlyGrade
from audit_service.errors import RuleViolation
from projections import projector as projector_module
from projections import readmodels
from projections.projector import (Projector, RebuildHelpers, main_share_weight, share_of,
                                  split_shares)
from tests.conftest import BOARD, INSPECTOR, build_app
from projections.readmodels import snapshot
from tests.test_projections import generate_history
from tests.test_rebuild_batching import indexes, project_from_scratch


@pytest.fixture
def pg_store(pg_env):
    init_database(Settings.from_env(pg_env))
    return pg_env


def correct_rating(app, officer, year: int) -> None:
    """Correct a generated (random) rating to another one."""
    try:
        app.correct_annual_rating(BOARD, officer_id=officer, year=year, rating="HTXSNV",
                                  reason="Xét lại")
    except RuleViolation:  # it was HTXSNV already
        app.correct_annual_rating(BOARD, officer_id=officer, year=year, rating="HTNV",
                                  reason="Xét lại")


def history_with_corrections_in_every_share(app, splits=(2, 3)):
    """A generated history, a finding moved and withdrawn, and corrected grades and ratings
    in every process of each split (with equal shares: see ``equal_shares``)."""
    w, people = generate_history(app)
    inspection = app.open_inspection(INSPECTOR, unit_id=w.ward, team=[], announced=True,
                                     started_on="2024-09-02").id
    finding = app.record_finding(INSPECTOR, inspection, officer_id=people[0],
                                 conduct_code="qd522-late", description="Đến muộn",
                                 observed_at="2024-09-03T08:40:00+07:00").id
    app.correct_finding(INSPECTOR, inspection, finding, reason="Nhầm người",
                        officer_id=people[1])
    app.withdraw_finding(INSPECTOR, inspection, finding, reason="Không vi phạm")
    wanted = {(parts, k) for parts in splits for k in range(parts)}
    hit: set[tuple[int, int]] = set()
    for person in people:
        grade = share_of(MonthlyGrade.id_for(person, "2024-05"))
        rating = share_of(AnnualRating.id_for(person, 2024))
        owners = {(parts, k) for parts in splits
                  for k, share in enumerate(split_shares(parts)) if {grade, rating} & share}
        if owners <= hit:
            continue
        app.record_monthly_grade(BOARD, officer_id=person, period="2024-05", score=61)
        app.correct_monthly_grade(BOARD, officer_id=person, period="2024-05", score=81,
                                  reason="Chấm lại")
        correct_rating(app, person, 2024)
        hit |= owners
        if hit == wanted:
            break
    assert hit == wanted, "every process must meet a correction"
    return w, people, finding


@pytest.fixture
def equal_shares(monkeypatch):
    """Processes get equal shares, whatever the log, so a test knows who applies what."""
    monkeypatch.setattr(projector_module, "main_share_weight", lambda *args: 1.0)


def test_split_rebuild_equals_live_and_keeps_the_keys_and_indexes(pg_store, equal_shares):
    app = build_app(pg_store)
    projector = Projector(app, batch_size=7)
    history_with_corrections_in_every_share(app)
    tables = [t for cls in readmodels.PROJECTIONS for t in cls.tables]
    created = {t: indexes(projector.db, t) for t in tables}
    projector.catch_up()
    live = snapshot(projector.db)
    assert sum(len(rows) for rows in live.values()) > 300
    head = app.recorder.max_notification_id()
    for workers in (2, 3):
        assert projector.rebuild(workers=workers) == head
        assert snapshot(projector.db) == live, f"{workers} processes"
        assert {t: indexes(projector.db, t) for t in tables} == created
    # Only the timeline splits; rebuilding another projection alone with workers is plain.
    assert projector.rebuild(["unit_statistics"], workers=2) == head
    assert snapshot(projector.db) == live
    app.close()


def test_events_after_the_load_are_applied_in_the_swap(pg_store, equal_shares, monkeypatch):
    app = build_app(pg_store)
    w, people = generate_history(app)
    helper = split_shares(2)[1]
    # An inspection, a grade and a rating loaded by the helper, changed after the load: the
    # main process applies the changes, looking up what the helper wrote.
    while True:
        inspection = app.open_inspection(INSPECTOR, unit_id=w.ward, team=[], announced=True,
                                         started_on="2024-10-01").id
        if share_of(inspection) in helper:
            break
    finding = app.record_finding(INSPECTOR, inspection, officer_id=people[3],
                                 conduct_code="qd522-absent", description="Vắng mặt",
                                 observed_at="2024-10-02T09:00:00+07:00").id
    graded = next(p for p in people if share_of(MonthlyGrade.id_for(p, "2024-10")) in helper)
    rated = next(p for p in people if share_of(AnnualRating.id_for(p, 2024)) in helper)
    app.record_monthly_grade(BOARD, officer_id=graded, period="2024-10", score=55)
    projector = Projector(app, batch_size=9)
    join = RebuildHelpers.join
    arrived = []

    def events_arrive_during_the_load(self):
        arrived.append(app.withdraw_finding(INSPECTOR, inspection, finding, reason="Có phép"))
        app.correct_monthly_grade(BOARD, officer_id=graded, period="2024-10", score=75,
                                  reason="Chấm lại")
        correct_rating(app, rated, 2024)
        app.record_monthly_grade(BOARD, officer_id=people[6], period="2024-11", score=90)
        join(self)

    monkeypatch.setattr(RebuildHelpers, "join", events_arrive_during_the_load)
    position = projector.rebuild(workers=2)
    monkeypatch.undo()
    assert arrived and position == app.recorder.max_notification_id()
    rebuilt = snapshot(projector.db)
    withdrawn = projector.db.fetchall("SELECT officer_id FROM officer_timeline WHERE"
                                      " event_type = 'Inspection.FindingWithdrawn'"
                                      " AND subject_id = ?", (str(finding),))
    assert withdrawn == [(str(people[3]),)]
    # The same log projected live, from scratch, one small batch at a time.
    project_from_scratch(projector)
    assert snapshot(projector.db) == rebuilt
    app.close()


def test_a_helper_that_dies_fails_the_rebuild_and_leaves_the_live_tables(pg_store, monkeypatch):
    app = build_app(pg_store)
    generate_history(app)
    projector = Projector(app, batch_size=5)
    projector.catch_up()
    live = snapshot(projector.db)
    assign = RebuildHelpers.assign

    def killed_once_given_their_task(self, *args):
        assign(self, *args)
        for process, _ in self.processes:
            process.send_signal(signal.SIGKILL)

    monkeypatch.setattr(RebuildHelpers, "assign", killed_once_given_their_task)
    with pytest.raises(RuntimeError, match="rebuild helper exited with -9"):
        projector.rebuild(workers=2)
    monkeypatch.undo()
    assert snapshot(projector.db) == live
    assert {s.behind for s in projector.status()} == {0}
    assert projector.rebuild(workers=2) == app.recorder.max_notification_id()
    assert snapshot(projector.db) == live
    app.close()


def test_shares_deal_out_every_residue_once():
    for parts in (1, 2, 3, 5, 64, 100):
        shares = split_shares(parts)
        assert len(shares) == min(parts, 64) and all(shares)
        assert sorted(r for share in shares for r in share) == list(range(64))
    # The main process's part is weighed by what else it does.
    main, helper = split_shares(2, 0.5)
    assert len(main) == 16 and len(helper) == 48
    assert len(split_shares(3, 0.0)[0]) == 1, "at least one residue"


def test_the_main_process_takes_less_the_more_else_it_does():
    assert main_share_weight(1, 50, 100) == 1.0
    assert main_share_weight(2, 0, 100) == 1.0
    assert main_share_weight(2, 10, 100) == pytest.approx(0.9)
    assert main_share_weight(3, 10, 100) == pytest.approx(0.8)
    assert main_share_weight(2, 33, 100) == pytest.approx(0.67)
    assert main_share_weight(2, 200, 100) == 0.0
    assert main_share_weight(2, 5, 0) == 1.0


def test_rebuild_command_with_workers(store_env):
    """The operator's command: a split rebuild on PostgreSQL, a single process on SQLite, the
    same rows as the live projector either way."""
    import os
    import subprocess
    import sys

    from tests.test_projections import ROOT

    app = build_app(store_env)
    generate_history(app, officers=10)
    projector = Projector(app)
    projector.catch_up()
    live = snapshot(projector.db)
    env = {**os.environ, **store_env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "scripts.cli", "projections", "rebuild",
                           "--workers", "2"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    head = app.recorder.max_notification_id()
    assert f"rebuilt all projections up to position {head}" in done.stdout
    assert snapshot(projector.db) == live
    refused = subprocess.run([sys.executable, "-m", "scripts.cli", "projections", "rebuild",
                              "--workers", "0"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2 and "--workers" in refused.stderr
    app.close()


def test_a_helper_whose_rebuild_has_gone_stops(pg_store):
    import os

    from projections import rebuild_share
    from projections.projector import SHADOW
    from projections.readmodels import OfficerTimeline

    app = build_app(pg_store)
    generate_history(app, officers=10)
    projector = Projector(app)
    shadow = OfficerTimeline(app.reference, suffix=SHADOW)
    shadow.drop(projector.db)
    shadow.create(projector.db, token="gone", deferred=True)
    task = {"settings": app.settings, "env": dict(app.env), "names": ["officer_timeline"],
            "database": app.settings.database, "token": "gone",
            "head": app.recorder.max_notification_id(),
            "share": split_shares(2)[1], "batch_size": 10, "parent": os.getppid()}
    rebuild_share.load_share(task)  # its parent is this process's parent: it runs to the end
    loaded = projector.db.fetchone(f"SELECT COUNT(*) FROM officer_timeline{SHADOW}")[0]
    assert loaded > 0
    shadow.drop(projector.db)
    shadow.create(projector.db, token="gone", deferred=True)
    task["parent"] = os.getppid() + 1_000_000  # not its parent: the rebuild has gone
    with pytest.raises(rebuild_share.ParentGone):
        rebuild_share.load_share(task)
    # it stopped after one batch and committed nothing (its COPY was abandoned)
    assert projector.db.fetchone(f"SELECT COUNT(*) FROM officer_timeline{SHADOW}")[0] == 0
    shadow.drop(projector.db)
    app.close()
