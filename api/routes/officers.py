"""Officers: registration, transfers, appointments, reappointment; history and verdicts."""
from __future__ import annotations

from flask import current_app

from auditing.dossier import build_dossier, dossier_bytes, dossier_hash

from ..access_audit import audited_read
from ..auth import READERS, current_user
from ..commands import ID, link, run
from ..schemas import (AppointmentCreate, AsOf, DossierQuery, Eligibility, EligibilityQuery,
                       History, HistoryQuery, LeavingCreate, Listing, OfficerCreate,
                       OfficerQuery, ReappointmentCorrection, ReappointmentCreate, RotationQuery,
                       Standing, TransferCreate)
from ..services import services
from . import aggregate_json, blueprint, read, write

blp = blueprint("officers", "Officers, their history, standing and reappointment eligibility.")
BOARD_AUDITOR = ("board", "auditor")
STAFF = ("admin", "board")


def _officer_link():
    return link("officers.get_officer", officer_id=ID)


@write(blp, "/officers", OfficerCreate, ("admin",), summary="Register an officer")
def create_officer(body):
    return run(services().service.register_officer, **body, location=_officer_link())


@read(blp, "/officers", READERS, query=OfficerQuery, schema=Listing,
      summary="List officers (by unit, or by an accent-insensitive name or code match)")
def list_officers(unit_id=None, q=None, after=None, limit=50, min_position=None):
    s = services()
    s.wait_for(min_position)
    return s.readmodels.list_officers(unit_id=unit_id, q=q, after=after, limit=limit)


@read(blp, "/officers/<officer_id>", READERS, summary="An officer's current record")
def get_officer(officer_id):
    body = aggregate_json(services().service.get_officer(officer_id))
    return body


@write(blp, "/officers/<officer_id>/transfers", TransferCreate, STAFF, status=201,
       summary="Transfer or rotate an officer to another unit")
def transfer(body, officer_id):
    return run(services().service.transfer_officer, officer_id, **body, location=_officer_link())


@write(blp, "/officers/<officer_id>/appointments", AppointmentCreate, ("board",),
       summary="Appoint an officer to a post for a term")
def appoint(body, officer_id):
    return run(services().service.appoint_officer, officer_id, **body, location=_officer_link())


@write(blp, "/officers/<officer_id>/reappointment-decisions", ReappointmentCreate, ("board",),
       summary="Record the board's reappointment decision (with the eligibility hash it saw)")
def reappointment(body, officer_id):
    return run(services().service.decide_reappointment, officer_id, **body,
               location=_officer_link())


@write(blp, "/officers/<officer_id>/reappointment-corrections", ReappointmentCorrection,
       ("board",), summary="Correct the board's latest reappointment decision by a new one"
                           " naming it (its eligibility hash checked like a decision's)")
def reappointment_correction(body, officer_id):
    return run(services().service.correct_reappointment, officer_id, **body,
               location=_officer_link())


@write(blp, "/officers/<officer_id>/leaving", LeavingCreate, STAFF,
       summary="Record that an officer left the service")
def leaving(body, officer_id):
    return run(services().service.record_leaving, officer_id, **body, location=_officer_link())


def _audited_read(officer_id: str, what: str, as_of, min_position, query: str | None = None):
    s = services()
    s.wait_for(min_position)
    audited_read(officer_id, what, as_of.isoformat() if as_of else None, query,
                 user=current_user())
    return s


@read(blp, "/officers/<officer_id>/history", BOARD_AUDITOR, query=HistoryQuery, schema=History,
      summary="Everything on record about an officer, superseded entries marked (paged)")
def history(officer_id, as_of=None, min_position=None, after=None, before=None, order="asc",
            limit=500, kind=None):
    s = _audited_read(officer_id, "history", as_of, min_position)
    text = s.readmodels.history_text(officer_id, as_of=as_of, after=after, limit=limit,
                                     kinds=kind, before=before, order=order)
    return current_app.response_class(text, mimetype="application/json")


@read(blp, "/officers/<officer_id>/standing", BOARD_AUDITOR, query=AsOf, schema=Standing,
      summary="Unit, post, term, discipline in force, ratings, open proceedings")
def standing(officer_id, as_of=None, min_position=None):
    s = _audited_read(officer_id, "standing", as_of, min_position)
    return s.readmodels.standing(officer_id, as_of=as_of)


@read(blp, "/officers/<officer_id>/eligibility", BOARD_AUDITOR, query=EligibilityQuery,
      schema=Eligibility,
      summary="Reappointment eligibility on a date: verdict, reasons with citations, hash")
def eligibility(officer_id, on=None, as_of=None, leadership=True, post="same",
                min_position=None):
    day = on or services().service.today()
    s = _audited_read(officer_id, "eligibility", as_of, min_position, f"on={day.isoformat()}")
    return s.readmodels.eligibility(officer_id, on=day, as_of=as_of, leadership=leadership,
                                    post=post)


@read(blp, "/officers/<officer_id>/dossier", BOARD_AUDITOR, query=DossierQuery,
      summary="The board dossier: every event on record about the officer with the proof that"
      " it is all of them as of a signed checkpoint (check with scripts/verify_dossier.py)")
def officer_dossier(officer_id, on=None):
    day = on or services().service.today()
    s = _audited_read(officer_id, "dossier", None, None, f"on={day.isoformat()}")
    data = dossier_bytes(build_dossier(s.service, s.db, officer_id, day))
    response = current_app.response_class(data, mimetype="application/json")
    response.headers["X-Dossier-Hash"] = dossier_hash(data)
    return response


@read(blp, "/officers/<officer_id>/rotation-check", ("admin", "board", "auditor"),
      query=RotationQuery, summary="Would moving this officer to a unit breach the weak-ward"
      " rotation rule? (check before recording a rotation)")
def rotation_check(officer_id, to_unit_id, on=None, as_of=None, min_position=None):
    s = services()
    s.wait_for(min_position)
    officer = s.service.get_officer(officer_id)
    day = on or s.service.today()
    answer = s.readmodels.rotation_on(str(officer.unit_id), str(to_unit_id), day, as_of=as_of)
    return {"officer_id": str(officer.id), "from_unit_id": str(officer.unit_id),
            "to_unit_id": str(to_unit_id), "on": day.isoformat(), **answer}
