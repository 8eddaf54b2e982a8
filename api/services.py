"""What one worker process uses: the application, the read models, tokens, access log.

Built by ``create_app`` inside each gunicorn worker (after the fork), never at import.
Read-model connections are per thread, so threaded workers would also be safe.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from flask import current_app

from auditing.access import AccessLog, TokenStore
from auditing.directory import UserDirectory
from audit_service.application import AuditService
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.officer_cache import OfficerCache
from projections.queries import ReadModels

from .errors import Unavailable
from .probe import DatabaseProbe


@dataclass
class Services:
    settings: Settings
    _service: AuditService | None = None
    read_wait_seconds: float = 5.0
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probe: DatabaseProbe | None = None
    # officer answers kept between requests, exact (keyed by the timeline's version)
    officer_cache: OfficerCache = field(default_factory=OfficerCache)

    @property
    def probe(self) -> DatabaseProbe:
        """What /readyz and /metrics read: bounded, on a connection of its own."""
        if self._probe is None:
            with self._lock:
                if self._probe is None:
                    self._probe = DatabaseProbe(self.settings.database)
        return self._probe

    def __post_init__(self) -> None:
        if self._service is not None:
            self._wire(self._service)

    @property
    def service(self) -> AuditService:
        """The worker's application, built on first use: a worker starts even while the
        database is down, answers 503 meanwhile, and recovers without a restart."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    service = AuditService(self.settings)
                    self._wire(service)
                    self._service = service
        return self._service

    def _wire(self, service: AuditService) -> None:
        """The domain's ports: the eligibility answers and the users, from this process."""
        service.eligibility_answers = self._eligibility_answers
        service.user_directory = self

    def active_with_role(self, role: str, user_ids: Sequence[str]) -> set[str]:
        """The user directory the domain's team check asks (this thread's connection)."""
        return UserDirectory(self._db()).active_with_role(role, user_ids)

    def _eligibility_answers(self, officer_id: Any, on: Any) -> list[dict]:
        """The answers GET …/eligibility gives now (read models brought to the log head, or
        503 projection_behind): what a reappointment decision's eligibility_hash is checked
        against at write time."""
        self.wait_for(self.service.recorder.max_notification_id() or 0)
        with self.readmodels.one_read() as models:  # the timeline read once for the four
            return [models.eligibility(str(officer_id), on=on, leadership=lead, post=post)
                    for lead in (True, False) for post in ("same", "higher")]

    def _db(self) -> ReadModelDB:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = ReadModelDB(self.settings.database)
        return db

    @property
    def db(self) -> ReadModelDB:
        return self._db()

    @property
    def readmodels(self) -> ReadModels:
        return ReadModels(self._db(), self.service.reference, today=self.service.today,
                          cache=self.officer_cache)

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self._db())

    @property
    def access_log(self) -> AccessLog:
        return AccessLog(self._db())

    def reference_catalogues(self) -> dict:
        cached = getattr(self, "_catalogues", None)
        if cached is None:
            cached = self._catalogues = self.service.reference.as_dict()
        return cached

    def reset_connections(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.reset()

    def projected_position(self) -> int:
        """The position every projection has reached (the slowest one)."""
        row = self.db.fetchone("SELECT MIN(position) FROM projection_positions"
                               " WHERE name <> 'integrity'")
        return int(row[0] or 0) if row else 0

    def wait_for(self, position: int | None, seconds: float | None = None) -> None:
        """Read-your-writes: wait (at most ``seconds``, by default ``read_wait_seconds``)
        until the projections include ``position``; then 503 ``projection_behind``. The API's
        ``min_position`` and the pages' ``?at=`` after a form both wait here."""
        if not position:
            return
        head = self.service.recorder.max_notification_id() or 0
        if position > head:
            from audit_service.errors import ValidationFailed

            raise ValidationFailed(
                f"min_position {position} is beyond the end of the log ({head})",
                code="min_position_ahead",
                details={"min_position": f"must not exceed the log head, {head}"})
        deadline = time.monotonic() + (self.read_wait_seconds if seconds is None else seconds)
        delay = 0.01
        while self.projected_position() < position:
            if time.monotonic() >= deadline:
                raise Unavailable("projection_behind",
                                  f"the read models have not reached position {position} yet;"
                                  " retry shortly", retry_after=1)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def close(self) -> None:
        self.reset_connections()
        if self._probe is not None:
            self._probe.close()
        if self._service is not None:
            self._service.close()


def services() -> Services:
    return current_app.extensions["audit_service"]
