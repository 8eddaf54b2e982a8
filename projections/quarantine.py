"""Quarantined events: events of the log a projection could not apply, set aside so that
the projection moves on.

An event is stored forever, so one that a projection cannot apply (a bug, text the database
refuses, a topic this code does not know) must not stop the projection. The projector
records it here, in the transaction that moves the projection's position past it; operators
see it (``projections status``, ``/readyz``, ``/metrics``), officer reads it may concern
carry a warning, and ``projections retry`` applies it again after a fix.

Table ``projection_quarantine``, one row per (projection, event) set aside; rows are never
deleted, a retry that applies the event marks its row resolved:

- ``projection``, ``position``: which projection, which event of the log;
- ``topic``, ``originator_id``: the stored event's topic and aggregate id (known even when
  the event cannot be decoded);
- ``officer_ids``: JSON list of every id the decoded event names (its originator and every
  UUID among its fields), or NULL when it could not be decoded (then the officers it
  concerns are unknown);
- ``error_type``, ``error``: the exception's class and message (escaped: NUL bytes and
  unpaired surrogates never reach the database);
- ``quarantined_at``, ``attempts``, ``last_attempt_at``: when it was set aside, how many
  times it was tried (the first application included);
- ``resolved_at``, ``resolution``: NULL while quarantined; then when and how it left
  (``applied`` by a retry, ``rebuilt`` when a rebuild applied it).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable, Mapping
from uuid import UUID

from .db import ReadModelDB

TABLE = "projection_quarantine"
SHADOW_TABLE = TABLE + "__rebuild"  # what a rebuild sets aside, moved here at its swap
DDL = ("CREATE TABLE IF NOT EXISTS {t} (projection TEXT NOT NULL, position {big} NOT NULL,"
       " topic TEXT NOT NULL, originator_id TEXT NOT NULL, officer_ids TEXT,"
       " error_type TEXT NOT NULL, error TEXT NOT NULL, quarantined_at TEXT NOT NULL,"
       " attempts INTEGER NOT NULL, last_attempt_at TEXT NOT NULL, resolved_at TEXT,"
       " resolution TEXT, PRIMARY KEY (projection, position, quarantined_at))")
COLUMNS = ("projection", "position", "topic", "originator_id", "officer_ids", "error_type",
           "error", "quarantined_at", "attempts", "last_attempt_at", "resolved_at",
           "resolution")
ERROR_CHARS = 2_000
WARNING_CODE = "quarantined_events"


def create_table(db: ReadModelDB, table: str = TABLE) -> None:
    """Create the table (idempotent: ``init-db`` run again adds it to an older store)."""
    big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
    db.execute(DDL.format(t=table, big=big))


def safe_text(text: str, limit: int = ERROR_CHARS) -> str:
    """Text any database column takes: NUL and unpaired surrogates escaped, length bounded."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(exc: BaseException) -> tuple[str, str]:
    """(error type, message) of a failure, for the table."""
    return safe_text(type(exc).__name__, 200), safe_text(str(exc) or repr(exc))


def named_ids(event: Any) -> list[str]:
    """Every id a decoded event names: its originator and every UUID among its fields, however
    nested (a superset of the officers it concerns)."""
    found: dict[str, None] = {}

    def walk(value: Any, depth: int = 0) -> None:
        if depth > 20:
            return
        if isinstance(value, UUID):
            found[str(value)] = None
        elif isinstance(value, str) and len(value) == 36:
            try:
                found[str(UUID(value))] = None
            except ValueError:
                pass
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v, depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for v in value:
                walk(v, depth + 1)
        elif not isinstance(value, (str, bytes, int, float, bool, date, datetime)) and \
                hasattr(value, "__dict__"):
            walk(vars(value), depth + 1)

    walk(getattr(event, "originator_id", None))
    walk(vars(event) if hasattr(event, "__dict__") else {})
    return list(found)


def record(db: ReadModelDB, projection: str, notification: Any, event: Any | None,
           exc: BaseException, now: str, table: str = TABLE) -> dict:
    """Set an event aside for a projection (inside the caller's transaction)."""
    error_type, error = describe(exc)
    ids = json.dumps(named_ids(event)) if event is not None else None
    row = (projection, int(notification.id), safe_text(notification.topic, 1_000),
           str(notification.originator_id), ids, error_type, error, now, 1, now, None, None)
    insert(db, row, table)
    return dict(zip(COLUMNS, row))


def insert(db: ReadModelDB, row: tuple, table: str = TABLE) -> None:
    db.execute(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES"
               f" ({', '.join('?' * len(COLUMNS))})", row)


def rows(db: ReadModelDB, where: str, params: Iterable[Any] = (),
          table: str = TABLE) -> list[dict]:
    if not db.table_exists(table):
        return []
    found = db.fetchall(f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE {where}"
                        " ORDER BY position, projection", list(params))
    out = []
    for r in found:
        row = dict(zip(COLUMNS, r))
        row["position"] = int(row["position"])
        row["attempts"] = int(row["attempts"])
        row["officer_ids"] = json.loads(row["officer_ids"]) if row["officer_ids"] else None
        out.append(row)
    return out


def unresolved(db: ReadModelDB, projection: str | None = None,
               position: int | None = None) -> list[dict]:
    """The events still set aside, in log order (optionally one projection's, one position)."""
    where, params = "resolved_at IS NULL", []
    if projection is not None:
        where += " AND projection = ?"
        params.append(projection)
    if position is not None:
        where += " AND position = ?"
        params.append(position)
    return rows(db, where, params)


def counts(db: ReadModelDB) -> dict[str, int]:
    """How many events each projection has set aside now (projections with none left out)."""
    if not db.table_exists(TABLE):
        return {}
    rows = db.fetchall(f"SELECT projection, COUNT(*) FROM {TABLE} WHERE resolved_at IS NULL"
                       " GROUP BY projection")
    return {name: int(n) for name, n in rows}


def public(row: dict) -> dict:
    """What status reports of a quarantined event."""
    return {"position": row["position"], "topic": row["topic"],
            "originator_id": row["originator_id"], "error_type": row["error_type"],
            "error": row["error"], "quarantined_at": row["quarantined_at"],
            "attempts": row["attempts"], "last_attempt_at": row["last_attempt_at"]}


def concerning(rows: list[dict], officer_id: str, subject_ids: Iterable[str]) -> list[dict]:
    """Of the quarantined ``rows``, those that may concern an officer whose timeline names
    ``subject_ids`` (the aggregates its rows came from).

    An event concerns the officer when it names the officer, or comes from (or names) an
    aggregate already on the officer's timeline; an event that could not be decoded may
    concern anyone (its officer is unknown), so it concerns every officer."""
    officer = str(officer_id)
    subjects = set(subject_ids) | {officer}
    out = []
    for row in rows:
        ids = row["officer_ids"]
        if ids is None or row["originator_id"] in subjects or subjects.intersection(ids):
            out.append(row)
    return out


def warnings_for(db: ReadModelDB, officer_id: str, subject_ids: Iterable[str],
                 projection: str | None = None, aside: list[dict] | None = None
                 ) -> list[dict]:
    """The ``warnings`` of an officer read (from ``projection``'s tables): one
    ``quarantined_events`` warning listing the positions of the quarantined events that may
    concern the officer, or none. ``aside``: every unresolved row, already read."""
    if aside is None:
        aside = unresolved(db, projection)
    elif projection is not None:
        aside = [r for r in aside if r["projection"] == projection]
    if not aside:  # the usual case: ``subject_ids`` (maybe a generator) is never read
        return []
    found = concerning(aside, officer_id, subject_ids)
    if not found:
        return []
    positions = sorted({r["position"] for r in found})
    unknown = sorted({r["position"] for r in found if r["officer_ids"] is None})
    message = (f"{len(positions)} event(s) that may concern this officer could not be applied"
               " to the read models (quarantined); this answer may be incomplete")
    warning = {"code": WARNING_CODE, "message": message, "positions": positions,
               "projections": sorted({r["projection"] for r in found})}
    if unknown:
        warning["undecoded_positions"] = unknown
    return [warning]


def mark_attempt(db: ReadModelDB, row: dict, exc: BaseException | tuple[str, str],
                 now: str) -> None:
    """Count one more failed attempt, with its error (an exception or (type, message))."""
    error_type, error = describe(exc) if isinstance(exc, BaseException) else exc
    db.execute(f"UPDATE {TABLE} SET attempts = attempts + 1, last_attempt_at = ?,"
               " error_type = ?, error = ? WHERE projection = ? AND position = ? AND"
               " quarantined_at = ?", (now, error_type, error, row["projection"],
                                       row["position"], row["quarantined_at"]))


def resolve(db: ReadModelDB, row: dict, now: str, resolution: str) -> None:
    """Mark a row resolved (``applied`` by a retry, which counts as an attempt; ``rebuilt``)."""
    attempted = 1 if resolution == "applied" else 0
    db.execute(f"UPDATE {TABLE} SET resolved_at = ?, resolution = ?,"
               " attempts = attempts + ?, last_attempt_at = CASE WHEN ? = 1 THEN ?"
               " ELSE last_attempt_at END WHERE projection = ? AND position = ? AND"
               " quarantined_at = ?", (now, resolution, attempted, attempted, now,
                                       row["projection"], row["position"],
                                       row["quarantined_at"]))


def take_rebuilt(db: ReadModelDB, names: list[str], now: str) -> list[dict]:
    """At a rebuild's swap (inside its transaction): what the rebuild of ``names`` set aside
    replaces their quarantine. An event it set aside again stays quarantined (one more
    attempt, its new error); one it applied is resolved (``rebuilt``); a new one is added.
    Returns what the rebuild set aside."""
    marks = ", ".join("?" * len(names))
    found = rows(db, f"projection IN ({marks})", names, table=SHADOW_TABLE)
    again = {(r["projection"], r["position"]): r for r in found}
    for row in unresolved(db):
        if row["projection"] not in names:
            continue
        new = again.pop((row["projection"], row["position"]), None)
        if new is None:
            resolve(db, row, now, "rebuilt")
        else:
            mark_attempt(db, row, (new["error_type"], new["error"]), now)
    for r in again.values():
        ids = json.dumps(r["officer_ids"]) if r["officer_ids"] is not None else None
        insert(db, tuple(ids if c == "officer_ids" else r[c] for c in COLUMNS))
    db.execute(f"DELETE FROM {SHADOW_TABLE} WHERE projection IN ({marks})", names)
    return found
