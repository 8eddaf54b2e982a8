"""The read models: what each projection stores and how one event changes it.

Every projection writes only its own tables, named through ``self.t`` so that a rebuild can
fill shadow copies and swap them in. Rows are append-only where the past can be asked
about ("as of T" filters on ``recorded_at``); superseding events are rows of their own.

Projections add their rows to a ``WriteBatch`` (flushed once per batch by the projector)
and never read their tables back while applying events: what they need to know about
earlier events (an inspection's unit, an officer's unit, whom a finding concerns) comes from
``Lookup``s, in-memory maps kept current by every write and backed by the tables.
"""
from __future__ import annotations

import json
import pickle
import sqlite3
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, NamedTuple
from uuid import UUID

from audit_service.clock import local_date

from .concerns import IGNORED_AGGREGATES, concerned
from .db import ReadModelDB, WriteBatch
from .effects import effect_span
from .summaries import summarize, summary_key
from .timeline import add_years, jsonable

SKIP_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
               "national_id", "national_id_hash"}
LOOKUP_LIMIT = 200_000  # keys per in-memory lookup; past it, lookups ask the database
# In a rebuild a lookup keeps at most this many keys in memory and moves the rest to a
# temporary file (``SpillStore``), so a rebuild's memory does not grow with the log.
SPILL_KEYS = 1_000
SUMMARY_CACHE_LIMIT = 10_000  # cached summaries (monthly grades and annual ratings repeat)
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # = json.dumps(..., same flags)
try:  # the C encoder behind _JSON.encode, made once rather than per call
    from json.encoder import c_make_encoder as _c_make_encoder, encode_basestring as _quote
except ImportError:  # pragma: no cover - not CPython
    _c_make_encoder = None
_C_JSON = (_c_make_encoder(None, _JSON.default, _quote, None, ": ", ", ", True, False, True)
           if _c_make_encoder is not None else None)


def iso_ts(moment: datetime) -> str:
    """Recorded times as fixed-width UTC strings, so text order is time order."""
    if moment.microsecond and moment.tzinfo is timezone.utc and moment.year >= 1000:
        return moment.isoformat()  # the same text, faster
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def event_data(event: Any) -> dict:
    """An event's own fields as JSON-ready data, never with personal identifiers."""
    data = {}
    for key, value in event.__dict__.items():
        if key in SKIP_FIELDS:
            continue
        kind = type(value)
        if kind is str or kind is int or kind is float or value is None or kind is bool:
            data[key] = value
        elif kind is UUID:
            data[key] = uuid_text(value)
        else:
            data[key] = jsonable(value)
    return data


_UUID_TEXT: dict[int, str] = {}
UUID_TEXT_LIMIT = 4_096


def uuid_text(value: UUID) -> str:
    """``str(value)``, remembered: the ids events name (officers, units) repeat a lot."""
    text = _UUID_TEXT.get(value.int)
    if text is None:
        if len(_UUID_TEXT) >= UUID_TEXT_LIMIT:
            _UUID_TEXT.clear()
        text = _UUID_TEXT[value.int] = str(value)
    return text


def event_type(event: Any) -> str:
    return type(event).__qualname__


def to_json(data: dict) -> str:
    """The stored text of a row's data: ``json.dumps(data, ensure_ascii=False, sort_keys=True)``
    (the same text; ``data`` is never circular, so the C encoder runs without that check)."""
    if _C_JSON is None:
        return _JSON.encode(data)
    return "".join(_C_JSON(data, 0))


OCCURRED_FIELD = {
    "Officer.Registered": "joined_on", "Officer.Transferred": "effective_on",
    "Officer.Appointed": "term_start", "Officer.ReappointmentDecided": "decided_on",
    "Officer.ReappointmentDecisionCorrected": "corrected_on",
    "Officer.LeftService": "left_on", "Inspection.Opened": "started_on",
    "Inspection.FindingRecorded": "observed_at", "Inspection.FindingCorrected": "observed_at",
    "Inspection.Closed": "closed_on", "Proceeding.Opened": "opened_on",
    "Proceeding.Deferred": "deferred_on", "Proceeding.Dismissed": "dismissed_on",
    "Proceeding.Decided": "decided_on", "Decision.Issued": "effective_from",
    "Decision.AppealLodged": "lodged_on", "Decision.AppealResolved": "resolved_on",
    "Decision.Annulled": "annulled_on", "Unit.Renamed": "effective_on",
    "Unit.Merged": "effective_on", "Unit.Registered": "established_on",
}


@lru_cache(maxsize=4096)
def _month_end(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1).isoformat()


def occurred_on(kind: str, data: dict) -> str | None:
    """The event's date in the world, as an ISO date."""
    if kind.startswith("AnnualRating.Recorded"):
        return f"{data['year']}-12-31"
    if kind == "MonthlyGrade.Recorded":
        return _month_end(data["period"])
    field = OCCURRED_FIELD.get(kind, "")
    value = data.get(field)
    if field == "observed_at" and isinstance(value, str):
        return local_date(datetime.fromisoformat(value)).isoformat()
    return value[:10] if isinstance(value, str) else None


class SpillStore:
    """Where a rebuild's lookups put the keys they cannot keep in memory: a private temporary
    SQLite database on disk (deleted when closed), one key space per lookup.

    Its page cache is kept small (512 KiB), so memory stays bounded however many keys
    a long log brings (officers, findings, proceedings); values are pickled."""

    def __init__(self) -> None:
        self._conn: sqlite3.Connection | None = None
        self._spaces = 0
        self._closed = False

    def space(self) -> int:
        self._spaces += 1
        return self._spaces

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._closed:  # a new file would answer "not found" for every spilled key
                raise RuntimeError("this rebuild's spilled lookups are gone")
            self._conn = sqlite3.connect("", isolation_level=None)  # "": a temporary file
            self._conn.execute("PRAGMA journal_mode=OFF")
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("PRAGMA cache_size=-512")  # KiB: lookups of spilled keys are scattered
            self._conn.execute("CREATE TABLE spilled (space INTEGER NOT NULL, key TEXT NOT NULL,"
                               " value BLOB NOT NULL, PRIMARY KEY (space, key)) WITHOUT ROWID")
        return self._conn

    def put_many(self, space: int, items: Any) -> None:
        dumps = pickle.dumps
        conn = self.conn
        conn.execute("BEGIN")
        conn.executemany("INSERT OR REPLACE INTO spilled VALUES (?, ?, ?)",
                         [(space, key, dumps(value)) for key, value in items])
        conn.execute("COMMIT")

    def get(self, space: int, key: str) -> tuple[bool, Any]:
        """(found, value)."""
        row = self.conn.execute("SELECT value FROM spilled WHERE space = ? AND key = ?",
                                (space, key)).fetchone()
        return (False, None) if row is None else (True, pickle.loads(row[0]))

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Lookup:
    """What a projection needs to read back while it writes: key -> value, in memory.

    Every write of the backing rows also goes through ``put``, so a value held here is the
    table's current value, rows not flushed yet included, and a miss can ask the database
    (``load``) without flushing first. When ``complete`` (a rebuild into empty tables, with
    every write seen here) a miss means the key has no row at all and nothing is read; there
    at most ``SPILL_KEYS`` keys stay in memory and the rest are moved to the rebuild's
    ``SpillStore``, which a miss then asks. Otherwise memory is bounded by dropping the map
    for good past ``limit`` keys, after which every lookup asks the database. ``limit=0``
    keeps nothing in memory.
    """

    def __init__(self, load: Callable[[WriteBatch, str], Any], limit: int | None = None):
        self.load = load
        self.limit = LOOKUP_LIMIT if limit is None else limit
        self.values: dict[str, Any] | None = None
        self.complete = False
        self.spill: SpillStore | None = None
        self.space = 0
        self.spilled = False

    def reset(self, complete: bool, spill: SpillStore | None = None) -> None:
        # In a rebuild even a lookup that keeps nothing in memory live (``limit=0``) is
        # held, spilling to the file: reading the tables mid-load would need their indexes.
        held = complete and (self.limit > 0 or spill is not None)
        self.values = {} if self.limit or held else None
        self.complete = held
        self.spill = spill if held else None
        self.space = spill.space() if self.spill is not None else 0
        self.spilled = False

    def get(self, out: WriteBatch, key: str) -> Any:
        values = self.values
        if values is not None:
            if key in values:
                return values[key]
            if self.complete:
                return self.spill.get(self.space, key)[1] if self.spilled else None
        else:
            out.sync()  # the tables must hold (and show) every row written so far
        value = self.load(out, key)
        if values is not None:
            self.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        values = self.values
        if values is None:
            return
        if key not in values:
            if self.spill is not None:
                if len(values) >= SPILL_KEYS:
                    self.spill.put_many(self.space, values.items())
                    values.clear()
                    self.spilled = True
            elif len(values) >= self.limit:
                self.values, self.complete = None, False
                return
        values[key] = value


class Lookups:
    """One ``Lookup`` per aggregate type (the kind of id it is keyed by), made on first use."""

    def __init__(self, load: Callable[[WriteBatch, str], Any], db_only: frozenset = frozenset()):
        self.load = load
        self.db_only = db_only
        self.by_kind: dict[str, Lookup] = {}
        self.complete = False
        self.spill: SpillStore | None = None

    def reset(self, complete: bool, spill: SpillStore | None = None) -> None:
        self.by_kind = {}
        self.complete = complete
        self.spill = spill

    def __getitem__(self, kind: str) -> Lookup:
        lookup = self.by_kind.get(kind)
        if lookup is None:
            lookup = Lookup(self.load, 0 if kind in self.db_only else None)
            lookup.reset(self.complete, self.spill)
            self.by_kind[kind] = lookup
        return lookup


class Projection:
    """A named read model with its own tables and tracked position."""

    name = ""
    tables: dict[str, str] = {}   # logical name -> CREATE TABLE template with {t}
    indexes: dict[str, list[str]] = {}  # logical name -> CREATE INDEX templates
    # Append-only tables whose primary key a PostgreSQL rebuild adds after loading the rows.
    deferred_keys: dict[str, str] = {}
    updated_tables: frozenset = frozenset()  # tables with rows changed after their insert
    added_columns: dict[str, tuple[str, ...]] = {}  # columns added since a table's first version
    ignored_aggregates: frozenset = frozenset()  # event types "Aggregate.*" never applied
    kinds: frozenset | None = None  # the only event types applied (None: all but the ignored)
    # Whether a rebuild may split this projection between processes by originator: true when
    # everything it looks up while applying an event was written by events of the same
    # aggregate, so each process needs only its own share of the log.
    splits_by_originator = False

    def __init__(self, reference: Any, suffix: str = ""):
        self.reference = reference
        self.suffix = suffix
        self.t = {name: name + suffix for name in self.tables}
        self._deferred: str | None = None  # the index token while indexes are left out
        # apply only events whose originator's ``share_of`` is in here (a rebuild's share)
        self.share: frozenset[int] | None = None
        # originator id -> the first event of that aggregate in the log (set by the projector)
        self.first_events: Callable[[UUID], Any] | None = None
        self.begin(complete=False)

    def handles(self, kind: str) -> bool:
        if self.kinds is not None:
            return kind in self.kinds
        return kind.split(".", 1)[0] not in self.ignored_aggregates

    def create(self, db: ReadModelDB, token: str = "0", deferred: bool = False) -> None:
        """Create the tables; ``deferred``: leave indexes (and on PostgreSQL the keys of
        append-only tables) to ``create_indexes``, for loading many rows first."""
        big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
        for name, ddl in self.tables.items():
            sql = ddl.format(t=self.t[name], big=big)
            key = self.deferred_keys.get(name)
            if deferred and key and db.kind == "postgresql":
                clause = f", PRIMARY KEY ({key})"
                assert clause in sql, (name, key)
                sql = sql.replace(clause, "")
            db.execute(sql)
            if not deferred:
                for index in self.indexes.get(name, []):
                    db.execute(index.format(t=self.t[name], token=token))
        self._deferred = token if deferred else None

    def adopt_deferred(self, token: str) -> None:
        """Write into tables another process created with ``create(deferred=True)``."""
        self._deferred = token

    def create_indexes(self, db: ReadModelDB) -> None:
        """After a deferred ``create``: add the keys and indexes left out (once).

        In a split rebuild only the main process gets here, after its helpers have finished
        (a rebuild never reads its tables mid-load); on PostgreSQL an advisory lock per table
        and the check for an existing key would still make two callers take turns."""
        if self._deferred is None:
            return
        token, self._deferred = self._deferred, None
        postgres = db.kind == "postgresql"
        for name in self.tables:
            t = self.t[name]
            key = self.deferred_keys.get(name)
            indexes = self.indexes.get(name, [])
            if not postgres:
                for index in indexes:
                    db.execute(index.format(t=t, token=token))
                continue
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(?, ?)", index_lock_keys(t))
                if key and db.fetchone("SELECT 1 FROM pg_constraint WHERE conrelid ="
                                       " to_regclass(?) AND contype = 'p'", (t,)) is None:
                    db.execute(f"ALTER TABLE {t} ADD CONSTRAINT pk_{t}_{token}"
                               f" PRIMARY KEY ({key})")
                for index in indexes:
                    db.execute(index.format(t=t, token=token))

    def append_only_tables(self) -> list[str]:
        """This object's tables that only ever get inserts (their rows can be streamed)."""
        return [self.t[name] for name in self.tables if name not in self.updated_tables]

    def drop(self, db: ReadModelDB) -> None:
        for name in self.tables:
            db.execute(f"DROP TABLE IF EXISTS {self.t[name]}")

    def begin(self, complete: bool) -> None:
        """Forget what the lookups hold. ``complete``: the tables are empty and every write
        to them will pass through this object (a rebuild), so lookups need no database (and
        keep what does not fit in memory in a temporary file until ``end()``)."""
        self.end()
        if complete:
            self._spill = SpillStore()
        for lookup in self._lookups():
            lookup.reset(complete, self._spill)

    def end(self) -> None:
        """Let go of a rebuild's temporary lookup file, if any."""
        spill, self._spill = getattr(self, "_spill", None), None
        if spill is not None:
            spill.close()

    def _lookups(self) -> list:
        return []

    def _read(self, out: WriteBatch, sql: str, params: tuple) -> list[tuple]:
        """A read of this projection's own tables while applying (a lookup's miss)."""
        self.create_indexes(out.db)  # indexes left out for a bulk load: reads are by key
        return out.db.fetchall(sql, params)

    def apply(self, out: WriteBatch, position: int, recorded_at: str, event: Any) -> None:
        raise NotImplementedError


def index_lock_keys(table: str) -> tuple[int, int]:
    """The advisory-lock key pair under which a table's deferred keys and indexes are built."""
    import zlib

    return 0x494E4458, zlib.crc32(table.encode()) & 0x7FFFFFFF  # "INDX", the table


class OfficerTimeline(Projection):
    """Everything that concerns an officer, one row per (officer, event).

    What it looks up (an inspection's unit, whom a finding, proceeding, decision, grade or
    rating concerns) was written by earlier events of the same aggregate, so a rebuild can
    split it between processes by originator."""

    name = "officer_timeline"
    tables = {
        "officer_timeline": (
            "CREATE TABLE IF NOT EXISTS {t} (officer_id TEXT NOT NULL, position {big} NOT NULL,"
            " event_type TEXT NOT NULL, recorded_at TEXT NOT NULL, occurred_on TEXT,"
            " subject_id TEXT NOT NULL, actor_id TEXT, actor_role TEXT, summary_vi TEXT,"
            " summary_en TEXT, data TEXT NOT NULL, PRIMARY KEY (officer_id, position))"),
        "timeline_inspections": (
            "CREATE TABLE IF NOT EXISTS {t} (inspection_id TEXT PRIMARY KEY,"
            " unit_id TEXT NOT NULL)"),
    }
    indexes = {"officer_timeline": [
        "CREATE INDEX IF NOT EXISTS ix_{t}_subject_{token} ON {t} (subject_id, position)"]}
    deferred_keys = {"officer_timeline": "officer_id, position"}
    ignored_aggregates = IGNORED_AGGREGATES  # which events concern whom: ``concerns``
    splits_by_originator = True
    # Grades and ratings concern one officer for good, named by the event that recorded them,
    # and are as many as the events themselves: a correction's officer is read from that
    # event in the log (``first_events``), not held per grade nor read from the tables.
    RECORDED_ONCE = frozenset({"MonthlyGrade", "AnnualRating"})
    UNCACHED_SUBJECTS = RECORDED_ONCE | {"Officer"}  # an officer's own events name the officer

    def __init__(self, reference: Any, suffix: str = ""):
        self.inspection_units = Lookup(self._load_inspection_unit)
        self.subjects = Lookups(self._load_officer_of)
        self._summaries: dict[tuple, tuple[str, str]] = {}
        super().__init__(reference, suffix)

    def _lookups(self) -> list:
        return [self.inspection_units, self.subjects]

    def _load_inspection_unit(self, out: WriteBatch, inspection_id: str) -> str | None:
        rows = self._read(out, f"SELECT unit_id FROM {self.t['timeline_inspections']}"
                               " WHERE inspection_id = ?", (inspection_id,))
        return rows[0][0] if rows else None

    def _recorded_officer(self, out: WriteBatch, originator_id: UUID) -> str | None:
        """The officer a grade or rating was recorded for, from its first event in the log
        (one read by key; ``first_events`` is set by the projector that applies events)."""
        if self.first_events is None:
            raise RuntimeError("a projection applies events only through a Projector")
        first = self.first_events(originator_id)
        return uuid_text(first.officer_id) if first is not None else None

    def _load_officer_of(self, out: WriteBatch, subject_id: str) -> str | None:
        """The officer of the subject's latest row. Two rows at one position (a finding
        moved to another officer) mean the officer named by the row's data: the one the
        subject concerns from then on, and the last one written."""
        t = self.t["officer_timeline"]
        rows = self._read(out, f"SELECT officer_id, data FROM {t} WHERE subject_id = ? AND"
                               f" position = (SELECT MAX(position) FROM {t} WHERE subject_id = ?)",
                          (subject_id, subject_id))
        if len(rows) <= 1:
            return rows[0][0] if rows else None
        named = json.loads(rows[0][1]).get("officer_id")
        officers = sorted(r[0] for r in rows)
        return named if named in officers else officers[-1]

    def apply(self, out: WriteBatch, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        aggregate = kind.split(".", 1)[0]
        if aggregate in self.ignored_aggregates:
            return
        data = event_data(event)
        originator = str(event.originator_id)
        if kind == "Inspection.Opened":
            out.insert(self.t["timeline_inspections"], (originator, data["unit_id"]))
            self.inspection_units.put(originator, data["unit_id"])
            return

        def officer_of(aggregate: str, subject: str) -> str | None:
            if aggregate in self.RECORDED_ONCE:
                return self._recorded_officer(out, event.originator_id)
            return self.subjects[aggregate].get(out, subject)

        subject, officers = concerned(kind, originator, data, officer_of)
        if aggregate == "Inspection" and officers:
            data["inspection_id"] = originator
            data["unit_id"] = self.inspection_units.get(out, originator)
        if not officers:
            return
        occurred = occurred_on(kind, data)
        actor_id, actor_role = data.pop("actor_id", None), data.pop("actor_role", None)
        # Summaries of monthly grades and annual ratings repeat: cached by what they read.
        key = summary_key(kind, data)
        try:
            summary = self._summaries.get(key) if key is not None else None
        except TypeError:  # an unhashable value: not cached
            key = summary = None
        if summary is None:
            summary = summarize({"position": position, "event_type": kind,
                                 "recorded_at": recorded_at, "occurred_on": occurred,
                                 "subject_id": subject, "actor_id": actor_id,
                                 "actor_role": actor_role, "data": data}, self.reference)
            if key is not None:
                if len(self._summaries) >= SUMMARY_CACHE_LIMIT:
                    self._summaries.clear()
                self._summaries[key] = summary
        vi, en = summary
        payload = to_json(data)
        table = self.t["officer_timeline"]
        for officer in officers:
            out.insert(table, (officer, position, kind, recorded_at, occurred, subject,
                               actor_id, actor_role, vi, en, payload))
        if aggregate not in self.UNCACHED_SUBJECTS:
            self.subjects[aggregate].put(subject, officers[-1])


class Directory(Projection):
    """Current units and officers, for lists and search (no history here)."""

    name = "directory"
    tables = {
        "units": (
            "CREATE TABLE IF NOT EXISTS {t} (unit_id TEXT PRIMARY KEY, code TEXT NOT NULL,"
            " name TEXT NOT NULL, level TEXT NOT NULL, parent_id TEXT, merged_into TEXT,"
            " position {big} NOT NULL, merged_on TEXT)"),
        "unit_ratings": (
            "CREATE TABLE IF NOT EXISTS {t} (unit_id TEXT NOT NULL, year INTEGER NOT NULL,"
            " rating TEXT NOT NULL, source TEXT, position {big} NOT NULL,"
            " recorded_at TEXT NOT NULL, PRIMARY KEY (unit_id, position))"),
        "officers": (
            "CREATE TABLE IF NOT EXISTS {t} (officer_id TEXT PRIMARY KEY,"
            " personnel_code TEXT NOT NULL, full_name TEXT NOT NULL, search_name TEXT NOT NULL,"
            " category TEXT NOT NULL, unit_id TEXT NOT NULL, job_position TEXT NOT NULL,"
            " left_on TEXT, position {big} NOT NULL)"),
    }
    indexes = {
        "officers": ["CREATE INDEX IF NOT EXISTS ix_{t}_unit_{token} ON {t} (unit_id, officer_id)"],
        "units": ["CREATE INDEX IF NOT EXISTS ix_{t}_parent_{token} ON {t} (parent_id)"],
    }
    deferred_keys = {"unit_ratings": "unit_id, position"}
    updated_tables = frozenset({"units", "officers"})
    kinds = frozenset({"Unit.Registered", "Unit.Renamed", "Unit.Merged", "Unit.Rated",
                       "Officer.Registered", "Officer.Transferred", "Officer.Appointed",
                       "Officer.LeftService"})

    #: Columns added after the table was first created: ``create`` adds them to a store made
    #: before (empty there until ``projections rebuild`` fills them from the log).
    ADDED_COLUMNS = {"units": {"merged_on": "TEXT"}}

    def create(self, db: ReadModelDB, token: str = "0", deferred: bool = False) -> None:
        super().create(db, token, deferred)
        for name, added in self.ADDED_COLUMNS.items():
            have = db.columns(self.t[name])
            for column, kind in added.items():
                if column not in have:
                    db.execute(f"ALTER TABLE {self.t[name]} ADD COLUMN {column} {kind}")

    def apply(self, out: WriteBatch, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        oid = str(event.originator_id)
        t = self.t
        if kind == "Unit.Registered":
            out.insert(t["units"], (oid, event.code, event.name, event.level,
                                    str(event.parent_id) if event.parent_id else None, None,
                                    position, None))
        elif kind == "Unit.Renamed":
            out.update(t["units"], f"UPDATE {t['units']} SET name = ?, position = ?"
                                   " WHERE unit_id = ?", (event.new_name, position, oid))
        elif kind == "Unit.Merged":
            out.update(t["units"], f"UPDATE {t['units']} SET merged_into = ?, merged_on = ?,"
                                   " position = ? WHERE unit_id = ?",
                       (str(event.into_unit_id), event.effective_on.isoformat(), position, oid))
        elif kind == "Unit.Rated":
            out.insert(t["unit_ratings"], (oid, event.year, event.rating, event.source, position,
                                           recorded_at))
        elif kind == "Officer.Registered":
            out.insert(t["officers"], (oid, event.personnel_code, event.full_name,
                                       search_key(event.full_name), event.category,
                                       str(event.unit_id), event.position, None, position))
        elif kind == "Officer.Transferred":
            out.update(t["officers"], f"UPDATE {t['officers']} SET unit_id = ?,"
                                      " job_position = COALESCE(?, job_position), position = ?"
                                      " WHERE officer_id = ?",
                       (str(event.to_unit_id), event.new_position, position, oid))
        elif kind == "Officer.Appointed":
            out.update(t["officers"], f"UPDATE {t['officers']} SET job_position = ?, position = ?"
                                      " WHERE officer_id = ?", (event.position, position, oid))
        elif kind == "Officer.LeftService":
            out.update(t["officers"], f"UPDATE {t['officers']} SET left_on = ?, position = ?"
                                      " WHERE officer_id = ?",
                       (event.left_on.isoformat(), position, oid))


def search_key(name: str) -> str:
    """Case- and accent-insensitive form of a name: 'Nguyễn Văn Ấn' -> 'nguyen van an'."""
    import unicodedata

    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


class UnitStatistics(Projection):
    """Facts counted per unit and year: inspections, findings, proceedings, decisions, ratings.

    Each fact row carries its unit and year as of when it happened (an officer's unit at the
    time); changes (withdrawal, correction, annulment, appeal) are rows naming the fact.
    """

    name = "unit_statistics"
    tables = {
        "unit_facts": (
            "CREATE TABLE IF NOT EXISTS {t} (position {big} NOT NULL, seq INTEGER NOT NULL,"
            " unit_id TEXT NOT NULL, year INTEGER NOT NULL, kind TEXT NOT NULL,"
            " subject_id TEXT NOT NULL, officer_id TEXT, detail TEXT, recorded_at TEXT NOT NULL,"
            " PRIMARY KEY (position, seq))"),
        "stats_officers": (
            "CREATE TABLE IF NOT EXISTS {t} (officer_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL)"),
        "stats_inspections": (
            "CREATE TABLE IF NOT EXISTS {t} (inspection_id TEXT PRIMARY KEY,"
            " unit_id TEXT NOT NULL)"),
    }
    indexes = {"unit_facts": [
        "CREATE INDEX IF NOT EXISTS ix_{t}_unit_{token} ON {t} (unit_id, year)",
        "CREATE INDEX IF NOT EXISTS ix_{t}_subject_{token} ON {t} (subject_id)"]}
    deferred_keys = {"unit_facts": "position, seq"}
    updated_tables = frozenset({"stats_officers"})
    kinds = frozenset({"Officer.Registered", "Officer.Transferred", "Inspection.Opened",
                       "Inspection.FindingRecorded", "Inspection.FindingCorrected",
                       "Inspection.FindingWithdrawn", "Proceeding.Opened", "Decision.Issued",
                       "Decision.AppealResolved", "Decision.Annulled", "AnnualRating.Recorded",
                       "AnnualRating.Corrected"})
    # A fact's subject is looked up again only when the fact changes. Rating facts (one per
    # officer and year) are read from the table then, not held in memory (in a rebuild they
    # are held, spilling to a file); proceedings' facts never change.
    DB_ONLY_FACTS = frozenset({"AnnualRating"})
    UNCHANGED_FACTS = frozenset({"Proceeding"})

    def __init__(self, reference: Any, suffix: str = ""):
        self.officer_units = Lookup(self._load_officer_unit)
        self.inspection_units = Lookup(self._load_inspection_unit)
        # subject -> (unit, year, officer) of its first fact; every later fact about the same
        # subject (a change) repeats those, so the latest value written is the first fact's.
        self.facts = Lookups(self._load_first_fact, self.DB_ONLY_FACTS)
        super().__init__(reference, suffix)

    def _lookups(self) -> list:
        return [self.officer_units, self.inspection_units, self.facts]

    def _load_officer_unit(self, out: WriteBatch, officer_id: str) -> str | None:
        rows = self._read(out, f"SELECT unit_id FROM {self.t['stats_officers']}"
                               " WHERE officer_id = ?", (officer_id,))
        return rows[0][0] if rows else None

    def _load_inspection_unit(self, out: WriteBatch, inspection_id: str) -> str | None:
        rows = self._read(out, f"SELECT unit_id FROM {self.t['stats_inspections']}"
                               " WHERE inspection_id = ?", (inspection_id,))
        return rows[0][0] if rows else None

    def _load_first_fact(self, out: WriteBatch, subject_id: str) -> tuple | None:
        rows = self._read(out, f"SELECT unit_id, year, officer_id FROM {self.t['unit_facts']}"
                               " WHERE subject_id = ? ORDER BY position LIMIT 1", (subject_id,))
        return tuple(rows[0]) if rows else None

    def _fact(self, out, aggregate, position, unit, year, kind, subject, officer, detail,
              recorded_at):
        out.insert(self.t["unit_facts"], (position, 0, unit, year, kind, subject, officer, detail,
                                          recorded_at))
        if aggregate not in self.UNCHANGED_FACTS:
            self.facts[aggregate].put(subject, (unit, year, officer))

    def _change(self, out, aggregate, position, recorded_at, subject, kind, detail):
        """A change to an earlier fact is counted under that fact's unit and year."""
        original = self.facts[aggregate].get(out, subject)
        if original:
            self._fact(out, aggregate, position, original[0], original[1], kind, subject,
                       original[2], detail, recorded_at)

    def apply(self, out: WriteBatch, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        oid = str(event.originator_id)
        t = self.t
        if kind == "Officer.Registered":
            unit = str(event.unit_id)
            out.insert(t["stats_officers"], (oid, unit))
            self.officer_units.put(oid, unit)
        elif kind == "Officer.Transferred":
            unit = str(event.to_unit_id)
            out.update(t["stats_officers"], f"UPDATE {t['stats_officers']} SET unit_id = ?"
                                            " WHERE officer_id = ?", (unit, oid))
            if self.officer_units.get(out, oid) is not None:  # the UPDATE found a row
                self.officer_units.put(oid, unit)
        elif kind == "Inspection.Opened":
            unit = str(event.unit_id)
            out.insert(t["stats_inspections"], (oid, unit))
            self.inspection_units.put(oid, unit)
            self._fact(out, "Inspection", position, unit, event.started_on.year, "inspection",
                       oid, None, None, recorded_at)
        elif kind == "Inspection.FindingRecorded":
            unit = self.inspection_units.get(out, oid)
            if unit is None:
                raise LookupError(f"finding of an inspection never opened: {oid}")
            self._fact(out, "Inspection", position, unit, local_date(event.observed_at).year,
                       "finding", str(event.finding_id),
                       str(event.officer_id) if event.officer_id else None,
                       event.conduct_code, recorded_at)
        elif kind == "Inspection.FindingCorrected":
            self._change(out, "Inspection", position, recorded_at, str(event.finding_id),
                         "finding_corrected",
                         json.dumps({"conduct_code": event.conduct_code,
                                     "officer_id": str(event.officer_id) if event.officer_id
                                     else None}))
        elif kind == "Inspection.FindingWithdrawn":
            self._change(out, "Inspection", position, recorded_at, str(event.finding_id),
                         "finding_withdrawn", None)
        elif kind == "Proceeding.Opened":
            unit = self.officer_units.get(out, str(event.officer_id))
            self._fact(out, "Proceeding", position, unit, event.opened_on.year, "proceeding",
                       oid, str(event.officer_id), None, recorded_at)
        elif kind == "Decision.Issued":
            unit = self.officer_units.get(out, str(event.officer_id))
            self._fact(out, "Decision", position, unit, event.effective_from.year, "decision",
                       oid, str(event.officer_id), event.form, recorded_at)
        elif kind == "Decision.AppealResolved" and event.outcome != "upheld":
            detail = "overturned" if event.outcome == "overturned" else f"form:{event.new_form}"
            self._change(out, "Decision", position, recorded_at, oid, "decision_changed", detail)
        elif kind == "Decision.Annulled":
            self._change(out, "Decision", position, recorded_at, oid, "decision_changed",
                         "annulled")
        elif kind == "AnnualRating.Recorded":
            unit = self.officer_units.get(out, str(event.officer_id))
            self._fact(out, "AnnualRating", position, unit, event.year, "rating", oid,
                       str(event.officer_id), event.rating, recorded_at)
        elif kind == "AnnualRating.Corrected":
            self._change(out, "AnnualRating", position, recorded_at, oid, "rating_corrected",
                         event.rating)


class WorkDecision(NamedTuple):
    """What the casework read model reads back about a decision (its row's columns) to work
    out the span of its effects and of the state decision of the same act."""

    effective_from: str
    regime_on: str | None
    discipline_system: str
    proceeding_id: str
    form: str
    status: str
    effect_from: str | None = None
    effect_until: str | None = None


class Casework(Projection):
    """What the board and the inspectors work through: inspections, proceedings, decisions
    and appeals, and leadership terms, one current row each (for worklists and filters).

    A decision's ``effect_from`` / ``effect_until`` follow the start rule the verdict and the
    standing use (``effects.effect_span``): a state decision's depend on the Party decision
    for the same act (its proceeding), so they are worked out again whenever either is
    issued, changed on appeal or annulled (``acts``: proceeding -> its decisions)."""

    name = "casework"
    tables = {
        "work_inspections": (
            "CREATE TABLE IF NOT EXISTS {t} (inspection_id TEXT PRIMARY KEY,"
            " unit_id TEXT NOT NULL, team TEXT NOT NULL, started_on TEXT NOT NULL,"
            " closed_on TEXT, conclusion_ref TEXT, findings INTEGER NOT NULL,"
            " position {big} NOT NULL)"),
        "work_proceedings": (
            "CREATE TABLE IF NOT EXISTS {t} (proceeding_id TEXT PRIMARY KEY,"
            " officer_id TEXT NOT NULL, opened_on TEXT NOT NULL, status TEXT NOT NULL,"
            " deferred_until TEXT, deadline TEXT NOT NULL, deadline_complex TEXT NOT NULL,"
            " decision_id TEXT, opened_position {big} NOT NULL, position {big} NOT NULL)"),
        "work_decisions": (
            "CREATE TABLE IF NOT EXISTS {t} (decision_id TEXT PRIMARY KEY,"
            " proceeding_id TEXT NOT NULL, officer_id TEXT NOT NULL, form TEXT NOT NULL,"
            " effective_from TEXT NOT NULL, status TEXT NOT NULL, appeal_id TEXT,"
            " appeal_lodged_on TEXT, issued_position {big} NOT NULL, position {big} NOT NULL,"
            " regime_on TEXT, discipline_system TEXT, effect_until TEXT, effect_from TEXT)"),
        "work_terms": (
            "CREATE TABLE IF NOT EXISTS {t} (officer_id TEXT PRIMARY KEY,"
            " job_position TEXT, term_start TEXT NOT NULL, term_years INTEGER NOT NULL,"
            " term_end TEXT NOT NULL, position {big} NOT NULL)"),
    }
    indexes = {
        "work_proceedings": ["CREATE INDEX IF NOT EXISTS ix_{t}_officer_{token} ON {t}"
                             " (officer_id)"],
        "work_decisions": ["CREATE INDEX IF NOT EXISTS ix_{t}_officer_{token} ON {t}"
                           " (officer_id)",
                           "CREATE INDEX IF NOT EXISTS ix_{t}_until_{token} ON {t}"
                           " (effect_until, issued_position)",
                           "CREATE INDEX IF NOT EXISTS ix_{t}_proceeding_{token} ON {t}"
                           " (proceeding_id)"],
        "work_terms": ["CREATE INDEX IF NOT EXISTS ix_{t}_end_{token} ON {t} (term_end)"],
    }
    updated_tables = frozenset({"work_inspections", "work_proceedings", "work_decisions",
                                "work_terms"})
    kinds = frozenset({"Inspection.Opened", "Inspection.Closed", "Inspection.FindingRecorded",
                       "Inspection.FindingWithdrawn", "Proceeding.Opened",
                       "Proceeding.Deferred", "Proceeding.Dismissed", "Proceeding.Decided",
                       "Decision.Issued", "Decision.AppealLodged", "Decision.AppealResolved",
                       "Decision.Annulled", "Officer.Appointed",
                       "Officer.ReappointmentDecided",
                       "Officer.ReappointmentDecisionCorrected", "Officer.LeftService"})

    #: columns added since the first version of a table: a store made before them gets
    #: them and the projection is applied again from the start (``upgrade``)
    added_columns = {"work_decisions": ("regime_on", "discipline_system", "effect_until",
                                        "effect_from")}

    def __init__(self, reference: Any, suffix: str = ""):
        self.terms = Lookup(self._load_term)
        self.decisions = Lookup(self._load_decision)
        self.acts = Lookup(self._load_act)
        super().__init__(reference, suffix)

    def _lookups(self) -> list:
        return [self.terms, self.decisions, self.acts]

    def _load_decision(self, out: WriteBatch, decision_id: str) -> WorkDecision | None:
        rows = self._read(out, f"SELECT {', '.join(WorkDecision._fields)} FROM"
                               f" {self.t['work_decisions']} WHERE decision_id = ?",
                          (decision_id,))
        return WorkDecision(*rows[0]) if rows else None

    def _load_act(self, out: WriteBatch, proceeding_id: str) -> tuple[str, ...]:
        rows = self._read(out, f"SELECT decision_id FROM {self.t['work_decisions']} WHERE"
                               " proceeding_id = ? ORDER BY issued_position", (proceeding_id,))
        return tuple(r[0] for r in rows)

    def _party_effective(self, out: WriteBatch, d: WorkDecision, decision_id: str
                         ) -> date | None:
        """The effective date of the in-force Party decision for the state decision's act
        (its proceeding), the first issued, as the verdict finds it (``_party_twin``)."""
        if d.discipline_system != "state":
            return None
        for other in self.acts.get(out, d.proceeding_id) or ():
            if other == decision_id:
                continue
            x = self.decisions.get(out, other)
            if x is not None and x.discipline_system == "party" and x.status == "in_force":
                return date.fromisoformat(x.effective_from)
        return None

    def _span(self, out: WriteBatch, d: WorkDecision, decision_id: str) -> WorkDecision:
        """``d`` with the span of its effects worked out again (``effects.effect_span``, the
        rule the verdict and the standing use, the Party decision for the act included)."""
        start, until = effect_span(
            self.reference, d.form, date.fromisoformat(d.effective_from),
            date.fromisoformat(d.regime_on) if d.regime_on else None, d.discipline_system,
            self._party_effective(out, d, decision_id))
        return d._replace(effect_from=start.isoformat(),
                          effect_until=until.isoformat() if until else None)

    def _change_decision(self, out: WriteBatch, decision_id: str, position: int,
                         changes: dict[str, Any]) -> None:
        """A decision's row changed by its own event (its span worked out again when its form
        changed), then the spans of the state decisions of the same act when it is a Party
        decision (one annulled or overturned no longer sets their start)."""
        d = self.decisions.get(out, decision_id)
        if d is None:  # not in this read model: the row's own columns only, as ever
            self._set(out, "work_decisions", "decision_id", decision_id, position, **changes)
            return
        new = d._replace(**{k: v for k, v in changes.items() if k in WorkDecision._fields})
        if new.form != d.form:
            new = self._span(out, new, decision_id)
            changes = {**changes, "effect_from": new.effect_from,
                       "effect_until": new.effect_until}
        self._set(out, "work_decisions", "decision_id", decision_id, position, **changes)
        self.decisions.put(decision_id, new)
        if new.discipline_system == "party":
            self._respan_act(out, new.proceeding_id, decision_id, position)

    def _respan_act(self, out: WriteBatch, proceeding_id: str, party_id: str,
                    position: int) -> None:
        """After a Party decision is issued or changed: the state decisions of its act whose
        span that changes get it written (Decree 71/2023 runs them from its date)."""
        for other in self.acts.get(out, proceeding_id) or ():
            if other == party_id:
                continue
            d = self.decisions.get(out, other)
            if d is None or d.discipline_system != "state":
                continue
            new = self._span(out, d, other)
            if new != d:
                self._set(out, "work_decisions", "decision_id", other, position,
                          effect_from=new.effect_from, effect_until=new.effect_until)
                self.decisions.put(other, new)

    def _load_term(self, out: WriteBatch, officer_id: str) -> tuple | None:
        rows = self._read(out, f"SELECT term_end, term_years FROM {self.t['work_terms']}"
                               " WHERE officer_id = ?", (officer_id,))
        return (rows[0][0], int(rows[0][1])) if rows else None

    def _set(self, out: WriteBatch, table: str, key: str, oid: str, position: int,
             **columns: Any) -> None:
        t = self.t[table]
        assigns = ", ".join(f"{c} = ?" for c in columns)
        out.update(t, f"UPDATE {t} SET {assigns}, position = ? WHERE {key} = ?",
                   (*columns.values(), position, oid))

    def apply(self, out: WriteBatch, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        oid = str(event.originator_id)
        t = self.t
        if kind == "Inspection.Opened":
            out.insert(t["work_inspections"], (
                oid, str(event.unit_id), _JSON.encode([str(m) for m in event.team]),
                event.started_on.isoformat(), None, None, 0, position))
        elif kind == "Inspection.Closed":
            self._set(out, "work_inspections", "inspection_id", oid, position,
                      closed_on=event.closed_on.isoformat(), conclusion_ref=event.conclusion_ref)
        elif kind in ("Inspection.FindingRecorded", "Inspection.FindingWithdrawn"):
            step = 1 if kind == "Inspection.FindingRecorded" else -1
            tb = t["work_inspections"]
            out.update(tb, f"UPDATE {tb} SET findings = findings + ?, position = ?"
                           " WHERE inspection_id = ?", (step, position, oid))
        elif kind == "Proceeding.Opened":
            ref = self.reference
            opened = event.opened_on
            out.insert(t["work_proceedings"], (
                oid, str(event.officer_id), opened.isoformat(), "open", None,
                (opened + timedelta(days=ref.handling_max_days)).isoformat(),
                (opened + timedelta(days=ref.handling_max_days_complex)).isoformat(),
                None, position, position))
            if not self.acts.complete:  # (a rebuild's miss means "none" without a read)
                self.acts.put(oid, ())  # no decision yet: nothing to read back when one comes
        elif kind == "Proceeding.Deferred":
            self._set(out, "work_proceedings", "proceeding_id", oid, position,
                      status="deferred", deferred_until=event.until.isoformat())
        elif kind == "Proceeding.Dismissed":
            self._set(out, "work_proceedings", "proceeding_id", oid, position,
                      status="dismissed")
        elif kind == "Proceeding.Decided":
            # decision_id: the state decision once there is one (a Party decision on the
            # same proceeding is found in work_decisions by proceeding_id)
            tb = t["work_proceedings"]
            keep = "COALESCE(decision_id, ?)" if event.discipline_system == "party" else "?"
            out.update(tb, f"UPDATE {tb} SET status = 'decided', decision_id = {keep},"
                           " position = ? WHERE proceeding_id = ?",
                       (str(event.decision_id), position, oid))
        elif kind == "Decision.Issued":
            signed = (event.decision_ref or {}).get("signed_on")
            regime_on = str(signed) if signed else event.effective_from.isoformat()
            system = getattr(event, "discipline_system", None) or "state"
            proceeding = str(event.proceeding_id)
            d = self._span(out, WorkDecision(event.effective_from.isoformat(), regime_on,
                                             system, proceeding, event.form, "in_force"), oid)
            out.insert(t["work_decisions"], (
                oid, proceeding, str(event.officer_id), event.form,
                event.effective_from.isoformat(), "in_force", None, None, position, position,
                regime_on, system, d.effect_until, d.effect_from))
            self.decisions.put(oid, d)
            self.acts.put(proceeding, (*(self.acts.get(out, proceeding) or ()), oid))
            if system == "party":
                self._respan_act(out, proceeding, oid, position)
        elif kind == "Decision.AppealLodged":
            self._set(out, "work_decisions", "decision_id", oid, position,
                      appeal_id=str(event.appeal_id),
                      appeal_lodged_on=event.lodged_on.isoformat())
        elif kind == "Decision.AppealResolved":
            changes: dict[str, Any] = {"appeal_id": None, "appeal_lodged_on": None}
            if event.outcome == "overturned":
                changes["status"] = "overturned"
            elif event.outcome == "form_changed" and event.new_form:
                changes["form"] = event.new_form
            if set(changes) == {"appeal_id", "appeal_lodged_on"}:  # nothing the span reads
                self._set(out, "work_decisions", "decision_id", oid, position, **changes)
            else:
                self._change_decision(out, oid, position, changes)
        elif kind == "Decision.Annulled":
            self._change_decision(out, oid, position, {"status": "annulled"})
        elif kind == "Officer.Appointed":
            if event.term_start is None:
                return
            years = int(event.term_years or 0)
            end = add_years(event.term_start, years).isoformat()
            tb = t["work_terms"]
            out.update(tb, f"DELETE FROM {tb} WHERE officer_id = ?", (oid,))
            out.insert(tb, (oid, event.position, event.term_start.isoformat(), years, end,
                            position))
            self.terms.put(oid, (end, years))
        elif kind == "Officer.ReappointmentDecided":
            term = self.terms.get(out, oid)
            if term is None:
                return
            tb = t["work_terms"]
            if event.outcome == "reappointed":
                start = date.fromisoformat(term[0])
                end = add_years(start, term[1]).isoformat()
                self._set(out, "work_terms", "officer_id", oid, position,
                          term_start=start.isoformat(), term_end=end)
                self.terms.put(oid, (end, term[1]))
            elif event.outcome == "not_reappointed":
                out.update(tb, f"DELETE FROM {tb} WHERE officer_id = ?", (oid,))
                self.terms.put(oid, None)
        elif kind == "Officer.ReappointmentDecisionCorrected":
            # the term before the corrected decision, carried by the correction, then the
            # corrected outcome
            tb = t["work_terms"]
            out.update(tb, f"DELETE FROM {tb} WHERE officer_id = ?", (oid,))
            self.terms.put(oid, None)
            term = event.term
            if event.outcome == "reappointed" and term:
                years = int(term["term_years"])
                start = add_years(term["term_start"], years)
                end = add_years(start, years).isoformat()
                out.insert(tb, (oid, term.get("position"), start.isoformat(), years, end,
                                position))
                self.terms.put(oid, (end, years))
        elif kind == "Officer.LeftService":
            tb = t["work_terms"]
            out.update(tb, f"DELETE FROM {tb} WHERE officer_id = ?", (oid,))
            self.terms.put(oid, None)


PROJECTIONS = (OfficerTimeline, Directory, UnitStatistics, Casework)


def snapshot(db: ReadModelDB) -> dict[str, list[tuple]]:
    """Every read-model table's rows as sorted text tuples: two sets of read models (live and
    rebuilt, say) compare equal row by row when their snapshots do."""
    tables = {}
    for cls in PROJECTIONS:
        for table in cls.tables:
            rows = db.fetchall(f"SELECT * FROM {table}")
            tables[table] = sorted(tuple(str(v) for v in r) for r in rows)
    return tables
