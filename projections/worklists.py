"""Worklists and case lists read from the ``casework`` read model.

Lists come in the order a board works them: the soonest deadline first, ties broken by log
position (never by id). Pages are ``limit`` rows from an offset; ``next`` is the offset of
the following page, or None.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from .db import ReadModelDB
from .eligibility import notice_deadline, working_days
from .timeline import add_months

NOTICE_LEAD_DAYS = 30  # a notice falls "due" this many days before its due date
OFFICER = "o.full_name, o.personnel_code, o.unit_id"
OFFICER_KEYS = ("full_name", "personnel_code", "unit_id")


def _page(rows: list[dict], offset: int, limit: int) -> dict:
    items = rows[offset:offset + limit]
    more = len(rows) > offset + limit
    return {"items": items, "next": str(offset + limit) if more else None}


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
        sql += (" ORDER BY CASE WHEN w.closed_on IS NULL THEN 0 ELSE 1 END, w.started_on,"
                " w.position")
        keys = ("inspection_id", "unit_id", "unit_name", "team", "started_on", "closed_on",
                "conclusion_ref", "findings")
        rows = self._select(sql, params, keys)
        open_rows = [r for r in rows if r["closed_on"] is None]
        closed = sorted((r for r in rows if r["closed_on"] is not None),
                        key=lambda r: r["closed_on"], reverse=True)
        for r in rows:
            r["team"] = json.loads(r["team"])
            r["status"] = "open" if r["closed_on"] is None else "closed"
        return _page(open_rows + closed, offset_of(after), limit)

    def inspection(self, inspection_id: str) -> dict | None:
        found = self.db.fetchone("SELECT w.unit_id, u.name FROM work_inspections w LEFT JOIN"
                                 " units u ON u.unit_id = w.unit_id WHERE w.inspection_id = ?",
                                 (str(inspection_id),))
        return {"unit_id": found[0], "unit_name": found[1]} if found else None

    # -- proceedings ---------------------------------------------------------------------
    def _proceedings(self, where: str, params: list) -> list[dict]:
        sql = ("SELECT p.proceeding_id, p.officer_id, " + OFFICER + ", p.opened_on, p.status,"
               " p.deferred_until, p.deadline, p.deadline_complex, p.decision_id"
               " FROM work_proceedings p LEFT JOIN officers o ON o.officer_id = p.officer_id"
               " WHERE " + where + " ORDER BY p.deadline, p.opened_position")
        keys = ("proceeding_id", "officer_id", *OFFICER_KEYS, "opened_on", "status",
                "deferred_until", "deadline", "deadline_complex", "decision_id")
        return self._select(sql, params, keys)

    def proceedings(self, status: str | None = None, unit_id: str | None = None,
                    officer_id: str | None = None, after: str | None = None,
                    limit: int = 50) -> dict:
        where, params = "1 = 1", []
        for column, value in (("p.status", status), ("o.unit_id", unit_id),
                              ("p.officer_id", officer_id)):
            if value:
                where += f" AND {column} = ?"
                params.append(str(value))
        return _page(self._proceedings(where, params), offset_of(after), limit)

    def proceedings_due(self, today: date, unit_id: str | None = None,
                        after: str | None = None, limit: int = 50) -> dict:
        """Open and deferred proceedings by handling deadline (90 days from opening, 150
        for complex cases), with the days left on ``today`` (negative: overdue)."""
        where, params = "p.status IN ('open', 'deferred')", []
        if unit_id:
            where += " AND o.unit_id = ?"
            params.append(str(unit_id))
        rows = self._proceedings(where, params)
        for r in rows:
            r["days_left"] = (date.fromisoformat(r["deadline"]) - today).days
            r["days_left_complex"] = (date.fromisoformat(r["deadline_complex"]) - today).days
            r["overdue"] = r["days_left"] < 0
        return _page(rows, offset_of(after), limit)

    # -- decisions and appeals -----------------------------------------------------------
    def _decisions(self, where: str, params: list, order: str) -> list[dict]:
        sql = ("SELECT d.decision_id, d.proceeding_id, d.officer_id, " + OFFICER + ", d.form,"
               " d.effective_from, d.status, d.appeal_id, d.appeal_lodged_on"
               " FROM work_decisions d LEFT JOIN officers o ON o.officer_id = d.officer_id"
               " WHERE " + where + " ORDER BY " + order)
        keys = ("decision_id", "proceeding_id", "officer_id", *OFFICER_KEYS, "form",
                "effective_from", "status", "appeal_id", "appeal_lodged_on")
        return self._select(sql, params, keys)

    def effect_until(self, form: str, effective_from: date) -> date | None:
        """The last day any effect of a decision form reaches (None: it has no effects)."""
        ends = [add_months(effective_from, e.months)
                for e in self.reference.effects_for(form, effective_from)]
        return max(ends) if ends else None

    def decisions(self, officer_id: str | None = None, in_force_on: date | None = None,
                  unit_id: str | None = None, after: str | None = None,
                  limit: int = 50) -> dict:
        """Decisions, latest effective first; ``in_force_on``: only those in force with an
        effect still running on that day, the soonest to end first."""
        where, params = "1 = 1", []
        for column, value in (("d.officer_id", officer_id), ("o.unit_id", unit_id)):
            if value:
                where += f" AND {column} = ?"
                params.append(str(value))
        if in_force_on is None:
            rows = self._decisions(where, params, "d.effective_from DESC, d.issued_position DESC")
            for r in rows:
                until = self.effect_until(r["form"], date.fromisoformat(r["effective_from"]))
                r["effect_until"] = until.isoformat() if until else None
            return _page(rows, offset_of(after), limit)
        where += " AND d.status = 'in_force' AND d.effective_from <= ?"
        params.append(in_force_on.isoformat())
        rows = []
        for r in self._decisions(where, params, "d.issued_position"):
            until = self.effect_until(r["form"], date.fromisoformat(r["effective_from"]))
            if until is not None and in_force_on < until:
                r["effect_until"] = until.isoformat()
                rows.append(r)
        rows.sort(key=lambda r: r["effect_until"])  # stable: log order within a day
        return _page(rows, offset_of(after), limit)

    def appeals_pending(self, today: date, unit_id: str | None = None,
                        after: str | None = None, limit: int = 50) -> dict:
        """Decisions with an appeal not yet resolved, the longest waiting first."""
        where, params = "d.appeal_id IS NOT NULL", []
        if unit_id:
            where += " AND o.unit_id = ?"
            params.append(str(unit_id))
        rows = self._decisions(where, params, "d.appeal_lodged_on, d.issued_position")
        for r in rows:
            r["days_waiting"] = (today - date.fromisoformat(r["appeal_lodged_on"])).days
        return _page(rows, offset_of(after), limit)

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
        rows = self._select(sql + " ORDER BY t.term_end, t.position", params, keys)
        for r in rows:
            end = date.fromisoformat(r["term_end"])
            due = notice_deadline(end, n)
            r["notice_due_on"] = due.isoformat()
            r["working_days_left"] = working_days(today, end)
            r["notice_status"] = ("overdue" if today > due else
                                  "due" if (due - today).days <= NOTICE_LEAD_DAYS
                                  else "not_yet_due")
        return _page(rows, offset_of(after), limit)
