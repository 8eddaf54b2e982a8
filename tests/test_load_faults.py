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
