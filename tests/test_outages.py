"""Operators' view of a database outage, with real gunicorn (`audit-service serve`) and a
PostgreSQL that goes silent behind a proxy (tests/outage.py; the real server keeps running).

/healthz answers at once, /readyz and /metrics within 2 s however many probes arrive, and
readiness comes back by itself when the database does.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scripts.load_test import CLI, Stack
from tests.conftest import PG_URL
from tests.outage import SilentProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _timed_get(url: str) -> tuple[float, int | str, str]:
    started = time.monotonic()
    try:
        r = requests.get(url, timeout=30)
        return time.monotonic() - started, r.status_code, r.text
    except requests.RequestException as exc:
        return time.monotonic() - started, type(exc).__name__, ""


@pytest.fixture
def proxy():
    p = SilentProxy(PG_URL)  # in front of the server the tests use, whatever its port
    yield p
    p.close()


def test_probes_answer_within_two_seconds_while_the_database_is_silent(pg_env, proxy, tmp_path):
    env = {**os.environ, "AUDIT_DATABASE_URL": proxy.url(pg_env["AUDIT_DATABASE_URL"])}
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=60)
    stack = Stack(env, log_dir=str(tmp_path), own_projector=False)
    try:
        assert requests.get(stack.base + "/readyz", timeout=10).status_code == 200
        proxy.go_silent()
        # More probes at once than the two workers have threads (2 x 4).
        urls = [stack.base + p for p in ("/readyz", "/metrics") * 8]
        with ThreadPoolExecutor(len(urls)) as pool:
            probes = [pool.submit(_timed_get, u) for u in urls]
            time.sleep(0.5)
            health = _timed_get(stack.base + "/healthz")
            answers = [f.result() for f in probes]
        assert health[1] == 200 and health[0] < 1.0, health
        for url, (seconds, status, text) in zip(urls, answers):
            assert seconds < 2.0, (url, seconds, status)
            if url.endswith("/readyz"):
                assert status == 503 and '"database_unavailable"' in text, (status, text)
            else:
                assert status == 200 and "audit_database_up 0.0" in text, (status, text)
        # Still bounded while the outage lasts (the first probe's connection was cut off).
        time.sleep(3)
        again = [_timed_get(stack.base + "/readyz") for _ in range(3)]
        assert all(s < 2.0 and status == 503 for s, status, _ in again), again
        proxy.restore()
        deadline = time.monotonic() + 15
        while _timed_get(stack.base + "/readyz")[1] != 200:
            assert time.monotonic() < deadline, "readiness did not come back with the database"
            time.sleep(0.5)
        assert "audit_database_up 1.0" in requests.get(stack.base + "/metrics", timeout=5).text
    finally:
        stack.stop()


def test_serve_starts_while_the_database_is_down_and_recovers_without_a_restart(
        pg_env, proxy, tmp_path):
    env = {**os.environ, "AUDIT_DATABASE_URL": proxy.url(pg_env["AUDIT_DATABASE_URL"])}
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=60)
    token = json.loads(subprocess.run(
        [*CLI, "tokens", "create", "--role", "admin", "--name", "ops", "--json"], env=env,
        check=True, capture_output=True, text=True, timeout=60).stdout)["token"]
    auth = {"Authorization": f"Bearer {token}"}
    proxy.go_down()
    stack = Stack(env, log_dir=str(tmp_path), own_projector=False)  # raises if serve exits
    try:
        seconds, status, _ = _timed_get(stack.base + "/healthz")
        assert status == 200 and seconds < 1.0
        ready = requests.get(stack.base + "/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["code"] == "database_unavailable"
        units = requests.get(stack.base + "/api/v1/units", headers=auth, timeout=30)
        assert units.status_code == 503 and units.json()["code"] == "database_unavailable"
        assert int(units.headers["Retry-After"]) > 0
        proxy.restore()
        deadline = time.monotonic() + 15
        while requests.get(stack.base + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "readiness did not come back with the database"
            time.sleep(0.5)
        assert requests.get(stack.base + "/api/v1/units", headers=auth, timeout=30).status_code == 200
    finally:
        stack.stop()
    log = open(stack.log_path).read()
    assert "cannot connect to" in log and "serving anyway" in log
