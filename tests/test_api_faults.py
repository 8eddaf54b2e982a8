"""Faults the API must survive with a clear answer and nothing half-written: a full disk,
a read-only database, an unreachable database."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from api import create_app
from audit_service.config import Settings
from tests.api_support import ApiHarness
from tests.conftest import PG_URL, build_app


def _harness(env: dict) -> ApiHarness:
    flask_app = create_app(Settings.from_env(env), service=build_app(env))
    return ApiHarness(flask_app, flask_app.extensions["audit_service"].service,
                      Settings.from_env(env))


def test_a_full_disk_is_a_503_and_nothing_half_written(tmp_path):
    from auditing.bootstrap import init_database

    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    h = _harness(env)
    try:
        h.ok("admin", "/units", {"code": "01", "name": "Hà Nội", "level": "city"})
        with h.service.recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA page_count")
            c.execute(f"PRAGMA max_page_count = {c.fetchone()[0]}")
        acknowledged, refused = [], None
        for n in range(400):
            before = h.event_count()
            r = h.post("admin", "/units", {"code": f"U{n}", "name": "x" * 290, "level": "city"})
            if r.status_code == 201:
                acknowledged.append(r.get_json())
                continue
            refused = r
            assert h.event_count() == before  # the refused command appended nothing
            break
        assert refused is not None and refused.status_code == 503
        assert refused.get_json()["code"] == "database_full" and refused.headers["Retry-After"]
        stored = {n.id for n in h.service.recorder.select_notifications(start=1, limit=10_000)}
        assert {p for a in acknowledged for p in a["positions"]} <= stored
        assert len(stored) == 2 + 2 * len(acknowledged)  # each unit with its code claim
    finally:
        h.close()


@pytest.mark.postgres
def test_a_read_only_database_refuses_writes_clearly_and_still_serves_reads(pg_env):
    from auditing.bootstrap import init_database

    store_env = pg_env
    init_database(Settings.from_env(store_env))
    schema = store_env["AUDIT_DATABASE_URL"].split("schema=")[1]
    writer = _harness(store_env)
    role = "ro_" + uuid.uuid4().hex[:10]
    conninfo = Settings.from_env({"AUDIT_DATABASE_URL": PG_URL}).database.conninfo()
    try:
        city = writer.ok("admin", "/units", {"code": "01", "name": "Hà Nội", "level": "city"})
        writer.project()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN")
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
            conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        url = store_env["AUDIT_DATABASE_URL"].replace("root@", f"{role}@")
        reader_app = create_app(Settings.from_env({"AUDIT_DATABASE_URL": url}))
        client = reader_app.test_client()
        auth = {"Authorization": f"Bearer {writer.tokens['admin']}"}
        before = writer.event_count()
        r = client.post("/api/v1/units", json={"code": "02", "name": "Khác", "level": "city"},
                        headers=auth)
        assert r.status_code == 503 and r.get_json()["code"] == "database_read_only"
        assert int(r.headers["Retry-After"]) > 0
        assert writer.event_count() == before
        got = client.get(f"/api/v1/units/{city['id']}", headers=auth)
        assert got.status_code == 200 and got.get_json()["code"] == "01"
        reader_app.extensions["audit_service"].close()
    finally:
        writer.close()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
