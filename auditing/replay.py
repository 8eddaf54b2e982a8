"""Replay: rebuild the read models from a list of stored events, away from the live service.

The events (from an export, or from the live log up to a time T) are written, with their
original positions, into a fresh SQLite event store in a temporary folder; the service's own
projector then builds the read models there, and ``ReadModels`` answers history and
eligibility exactly as the service's code does. Needs the audit-service package installed
(the chain check in ``scripts/verify_export.py`` does not).
"""
from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator
from uuid import UUID

from audit_service.application import AuditService
from audit_service.clock import local_date
from audit_service.config import Settings, parse_database_url
from projections.db import ReadModelDB
from projections.projector import Projector
from projections.queries import ReadModels, as_of_text

from .board import LINK_TOPICS, Corrections, decision_of
from .bootstrap import init_database
from .chain import normalize_timestamp, open_export
from .records import record_of

INSERT = ("INSERT OR IGNORE INTO stored_events (rowid, originator_id, originator_version, topic,"
          " state) VALUES (?, ?, ?, ?, ?)")


class ReplayStore:
    """A throw-away store holding replayed events and the read models built from them."""

    def __init__(self, cipher_key: str | None = None, folder: str | Path | None = None):
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="audit-replay-"))
        path = self.folder / "replay.sqlite3"
        self.settings = Settings(database=parse_database_url(f"sqlite:///{path}"),
                                 cipher_key=cipher_key)
        init_database(self.settings)
        self.app = AuditService(self.settings)
        self.db = ReadModelDB(self.settings.database)
        self._conn = sqlite3.connect(str(path), isolation_level=None)
        self._batch: list[tuple] = []
        self.added = 0
        self.skipped = 0
        self._models = None

    def add(self, position: int, originator_id: str, version: int, topic: str,
            state: bytes) -> None:
        self._batch.append((position, UUID(str(originator_id)).hex, version, topic, state))
        if len(self._batch) >= 2000:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        before = self._conn.total_changes
        self._conn.execute("BEGIN")
        self._conn.executemany(INSERT, self._batch)
        self._conn.execute("COMMIT")
        done = self._conn.total_changes - before
        self.added += done
        self.skipped += len(self._batch) - done
        self._batch = []

    def build(self) -> Any:
        """Project the replayed events; returns the ``ReadModels`` over them."""
        self._flush()
        Projector(self.app, self.db, batch_size=1000).catch_up()
        self._models = ReadModels(self.db, self.app.reference)
        return self._models

    @property
    def models(self) -> Any:
        return self._models if self._models is not None else self.build()

    def officer_ids(self) -> list[str]:
        return [r[0] for r in self.db.fetchall("SELECT officer_id FROM officers"
                                               " ORDER BY officer_id")]

    def decisions(self) -> list[dict]:
        """The reappointment decisions (and corrections) that quote an eligibility hash,
        each saying which decision it corrects or by which it was corrected."""
        out = []
        corrections = Corrections()
        recorder = self.app.recorder
        start = None
        while True:
            batch = recorder.select_notifications(start=start, limit=1000,
                                                  topics=list(LINK_TOPICS),
                                                  inclusive_of_start=start is None)
            for n in batch:
                event = self.app.mapper.to_domain_event(n)
                corrections.feed(event, n.id, n.topic.rsplit(":", 1)[-1])
                d = decision_of(event, n.id)
                if d:
                    out.append(d)
            if len(batch) < 1000:
                corrections.problems.clear()  # links only: bad corrections are verify's
                return corrections.annotate(out)
            start = batch[-1].id

    def close(self) -> None:
        self._conn.close()
        self.db.close()
        self.app.close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "ReplayStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def export_events(path: str | Path) -> Iterator[tuple[int, str, int, str, bytes, str]]:
    """``(position, originator_id, version, topic, state, recorded_at)`` of an export's events."""
    with open_export(path) as f:
        for raw in f:
            obj = json.loads(raw)
            if obj.get("type") == "event":
                yield (obj["position"], obj["originator_id"], obj["originator_version"],
                       obj["topic"], base64.b64decode(obj["state"]), obj["recorded_at"])


def replay_export(path: str | Path, cipher_key: str | None = None) -> ReplayStore:
    """A replay store holding every event of an export, read models built."""
    store = ReplayStore(cipher_key=cipher_key)
    try:
        for position, oid, version, topic, state, _recorded in export_events(path):
            store.add(position, oid, version, topic, state)
        store.build()
    except BaseException:
        store.close()
        raise
    return store


def replay_live(app: Any, as_of: datetime | str, batch_size: int = 2000) -> ReplayStore:
    """A replay store holding the live log's events recorded at or before ``as_of``."""
    bound = as_of_text(as_of)
    store = ReplayStore(cipher_key=app.settings.cipher_key)
    try:
        start, inclusive = None, True
        while True:
            batch = app.recorder.select_notifications(start=start, limit=batch_size,
                                                      inclusive_of_start=inclusive)
            for n in batch:
                if n.id <= 0:
                    continue
                originator_id, version, topic, state, recorded_at = record_of(n, app.mapper)
                if recorded_at and recorded_at <= bound:
                    store.add(n.id, originator_id, version, topic, state)
            if len(batch) < batch_size:
                break
            start, inclusive = batch[-1].id, False
        store.build()
    except BaseException:
        store.close()
        raise
    return store


def answer_at(models: Any, officer_id: str, as_of: datetime | str,
              on: date | str | None = None) -> dict:
    """History and eligibility of an officer as the service answered at ``as_of``."""
    bound = as_of_text(as_of)
    day = on or local_date(datetime.fromisoformat(bound))
    return {"officer_id": str(officer_id), "as_of": bound,
            "on": day.isoformat() if isinstance(day, date) else str(day),
            "history": models.history(officer_id, as_of=bound),
            "eligibility": models.eligibility(officer_id, on=day, as_of=bound)}


def latest_recorded_at(recorded: Iterable[str]) -> str | None:
    values = [normalize_timestamp(r) for r in recorded if r]
    return max(values) if values else None
