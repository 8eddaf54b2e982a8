"""Disciplinary proceedings, decisions, appeals and annulments (personnel boards)."""
from __future__ import annotations

from ..commands import ID, link, run
from ..schemas import (AppealCreate, AppealResolution, Annulment, DecisionCreate, Deferral,
                       Dismissal, ProceedingCreate)
from ..services import services
from . import aggregate_json, blueprint, read, write

blp = blueprint("proceedings", "Disciplinary proceedings and decisions.")
BOARD = ("board",)
READ = ("board", "auditor")


def _decision_link():
    return link("proceedings.get_decision", decision_id="decision_id")


@write(blp, "/proceedings", ProceedingCreate, BOARD, summary="Open a disciplinary proceeding")
def open_proceeding(body):
    return run(services().service.open_proceeding, **body,
               location=link("proceedings.get_proceeding", proceeding_id=ID))


@read(blp, "/proceedings/<proceeding_id>", READ, summary="A proceeding's current state")
def get_proceeding(proceeding_id):
    return aggregate_json(services().service.get_proceeding(proceeding_id))


@write(blp, "/proceedings/<proceeding_id>/deferral", Deferral, BOARD,
       summary="Defer a proceeding (illness, pregnancy, …) until a date")
def defer(body, proceeding_id):
    return run(services().service.defer_proceeding, proceeding_id, **body,
               location=link("proceedings.get_proceeding", proceeding_id=ID))


@write(blp, "/proceedings/<proceeding_id>/dismissal", Dismissal, BOARD,
       summary="Close a proceeding without discipline")
def dismiss(body, proceeding_id):
    return run(services().service.dismiss_proceeding, proceeding_id, **body,
               location=link("proceedings.get_proceeding", proceeding_id=ID))


@write(blp, "/proceedings/<proceeding_id>/decision", DecisionCreate, BOARD,
       summary="Issue a discipline decision: one state and one Party decision per proceeding")
def decide(body, proceeding_id):
    return run(services().service.decide_proceeding, proceeding_id, **body,
               location=link("proceedings.get_decision", decision_id=ID))


@read(blp, "/decisions/<decision_id>", READ, summary="A discipline decision, its appeals")
def get_decision(decision_id):
    return aggregate_json(services().service.get_decision(decision_id))


@write(blp, "/decisions/<decision_id>/appeals", AppealCreate, BOARD, summary="Lodge an appeal")
def appeal(body, decision_id):
    return run(services().service.lodge_appeal, decision_id, **body, location=_decision_link())


@write(blp, "/decisions/<decision_id>/appeals/<appeal_id>/resolution", AppealResolution, BOARD,
       summary="Resolve an appeal: upheld, overturned or form changed")
def resolve(body, decision_id, appeal_id):
    return run(services().service.resolve_appeal, decision_id, appeal_id, **body,
               location=_decision_link())


@write(blp, "/decisions/<decision_id>/annulment", Annulment, BOARD,
       summary="Annul a decision (it stays on record, marked annulled)")
def annul(body, decision_id):
    return run(services().service.annul_decision, decision_id, **body,
               location=link("proceedings.get_decision", decision_id=ID))
