"""Creation of the read-model tables, called by ``audit-service init-db``."""
from __future__ import annotations

from audit_service.config import Settings

from .db import ReadModelDB
from .projector import create_tables


def create_all(settings: Settings) -> list[str]:
    db = ReadModelDB(settings.database)
    try:
        return create_tables(db)
    finally:
        db.close()
