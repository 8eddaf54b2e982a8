"""Inspectors' pages (phone-sized first): my inspections, one inspection, its findings."""
from __future__ import annotations

import re

from flask import abort, render_template, request, url_for

from projections.readmodels import search_key

from ..auth import READERS, page, signed_in_user
from ..forms import field, perform
from ..sessions import services
from ..vietnamese import name_key
from . import blp, wait_for_write

INSPECTOR = ("inspector",)
HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@blp.route("/inspections")
@page(*READERS)
def inspections():
    wait_for_write()
    user = signed_in_user()
    status = request.args.get("status") if request.args.get("status") in ("open", "closed") \
        else None
    mine = user.role == "inspector"
    listing = services().readmodels.worklists.inspections(
        team_member=user.user_id if mine else None, status=status, limit=200)
    return render_template("inspections.html", items=listing["items"], mine=mine,
                           status=status)


def _observed_default() -> str:
    """Now in Vietnam by the service's clock (``AUDIT_TODAY`` when set), not the host's."""
    return services().service.now().strftime("%Y-%m-%dT%H:%M")


def _conduct_codes(day) -> list[dict]:
    codes = []
    for c in services().reference_catalogues()["conduct_codes"]:
        if str(c["valid_from"]) <= day.isoformat() and (
                not c["valid_until"] or day.isoformat() <= str(c["valid_until"])):
            codes.append({**c, "search": search_key(f"{c['code']} {c['title_vi']} "
                                                     f"{c['title_en']}")})
    return codes


@blp.route("/inspections/<uuid:inspection_id>")
@page(*READERS)
def inspection(inspection_id):
    wait_for_write()
    s = services()
    ins = s.service.get_inspection(inspection_id)
    unit = s.readmodels.unit(str(ins.unit_id))
    officers = sorted(s.readmodels.search_officers("", unit_id=str(ins.unit_id), limit=1000),
                      key=lambda o: name_key(o["full_name"]))
    names = {o["officer_id"]: o["full_name"] for o in officers}
    findings = [{"finding_id": str(fid), **f,
                 "officer_name": names.get(str(f["officer_id"])) if f["officer_id"] else None}
                for fid, f in ins.findings.items()]
    findings.sort(key=lambda f: f["observed_at"], reverse=True)
    user = signed_in_user()
    on_team = user.role == "inspector" and user.user_id in ins.team
    return render_template("inspection.html", ins=ins, unit=unit, officers=officers,
                           findings=findings, on_team=on_team,
                           codes=_conduct_codes(s.service.today()),
                           observed_default=_observed_default())


def _observed_at() -> str | None:
    """The datetime-local field is Vietnam time without an offset: add it."""
    value = field("observed_at")
    if value and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?", value):
        return value + ("" if value.count(":") == 2 else ":00") + "+07:00"
    return value


def _evidence() -> list[str]:
    return HEX64.findall(request.form.get("evidence_sha256", ""))


@blp.route("/inspections/<uuid:inspection_id>/findings", methods=["POST"])
@page(*INSPECTOR)
def record_finding(inspection_id):
    back = url_for("web.inspection", inspection_id=inspection_id)
    return perform(services().service.record_finding, str(inspection_id),
                   conduct_code=field("conduct_code"), description=field("description"),
                   observed_at=_observed_at(), officer_id=field("officer_id"),
                   evidence_sha256=_evidence(), done=back, back=back)


@blp.route("/inspections/<uuid:inspection_id>/findings/<uuid:finding_id>/<action>",
           methods=["POST"])
@page(*INSPECTOR)
def change_finding(inspection_id, finding_id, action):
    svc = services().service
    back = url_for("web.inspection", inspection_id=inspection_id)
    if action == "withdrawal":
        return perform(svc.withdraw_finding, str(inspection_id), str(finding_id),
                       reason=field("reason"), done=back, back=back)
    if action != "correction":
        abort(404)
    changes = {k: v for k, v in (("conduct_code", field("conduct_code")),
                                 ("description", field("description")),
                                 ("officer_id", field("officer_id")),
                                 ("observed_at", _observed_at())) if v}
    return perform(svc.correct_finding, str(inspection_id), str(finding_id),
                   reason=field("reason"), done=back, back=back, **changes)


@blp.route("/inspections/<uuid:inspection_id>/close", methods=["POST"])
@page(*INSPECTOR)
def close_inspection(inspection_id):
    back = url_for("web.inspection", inspection_id=inspection_id)
    return perform(services().service.close_inspection, str(inspection_id),
                   closed_on=field("closed_on"), conclusion_ref=field("conclusion_ref"),
                   done=back, back=back)
