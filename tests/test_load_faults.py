"""A short run of the load-and-faults script: mixed reads and writes while a gunicorn
worker and the projector are SIGKILLed. (`python -m scripts.load_test` runs the long
ones, including a PostgreSQL restart.)"""
from __future__ import annotations

import os

import pytest

from scripts.load_test import run_load
from tests.conftest import PG_URL

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_mixed_load_with_a_killed_worker_and_projector(pg_reason, tmp_path):
    if pg_reason:
        pytest.fail(pg_reason) if os.environ.get("AUDIT_REQUIRE_POSTGRES") == "1" else \
            pytest.skip(pg_reason)
    result = run_load(PG_URL, seconds=8, clients=4, kill_worker_at=2.5, kill_projector_at=4,
                      log_dir=str(tmp_path))
    assert result["acknowledged_writes"] > 30, result
    assert result["server_errors"] == {} and result["unexpected"] == [], result
    assert result["lost_acknowledged_positions"] == [], result
    assert result["projections_converged"] and result["projections_equal_rebuild"], result
    assert [f["fault"][:7] for f in result["faults"]] == ["SIGKILL", "SIGKILL"]


@pytest.mark.skipif(os.environ.get("AUDIT_DISRUPTIVE_TESTS") != "1",
                    reason="restarts the PostgreSQL cluster; set AUDIT_DISRUPTIVE_TESTS=1 (CI does)")
def test_postgres_restarted_mid_load_loses_nothing(pg_reason, tmp_path):
    if pg_reason:
        pytest.fail(pg_reason)
    result = run_load(PG_URL, seconds=12, clients=4, restart_postgres_at=3,
                      postgres_down_for=3, log_dir=str(tmp_path))
    assert result["statuses"].get("503", 0) > 0, result  # clients were told to retry
    assert result["server_errors"] == {} and result["unexpected"] == [], result
    assert result["lost_acknowledged_positions"] == [], result
    assert result["projections_converged"] and result["projections_equal_rebuild"], result


def test_the_restart_picks_the_cluster_on_the_urls_port(monkeypatch):
    """On a machine with several clusters, the restart test stops only the one under test."""
    import subprocess

    from scripts import load_test

    listing = ("15 main 5432 online postgres /var/lib/postgresql/15/main log\n"
               "15 ci   5433 online postgres /var/lib/postgresql/15/ci   log\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout=listing, stderr=""))
    assert load_test.pg_cluster("postgresql://root@127.0.0.1:5433/test") == ("15", "ci")
    assert load_test.pg_cluster("postgresql://root@127.0.0.1/test") == ("15", "main")
    with pytest.raises(RuntimeError, match="port 5434"):
        load_test.pg_cluster("postgresql://root@127.0.0.1:5434/test")
