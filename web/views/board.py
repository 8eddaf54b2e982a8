"""The board's worklists and the officer search."""
from __future__ import annotations

from flask import render_template, request

from ..auth import BOARD_AUDITOR, READERS, page
from ..sessions import services
from ..vietnamese import name_key
from . import blp, wait_for_write


def _within_days() -> int:
    value = request.args.get("within_days", "180")
    return min(max(int(value), 0), 3660) if value.isdigit() else 180


@blp.route("/board")
@page(*BOARD_AUDITOR)
def board():
    wait_for_write()
    s = services()
    lists = s.readmodels.worklists
    today = s.service.today()
    unit_id = request.args.get("unit_id") or None
    within = _within_days()
    return render_template(
        "board.html", within_days=within, unit_id=unit_id,
        units=s.readmodels.list_units(limit=500)["items"],
        terms=lists.terms_ending(today, within_days=within, unit_id=unit_id, limit=100),
        due=lists.proceedings_due(today, unit_id=unit_id, limit=100),
        appeals=lists.appeals_pending(today, unit_id=unit_id, limit=100),
        in_force=lists.decisions(in_force_on=today, unit_id=unit_id, limit=100),
        forms=s.reference_catalogues()["discipline_forms"])


@blp.route("/officers")
@page(*READERS)
def officers():
    s = services()
    q = request.args.get("q", "").strip()[:200]
    unit_id = request.args.get("unit_id") or None
    found = s.readmodels.search_officers(q, unit_id=unit_id, limit=200) if (q or unit_id) \
        else []
    found.sort(key=lambda o: name_key(o["full_name"]))
    units = sorted(s.readmodels.list_units(limit=500)["items"], key=lambda u: u["code"])
    return render_template("officers.html", q=q, unit_id=unit_id, found=found, units=units,
                           searched=bool(q or unit_id))
