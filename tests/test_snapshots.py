"""Aggregates that grow load from a snapshot: a command reads a bounded number of events
however long the aggregate's history, snapshots never enter the log, and two service
instances on one store (two workers or hosts) see each other's writes."""
from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from audit_service.application import AuditService
SNAPSHOTS_TABLE = {"sqlite": "stored_snapshots", "postgresql": "auditservice_snapshots"}
from audit_service.errors import Conflict, RuleViolation
from projections.db import ReadModelDB
from tests.conftest import ADMIN, BOARD, INSPECTOR, build_app, event_count
from tests.world import build_world, ref, violation

INTERVAL = 50


class NoSnapshots(AuditService):
    """The same service loading from events alone: what a snapshot must agree with."""

    name = AuditService.name
    snapshotting_intervals = {}


def _finding(app: AuditService, inspection: UUID, officer: UUID, n: int) -> UUID:
    return app.record_finding(INSPECTOR, inspection, officer_id=officer, conduct_code="qd522-late",
                              description=f"Đến muộn lần {n}",
                              observed_at="2024-03-02T08:45:00+07:00").id


def _events_read(app: AuditService, aggregate_id: UUID) -> int:
    """How many stored events loading the aggregate decodes (snapshots not counted), however
    they are read (the library's two queries or ``audit_service.loading``'s one)."""
    mapper = app.repository.event_store.mapper
    seen = []
    original = mapper.to_domain_event

    def counting(stored):
        if "Snapshot" not in stored.topic:
            seen.append(stored)
        return original(stored)

    mapper.to_domain_event = counting
    try:
        app.repository.get(aggregate_id)
    finally:
        del mapper.to_domain_event
    return len(seen)


def _snapshot_rows(env: dict) -> int:
    from audit_service.config import Settings

    settings = Settings.from_env(env)
    db = ReadModelDB(settings.database)
    try:
        return int(db.fetchone(f"SELECT count(*) FROM {SNAPSHOTS_TABLE[settings.database.kind]}")[0])
    finally:
        db.close()


def test_a_long_inspection_loads_from_its_snapshot_and_snapshots_stay_out_of_the_log(
        app, store_env):
    w = build_world(app)
    ids = [_finding(app, w.inspection, w.officer, n) for n in range(130)]
    # The inspection has 132 events; its latest snapshot is at version 100 or later.
    assert app.get_inspection(w.inspection).version == 132
    assert _events_read(app, w.inspection) < INTERVAL
    assert _snapshot_rows(store_env) >= 2
    # The notification log holds the events and nothing else.
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    assert len(notifications) == event_count(app)
    assert not any("Snapshot" in n.topic for n in notifications)
    # Loaded from the snapshot, the state equals the state replayed from every event.
    plain = NoSnapshots(app.settings, today=app.today)
    try:
        assert plain.snapshots is None
        fast, slow = app.get_inspection(w.inspection), plain.get_inspection(w.inspection)
        assert dict(fast.findings) == dict(slow.findings)
        assert list(fast.findings) == list(slow.findings) == [w.finding, *ids]
        assert vars(fast).keys() == vars(slow).keys()
    finally:
        plain.close()


def test_corrections_and_withdrawals_of_snapshotted_findings(app):
    w = build_world(app)
    ids = [_finding(app, w.inspection, w.officer, n) for n in range(60)]
    app.correct_finding(INSPECTOR, w.inspection, ids[2], reason="Sai giờ",
                        description="Đến muộn 30 phút")
    app.withdraw_finding(INSPECTOR, w.inspection, ids[3], reason="Nhầm người")
    ids.extend(_finding(app, w.inspection, w.officer, n) for n in range(60, 100))
    inspection = app.get_inspection(w.inspection)
    assert inspection.finding(ids[2])["description"] == "Đến muộn 30 phút"
    assert inspection.finding(ids[2])["officer_id"] == w.officer
    assert inspection.finding(ids[3])["status"] == "withdrawn"
    assert inspection.finding(ids[3])["description"] == "Đến muộn lần 3"
    assert inspection.finding(ids[4])["status"] == "active"
    with pytest.raises(RuleViolation) as err:
        app.withdraw_finding(INSPECTOR, w.inspection, ids[3], reason="Lần nữa")
    assert err.value.code == "finding_withdrawn"
    with pytest.raises(RuleViolation) as err:
        app.correct_finding(INSPECTOR, w.inspection, ids[4], reason="Không đổi",
                            description="Đến muộn lần 4")
    assert err.value.code == "correction_changes_nothing"
    # A proceeding may cite a finding kept in the snapshot, not a withdrawn one.
    p = app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2024-03-10", violations=[
        violation("2024-03-02", finding_id=str(ids[5]), inspection_id=str(w.inspection))])
    assert p.id
    with pytest.raises(RuleViolation) as err:
        app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2024-03-10", violations=[
            violation("2024-03-02", finding_id=str(ids[3]), inspection_id=str(w.inspection))])
    assert err.value.code == "finding_withdrawn"


def test_appeals_across_snapshots(app):
    w = build_world(app)
    p = app.open_proceeding(BOARD, officer_id=w.officer, opened_on="2024-03-10",
                            violations=[violation("2024-03-01")])
    d = app.decide_proceeding(BOARD, p.id, form="canh_cao", decision_ref=ref("3", "2024-04-01"),
                              effective_from="2024-04-01").id
    appeals = []
    for n in range(30):  # 60 events: snapshot at version 50 lands after a lodging
        a = app.lodge_appeal(BOARD, d, lodged_on="2024-04-05", grounds=f"Lần {n}").id
        appeals.append(a)
        if n < 24:
            app.resolve_appeal(BOARD, d, a, outcome="upheld", resolved_on="2024-05-01")
        else:
            # Version 50 is this lodging: the pending appeal sits in the snapshot.
            assert app.get_decision(d).version == 50
            with pytest.raises(RuleViolation) as err:
                app.lodge_appeal(BOARD, d, lodged_on="2024-04-05", grounds="Chồng chéo")
            assert err.value.code == "appeal_pending"
            with pytest.raises(RuleViolation) as err:
                app.resolve_appeal(BOARD, d, a, outcome="upheld", resolved_on="2024-04-01")
            assert err.value.code == "resolution_before_appeal"
            app.resolve_appeal(BOARD, d, a, outcome="upheld", resolved_on="2024-05-01")
            break
    decision = app.get_decision(d)
    assert _events_read(app, d) < INTERVAL
    assert [decision.appeals[a]["outcome"] for a in appeals] == ["upheld"] * 25
    with pytest.raises(RuleViolation) as err:
        app.resolve_appeal(BOARD, d, appeals[0], outcome="upheld", resolved_on="2024-05-01")
    assert err.value.code == "appeal_resolved"
    plain = NoSnapshots(app.settings, today=app.today)
    try:
        assert dict(plain.get_decision(d).appeals) == dict(decision.appeals)
    finally:
        plain.close()


def test_unit_ratings_keep_their_year_keys_through_a_snapshot(app):
    w = build_world(app)
    app.rate_unit(ADMIN, w.ward, year=2023, rating="strong")
    for n in range(50):
        app.rename_unit(ADMIN, w.ward, new_name=f"Phường Quảng An {n}", effective_on="2024-01-01")
    assert _events_read(app, w.ward) < INTERVAL
    assert app.get_unit(w.ward).ratings == {2023: "strong"}
    with pytest.raises(RuleViolation) as err:
        app.rate_unit(ADMIN, w.ward, year=2023, rating="weak")
    assert err.value.code == "unit_rating_exists"


def test_an_officer_with_many_transfers_loads_a_bounded_number_of_events(app):
    w = build_world(app)
    for n in range(120):
        app.transfer_officer(ADMIN, w.officer, to_unit_id=w.ward2 if n % 2 == 0 else w.ward,
                             effective_on="2024-02-01", decision_ref=ref(f"T{n}", "2024-01-20"))
    assert _events_read(app, w.officer) < INTERVAL
    assert app.get_officer(w.officer).unit_id == w.ward


def test_a_failed_snapshot_never_fails_the_saved_command(app, monkeypatch):
    w = build_world(app)

    def broken(*args, **kwargs):
        raise RuntimeError("snapshot table unavailable")

    monkeypatch.setattr(app.snapshots, "put", broken)
    ids = [_finding(app, w.inspection, w.officer, n) for n in range(60)]
    monkeypatch.undo()
    assert len(app.get_inspection(w.inspection).findings) == 61
    assert ids[-1] in app.get_inspection(w.inspection).findings


def test_two_instances_on_one_store_see_each_others_writes(store_env):
    first, second = build_app(store_env), build_app(store_env)
    try:
        w = build_world(first)
        ids = []
        for n in range(120):  # alternate: each instance writes on the other's snapshots
            ids.append(_finding(first if n % 2 else second, w.inspection, w.officer, n))
        for app in (first, second):
            assert list(app.get_inspection(w.inspection).findings) == [w.finding, *ids]
        # A stale copy is still refused at save: optimistic concurrency stands.
        stale = first.get_inspection(w.inspection)
        _finding(second, w.inspection, w.officer, 999)
        stale.withdraw_finding(ids[0], reason="Nhầm", **INSPECTOR.kw)
        with pytest.raises(Conflict):
            first._save(stale.id, stale)
        first.withdraw_finding(INSPECTOR, w.inspection, ids[0], reason="Nhầm")
        assert second.get_inspection(w.inspection).finding(ids[0])["status"] == "withdrawn"
    finally:
        first.close()
        second.close()


def _periods_one_per_appointment(periods: list, starts: list) -> list:
    """The rule before periods were merged: each appointment closes the open period at its
    start and opens its own. The oracle for which days an officer led."""
    periods = [list(p) for p in periods]
    for start in starts:
        if periods and periods[-1][1] is None:
            periods[-1][1] = max(start, periods[-1][0])
        periods.append([start, None])
    return periods


def _led(periods: list, day: date) -> bool:
    return any(s <= day and (e is None or day < e) for s, e in periods)


def test_an_officer_appointed_many_times_keeps_its_leadership_periods(app):
    w = build_world(app)
    before = app.get_officer(w.leader).leadership
    starts = [date(1990 + n % 30, 3, 1) for n in range(55)]
    for n, start in enumerate(starts):
        app.appoint_officer(BOARD, w.leader, position="Phó Chủ tịch UBND phường",
                            term_start=start.isoformat(), decision_ref=ref(f"A{n}", "2021-02-20"))
    assert _events_read(app, w.leader) < INTERVAL
    plain = NoSnapshots(app.settings, today=app.today)
    try:
        slow = plain.get_officer(w.leader)
    finally:
        plain.close()
    fast = app.get_officer(w.leader)
    assert fast.leadership == slow.leadership and fast.term == slow.term
    assert fast.leadership_floor == slow.leadership_floor == starts[-1 - 25]  # 2019-03-01
    # 55 terms without a gap are one period (a snapshot that does not grow with them) ...
    assert len(fast.leadership) <= len(before) + 1 and fast.leadership[-1][1] is None
    # ... covering exactly the days one period per appointment covered
    oracle = _periods_one_per_appointment(before, starts)
    days = [date(1989, 1, 1) + timedelta(days=d) for d in range(0, 40 * 366, 17)]
    days += [s for s in starts] + [s - timedelta(days=1) for s in starts]
    assert [fast.led_on(d) for d in days] == [_led(oracle, d) for d in days]
    assert fast.led_on(date(1990, 3, 1)) and not fast.led_on(date(1990, 2, 28))


def test_an_officer_snapshot_from_before_merged_periods_loads_and_ends_as_it_did():
    """A snapshot taken by the earlier code holds one period per appointment and no floor:
    it loads, and a later end of leadership or appointment covers the days it covered."""
    from audit_service.domain.officers import Officer

    officer = Officer(personnel_code="P1", full_name="Nguyễn Văn An", category="cong_chuc",
                      unit_id=UUID(int=1), position="Chuyên viên", national_id=None,
                      national_id_hash=None, joined_on=date(1990, 1, 1), actor_id="t",
                      actor_role="admin")
    officer.appoint(position="Phó Chủ tịch", term_start=date(2011, 3, 1), term_years=5,
                    decision_ref=ref("A1", "2011-02-20"), actor_id="t", actor_role="board")
    snapshot = Officer.Snapshot.take(officer)
    old = [[date(2001, 3, 1), date(2006, 3, 1)], [date(2006, 3, 1), date(2011, 3, 1)],
           [date(2011, 3, 1), None]]
    snapshot.state["leadership"] = "2001-03-01/2006-03-01;2006-03-01/2011-03-01;2011-03-01/"
    del snapshot.state["leadership_floor"]
    loaded = snapshot.mutate(None)
    assert loaded.leadership == old and loaded.leadership_floor is None
    loaded._end_leadership(date(2010, 1, 1))  # before the last term's start: ends at it
    oracle = [list(p) for p in old]
    oracle[-1][1] = date(2011, 3, 1)
    loaded.appoint(position="Chủ tịch", term_start=date(2011, 3, 1), term_years=5,
                   decision_ref=ref("A2", "2011-02-20"), actor_id="t", actor_role="board")
    oracle = _periods_one_per_appointment(oracle, [date(2011, 3, 1)])
    loaded._end_leadership(date(2009, 6, 1))
    oracle[-1][1] = max(date(2009, 6, 1), oracle[-1][0])
    days = [date(2000, 1, 1) + timedelta(days=d) for d in range(0, 14 * 366, 5)]
    assert [loaded.led_on(d) for d in days] == [_led(oracle, d) for d in days]
    assert loaded.led_on(date(2011, 2, 28)) and not loaded.led_on(date(2011, 3, 1))


@pytest.mark.parametrize("seed", range(200))
def test_merged_leadership_periods_cover_the_same_days(seed):
    """Appointments, ends of leadership (a refused reappointment, leaving) and reopenings (a
    corrected refusal) in any order and on any dates: the merged periods answer ``led_on``
    as one period per appointment did."""
    import random

    from audit_service.domain.officers import Officer

    rnd = random.Random(seed)
    officer = Officer(personnel_code="P1", full_name="Nguyễn Văn An", category="cong_chuc",
                      unit_id=UUID(int=1), position="Chuyên viên", national_id=None,
                      national_id_hash=None, joined_on=date(1990, 1, 1), actor_id="t",
                      actor_role="admin")
    oracle: list = []
    for _ in range(40):
        day = date(1990, 1, 1) + timedelta(days=rnd.randrange(0, 30 * 365))
        if rnd.random() < 0.7:
            officer.appoint(position="Phó Chủ tịch", term_start=day, term_years=5,
                            decision_ref=ref(f"A{rnd.random()}", "2021-02-20"),
                            actor_id="t", actor_role="board")
            oracle = _periods_one_per_appointment(oracle, [day])
        elif rnd.random() < 0.8:
            officer._end_leadership(day)
            if oracle and oracle[-1][1] is None:
                oracle[-1][1] = max(day, oracle[-1][0])
        elif officer.leadership:  # a corrected refusal reopens the last period
            officer._reopen_leadership()
            oracle[-1][1] = None
    assert len(officer.leadership) <= len(oracle)
    days = [date(1989, 1, 1) + timedelta(days=d) for d in range(0, 32 * 366, 3)]
    assert [officer.led_on(d) for d in days] == [_led(oracle, d) for d in days]


def test_one_query_loads_the_state_the_library_loads(app):
    """``audit_service.loading`` reads the latest snapshot and the events after it together;
    what it rebuilds is what the library's repository (two queries) rebuilds: with a
    snapshot and events after it, with no snapshot, and for an id never stored."""
    from uuid import uuid4

    from eventsourcing.application import AggregateNotFoundError, Repository

    from audit_service.domain.base import AuditSnapshot
    from audit_service.loading import OneReadRepository

    w = build_world(app)
    for n in range(107):  # two snapshots (versions 50 and 100), events after them
        app.transfer_officer(ADMIN, w.officer, to_unit_id=w.ward2 if n % 2 == 0 else w.ward,
                             effective_on="2024-02-01", decision_ref=ref(f"L{n}", "2024-01-20"))
    assert isinstance(app.repository, OneReadRepository)
    library = Repository(event_store=app.events, snapshot_store=app.snapshots)
    officer = app.get_officer(w.officer)
    assert officer.version > 2 * INTERVAL and officer.version % INTERVAL != 0
    assert _events_read(app, w.officer) == officer.version % INTERVAL  # after the snapshot
    for aggregate_id in (w.officer, w.ward, w.inspection, w.city):
        mine, theirs = app.repository.get(aggregate_id), library.get(aggregate_id)
        assert type(mine) is type(theirs)
        assert (mine.id, mine.version) == (theirs.id, theirs.version)
        assert AuditSnapshot.take(mine).state == AuditSnapshot.take(theirs).state
    with pytest.raises(AggregateNotFoundError):
        app.repository.get(uuid4())
