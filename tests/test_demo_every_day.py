"""The demo city loads on every day of a whole leap year (and the eve of it).

Each day is a fresh SQLite store whose 'today' is set the way a user sets it, with
``AUDIT_TODAY``; the loads run in four chunks, two processes at a time (about 0.3-0.5 s a
day on this machine, under a minute for the year on two CPUs: the whole year must keep
``make test`` short). A refused command fails the load, so every rule the service checks on
dates holds on every day: weekends, 1 January, Tết, 30 April and 1 May, 2 September,
29 February, 31 December and the turn of the year.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest

from audit_service.bootstrap import build_service
from auditing.bootstrap import init_database
from audit_service.config import Settings
from scripts.demo_data import TET, generate

FIRST, LAST = date(2027, 12, 31), date(2028, 12, 31)
DAYS = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
CHUNKS = 4
#: small, but large enough for every phase of the generator to run on every day
OFFICERS = 24
EVERY_DAY = ("units", "unit_ratings", "unit_merges", "officers", "appointments", "transfers",
             "leavings", "inspections", "inspections_closed", "findings", "proceedings",
             "decisions", "appeals", "reappointments", "annual_ratings", "monthly_grades")


def test_the_days_include_every_awkward_one():
    days = set(DAYS)
    awkward = {date(2027, 12, 31), date(2028, 1, 1), date(2028, 2, 29), date(2028, 4, 30),
               date(2028, 5, 1), date(2028, 9, 2), date(2028, 12, 31), TET[2028],
               TET[2028] - timedelta(days=1), TET[2028] + timedelta(days=3)}
    assert awkward <= days
    assert sum(d.weekday() >= 5 for d in DAYS) >= 104
    assert len(DAYS) == 367


@pytest.fixture
def scratch(tmp_path) -> Path:
    """Somewhere quick for throwaway stores: memory-backed when the machine has it."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shm.stat().st_mode & 0o002:
        path = Path(tempfile.mkdtemp(prefix="audit-demo-days-", dir=shm))
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path


def load_days(days: list[date], scratch: str) -> Counter[str]:
    """Load the demo city once for each day (a fresh store each); what kinds each day had."""
    seen: Counter[str] = Counter()
    for day in days:
        store = Path(scratch) / f"{day}.sqlite3"
        settings = Settings.from_env({"AUDIT_DATABASE_URL": f"sqlite:///{store}",
                                      "AUDIT_TODAY": day.isoformat()})
        init_database(settings)
        app = build_service(settings)
        try:
            assert app.today() == day
            counts = generate(app, officers=OFFICERS, progress=False)
            assert counts["events"] == app.recorder.max_notification_id(), day
            assert counts["inspections"] > counts["inspections_closed"], day  # one ongoing
            seen.update(kind for kind, n in counts.items() if n)
        finally:
            app.close()
            store.unlink()
    return seen


@pytest.mark.slow
def test_the_demo_city_loads_on_every_day(scratch):
    # The chunks run in as many processes as the machine lends this one (two here), each in
    # a fresh interpreter; a refused command or a failed check in any chunk fails the test.
    chunks = [DAYS[k::CHUNKS] for k in range(CHUNKS)]
    workers = max(1, min(CHUNKS, len(os.sched_getaffinity(0))))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        seen = sum((future.result() for future in
                    [pool.submit(load_days, chunk, str(scratch)) for chunk in chunks]),
                   Counter())
    missing = {kind: len(DAYS) - seen[kind] for kind in EVERY_DAY if seen[kind] < len(DAYS)}
    assert not missing, f"days without: {missing}"
