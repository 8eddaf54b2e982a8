"""Worklists and case lists read from the ``casework`` read model.

Lists come in the order a board works them: the soonest deadline first, ties broken by log
position (never by id). Pages are ``limit`` rows from an offset, cut by the database
(``LIMIT``/``OFFSET`` on the list's order); ``next`` is the offset of the following page, or
None.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from .db import ReadModelDB
from .eligibility import notice_deadline, working_days

NOTICE_LEAD_DAYS = 30  # a notice falls "due" this many days before its due date
OFFICER = "o.full_name, o.personnel_code, o.unit_id"
OFFICER_KEYS = ("full_name", "personnel_code", "unit_id")


def _page(rows: list[dict], offset: int, limit: int) -> dict:
    """A page from the rows the database gave for it (``limit`` + 1: the extra one says
    that another page follows)."""
    items = rows[:limit]
    return {"items": items, "next": str(offset + limit) if len(rows) > limit else None}


def _cut(sql: str, params: list, offset: int, limit: int) -> tuple[str, list]:
    """``sql`` limited to one page and the row after it."""
    return sql + " LIMIT ? OFFSET ?", [*params, int(limit) + 1, int(offset)]


def offset_of(after: str | None) -> int:
    """The offset a ``next`` cursor names (a bad cursor starts from the top)."""
    try:
        return max(0, int(after or 0))
    except ValueError:
        return 0


class Worklists:
    def __init__(self, db: ReadModelDB, reference: Any):
        self.db = db
        self.reference = reference

    def _select(self, sql: str, params: list, keys: tuple) -> list[dict]:
        return [dict(zip(keys, r)) for r in self.db.fetchall(sql, params)]

    # -- inspections ---------------------------------------------------------------------
    def inspections(self, unit_id: str | None = None, status: str | None = None,
                    team_member: str | None = None, after: str | None = None,
                    limit: int = 50) -> dict:
        """Open inspections first (oldest start first: the longest running), then closed
        ones, latest closed first."""
        sql = ("SELECT w.inspection_id, w.unit_id, u.name, w.team, w.started_on, w.closed_on,"
               " w.conclusion_ref, w.findings FROM work_inspections w"
               " LEFT JOIN units u ON u.unit_id = w.unit_id WHERE 1 = 1")
        params: list[Any] = []
        if unit_id:
            sql += " AND w.unit_id = ?"
            params.append(str(unit_id))
        if status == "open":
            sql += " AND w.closed_on IS NULL"
        elif status == "closed":
            sql += " AND w.closed_on IS NOT NULL"
        if team_member:
            sql += " AND w.team LIKE ?"
            params.append("%" + json.dumps(str(team_member)) + "%")
        # open ones by start; closed ones by closing, latest first; then start and position
        sql += (" ORDER BY CASE WHEN w.closed_on IS NULL THEN 0 ELSE 1 END,"
                " CASE WHEN w.closed_on IS NULL THEN w.started_on END,"
                " w.closed_on DESC, w.started_on, w.position")
        keys = ("inspection_id", "unit_id", "unit_name", "team", "started_on", "closed_on",
                "conclusion_ref", "findings")
        offset = offset_of(after)
        rows = self._select(*_cut(sql, params, offset, limit), keys)
        for r in rows:
            r["team"] = json.loads(r["team"])
            r["status"] = "open" if r["closed_on"] is None else "closed"
        return _page(rows, offset, limit)

    def inspection(self, inspection_id: str) -> dict | None:
        found = self.db.fetchone("SELECT w.unit_id, u.name FROM work_inspections w LEFT JOIN"
                                 " units u ON u.unit_id = w.unit_id WHERE w.inspection_id = ?",
                                 (str(inspection_id),))
        return {"unit_id": found[0], "unit_name": found[1]} if found else None

    # -- proceedings ---------------------------------------------------------------------
    def _proceedings(self, where: str, params: list, offset: int = 0,
                     limit: int | None = None) -> list[dict]:
        sql = ("SELECT p.proceeding_id, p.officer_id, " + OFFICER + ", p.opened_on, p.status,"
               " p.deferred_until, p.deadline, p.deadline_complex, p.decision_id"
               " FROM work_proceedings p LEFT JOIN officers o ON o.officer_id = p.officer_id"
               " WHERE " + where + " ORDER BY p.deadline, p.opened_position")
        keys = ("proceeding_id", "officer_id", *OFFICER_KEYS, "opened_on", "status",
                "deferred_until", "deadline", "deadline_complex", "decision_id")
        if limit is not None:
            sql, params = _cut(sql, params, offset, limit)
        return self._select(sql, params, keys)

    def proceeding(self, proceeding_id: str) -> dict | None:
        """One proceeding's row, by id."""
        found = self._proceedings("p.proceeding_id = ?", [str(proceeding_id)])
        return found[0] if found else None

    def proceedings(self, status: str | None = None, unit_id: str | None = None,
                    officer_id: str | None = None, after: str | None = None,
                    limit: int = 50) -> dict:
        where, params = "1 = 1", []
        for column, value in (("p.status", status), ("o.unit_id", unit_id),
                              ("p.officer_id", officer_id)):
            if value:
                where += f" AND {column} = ?"
                params.append(str(value))
        offset = offset_of(after)
        return _page(self._proceedings(where, params, offset, limit), offset, limit)

    def proceedings_due(self, today: date, unit_id: str | None = None,
                        after: str | None = None, limit: int = 50) -> dict:
        """Open and deferred proceedings by handling deadline (90 days from opening, 150
        for complex cases), with the days left on ``today`` (negative: overdue)."""
        where, params = "p.status IN ('open', 'deferred')", []
        if unit_id:
            where += " AND o.unit_id = ?"
            params.append(str(unit_id))
        offset = offset_of(after)
        rows = self._proceedings(where, params, offset, limit)
        for r in rows:
            r["days_left"] = (date.fromisoformat(r["deadline"]) - today).days
            r["days_left_complex"] = (date.fromisoformat(r["deadline_complex"]) - today).days
            r["overdue"] = r["days_left"] < 0
        return _page(rows, offset, limit)

    # -- decisions and appeals -----------------------------------------------------------
    def _decisions(self, where: str, params: list, order: str, offset: int = 0,
                   limit: int | None = None) -> list[dict]:
        sql = ("SELECT d.decision_id, d.proceeding_id, d.officer_id, " + OFFICER + ", d.form,"
               " d.effective_from, d.status, d.appeal_id, d.appeal_lodged_on, d.effect_until"
               " FROM work_decisions d LEFT JOIN officers o ON o.officer_id = d.officer_id"
               " WHERE " + where + " ORDER BY " + order)
        keys = ("decision_id", "proceeding_id", "officer_id", *OFFICER_KEYS, "form",
                "effective_from", "status", "appeal_id", "appeal_lodged_on", "effect_until")
        if limit is not None:
            sql, params = _cut(sql, params, offset, limit)
        return self._select(sql, params, keys)

    def decision(self, decision_id: str) -> dict | None:
        """One decision's row, by id."""
        found = self._decisions("d.decision_id = ?", [str(decision_id)], "d.decision_id")
        return found[0] if found else None

    def decisions(self, officer_id: str | None = None, in_force_on: date | None = None,
                  unit_id: str | None = None, after: str | None = None,
                  limit: int = 50) -> dict:
        """Decisions, latest effective first, each with ``effect_until`` (the first day free
        of its effects, stored by the read model: ``effects.effect_span``, by the start rule
        the verdict and the standing use: Decree 71/2023 runs a state decision's effects from
        the Party decision's effective date for the same act); ``in_force_on``: only those in
        force, taken effect, with an effect running on that day, the soonest to end first.
        Where the start is open (Decree 172/2025) a decision is listed while either start
        would have its effect run, until the later end, never dropped early."""
        where, params = "1 = 1", []
        for column, value in (("d.officer_id", officer_id), ("o.unit_id", unit_id)):
            if value:
                where += f" AND {column} = ?"
                params.append(str(value))
        offset = offset_of(after)
        if in_force_on is None:
            rows = self._decisions(where, params, "d.effective_from DESC, d.issued_position DESC",
                                   offset, limit)
            return _page(rows, offset, limit)
        day = in_force_on.isoformat()
        where += (" AND d.status = 'in_force' AND d.effective_from <= ?"
                  " AND d.effect_from <= ? AND d.effect_until IS NOT NULL"
                  " AND d.effect_until > ?")
        rows = self._decisions(where, [*params, day, day, day],
                               "d.effect_until, d.issued_position",
                               offset, limit)
        return _page(rows, offset, limit)

    def appeals_pending(self, today: date, unit_id: str | None = None,
                        after: str | None = None, limit: int = 50) -> dict:
        """Decisions with an appeal not yet resolved, the longest waiting first."""
        where, params = "d.appeal_id IS NOT NULL", []
        if unit_id:
            where += " AND o.unit_id = ?"
            params.append(str(unit_id))
        offset = offset_of(after)
        rows = self._decisions(where, params, "d.appeal_lodged_on, d.issued_position", offset,
                               limit)
        for r in rows:
            r["days_waiting"] = (today - date.fromisoformat(r["appeal_lodged_on"])).days
        return _page(rows, offset, limit)

    # -- leadership terms ----------------------------------------------------------------
    def terms_ending(self, today: date, within_days: int = 180, unit_id: str | None = None,
                     after: str | None = None, limit: int = 50) -> dict:
        """Terms ending from ``today`` to ``within_days`` ahead, the soonest first, with the
        notice due date (the notice-window rule's working days before the end) and its status
        on ``today``: ``overdue`` past the due date, ``due`` within ``NOTICE_LEAD_DAYS`` of
        it, ``not_yet_due`` before that."""
        n = int(self.reference.rule("notice-window").params.get("notice_working_days", 90))
        sql = ("SELECT t.officer_id, " + OFFICER + ", t.job_position, t.term_start,"
               " t.term_years, t.term_end FROM work_terms t"
               " LEFT JOIN officers o ON o.officer_id = t.officer_id"
               " WHERE t.term_end >= ? AND t.term_end <= ?")
        params: list[Any] = [today.isoformat(), (today + timedelta(days=within_days)).isoformat()]
        if unit_id:
            sql += " AND o.unit_id = ?"
            params.append(str(unit_id))
        keys = ("officer_id", *OFFICER_KEYS, "job_position", "term_start", "term_years",
                "term_end")
        offset = offset_of(after)
        rows = self._select(*_cut(sql + " ORDER BY t.term_end, t.position", params, offset,
                                  limit), keys)
        for r in rows:
            end = date.fromisoformat(r["term_end"])
            due = notice_deadline(end, n)
            r["notice_due_on"] = due.isoformat()
            r["working_days_left"] = working_days(today, end)
            r["notice_status"] = ("overdue" if today > due else
                                  "due" if (due - today).days <= NOTICE_LEAD_DAYS
                                  else "not_yet_due")
        return _page(rows, offset, limit)
