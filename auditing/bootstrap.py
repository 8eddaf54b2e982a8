"""Setting up and checking the whole store: the log, the read models, the chain, the access tables.

The one module that knows every layer's tables, so it sits at the top with the auditing code;
``audit-service init-db`` calls ``init_database`` and every other command ``check_initialised``.
"""
from __future__ import annotations

from audit_service.application import AuditService
from audit_service.bootstrap import EVENTS_TABLE, SNAPSHOTS_TABLE, init_lock
from audit_service.config import Settings, check_reachable, not_initialised
from projections.db import ReadModelDB
from projections.schema import create_all as create_projection_tables

from .access import create_tables as create_access_tables
from .accounts import create_tables as create_account_tables
from .integrity import create_tables as create_integrity_tables

# One table of each part init-db sets up: the log, the read models, the access tables.
INITIALISED_TABLES = ("projection_positions", "api_tokens")


def init_database(settings: Settings | None = None) -> list[str]:
    """Create every table the service uses, idempotently; returns what was set up."""
    settings = settings or Settings.from_env()
    check_reachable(settings.database, create=True)
    done = []
    with init_lock(settings):
        app = AuditService(settings, create_table=True)
        app.close()
        done.append("event store")
        done.extend(create_projection_tables(settings))
        db = ReadModelDB(settings.database)
        try:
            done.extend(create_integrity_tables(db))
            done.extend(create_access_tables(db))
            done.extend(create_account_tables(db))
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
    db = ReadModelDB(settings.database)
    try:
        tables = (EVENTS_TABLE[settings.database.kind], SNAPSHOTS_TABLE[settings.database.kind],
                  *INITIALISED_TABLES)
        missing = [t for t in tables if not db.table_exists(t)]
    finally:
        db.close()
    if missing:
        raise not_initialised(settings.database)
