"""An interrupted demo load (killed, or Ctrl-C) re-run completes the same city, nothing twice;
``--if-empty`` tells a complete demo, a partial one and a store of other events apart."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from audit_service.application import AuditService
from audit_service.config import Settings
from tests.test_demo_data import canonical, read_events

ROOT = Path(__file__).resolve().parents[1]
OFFICERS = "30"
TODAY = "2026-11-30"  # a Monday: the day the ongoing inspection used to crash the load


def cli(tmp: Path, *args: str, today: str = TODAY) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=tmp,
                          env=env_for(tmp, today), capture_output=True, text=True, timeout=300)


def env_for(tmp: Path, today: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUDIT_TODAY": today,
           "AUDIT_DATABASE_URL": f"sqlite:///{tmp}/audit.sqlite3"}
    env.pop("AUDIT_CIPHER_KEY", None)
    return env


def stored(tmp: Path) -> int:
    with sqlite3.connect(f"file:{tmp}/audit.sqlite3?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]


def digest(tmp: Path) -> list:
    app = AuditService(Settings.from_env({"AUDIT_DATABASE_URL": f"sqlite:///{tmp}/audit.sqlite3"}))
    try:
        return canonical(read_events(app))
    finally:
        app.close()


def load(tmp: Path, *extra: str, today: str = TODAY) -> subprocess.CompletedProcess:
    done = cli(tmp, "demo-data", "--officers", OFFICERS, *extra, today=today)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[int, list]:
    """A one-shot load of the same seed, size and day: what every resumed load must equal."""
    tmp = tmp_path_factory.mktemp("clean")
    assert cli(tmp, "init-db").returncode == 0
    done = load(tmp)
    assert "demo data loaded:" in done.stdout
    return stored(tmp), digest(tmp)


# Runs the CLI with the library's ``_record`` wrapped (``save()`` and the service's own
# ``_store()`` both write through it): once this process has stored ``argv[1]``
# events, it sends itself signal ``argv[2]`` (SIGKILL: a crash; SIGINT: Ctrl-C).
INTERRUPTED = """
import os, signal, sys
from eventsourcing.application import Application

# Ctrl-C as at a terminal, even when this test runs where SIGINT is ignored (a background job)
signal.signal(signal.SIGINT, signal.default_int_handler)

threshold, signum = int(sys.argv[1]), int(sys.argv[2])
stored = 0
real_record = Application._record

def record(self, *args, **kwargs):
    global stored
    recordings = real_record(self, *args, **kwargs)
    stored += len(recordings)
    if stored >= threshold:
        os.kill(os.getpid(), signum)
    return recordings

Application._record = record
sys.argv = ["audit-service", *sys.argv[3:]]
from scripts.cli import main
main()
"""


def reappointments(tmp: Path) -> int:
    """Decisions whose eligibility hash the load took from the read models."""
    with sqlite3.connect(f"file:{tmp}/audit.sqlite3?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM stored_events"
                            " WHERE topic LIKE '%ReappointmentDecided'").fetchone()[0]


@pytest.mark.slow
@pytest.mark.parametrize("how, fraction, resume_day, decided_before", [
    (signal.SIGKILL, 0.3, TODAY, False),  # a crash before any reappointment was decided
    (signal.SIGINT, 0.85, "2026-12-01", True),  # Ctrl-C after them; resumed the next day
])
def test_an_interrupted_load_resumes_to_the_same_city(tmp_path, clean, how, fraction,
                                                      resume_day, decided_before):
    total, expected = clean
    assert cli(tmp_path, "init-db").returncode == 0
    # The signal is sent by the load itself, right after the save that takes the store past
    # the fraction: the same point on a loaded machine as on an idle one, no race to lose.
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED, str(int(total * fraction)),
                           str(int(how)), "demo-data", "--officers", OFFICERS], cwd=tmp_path,
                          env=env_for(tmp_path, TODAY), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0, "the load finished before it could be interrupted"
    partial = stored(tmp_path)
    assert 0 < partial < total
    assert (reappointments(tmp_path) > 0) is decided_before  # replayed, not asked again

    # --if-empty on the partial demo resumes it (with the day it was made for) and finishes it
    done = load(tmp_path, "--if-empty", today=resume_day)
    assert "resuming an interrupted demo load" in done.stderr
    assert "demo data loaded:" in done.stdout
    assert stored(tmp_path) == total
    assert digest(tmp_path) == expected

    # on the complete demo, with or without --if-empty: nothing to do, nothing appended
    for extra in (("--if-empty",), ()):
        done = load(tmp_path, *extra, today=resume_day)
        assert "demo data already loaded" in done.stdout
        assert stored(tmp_path) == total


def test_if_empty_leaves_a_store_of_other_events_alone(tmp_path):
    assert cli(tmp_path, "init-db").returncode == 0
    app = AuditService(Settings.from_env({"AUDIT_DATABASE_URL":
                                          f"sqlite:///{tmp_path}/audit.sqlite3"}))
    from tests.conftest import ADMIN

    app.register_unit(ADMIN, code="X1", name="Phường Thử", level="ward")
    app.close()
    before = stored(tmp_path)
    done = load(tmp_path, "--if-empty")
    assert done.stdout == ""
    assert done.stderr.strip() == (f"the store already holds {before} events that are not the"
                                   f" demo city (seed 2026, {OFFICERS} officers);"
                                   " demo data not loaded")
    assert stored(tmp_path) == before
