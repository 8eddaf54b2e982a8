"""The real thing: `audit-service serve` (gunicorn, 2 workers) on PostgreSQL, over loopback.

Concurrent idempotent POSTs, a worker killed with SIGKILL mid-load, and read-your-writes
through ``min_position`` with the projector running as its own process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scripts.load_test import CLI, Stack
from tests.api_support import ref
from tests.conftest import build_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _cli(env: dict, *args: str) -> str:
    out = subprocess.run([*CLI, *args], env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def server(pg_env, tmp_path):
    _cli(pg_env, "init-db")
    s = Stack({**os.environ, **pg_env}, log_dir=str(tmp_path), access_log="-")
    tokens = {role: json.loads(_cli(pg_env, "tokens", "create", "--role", role, "--name",
                                    f"{role} client", "--json"))["token"]
              for role in ("admin", "board")}
    s.headers = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
    yield s
    returncode = s.server.poll()
    s.stop()
    assert returncode is None, "the server died during the test"


def _post(s: Stack, role: str, path: str, body: dict, key: str | None = None):
    headers = dict(s.headers[role])
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{s.base}/api/v1{path}", json=body, headers=headers, timeout=30)


def _ward(s: Stack) -> str:
    city = _post(s, "admin", "/units", {"code": "01", "name": "Hà Nội", "level": "city"}).json()
    return _post(s, "admin", "/units", {"code": "W1", "name": "Phường 1", "level": "ward",
                                        "parent_id": city["id"]}).json()["id"]


def _officer(n: int, ward: str) -> dict:
    return {"personnel_code": f"HN-{n:06d}", "full_name": f"Cán bộ số {n}",
            "category": "cong_chuc", "unit_id": ward, "position": "Chuyên viên"}


def test_concurrent_idempotent_posts_append_each_command_once(server, pg_env):
    ward = _ward(server)
    keys = [str(uuid.uuid4()) for _ in range(30)]
    jobs = [(n, keys[n]) for n in range(30)] + [(n, keys[n]) for n in range(0, 30, 3)]

    def send(job):
        n, key = job
        return _post(server, "admin", "/officers", _officer(n, ward), key)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, jobs))
    assert {a.status_code for a in answers} == {201}
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 30
    positions = {p for a in answers for p in a.json()["positions"]}
    app = build_app(pg_env)
    try:
        stored = app.recorder.select_notifications(start=1, limit=100000)
        officer_events = [n for n in stored if n.topic.endswith("Officer.Registered")]
        assert len(officer_events) == 30
        assert positions <= {n.id for n in stored}
    finally:
        app.close()


def test_a_worker_killed_mid_load_loses_no_acknowledged_write(server, pg_env):
    ward = _ward(server)
    acknowledged: list[dict] = []
    failures: list[str] = []
    stop = time.monotonic() + 6

    def client(worker: int) -> None:
        n = worker * 10_000
        while time.monotonic() < stop:
            n += 1
            try:
                r = _post(server, "admin", "/officers", _officer(n, ward), str(uuid.uuid4()))
            except requests.RequestException as exc:  # the killed worker's connection
                failures.append(type(exc).__name__)
                continue
            if r.status_code == 201:
                acknowledged.append(r.json())
            else:
                failures.append(str(r.status_code))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client, w) for w in range(1, 5)]
        deadline = time.monotonic() + 5
        while len(acknowledged) < 10 and time.monotonic() < deadline:  # the load is under way
            time.sleep(0.05)
        assert len(acknowledged) >= 10, failures[:5]
        victims = server.workers()
        assert len(victims) == 2
        os.kill(victims[0], signal.SIGKILL)
        for f in futures:
            f.result()
    assert len(acknowledged) > 20
    assert all(f in ("ConnectionError", "ChunkedEncodingError", "502", "503") for f in failures)
    app = build_app(pg_env)
    try:
        for answer in acknowledged:
            assert app.get_officer(answer["id"]).personnel_code
        stored = {n.id for n in app.recorder.select_notifications(start=1, limit=1_000_000)}
        assert {p for a in acknowledged for p in a["positions"]} <= stored
    finally:
        app.close()
    assert len(server.workers()) == 2  # gunicorn replaced the dead worker


def test_read_your_writes_with_min_position(server):
    ward = _ward(server)
    officer = _post(server, "admin", "/officers", _officer(1, ward)).json()
    rating = _post(server, "board", "/evaluations/annual",
                   {"officer_id": officer["id"], "year": 2025, "rating": "KHTNV"}).json()
    r = requests.get(f"{server.base}/api/v1/officers/{officer['id']}/history",
                     params={"min_position": rating["position"]}, headers=server.headers["board"],
                     timeout=30)
    assert r.status_code == 200
    assert r.json()["entries"][-1]["position"] == rating["position"]
    decision = _post(server, "board", f"/officers/{officer['id']}/appointments", {
        "position": "Phó Chủ tịch", "term_start": "2021-03-01",
        "decision_ref": ref("5", "2021-02-20")}).json()
    e = requests.get(f"{server.base}/api/v1/officers/{officer['id']}/eligibility",
                     params={"min_position": decision["position"], "on": "2026-02-20"},
                     headers=server.headers["board"], timeout=30).json()
    assert e["verdict"] == "not_eligible"
    assert any(r["rule_id"] == "term-failed-rating" for r in e["reasons"] if r["outcome"] != "info")
