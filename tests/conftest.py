"""Fixtures: a real SQLite file store and a real PostgreSQL store (fresh schema per test).

PostgreSQL tests skip when no server answers, unless AUDIT_REQUIRE_POSTGRES=1 (CI), in
which case they fail.
"""
from __future__ import annotations

import os
import uuid
from datetime import date

import pytest

from audit_service.application import Actor, AuditService
from auditing.bootstrap import init_database
from audit_service.config import Settings

PG_URL = os.environ.get("AUDIT_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("AUDIT_REQUIRE_POSTGRES") == "1"
FIXED_TODAY = date(2026, 11, 20)
# Nothing in the suite depends on the real day by accident: the processes the tests start
# (the CLI, gunicorn) and every clock read from the environment see FIXED_TODAY, unless a
# test (or the caller) sets AUDIT_TODAY itself.
os.environ.setdefault("AUDIT_TODAY", FIXED_TODAY.isoformat())

ADMIN = Actor("admin-1", "admin")
BOARD = Actor("board-1", "board")
INSPECTOR = Actor("insp-1", "inspector")


def _pg_available() -> str | None:
    import psycopg

    try:
        psycopg.connect(Settings.from_env({"AUDIT_DATABASE_URL": PG_URL}).database.conninfo(),
                        connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.fixture(scope="session")
def pg_reason():
    return _pg_available()


def make_pg_schema() -> str:
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    conninfo = Settings.from_env({"AUDIT_DATABASE_URL": PG_URL}).database.conninfo()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop_pg_schema(schema: str) -> None:
    import psycopg

    conninfo = Settings.from_env({"AUDIT_DATABASE_URL": PG_URL}).database.conninfo()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request, tmp_path, pg_reason):
    """Environment variables for a fresh, initialised store of each kind."""
    if request.param == "sqlite":
        env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
        init_database(Settings.from_env(env))
        yield env
        return
    if pg_reason:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here but unreachable: {pg_reason}")
        pytest.skip(f"PostgreSQL unreachable: {pg_reason}")
    schema = make_pg_schema()
    env = {"AUDIT_DATABASE_URL": f"{PG_URL}?schema={schema}"}
    init_database(Settings.from_env(env))
    try:
        yield env
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def pg_env(pg_reason):
    """A fresh PostgreSQL schema, not initialised (for tests that run `init-db` themselves)."""
    if pg_reason:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here but unreachable: {pg_reason}")
        pytest.skip(f"PostgreSQL unreachable: {pg_reason}")
    schema = make_pg_schema()
    yield {"AUDIT_DATABASE_URL": f"{PG_URL}?schema={schema}"}
    drop_pg_schema(schema)


@pytest.fixture
def cipher_key():
    import base64

    return base64.b64encode(b"k" * 32).decode()


def build_app(env: dict, **kwargs) -> AuditService:
    return AuditService(Settings.from_env(env), today=lambda: FIXED_TODAY, **kwargs)


@pytest.fixture
def app(store_env):
    service = build_app(store_env)
    yield service
    service.close()


def event_count(app: AuditService) -> int:
    return app.recorder.max_notification_id() or 0
