"""The officer page, the printable dossier, and the board's forms about an officer:
proceedings, decisions, appeals, annulments, grades, ratings and reappointment."""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask import Response, abort, render_template, request, url_for

from audit_service.errors import NotFound, ValidationFailed
from audit_service.validation import EARLIEST_DATE, LATEST_DATE
from auditing.dossier import build_dossier
from auditing.integrity import latest_checkpoint
from auditing.officer_map import dossier_digest

from api.access_audit import audited_read

from ..auth import BOARD_AUDITOR, page, signed_in_user
from ..forms import decision_ref, field, number, perform
from ..labels import record_kinds
from ..sessions import services
from . import blp, wait_for_write

BOARD = ("board",)


def _day() -> date:
    try:
        day = date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return services().service.today()
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationFailed(f"on: outside {EARLIEST_DATE}..{LATEST_DATE}",
                               details={"on": "out of range"})
    return day


#: history entries on one officer page (the newest first; older ones a link away)
HISTORY_PAGE = 50


def _history_page() -> dict:
    """The officer page's slice of the history, asked of the read models with the API's
    paging (``GET …/history?order=desc&before=&kind=``): the newest ``HISTORY_PAGE``
    entries before position ``?before=``, of the record or event type ``?kind=``."""
    before = request.args.get("before", "")
    if before and not (before.isdigit() and before.isascii()):
        raise ValidationFailed("before: a log position", details={"before": "digits 0-9"})
    kind = request.args.get("kind", "").strip()
    return {"order": "desc", "limit": HISTORY_PAGE, "before": int(before) if before else None,
            "kinds": [kind] if kind else None}


def officer_context(officer_id: str, what: str, page: dict | None = None) -> dict:
    """Everything the officer page and the dossier show, with the reads written to the
    access log as the API writes them (history, standing, eligibility). With ``page``
    (``_history_page``) the history is that page, newest first; without it, every entry
    (the dossier), newest first too."""
    s = services()
    day = _day()
    record = s.readmodels.officer_record(officer_id, on=day, **(page or {}))
    for part in ("history", "standing", "eligibility"):
        audited_read(officer_id, part, None, f"{what}; on={day.isoformat()}",
                     user=signed_in_user())
    standing = record["standing"]
    unit = s.readmodels.unit(standing["unit_id"]) if standing["unit_id"] else None
    reference = s.reference_catalogues()
    rules = {r["id"]: r for r in reference["rules"]}
    forms = {f["form"]: f for f in reference["discipline_forms"]}
    checkpoint = latest_checkpoint(s.db)
    history = record["history"]
    entries = history["entries"] if page else list(reversed(history["entries"]))
    rested_on = {p for r in record["eligibility"]["reasons"] for p in r["positions"]}
    return {"officer_id": officer_id, "on": day, "standing": standing, "unit": unit,
            "entries": entries, "shown": {e["position"] for e in entries},
            "next_before": history.get("next_before"),
            "eligibility": record["eligibility"], "rules": rules,
            "forms": forms, "checkpoint": checkpoint, "rested_on": rested_on,
            "log_head": s.service.recorder.max_notification_id() or 0}


@blp.route("/officers/<uuid:officer_id>")
@page(*BOARD_AUDITOR)
def officer(officer_id):
    wait_for_write()
    s = services()
    page = _history_page()
    ctx = officer_context(str(officer_id), "web officer page", page)
    ctx["page"] = {"before": page["before"], "kind": request.args.get("kind", "").strip(),
                   "size": HISTORY_PAGE, "kinds": record_kinds()}
    ctx["proceedings"] = s.readmodels.worklists.proceedings(officer_id=str(officer_id),
                                                            limit=100)["items"]
    ctx["decisions"] = s.readmodels.worklists.decisions(officer_id=str(officer_id),
                                                        limit=100)["items"]
    ctx["conduct_codes"] = s.reference_catalogues()["conduct_codes"]
    return render_template("officer.html", **ctx)


@blp.route("/officers/<uuid:officer_id>/dossier.pdf")
@page(*BOARD_AUDITOR)
def dossier(officer_id):
    from weasyprint import HTML

    ctx = officer_context(str(officer_id), "web dossier")
    ctx["bundle"] = board_dossier(str(officer_id), ctx["on"])
    ctx["printed_by"] = signed_in_user()
    ctx["printed_at"] = datetime.now(timezone.utc)
    html = render_template("dossier.html", **ctx)
    pdf = HTML(string=html, base_url=request.url_root).write_pdf()
    name = f"ho-so-{ctx['standing']['personnel_code'] or officer_id}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def board_dossier(officer_id: str, day) -> dict | None:
    """The hash and checkpoint of the board dossier the PDF stands for (``audit-service
    dossier``, ``GET …/dossier``), or None while no checkpoint signs the officer map."""
    s = services()
    try:
        bundle = build_dossier(s.service, s.db, officer_id, day)
    except NotFound:
        return None
    return {"hash": dossier_digest(bundle), "checkpoint": bundle["checkpoint"],
            "events": len(bundle["events"])}


def _officer_url(officer_id) -> str:
    return url_for("web.officer", officer_id=officer_id)


@blp.route("/officers/<uuid:officer_id>/proceedings", methods=["POST"])
@page(*BOARD)
def open_proceeding(officer_id):
    violation = {"conduct_code": field("conduct_code"), "occurred_on": field("occurred_on"),
                 "detected_on": field("detected_on"), "description": field("description")}
    if field("finding_id"):
        violation["finding_id"] = field("finding_id")
    back = _officer_url(officer_id)
    return perform(services().service.open_proceeding, officer_id=str(officer_id),
                   violations=[violation], opened_on=field("opened_on"), done=back,
                   back=back)


@blp.route("/officers/<uuid:officer_id>/grades", methods=["POST"])
@page(*BOARD)
def monthly_grade(officer_id):
    back = _officer_url(officer_id)
    return perform(services().service.record_monthly_grade, officer_id=str(officer_id),
                   period=field("period"), score=number("score"), done=back, back=back)


@blp.route("/officers/<uuid:officer_id>/ratings", methods=["POST"])
@page(*BOARD)
def annual_rating(officer_id):
    back = _officer_url(officer_id)
    command = (services().service.correct_annual_rating if field("correction")
               else services().service.record_annual_rating)
    kwargs = {"reason": field("reason")} if field("correction") else {}
    return perform(command, officer_id=str(officer_id), year=number("year"),
                   rating=field("rating"), done=back, back=back, **kwargs)


@blp.route("/officers/<uuid:officer_id>/reappointment", methods=["POST"])
@page(*BOARD)
def reappointment(officer_id):
    back = _officer_url(officer_id)
    return perform(services().service.decide_reappointment, str(officer_id),
                   outcome=field("outcome"), decided_on=field("decided_on"),
                   decision_ref=decision_ref(), eligibility_hash=field("eligibility_hash"),
                   done=back, back=back)


@blp.route("/proceedings/<uuid:proceeding_id>")
@page(*BOARD_AUDITOR)
def proceeding(proceeding_id):
    wait_for_write()
    s = services()
    p = s.service.get_proceeding(proceeding_id)
    audited_read(p.officer_id, "proceeding", query=f"web proceeding page {proceeding_id}",
                 user=signed_in_user())
    row = s.readmodels.worklists.proceeding(str(proceeding_id))
    return render_template("proceeding.html", p=p, row=row,
                           options=s.service.proceeding_options(proceeding_id),
                           reasons=s.reference_catalogues()["deferral_reasons"])


def _proceeding_url(proceeding_id) -> str:
    return url_for("web.proceeding", proceeding_id=proceeding_id)


@blp.route("/proceedings/<uuid:proceeding_id>/<action>", methods=["POST"])
@page(*BOARD)
def proceeding_action(proceeding_id, action):
    svc = services().service
    back = _proceeding_url(proceeding_id)
    pid = str(proceeding_id)
    if action == "deferral":
        return perform(svc.defer_proceeding, pid, reason=field("reason"), until=field("until"),
                       deferred_on=field("deferred_on"), done=back, back=back)
    if action == "dismissal":
        return perform(svc.dismiss_proceeding, pid, reason=field("reason"),
                       dismissed_on=field("dismissed_on"), done=back, back=back)
    if action == "decision":
        return perform(svc.decide_proceeding, pid, form=field("form"),
                       decision_ref=decision_ref(), effective_from=field("effective_from"),
                       corruption_related=bool(field("corruption_related")),
                       discipline_system=field("discipline_system"), done=back, back=back)
    abort(404)


@blp.route("/decisions/<uuid:decision_id>")
@page(*BOARD_AUDITOR)
def decision(decision_id):
    wait_for_write()
    s = services()
    d = s.service.get_decision(decision_id)
    audited_read(d.officer_id, "decision", query=f"web decision page {decision_id}",
                 user=signed_in_user())
    row = s.readmodels.worklists.decision(str(decision_id))
    return render_template("decision.html", d=d, row=row,
                           forms=s.reference_catalogues()["discipline_forms"])


@blp.route("/decisions/<uuid:decision_id>/<action>", methods=["POST"])
@page(*BOARD)
def decision_action(decision_id, action):
    svc = services().service
    back = url_for("web.decision", decision_id=decision_id)
    did = str(decision_id)
    if action == "appeal":
        return perform(svc.lodge_appeal, did, lodged_on=field("lodged_on"),
                       grounds=field("grounds"), done=back, back=back)
    if action == "resolution":
        return perform(svc.resolve_appeal, did, field("appeal_id"), outcome=field("outcome"),
                       resolved_on=field("resolved_on"), new_form=field("new_form"),
                       decision_ref=decision_ref(), done=back, back=back)
    if action == "annulment":
        return perform(svc.annul_decision, did, reason=field("reason"),
                       decision_ref=decision_ref(), annulled_on=field("annulled_on"),
                       done=back, back=back)
    abort(404)
