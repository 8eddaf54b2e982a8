"""The read models: what each projection stores and how one event changes it.

Every projection writes only its own tables, named through ``self.t`` so that a rebuild can
fill shadow copies and swap them in. Rows are append-only where the past can be asked
about ("as of T" filters on ``recorded_at``); superseding events are rows of their own.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from audit_service.clock import local_date

from .db import ReadModelDB
from .summaries import summarize
from .timeline import jsonable

SKIP_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
               "national_id", "national_id_hash"}


def iso_ts(moment: datetime) -> str:
    """Recorded times as fixed-width UTC strings, so text order is time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def event_data(event: Any) -> dict:
    """An event's own fields as JSON-ready data, never with personal identifiers."""
    return {k: jsonable(v) for k, v in event.__dict__.items() if k not in SKIP_FIELDS}


def event_type(event: Any) -> str:
    return type(event).__qualname__


OCCURRED_FIELD = {
    "Officer.Registered": "joined_on", "Officer.Transferred": "effective_on",
    "Officer.Appointed": "term_start", "Officer.ReappointmentDecided": "decided_on",
    "Officer.LeftService": "left_on", "Inspection.Opened": "started_on",
    "Inspection.FindingRecorded": "observed_at", "Inspection.FindingCorrected": "observed_at",
    "Inspection.Closed": "closed_on", "Proceeding.Opened": "opened_on",
    "Proceeding.Deferred": "deferred_on", "Proceeding.Dismissed": "dismissed_on",
    "Proceeding.Decided": "decided_on", "Decision.Issued": "effective_from",
    "Decision.AppealLodged": "lodged_on", "Decision.AppealResolved": "resolved_on",
    "Decision.Annulled": "annulled_on", "Unit.Renamed": "effective_on",
    "Unit.Merged": "effective_on", "Unit.Registered": "established_on",
}


def occurred_on(kind: str, data: dict) -> str | None:
    """The event's date in the world, as an ISO date."""
    if kind.startswith("AnnualRating.Recorded"):
        return f"{data['year']}-12-31"
    if kind == "MonthlyGrade.Recorded":
        year, month = int(data["period"][:4]), int(data["period"][5:])
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1).isoformat()
    field = OCCURRED_FIELD.get(kind, "")
    value = data.get(field)
    if field == "observed_at" and isinstance(value, str):
        return local_date(datetime.fromisoformat(value)).isoformat()
    return value[:10] if isinstance(value, str) else None


class Projection:
    """A named read model with its own tables and tracked position."""

    name = ""
    tables: dict[str, str] = {}   # logical name -> CREATE TABLE template with {t}
    indexes: dict[str, list[str]] = {}  # logical name -> CREATE INDEX templates

    def __init__(self, reference: Any, suffix: str = ""):
        self.reference = reference
        self.suffix = suffix
        self.t = {name: name + suffix for name in self.tables}

    def create(self, db: ReadModelDB, token: str = "0") -> None:
        big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
        for name, ddl in self.tables.items():
            db.execute(ddl.format(t=self.t[name], big=big))
            for index in self.indexes.get(name, []):
                db.execute(index.format(t=self.t[name], token=token))

    def drop(self, db: ReadModelDB) -> None:
        for name in self.tables:
            db.execute(f"DROP TABLE IF EXISTS {self.t[name]}")

    def apply(self, db: ReadModelDB, position: int, recorded_at: str, event: Any) -> None:
        raise NotImplementedError


class OfficerTimeline(Projection):
    """Everything that concerns an officer, one row per (officer, event)."""

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

    def _officer_of(self, db: ReadModelDB, subject_id: str) -> str | None:
        row = db.fetchone(f"SELECT officer_id FROM {self.t['officer_timeline']}"
                          " WHERE subject_id = ? ORDER BY position DESC LIMIT 1", (subject_id,))
        return row[0] if row else None

    def apply(self, db: ReadModelDB, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        aggregate = kind.split(".")[0]
        if aggregate in ("Unit", "Index"):
            return
        data = event_data(event)
        originator = str(event.originator_id)
        subject = originator
        officers: list[str] = []
        if aggregate == "Officer":
            officers = [originator]
        elif aggregate == "Inspection":
            if kind == "Inspection.Opened":
                db.execute(f"INSERT INTO {self.t['timeline_inspections']} VALUES (?, ?)",
                           (originator, data["unit_id"]))
                return
            if kind == "Inspection.Closed":
                return
            subject = data["finding_id"]
            data["inspection_id"] = originator
            unit = db.fetchone(f"SELECT unit_id FROM {self.t['timeline_inspections']}"
                               " WHERE inspection_id = ?", (originator,))
            data["unit_id"] = unit[0] if unit else None
            previous = self._officer_of(db, subject)
            officers = [o for o in dict.fromkeys([previous, data.get("officer_id")]) if o]
        elif kind in ("Proceeding.Opened", "Decision.Issued", "AnnualRating.Recorded",
                      "MonthlyGrade.Recorded"):
            officers = [data["officer_id"]]
        else:
            officer = self._officer_of(db, subject)
            officers = [officer] if officer else []
        if not officers:
            return
        row = {"position": position, "event_type": kind, "recorded_at": recorded_at,
               "occurred_on": occurred_on(kind, data), "subject_id": subject,
               "actor_id": data.pop("actor_id", None), "actor_role": data.pop("actor_role", None),
               "data": data}
        vi, en = summarize(row, self.reference)
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        for officer in officers:
            db.execute(f"INSERT INTO {self.t['officer_timeline']} VALUES"
                       " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (officer, position, kind, recorded_at, row["occurred_on"], subject,
                        row["actor_id"], row["actor_role"], vi, en, payload))


class Directory(Projection):
    """Current units and officers, for lists and search (no history here)."""

    name = "directory"
    tables = {
        "units": (
            "CREATE TABLE IF NOT EXISTS {t} (unit_id TEXT PRIMARY KEY, code TEXT NOT NULL,"
            " name TEXT NOT NULL, level TEXT NOT NULL, parent_id TEXT, merged_into TEXT,"
            " position {big} NOT NULL)"),
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

    def apply(self, db: ReadModelDB, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        oid = str(event.originator_id)
        t = self.t
        if kind == "Unit.Registered":
            db.execute(f"INSERT INTO {t['units']} VALUES (?, ?, ?, ?, ?, NULL, ?)",
                       (oid, event.code, event.name, event.level,
                        str(event.parent_id) if event.parent_id else None, position))
        elif kind == "Unit.Renamed":
            db.execute(f"UPDATE {t['units']} SET name = ?, position = ? WHERE unit_id = ?",
                       (event.new_name, position, oid))
        elif kind == "Unit.Merged":
            db.execute(f"UPDATE {t['units']} SET merged_into = ?, position = ? WHERE unit_id = ?",
                       (str(event.into_unit_id), position, oid))
        elif kind == "Unit.Rated":
            db.execute(f"INSERT INTO {t['unit_ratings']} VALUES (?, ?, ?, ?, ?, ?)",
                       (oid, event.year, event.rating, event.source, position, recorded_at))
        elif kind == "Officer.Registered":
            db.execute(f"INSERT INTO {t['officers']} VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                       (oid, event.personnel_code, event.full_name, search_key(event.full_name),
                        event.category, str(event.unit_id), event.position, position))
        elif kind == "Officer.Transferred":
            db.execute(f"UPDATE {t['officers']} SET unit_id = ?,"
                       f" job_position = COALESCE(?, job_position), position = ?"
                       f" WHERE officer_id = ?",
                       (str(event.to_unit_id), event.new_position, position, oid))
        elif kind == "Officer.Appointed":
            db.execute(f"UPDATE {t['officers']} SET job_position = ?, position = ?"
                       f" WHERE officer_id = ?", (event.position, position, oid))
        elif kind == "Officer.LeftService":
            db.execute(f"UPDATE {t['officers']} SET left_on = ?, position = ? WHERE officer_id = ?",
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

    def _fact(self, db, position, seq, unit, year, kind, subject, officer, detail, recorded_at):
        db.execute(f"INSERT INTO {self.t['unit_facts']} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (position, seq, unit, year, kind, subject, officer, detail, recorded_at))

    def _unit_of_officer(self, db, officer_id: str) -> str | None:
        row = db.fetchone(f"SELECT unit_id FROM {self.t['stats_officers']} WHERE officer_id = ?",
                          (officer_id,))
        return row[0] if row else None

    def _change(self, db, position, recorded_at, subject, kind, detail):
        """A change to an earlier fact is counted under that fact's unit and year."""
        original = db.fetchone(f"SELECT unit_id, year, officer_id FROM {self.t['unit_facts']}"
                               " WHERE subject_id = ? ORDER BY position LIMIT 1", (subject,))
        if original:
            self._fact(db, position, 0, original[0], original[1], kind, subject, original[2],
                       detail, recorded_at)

    def apply(self, db: ReadModelDB, position: int, recorded_at: str, event: Any) -> None:
        kind = event_type(event)
        oid = str(event.originator_id)
        t = self.t
        if kind == "Officer.Registered":
            db.execute(f"INSERT INTO {t['stats_officers']} VALUES (?, ?)", (oid, str(event.unit_id)))
        elif kind == "Officer.Transferred":
            db.execute(f"UPDATE {t['stats_officers']} SET unit_id = ? WHERE officer_id = ?",
                       (str(event.to_unit_id), oid))
        elif kind == "Inspection.Opened":
            unit = str(event.unit_id)
            db.execute(f"INSERT INTO {t['stats_inspections']} VALUES (?, ?)", (oid, unit))
            self._fact(db, position, 0, unit, event.started_on.year, "inspection", oid, None,
                       None, recorded_at)
        elif kind == "Inspection.FindingRecorded":
            unit = db.fetchone(f"SELECT unit_id FROM {t['stats_inspections']}"
                               " WHERE inspection_id = ?", (oid,))[0]
            self._fact(db, position, 0, unit, local_date(event.observed_at).year, "finding",
                       str(event.finding_id),
                       str(event.officer_id) if event.officer_id else None,
                       event.conduct_code, recorded_at)
        elif kind == "Inspection.FindingCorrected":
            self._change(db, position, recorded_at, str(event.finding_id), "finding_corrected",
                         json.dumps({"conduct_code": event.conduct_code,
                                     "officer_id": str(event.officer_id) if event.officer_id
                                     else None}))
        elif kind == "Inspection.FindingWithdrawn":
            self._change(db, position, recorded_at, str(event.finding_id), "finding_withdrawn",
                         None)
        elif kind == "Proceeding.Opened":
            unit = self._unit_of_officer(db, str(event.officer_id))
            self._fact(db, position, 0, unit, event.opened_on.year, "proceeding", oid,
                       str(event.officer_id), None, recorded_at)
        elif kind == "Decision.Issued":
            unit = self._unit_of_officer(db, str(event.officer_id))
            self._fact(db, position, 0, unit, event.effective_from.year, "decision", oid,
                       str(event.officer_id), event.form, recorded_at)
        elif kind == "Decision.AppealResolved" and event.outcome != "upheld":
            detail = "overturned" if event.outcome == "overturned" else f"form:{event.new_form}"
            self._change(db, position, recorded_at, oid, "decision_changed", detail)
        elif kind == "Decision.Annulled":
            self._change(db, position, recorded_at, oid, "decision_changed", "annulled")
        elif kind == "AnnualRating.Recorded":
            unit = self._unit_of_officer(db, str(event.officer_id))
            self._fact(db, position, 0, unit, event.year, "rating", oid, str(event.officer_id),
                       event.rating, recorded_at)
        elif kind == "AnnualRating.Corrected":
            self._change(db, position, recorded_at, oid, "rating_corrected", event.rating)


PROJECTIONS = (OfficerTimeline, Directory, UnitStatistics)

