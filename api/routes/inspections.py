"""Inspections (đoàn kiểm tra công vụ) and their findings."""
from __future__ import annotations

from audit_service.errors import NotFound

from ..commands import ID, link, run
from ..schemas import FindingCorrection, FindingCreate, InspectionClose, InspectionCreate, Withdrawal
from ..services import services
from . import aggregate_json, blueprint, read, write

blp = blueprint("inspections", "Inspections and findings recorded by inspection teams.")
INSPECTOR = ("inspector",)
READ = ("inspector", "board", "auditor", "admin")


def _inspection_link():
    return link("inspections.get_inspection", inspection_id="inspection_id")


@write(blp, "/inspections", InspectionCreate, INSPECTOR,
       summary="Open an inspection (the opener is on the team)")
def open_inspection(body):
    return run(services().service.open_inspection, **body,
               location=link("inspections.get_inspection", inspection_id=ID))


@read(blp, "/inspections/<inspection_id>", READ, summary="An inspection and its findings")
def get_inspection(inspection_id):
    return _inspection_json(inspection_id)


def _inspection_json(inspection_id) -> dict:
    body = aggregate_json(services().service.get_inspection(inspection_id))
    body["findings"] = [{"finding_id": k, **v} for k, v in body["findings"].items()]
    return body


@read(blp, "/inspections/<inspection_id>/findings/<finding_id>", READ, summary="One finding")
def get_finding(inspection_id, finding_id):
    body = _inspection_json(inspection_id)
    for finding in body["findings"]:
        if finding["finding_id"] == str(finding_id):
            return {"inspection_id": body["id"], **finding}
    raise NotFound(f"no finding {finding_id} in inspection {inspection_id}",
                   code="finding_not_found")


@write(blp, "/inspections/<inspection_id>/findings", FindingCreate, INSPECTOR,
       summary="Record a finding (team members only)")
def record_finding(body, inspection_id):
    return run(services().service.record_finding, inspection_id, **body,
               location=link("inspections.get_finding", inspection_id="inspection_id",
                             finding_id=ID))


@write(blp, "/inspections/<inspection_id>/findings/<finding_id>/corrections", FindingCorrection,
       INSPECTOR, summary="Correct a finding (a new event; the original stays visible)")
def correct_finding(body, inspection_id, finding_id):
    return run(services().service.correct_finding, inspection_id, finding_id, **body,
               location=link("inspections.get_finding", inspection_id="inspection_id",
                             finding_id=ID))


@write(blp, "/inspections/<inspection_id>/findings/<finding_id>/withdrawal", Withdrawal,
       INSPECTOR, summary="Withdraw a finding")
def withdraw_finding(body, inspection_id, finding_id):
    return run(services().service.withdraw_finding, inspection_id, finding_id, **body,
               location=link("inspections.get_finding", inspection_id="inspection_id",
                             finding_id=ID))


@write(blp, "/inspections/<inspection_id>/close", InspectionClose, INSPECTOR,
       summary="Close an inspection")
def close_inspection(body, inspection_id):
    return run(services().service.close_inspection, inspection_id, **body,
               location=link("inspections.get_inspection", inspection_id=ID))
