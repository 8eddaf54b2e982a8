"""`audit-service serve` on the embedded SQLite default runs the projector too: one command
gives a working service, and it stops cleanly (workers and projector) on SIGTERM."""
from __future__ import annotations

import json
import os

import pytest
import requests

from scripts.load_test import Stack
from tests.test_serve import _cli, _officer, _post, _ward

pytestmark = pytest.mark.slow


def test_serve_on_sqlite_runs_the_projector(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    _cli(env, "init-db")
    server = Stack({**os.environ, **env}, log_dir=str(tmp_path), own_projector=False)
    try:
        server.headers = {role: {"Authorization": "Bearer " + json.loads(_cli(
            env, "tokens", "create", "--role", role, "--name", role, "--json"))["token"]}
            for role in ("admin", "board")}
        ward = _ward(server)
        officer = _post(server, "admin", "/officers", _officer(7, ward)).json()
        r = requests.get(f"{server.base}/api/v1/officers/{officer['id']}/history",
                         params={"min_position": officer["position"]},
                         headers=server.headers["board"], timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["entries"][0]["event_type"] == "Officer.Registered"
        assert requests.get(f"{server.base}/readyz", timeout=5).json()["behind"] == 0
        # Prometheus counters are summed over the workers
        metrics = requests.get(f"{server.base}/metrics", timeout=5).text
        assert 'audit_http_requests_total{method="POST",route="/api/v1/units",status="201"} 2.0' in metrics
    finally:
        assert server.stop() == 0
    log = open(server.log_path).read()
    assert "projector started" in log and "projector stopped" in log
