"""One place that wires a process: settings, the application, and the init step.

Entry points (CLI commands, gunicorn workers, the projector) call ``build_service``;
only ``init_database`` creates tables, under a lock so concurrent runs are safe.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from .application import AuditService
from .config import Settings, check_reachable, not_initialised

INIT_LOCK_KEY = 0x41554449  # "AUDI": advisory lock id serialising init-db on PostgreSQL
# eventsourcing's default table for this application's log, per store kind
EVENTS_TABLE = {"sqlite": "stored_events", "postgresql": "auditservice_events"}
# Aggregate snapshots (a loading shortcut; every load reads this table first).
SNAPSHOTS_TABLE = {"sqlite": "stored_snapshots", "postgresql": "auditservice_snapshots"}
EVENT_POSITION = {"sqlite": "rowid", "postgresql": "notification_id"}  # its position column
# One table of each part init-db sets up: the log, the read models, the access tables.
INITIALISED_TABLES = ("projection_positions", "api_tokens")


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


def init_database(settings: Settings | None = None) -> list[str]:
    """Create every table the service uses, idempotently; returns what was set up."""
    settings = settings or Settings.from_env()
    check_reachable(settings.database, create=True)
    done = []
    with init_lock(settings):
        app = AuditService(settings, create_table=True)
        app.close()
        done.append("event store")
        from projections.schema import create_all as create_projection_tables

        done.extend(create_projection_tables(settings))
        from projections.db import ReadModelDB

        from .access import create_tables as create_access_tables

        db = ReadModelDB(settings.database)
        try:
            done.extend(create_access_tables(db))
        finally:
            db.close()
    return done


def check_initialised(settings: Settings | None = None) -> None:
    """Raise ConfigurationError (one line) unless ``init_database`` has prepared the store:
    ``store_not_initialised``, or ``database_unreachable`` when it cannot be asked. Creates
    nothing."""
    settings = settings or Settings.from_env()
    check_reachable(settings.database)
    if settings.database.kind == "sqlite" and settings.database.path == ":memory:":
        return
    from projections.db import ReadModelDB

    db = ReadModelDB(settings.database)
    try:
        tables = (EVENTS_TABLE[settings.database.kind], SNAPSHOTS_TABLE[settings.database.kind],
                  *INITIALISED_TABLES)
        missing = [t for t in tables if not db.table_exists(t)]
    finally:
        db.close()
    if missing:
        raise not_initialised(settings.database)
