"""One place that wires a process: settings and the application.

Entry points (CLI commands, gunicorn workers, the projector) call ``build_service``;
only ``auditing.bootstrap.init_database`` creates tables (it knows every layer's tables),
under ``init_lock`` so concurrent runs are safe.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from .application import AuditService
from .config import Settings

INIT_LOCK_KEY = 0x41554449  # "AUDI": advisory lock id serialising init-db on PostgreSQL
# eventsourcing's default table for this application's log, per store kind
EVENTS_TABLE = {"sqlite": "stored_events", "postgresql": "auditservice_events"}
# Aggregate snapshots (a loading shortcut; every load reads this table first).
SNAPSHOTS_TABLE = {"sqlite": "stored_snapshots", "postgresql": "auditservice_snapshots"}
EVENT_POSITION = {"sqlite": "rowid", "postgresql": "notification_id"}  # its position column


def build_service(settings: Settings | None = None, **kwargs) -> AuditService:
    """The application for this process; tables are expected to exist (see init_database)."""
    settings = settings or Settings.from_env()
    return AuditService(settings, **kwargs)


@contextmanager
def init_lock(settings: Settings) -> Iterator[None]:
    """Serialise schema creation across processes (PostgreSQL advisory lock)."""
    if settings.database.kind != "postgresql":
        yield
        return
    import psycopg

    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (INIT_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (INIT_LOCK_KEY,))
