"""Beyond one machine: several `serve` processes (ports standing in for hosts) share one
PostgreSQL and see each other's writes; of two projectors only one is active, and the
other takes over within seconds when it is killed, with nothing processed twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import requests

from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector, lock_keys
from projections.readmodels import snapshot
from tests.conftest import build_app
from scripts.load_test import CLI, Stack
from tests.test_serve import _cli, _officer, _post, _ward

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _active_projectors(db: ReadModelDB) -> int:
    """Projectors holding this store's lock (the key pair shows as classid, objid)."""
    row = db.fetchone("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                      " AND classid = ? AND objid = ? AND objsubid = 2 AND database ="
                      " (SELECT oid FROM pg_database WHERE datname = current_database())",
                      lock_keys(db.database))
    return int(row[0])


def test_two_hosts_share_the_store_and_a_standby_projector_takes_over(pg_env, tmp_path):
    _cli(pg_env, "init-db")
    token = json.loads(_cli(pg_env, "tokens", "create", "--role", "admin", "--name", "ops",
                            "--json"))["token"]
    headers = {"admin": {"Authorization": f"Bearer {token}"}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    env = {**os.environ, **pg_env}
    hosts = []
    projectors = []
    db = ReadModelDB(Settings.from_env(pg_env).database)
    try:
        for name in ("a", "b"):
            host = Stack(env, log_dir=str(tmp_path / name), own_projector=False)
            host.headers = headers
            hosts.append(host)
        a, b = hosts
        logs = [open(tmp_path / f"projector{n}.log", "w") for n in (1, 2)]
        projectors.append(subprocess.Popen([*CLI, "project", "--poll-interval", "0.05"],
                                           env=env, stdout=logs[0], stderr=subprocess.STDOUT))
        ward = _ward(a)
        first = _post(a, "admin", "/officers", _officer(1, ward)).json()
        # host b sees host a's write (same PostgreSQL), once projected
        seen = requests.get(f"{b.base}/api/v1/officers", headers=headers["admin"], timeout=30,
                            params={"min_position": first["position"], "unit_id": ward})
        assert [o["officer_id"] for o in seen.json()["items"]] == [first["id"]]
        projectors.append(subprocess.Popen([*CLI, "project", "--poll-interval", "0.05"],
                                           env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        # The standby must not take the lock while the first holds it: a non-event, so it is
        # watched for a while (it retries every second) rather than waited for.
        watch_until = time.monotonic() + 2.5
        while time.monotonic() < watch_until:
            assert projectors[1].poll() is None and _active_projectors(db) == 1
            time.sleep(0.1)
        for n in range(2, 30):
            _post((a, b)[n % 2], "admin", "/officers", _officer(n, ward))
        projectors[0].send_signal(signal.SIGKILL)
        projectors[0].wait(timeout=10)
        killed = time.monotonic()
        last = _post(b, "admin", "/officers", _officer(99, ward)).json()
        r = requests.get(f"{a.base}/api/v1/officers/{last['id']}/history",
                         headers=headers["admin"], timeout=30)
        assert r.status_code == 403  # admins do not read histories; the directory will do
        app = build_app(pg_env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            positions = Projector(app, db=db).positions()
            if min(v for k, v in positions.items() if k != "integrity") >= last["position"]:
                break
            time.sleep(0.1)
        took = time.monotonic() - killed
        assert took < 10, f"the standby took {took:.1f} s to take over"
        assert _active_projectors(db) == 1
        listed = requests.get(f"{a.base}/api/v1/officers", headers=headers["admin"], timeout=30,
                              params={"unit_id": ward, "limit": 500}).json()["items"]
        assert len(listed) == 30
        live = snapshot(db)
        Projector(app, db=db).rebuild()
        assert snapshot(db) == live  # nothing applied twice, nothing skipped
        app.close()
    finally:
        for p in projectors:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        for host in hosts:
            host.stop()
        db.close()


def test_stores_in_separate_schemas_each_get_an_active_projector(pg_env, tmp_path):
    """The projector's lock is per store (schema), not per database."""
    from tests.conftest import PG_URL, drop_pg_schema, make_pg_schema

    other = make_pg_schema()
    envs = [pg_env, {"AUDIT_DATABASE_URL": f"{PG_URL}?schema={other}"}]
    procs = []
    try:
        for env in envs:
            _cli(env, "init-db")
            procs.append(subprocess.Popen([*CLI, "project"], env={**os.environ, **env},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        dbs = [ReadModelDB(Settings.from_env(env).database) for env in envs]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and [_active_projectors(d) for d in dbs] != [1, 1]:
            time.sleep(0.2)
        assert [_active_projectors(d) for d in dbs] == [1, 1]
        for d in dbs:
            d.close()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        drop_pg_schema(other)
