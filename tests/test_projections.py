"""Projections on real stores: rebuild equals live, crash safety, as-of answers, statistics."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from audit_service.clock import local_date
from projections.projector import Projector
from projections.queries import ReadModels
from projections.readmodels import snapshot
from tests.conftest import ADMIN, BOARD, INSPECTOR, build_app
from tests.test_event_store import exercise_everything
from tests.world import build_world, ref, violation

ROOT = Path(__file__).resolve().parents[1]
RATINGS = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
CODES = ("qd522-late", "qd522-absent", "dossier-overdue", "qd522-manner-citizens")


def generate_history(app, seed: int = 7, officers: int = 40):
    """A random but valid history over a few wards: officers, findings, decisions, ratings."""
    rnd = random.Random(seed)
    w = build_world(app)
    wards = [w.ward, w.ward2]
    people = [w.officer, w.leader]
    for n in range(officers):
        people.append(app.register_officer(
            ADMIN, personnel_code=f"GEN-{n:04d}", full_name=f"Phạm Thị Gen {n}",
            category="cong_chuc", unit_id=rnd.choice(wards), position="Chuyên viên").id)
    for year in (2023, 2024):
        for person in people:
            app.record_annual_rating(BOARD, officer_id=person, year=year,
                                     rating=rnd.choice(RATINGS))
    for n in range(6):
        ward = rnd.choice(wards)
        insp = app.open_inspection(INSPECTOR, unit_id=ward, team=[], announced=bool(n % 2),
                                   started_on=f"2024-0{n + 1}-03").id
        for k in range(4):
            f = app.record_finding(INSPECTOR, insp, officer_id=rnd.choice(people + [None]),
                                   conduct_code=rnd.choice(CODES), description=f"Phát hiện {k}",
                                   observed_at=f"2024-0{n + 1}-0{k + 4}T09:00:00+07:00").id
            if k == 3:
                app.withdraw_finding(INSPECTOR, insp, f, reason="Nhầm")
    for n, person in enumerate(rnd.sample(people, 10)):
        p = app.open_proceeding(BOARD, officer_id=person, opened_on="2024-08-01",
                                violations=[violation("2024-07-01")])
        d = app.decide_proceeding(BOARD, p.id, form=rnd.choice(("khien_trach", "canh_cao")),
                                  decision_ref=ref(str(100 + n), "2024-09-01"),
                                  effective_from="2024-09-01")
        if n % 4 == 1:
            app.annul_decision(BOARD, d.id, reason="Sai", decision_ref=ref(str(200 + n),
                                                                           "2024-10-01"))
    app.rate_unit(ADMIN, w.ward, year=2024, rating="weak")
    return w, people


def test_rebuild_equals_live(store_env):
    app = build_app(store_env)
    projector = Projector(app, batch_size=7)
    w, _ = generate_history(app)
    projector.catch_up()
    exercise_more = app.record_monthly_grade(BOARD, officer_id=w.officer, period="2024-06",
                                             score=64)
    projector.run_once()
    live = snapshot(projector.db)
    assert sum(len(v) for v in live.values()) > 300
    position = projector.rebuild()
    assert position == exercise_more.position
    assert snapshot(projector.db) == live
    # A second rebuild (fresh index names) gives the same again, and the projector continues.
    projector.rebuild(["officer_timeline"])
    assert snapshot(projector.db) == live
    app.record_monthly_grade(BOARD, officer_id=w.officer, period="2024-07", score=95)
    assert projector.catch_up() == 1
    assert {s.behind for s in projector.status()} == {0}
    app.close()


def test_rebuild_of_unknown_projection_is_refused(store_env):
    app = build_app(store_env)
    with pytest.raises(ValueError, match="unknown projection"):
        Projector(app).rebuild(["nope"])
    app.close()


def test_killed_projector_resumes_without_duplicates_or_gaps(store_env):
    app = build_app(store_env)
    generate_history(app, officers=120)
    head = app.recorder.max_notification_id()
    env = {**os.environ, **store_env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", "project", "--batch-size", "3"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    projector = Projector(app)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            position = min(projector.positions().values())
            if position > 30:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = min(projector.positions().values())
    assert 0 < killed_at < head, "the projector must be killed part-way through"
    resumed = subprocess.run([sys.executable, "-m", "scripts.cli", "project", "--until-caught-up"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    live = snapshot(projector.db)
    projector.rebuild()
    assert snapshot(projector.db) == live
    app.close()


def instant_after(moment: datetime) -> datetime:
    """The clock's first reading later than ``moment`` (polls the clock; no fixed sleep)."""
    while (now := datetime.now(timezone.utc)) <= moment:
        time.sleep(0.001)
    return now


def test_as_of_answers_ignore_later_corrections(store_env):
    app = build_app(store_env)
    w = build_world(app)
    projector = Projector(app)
    app.record_annual_rating(BOARD, officer_id=w.leader, year=2023, rating="KHTNV")
    projector.catch_up()
    models = ReadModels(projector.db, app.reference)
    before = models.eligibility(w.leader, on="2026-01-15")
    assert before["verdict"] == "not_eligible"
    t = instant_after(datetime.now(timezone.utc))  # later than the rating's recording
    instant_after(t)  # and the correction is recorded later than t
    app.correct_annual_rating(BOARD, officer_id=w.leader, year=2023, rating="HTNV",
                              reason="Nhập nhầm")
    projector.catch_up()
    today = models.eligibility(w.leader, on="2026-01-15")
    then = models.eligibility(w.leader, on="2026-01-15", as_of=t)
    assert today["verdict"] == "eligible"
    assert then["verdict"] == "not_eligible" and then["hash"] != today["hash"]
    assert then["reasons"] == before["reasons"]
    # History: the rating row is 'corrected' today and 'active' as of T.
    rating_rows = lambda h: [e for e in h["entries"] if e["event_type"] == "AnnualRating.Recorded"]
    assert rating_rows(models.history(w.leader))[0]["status"] == "corrected"
    assert rating_rows(models.history(w.leader, as_of=t))[0]["status"] == "active"
    assert len(models.history(w.leader, as_of=t)["entries"]) + 1 == \
        len(models.history(w.leader)["entries"])
    # Statistics: the distribution as of T still shows KHTNV.
    assert models.unit_statistics(w.ward, 2023, as_of=t)["rating_distribution"] == {"KHTNV": 1}
    assert models.unit_statistics(w.ward, 2023)["rating_distribution"] == {"HTNV": 1}
    app.close()


def test_statistics_match_counts_from_raw_events(store_env):
    app = build_app(store_env)
    w, _ = generate_history(app, seed=11)
    projector = Projector(app)
    projector.catch_up()
    stats = ReadModels(projector.db, app.reference).unit_statistics(w.city, 2024)
    # Independent count straight from the decoded log.
    events = [app.mapper.to_domain_event(n)
              for n in app.recorder.select_notifications(start=1, limit=100_000)]
    kind = lambda e: type(e).__qualname__
    inspections = sum(1 for e in events if kind(e) == "Inspection.Opened"
                      and e.started_on.year == 2024)
    withdrawn = {e.finding_id for e in events if kind(e) == "Inspection.FindingWithdrawn"}
    findings = [e for e in events if kind(e) == "Inspection.FindingRecorded"
                and local_date(e.observed_at).year == 2024 and e.finding_id not in withdrawn]
    annulled = {e.originator_id for e in events if kind(e) == "Decision.Annulled"}
    decisions = [e for e in events if kind(e) == "Decision.Issued"
                 and e.effective_from.year == 2024 and e.originator_id not in annulled]
    ratings = Counter(e.rating for e in events if kind(e) == "AnnualRating.Recorded"
                      and e.year == 2024)
    assert stats["inspections"] == inspections and inspections >= 6
    assert stats["findings"] == len(findings)
    assert stats["findings_by_conduct_code"] == dict(Counter(f.conduct_code for f in findings))
    assert stats["officers_with_findings"] == len({f.officer_id for f in findings if f.officer_id})
    assert stats["officers_disciplined"] == len({d.officer_id for d in decisions})
    assert stats["disciplined_by_form"] == {
        form: len({d.officer_id for d in decisions if d.form == form})
        for form in {d.form for d in decisions}}
    assert stats["rating_distribution"] == dict(ratings)
    assert stats["proceedings_opened"] == sum(
        1 for e in events if kind(e) == "Proceeding.Opened" and e.opened_on.year == 2024)
    # The ward alone counts less than the city with its subunits.
    ward_only = ReadModels(projector.db, app.reference).unit_statistics(w.ward, 2024,
                                                                       subunits=False)
    assert ward_only["units_counted"] == 1
    assert ward_only["inspections"] <= stats["inspections"]
    app.close()


def test_rotation_from_weak_ward_is_flagged(store_env):
    app = build_app(store_env)
    w = build_world(app)
    app.rate_unit(ADMIN, w.ward, year=2024, rating="weak", source="QĐ 9/QĐ-UBND")
    projector = Projector(app)
    projector.catch_up()
    models = ReadModels(projector.db, app.reference)
    district = models.unit(w.ward)["parent_id"]
    flag = models.rotation_check(w.ward, district)
    assert flag is not None and flag["rule_id"] == "weak-ward-rotation"
    assert models.rotation_check(w.ward, w.ward2) is None  # same level: not a move up
    app.close()


def test_history_entries_carry_both_times_actor_and_summaries(store_env):
    app = build_app(store_env)
    w = exercise_everything(app)
    projector = Projector(app)
    projector.catch_up()
    history = ReadModels(projector.db, app.reference).history(w.officer)
    statuses = Counter(e["status"] for e in history["entries"])
    assert statuses["annulled"] >= 4 and statuses["corrected"] >= 3
    for entry in history["entries"]:
        assert entry["recorded_at"].endswith("+00:00")
        assert entry["actor"]["id"] and entry["actor"]["role"]
        assert entry["summary_vi"] and entry["summary_en"]
        assert "national_id" not in entry["data"]
    positions = [e["position"] for e in history["entries"]]
    assert positions == sorted(positions)
    app.close()


def test_standing_lists_effects_in_force_and_open_cases(store_env):
    app = build_app(store_env)
    w = build_world(app)
    p = app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2024-08-01",
                            violations=[violation("2024-07-01")])
    app.decide_proceeding(BOARD, p.id, form="canh_cao", decision_ref=ref("7", "2024-09-01"),
                          effective_from="2024-09-01")
    app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2025-02-01",
                        violations=[violation("2025-01-10")])
    app.record_annual_rating(BOARD, officer_id=w.officer, year=2024, rating="KHTNV")
    projector = Projector(app)
    projector.catch_up()
    models = ReadModels(projector.db, app.reference)
    from datetime import date

    standing = models.standing(w.officer, on=date(2025, 3, 1))
    state_effects = [e for e in standing["effects_in_force"] if e["scope"] == "state"]
    assert [(e["form"], e["from"], e["until"]) for e in state_effects] == \
        [("canh_cao", "2024-09-01", "2025-09-01")]
    assert len(standing["open_proceedings"]) == 1
    assert standing["ratings"] == {"2024": "KHTNV"}
    assert standing["unit_id"] == str(w.ward)
    later = models.standing(w.officer, on=date(2025, 10, 1))
    assert not [e for e in later["effects_in_force"] if e["scope"] == "state"]
    app.close()
