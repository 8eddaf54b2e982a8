"""The query interface the HTTP API and the CLI call: no SQL outside ``projections/``.

Every officer query reads that officer's timeline rows (an indexed range) and answers with
the pure functions in ``timeline`` and ``eligibility``; ``as_of`` = a recorded time T keeps
only rows recorded at or before T, so the past is answered from the same tables.
"""
from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import Counter
from contextlib import contextmanager
from functools import wraps
from dataclasses import asdict
from datetime import date, datetime, timezone
from typing import Any, Callable

from audit_service.clock import Clock
from audit_service.errors import NotFound, ValidationFailed

from . import quarantine
from .db import ReadModelDB
from .effects import effect_periods
from .eligibility import effect_start, evaluate
from .officer_cache import OfficerAnswers, OfficerCache
from .readmodels import iso_ts, search_key
from audit_service.rotation import check_rotation, evaluate_rotation, serving_unit
from .timeline import entry_status_changes, fold, jsonable
from .worklists import Worklists

TIMELINE_COLUMNS = ("officer_id", "position", "event_type", "recorded_at", "occurred_on",
                    "subject_id", "actor_id", "actor_role", "summary_vi", "summary_en", "data")


def as_of_text(as_of: datetime | str | None) -> str | None:
    """Normalise a recorded-time bound to the stored fixed-width UTC text."""
    if as_of is None or as_of == "":
        return None
    if isinstance(as_of, str):
        try:
            as_of = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed("invalid as_of", details={
                "as_of": "must be an ISO 8601 date-time"}) from None
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    return iso_ts(as_of)


class RawJSON(str):
    """JSON text as stored in a read model, to be placed in an answer without re-encoding."""

    def __reduce__(self):  # a plain value to anything that copies or pickles it
        return (json.loads, (str(self),))


_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _entry_head(row: dict, changes: dict) -> dict:
    """A history entry without its ``data``."""
    change = changes.get(row["position"], {"status": "active"})
    return {"position": row["position"], "event_type": row["event_type"],
            "recorded_at": row["recorded_at"], "occurred_on": row["occurred_on"],
            "actor": {"id": row["actor_id"], "role": row["actor_role"]},
            "summary_vi": row["summary_vi"], "summary_en": row["summary_en"],
            "status": change["status"], "status_changed_by": change.get("changed_by"),
            "subject_id": row["subject_id"]}


def _in_one_read(method: Callable) -> Callable:
    """Run an officer read inside ``ReadModels.one_read``."""
    @wraps(method)
    def read(self: "ReadModels", *args: Any, **kwargs: Any) -> Any:
        with self.one_read():
            return method(self, *args, **kwargs)

    return read


class ReadModels:
    def __init__(self, db: ReadModelDB, reference: Any,
                 today: Callable[[], date] | None = None, cache: OfficerCache | None = None):
        self.db = db
        self.reference = reference
        # the default day of date-dependent answers: the caller's clock, else AUDIT_TODAY/real
        self.today = today or Clock.from_env().today
        # answers kept between reads (a worker passes its own); by default this object's only
        self.cache = cache if cache is not None else OfficerCache()
        self._scope = 0  # > 0 inside ``one_read``
        self._aside: list[dict] | None = None  # the quarantine, read once per ``one_read``
        self._entries: dict[tuple, OfficerAnswers] = {}  # the rows, read once per ``one_read``

    @property
    def worklists(self) -> Worklists:
        """Case lists and the board's worklists (the ``casework`` read model)."""
        return Worklists(self.db, self.reference)

    # -- officers --------------------------------------------------------------
    @contextmanager
    def one_read(self):
        """One request's reads: the quarantine is read once and each officer's rows are
        checked once, however many answers (history, standing, eligibility) are given."""
        self._scope += 1
        try:
            yield self
        finally:
            self._scope -= 1
            if not self._scope:
                self._aside, self._entries = None, {}

    def quarantined(self) -> list[dict]:
        """The events still set aside (within ``one_read``, read once)."""
        if self._aside is not None:
            return self._aside
        aside = quarantine.unresolved(self.db)
        if self._scope:
            self._aside = aside
        return aside

    def _load_rows(self, officer_id: str, bound: str | None) -> list[dict]:
        sql = f"SELECT {', '.join(TIMELINE_COLUMNS)} FROM officer_timeline WHERE officer_id = ?"
        params: list[Any] = [str(officer_id)]
        if bound:
            sql += " AND recorded_at <= ?"
            params.append(bound)
        out = []
        for r in self.db.fetchall(sql + " ORDER BY position", params):
            row = dict(zip(TIMELINE_COLUMNS, r))
            row["position"] = int(row["position"])
            row["data_text"] = row["data"]  # the stored JSON, answered as it is (history)
            row["data"] = json.loads(row["data"])
            out.append(row)
        return out

    def _version(self, officer_id: str, bound: str | None) -> tuple[int, int]:
        """(rows, highest position) of the officer's timeline by ``bound``: one indexed
        aggregate that says whether cached answers still hold. The same round trip counts
        the quarantined events, so that a read with none (the usual case) reads no more."""
        sql = "SELECT COUNT(*), MAX(position)"
        if self._aside is None and self._scope and self._has_quarantine():
            sql += f", (SELECT COUNT(*) FROM {quarantine.TABLE} WHERE resolved_at IS NULL)"
        sql += " FROM officer_timeline WHERE officer_id = ?"
        params: list[Any] = [str(officer_id)]
        if bound:
            sql += " AND recorded_at <= ?"
            params.append(bound)
        row = self.db.fetchone(sql, params)
        if row is None:
            return (0, 0)
        if len(row) > 2 and not row[2]:
            self._aside = []  # nothing set aside: no warnings in this read
        return (int(row[0] or 0), int(row[1] or 0))

    def _has_quarantine(self) -> bool:
        """Whether the quarantine table exists (stores made before it lack it until
        ``init-db``); once it does, it stays."""
        if not self.cache.quarantine_table:
            self.cache.quarantine_table = self.db.table_exists(quarantine.TABLE)
        return self.cache.quarantine_table

    def answers(self, officer_id: str, as_of: datetime | str | None = None) -> OfficerAnswers:
        """The officer's rows (by ``as_of``) and what earlier reads computed from them."""
        officer_id, bound = str(officer_id), as_of_text(as_of)
        if self._scope and (officer_id, bound) in self._entries:
            return self._entries[officer_id, bound]
        version = self._version(officer_id, bound)
        if version[0] == 0:
            entry = OfficerAnswers([])
        else:
            entry = self.cache.answers((officer_id, bound), version,
                                       lambda: self._load_rows(officer_id, bound))
        if not entry.rows:
            known = self.db.fetchone("SELECT 1 FROM officers WHERE officer_id = ?",
                                     (officer_id,))
            if not known and not self._named_by_quarantined(officer_id):
                raise NotFound(f"no officer with id {officer_id}", code="officer_not_found")
        if self._scope:
            self._entries[officer_id, bound] = entry
        return entry

    def _entry(self, officer_id: str, as_of: datetime | str | None,
                rows: list[dict] | None) -> OfficerAnswers:
        """The cached entry, or one for rows the caller read (computed, not kept)."""
        return self.answers(officer_id, as_of) if rows is None else OfficerAnswers(rows)

    def timeline_rows(self, officer_id: str, as_of: datetime | str | None = None) -> list[dict]:
        """The officer's timeline rows in log order (shared with the cache: not to be changed)."""
        return self.answers(officer_id, as_of).rows

    def _named_by_quarantined(self, officer_id: str) -> bool:
        """Whether a quarantined (decoded) event names the officer: then the officer exists in
        the log even if no read model has them yet, and reads answer with a warning."""
        officer = str(officer_id)
        return any(officer in (row["officer_ids"] or []) for row in self.quarantined())

    def warnings(self, officer_id: str, rows: list[dict]) -> list[dict]:
        """The ``warnings`` of an officer read: events the officer timeline (what these reads
        use) quarantined that may concern the officer (``quarantine.concerning``: naming the
        officer or an aggregate on their timeline, or not decodable at all). Never part of
        an eligibility verdict's hash."""
        def subjects():  # read only when something is quarantined
            for row in rows:
                yield row["subject_id"]
                yield from (v for k, v in row["data"].items()
                            if k.endswith("_id") and isinstance(v, str))

        return quarantine.warnings_for(self.db, officer_id, subjects(), "officer_timeline",
                                       aside=self.quarantined())

    @staticmethod
    def _entry_texts(entry: OfficerAnswers) -> list[str]:
        """Every row's history entry as JSON text, its status worked out over the whole
        timeline and its stored ``data`` spliced in unparsed (made once per version)."""
        def encode() -> list[str]:
            changes = entry.get("changes", lambda: entry_status_changes(entry.rows))
            out = []
            for row in entry.rows:
                head = _DUMPS(_entry_head(row, changes))
                out.append(f'{head[:-1]},"data":{row["data_text"]}}}')
            return out

        return entry.get("entry_texts", encode)

    @staticmethod
    def _page(entry: OfficerAnswers, after: int | None, limit: int | None,
              kinds: list[str] | None, before: int | None = None,
              order: str = "asc") -> tuple[list[int], int | None]:
        """The indexes of the rows on a page (those after position ``after`` and before
        position ``before``, of the kinds asked, at most ``limit``; oldest first, or newest
        first with ``order="desc"``), and the cursor of the next page: the position of the
        page's last row when more rows remain (``after`` of the next page oldest first,
        ``before`` of the next page newest first), else None."""
        rows = entry.rows
        start, stop = 0, len(rows)
        if after is not None or before is not None:
            positions = entry.get("positions", lambda: [r["position"] for r in rows])
            if after is not None:
                start = bisect_right(positions, after)
            if before is not None:
                stop = bisect_left(positions, before)
        indexes = range(start, stop) if order != "desc" else range(stop - 1, start - 1, -1)
        wanted = set(kinds or ())
        chosen: list[int] = []
        for i in indexes:
            kind = rows[i]["event_type"]
            if wanted and kind not in wanted and kind.split(".", 1)[0] not in wanted:
                continue
            if limit is not None and len(chosen) == limit:
                return chosen, rows[chosen[-1]]["position"]
            chosen.append(i)
        return chosen, None

    @staticmethod
    def _cursors(order: str, cursor: int | None) -> dict:
        """A page's ``next_after`` and ``next_before`` (the one of its order set)."""
        return {"next_after": None if order == "desc" else cursor,
                "next_before": cursor if order == "desc" else None}

    @_in_one_read
    def history(self, officer_id: str, as_of: datetime | str | None = None,
                after: int | None = None, limit: int | None = None,
                kinds: list[str] | None = None, raw_data: bool = False,
                rows: list[dict] | None = None, before: int | None = None,
                order: str = "asc") -> dict:
        """The officer's entries in log order (``order="desc"``: newest first): those after
        position ``after`` and before position ``before``, of the given kinds (an event type
        such as ``MonthlyGrade.Recorded``, or its aggregate such as ``MonthlyGrade``), at
        most ``limit``. The cursor of the next page is ``next_after`` oldest first,
        ``next_before`` newest first (the other is None).

        Statuses and warnings are worked out over the whole timeline (a correction on a
        later page still marks an entry on this one). With ``raw_data`` each entry's ``data``
        is the stored JSON text (``RawJSON``). ``history_text`` answers the same as JSON.
        """
        entry = self._entry(officer_id, as_of, rows)
        changes = entry.get("changes", lambda: entry_status_changes(entry.rows))
        chosen, cursor = self._page(entry, after, limit, kinds, before, order)
        entries = []
        for i in chosen:
            row = entry.rows[i]
            body = _entry_head(row, changes)
            body["data"] = RawJSON(row["data_text"]) if raw_data else row["data"]
            entries.append(body)
        return {"officer_id": str(officer_id), "as_of": as_of_text(as_of),
                **self._cursors(order, cursor), "entries": entries,
                "warnings": self.warnings(officer_id, entry.rows)}

    @_in_one_read
    def history_text(self, officer_id: str, as_of: datetime | str | None = None,
                     after: int | None = None, limit: int | None = None,
                     kinds: list[str] | None = None, before: int | None = None,
                     order: str = "asc") -> str:
        """``history`` as JSON text: each entry's text made once per version of the timeline
        (its stored ``data`` spliced in as it is) and the page's entries joined."""
        entry = self.answers(officer_id, as_of)
        texts = self._entry_texts(entry)
        chosen, cursor = self._page(entry, after, limit, kinds, before, order)
        top = _DUMPS({"officer_id": str(officer_id), "as_of": as_of_text(as_of),
                      **self._cursors(order, cursor),
                      "warnings": self.warnings(officer_id, entry.rows)})
        return f'{top[:-1]},"entries":[{",".join(texts[i] for i in chosen)}]}}'

    @_in_one_read
    def standing(self, officer_id: str, as_of: datetime | str | None = None,
                 on: date | None = None, rows: list[dict] | None = None) -> dict:
        """Current unit and position, term, discipline effects in force, ratings, open cases."""
        entry = self._entry(officer_id, as_of, rows)
        day = on or self.today()
        body = entry.get(("standing", day), lambda: self._standing(entry, day))
        return {"officer_id": str(officer_id), "as_of": as_of_text(as_of), **body,
                "warnings": self.warnings(officer_id, entry.rows)}

    def _standing(self, entry: OfficerAnswers, day: date) -> dict:
        state = entry.get("state", lambda: fold(entry.rows))
        effects = []
        for d in state.decisions.values():
            if not d.in_force or d.effective_from is None:
                continue
            runs_from = effect_start(self.reference, state, d, day)
            for effect, start, ends in effect_periods(self.reference, d.form, d.effective_from,
                                                      d.signed_on, d.discipline_system,
                                                      start=runs_from):
                if start <= day < ends:
                    effects.append({"decision_id": d.decision_id, "form": d.form,
                                    "scope": effect.scope, "bars": effect.bars,
                                    "from": start.isoformat(), "until": ends.isoformat(),
                                    "source": effect.source, "positions": d.positions})
        open_cases = [{"proceeding_id": p.proceeding_id, "status": p.status,
                       "opened_on": p.opened_on.isoformat() if p.opened_on else None,
                       "deferred_until": p.deferred_until.isoformat() if p.deferred_until else None}
                      for p in state.proceedings.values() if p.status in ("open", "deferred")]
        # Only the parts answered, not the whole folded state (grades and all).
        body = jsonable({"left_on": state.left_on,
                         "term": asdict(state.term) if state.term else None,
                         "decisions": {k: asdict(v) for k, v in state.decisions.items()}})
        return {
            "on": day.isoformat(),
            "personnel_code": state.personnel_code, "full_name": state.full_name,
            "category": state.category, "unit_id": state.unit_id, "position": state.position,
            "left_on": body["left_on"], "term": body["term"],
            "effects_in_force": effects, "open_proceedings": open_cases,
            "ratings": {str(y): r.rating for y, r in sorted(state.ratings.items())},
            "decisions": body["decisions"],
        }

    @_in_one_read
    def eligibility(self, officer_id: str, on: date | str, as_of: datetime | str | None = None,
                    leadership: bool = True, post: str = "same",
                    rows: list[dict] | None = None) -> dict:
        """The verdict on ``on`` (computed once per version of the timeline and question)."""
        entry = self._entry(officer_id, as_of, rows)
        bound = as_of_text(as_of)
        key = ("eligibility", str(on), bool(leadership), post)
        try:
            result = entry.get(key, lambda: evaluate(self.reference, entry.rows, on, bound,
                                                     leadership=leadership, post=post))
        except NotFound as exc:
            # No verdict without a registration; when the registration (or another event
            # of the officer's) is quarantined, the refusal says so rather than "not on record"
            # alone.
            warnings = self.warnings(officer_id, entry.rows)
            if warnings:
                exc.details = {**(exc.details or {}), "warnings": warnings}
            raise
        # The hash covers the verdict on the rows the read models hold; a warning says that
        # rows may be missing (quarantined events), so the verdict may be incomplete.
        return {"officer_id": str(officer_id), **result,
                "warnings": self.warnings(officer_id, entry.rows)}

    def officer_record(self, officer_id: str, on: date, as_of: datetime | str | None = None,
                       leadership: bool = True, post: str = "same",
                       **page: Any) -> dict:
        """History, standing and eligibility on ``on`` from one read of the timeline (the
        officer page and the dossier); ``page`` holds ``history``'s paging arguments
        (``before``, ``after``, ``limit``, ``kinds``, ``order``), none for every entry."""
        with self.one_read():
            return {"history": self.history(officer_id, as_of, **page),
                    "standing": self.standing(officer_id, as_of, on=on),
                    "eligibility": self.eligibility(officer_id, on, as_of, leadership,
                                                    post=post)}

    def list_officers(self, unit_id: str | None = None, q: str | None = None,
                      after: str | None = None, limit: int = 50) -> dict:
        """Officers ordered by id, filtered by unit and an accent-insensitive name/code match."""
        sql = ("SELECT officer_id, personnel_code, full_name, category, unit_id, job_position,"
               " left_on FROM officers WHERE 1 = 1")
        params: list[Any] = []
        if unit_id:
            sql += " AND unit_id = ?"
            params.append(str(unit_id))
        if q:
            sql += " AND (search_name LIKE ? OR personnel_code LIKE ?)"
            params += [f"%{search_key(q)}%", f"%{q.strip().upper()}%"]
        if after:
            sql += " AND officer_id > ?"
            params.append(str(after))
        sql += " ORDER BY officer_id LIMIT ?"
        params.append(int(limit) + 1)
        rows = self.db.fetchall(sql, params)
        keys = ("officer_id", "personnel_code", "full_name", "category", "unit_id", "position",
                "left_on")
        items = [dict(zip(keys, r)) for r in rows[:limit]]
        return {"items": items, "next": items[-1]["officer_id"] if len(rows) > limit else None}

    def search_officers(self, q: str, unit_id: str | None = None, limit: int = 200) -> list[dict]:
        """Officers with a name word starting with each word of ``q`` (accent- and
        case-insensitive: "van an" finds "Nguyễn Văn An"), or whose personnel code contains
        ``q``; optionally only those in one unit."""
        sql = ("SELECT o.officer_id, o.personnel_code, o.full_name, o.category, o.unit_id,"
               " u.name, o.job_position, o.left_on FROM officers o"
               " LEFT JOIN units u ON u.unit_id = o.unit_id WHERE 1 = 1")
        params: list[Any] = []
        words = search_key(q or "").split()
        if words:
            name_match = " AND ".join("(' ' || o.search_name) LIKE ?" for _ in words)
            sql += f" AND (({name_match}) OR o.personnel_code LIKE ?)"
            params += [f"% {w}%" for w in words] + [f"%{q.strip().upper()}%"]
        if unit_id:
            sql += " AND o.unit_id = ?"
            params.append(str(unit_id))
        rows = self.db.fetchall(sql + " ORDER BY o.position LIMIT ?", [*params, int(limit)])
        keys = ("officer_id", "personnel_code", "full_name", "category", "unit_id", "unit_name",
                "position", "left_on")
        return [dict(zip(keys, r)) for r in rows]

    # -- units -----------------------------------------------------------------
    def unit(self, unit_id: str) -> dict:
        row = self.db.fetchone("SELECT unit_id, code, name, level, parent_id, merged_into"
                               " FROM units WHERE unit_id = ?", (str(unit_id),))
        if not row:
            raise NotFound(f"no unit with id {unit_id}", code="unit_not_found")
        keys = ("unit_id", "code", "name", "level", "parent_id", "merged_into")
        return dict(zip(keys, row))

    def list_units(self, parent_id: str | None = None, after: str | None = None,
                   limit: int = 50) -> dict:
        """Units ordered by id, optionally only the direct children of one unit."""
        sql = "SELECT unit_id, code, name, level, parent_id, merged_into FROM units WHERE 1 = 1"
        params: list[Any] = []
        if parent_id:
            sql += " AND parent_id = ?"
            params.append(str(parent_id))
        if after:
            sql += " AND unit_id > ?"
            params.append(str(after))
        rows = self.db.fetchall(sql + " ORDER BY unit_id LIMIT ?", [*params, int(limit) + 1])
        keys = ("unit_id", "code", "name", "level", "parent_id", "merged_into")
        items = [dict(zip(keys, r)) for r in rows[:limit]]
        return {"items": items, "next": items[-1]["unit_id"] if len(rows) > limit else None}

    def unit_rating(self, unit_id: str, as_of: datetime | str | None = None) -> dict | None:
        """The latest rating of a unit (latest year, latest correction)."""
        bound = as_of_text(as_of)
        sql = "SELECT year, rating, position FROM unit_ratings WHERE unit_id = ?"
        params: list[Any] = [str(unit_id)]
        if bound:
            sql += " AND recorded_at <= ?"
            params.append(bound)
        row = self.db.fetchone(sql + " ORDER BY year DESC, position DESC LIMIT 1", params)
        return {"year": row[0], "rating": row[1], "position": int(row[2])} if row else None

    def subtree(self, unit_id: str) -> list[str]:
        """The unit and every unit registered under it (current hierarchy)."""
        found, frontier = [str(unit_id)], [str(unit_id)]
        while frontier:
            marks = ", ".join("?" for _ in frontier)
            children = [r[0] for r in self.db.fetchall(
                f"SELECT unit_id FROM units WHERE parent_id IN ({marks})", frontier)]
            frontier = [c for c in children if c not in found]
            found += frontier
        return found

    def rotation_check(self, from_unit_id: str, to_unit_id: str,
                       as_of: datetime | str | None = None,
                       on: date | str | None = None) -> dict | None:
        return check_rotation(self.reference, self.unit(from_unit_id), self.unit(to_unit_id),
                              self.unit_rating(from_unit_id, as_of), on=on)

    def unit_ratings(self, unit_id: str, as_of: datetime | str | None = None) -> list[dict]:
        """Every rating of a unit recorded by ``as_of``, latest correction last."""
        bound = as_of_text(as_of)
        sql = "SELECT year, rating, position FROM unit_ratings WHERE unit_id = ?"
        params: list[Any] = [str(unit_id)]
        if bound:
            sql += " AND recorded_at <= ?"
            params.append(bound)
        return [{"year": r[0], "rating": r[1], "position": int(r[2])}
                for r in self.db.fetchall(sql + " ORDER BY year, position", params)]

    def rotation_on(self, from_unit_id: str, to_unit_id: str, on: date,
                    as_of: datetime | str | None = None) -> dict:
        """The rotation answer on ``on`` from the ratings known by ``as_of`` and in force on
        ``on``; a unit merged away by ``on`` (its merge's effective date) is followed to its
        successor, one merged later is not (audit_service.rotation.serving_unit)."""
        src, merged = serving_unit(self.unit_merge(from_unit_id), self.unit_merge, on)
        return evaluate_rotation(self.reference, src, self.unit_merge(to_unit_id),
                                 self.unit_ratings(src["unit_id"], as_of), on,
                                 merged_away=merged)

    def unit_merge(self, unit_id: str) -> dict:
        """A unit with its merge: ``merged_into`` and ``merged_on`` (the Unit.Merged effective
        date; None on a row projected before the column existed, until a rebuild)."""
        unit = self.unit(unit_id)
        row = self.db.fetchone("SELECT merged_on FROM units WHERE unit_id = ?", (str(unit_id),))
        return {**unit, "merged_on": row[0] if row else None}

    def unit_statistics(self, unit_id: str, year: int, as_of: datetime | str | None = None,
                        subunits: bool = True) -> dict:
        self.unit(unit_id)
        units = self.subtree(unit_id) if subunits else [str(unit_id)]
        bound = as_of_text(as_of)
        marks = ", ".join("?" for _ in units)
        sql = (f"SELECT position, kind, subject_id, officer_id, detail FROM unit_facts"
               f" WHERE unit_id IN ({marks}) AND year = ?")
        params: list[Any] = [*units, int(year)]
        if bound:
            sql += " AND recorded_at <= ?"
            params.append(bound)
        facts = self.db.fetchall(sql + " ORDER BY position", params)
        return {"unit_id": str(unit_id), "year": int(year), "as_of": bound,
                "subunits": subunits, "units_counted": len(units), **count_facts(facts)}


def count_facts(facts: list[tuple]) -> dict:
    """Totals from fact rows (position, kind, subject, officer, detail) in position order."""
    inspections = 0
    findings: dict[str, dict] = {}
    proceedings = 0
    decisions: dict[str, dict] = {}
    ratings: dict[str, str] = {}
    for _pos, kind, subject, officer, detail in facts:
        if kind == "inspection":
            inspections += 1
        elif kind == "finding":
            findings[subject] = {"code": detail, "officer": officer, "live": True}
        elif kind == "finding_corrected" and subject in findings:
            change = json.loads(detail)
            findings[subject].update(code=change["conduct_code"], officer=change["officer_id"])
        elif kind == "finding_withdrawn" and subject in findings:
            findings[subject]["live"] = False
        elif kind == "proceeding":
            proceedings += 1
        elif kind == "decision":
            decisions[subject] = {"form": detail, "officer": officer, "live": True}
        elif kind == "decision_changed" and subject in decisions:
            if detail in ("annulled", "overturned"):
                decisions[subject]["live"] = False
            elif detail.startswith("form:"):
                decisions[subject]["form"] = detail[5:]
        elif kind in ("rating", "rating_corrected"):
            ratings[subject] = detail
    live_findings = [f for f in findings.values() if f["live"]]
    live_decisions = [d for d in decisions.values() if d["live"]]
    by_form: dict[str, set] = {}
    for d in live_decisions:
        by_form.setdefault(d["form"], set()).add(d["officer"])
    return {
        "inspections": inspections,
        "findings": len(live_findings),
        "findings_by_conduct_code": dict(sorted(Counter(f["code"] for f in live_findings).items())),
        "officers_with_findings": len({f["officer"] for f in live_findings if f["officer"]}),
        "proceedings_opened": proceedings,
        "officers_disciplined": len({d["officer"] for d in live_decisions}),
        "disciplined_by_form": {form: len(o) for form, o in sorted(by_form.items())},
        "rating_distribution": dict(sorted(Counter(ratings.values()).items())),
    }
