"""Discipline: proceedings (opened, deferred, dismissed, decided), the decisions that
end them, appeals and annulments."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from ..domain import Decision, Index, Officer, Proceeding, index_id
from ..domain.proceedings import DISCIPLINE_SYSTEMS
from ..errors import RuleViolation, ValidationFailed
from ..limitation import expired_under_regimes
from .core import Actor, CommandResult, ServiceCore

APPEAL_OUTCOMES = ("upheld", "overturned", "form_changed")
VIOLATION_SOURCES = ("finding", "complaint", "other")
FORMS = ("khien_trach", "canh_cao", "ha_bac_luong", "giang_chuc", "cach_chuc",
         "buoc_thoi_viec", "bai_nhiem")
#: Party discipline forms recorded for their effect on appointment (khai trừ ends membership
#: and has no appointment period here).
PARTY_FORMS = ("khien_trach", "canh_cao", "cach_chuc")


class DisciplineCommands(ServiceCore):
    """Commands and reads on proceedings (xử lý kỷ luật) and decisions."""

    def open_proceeding(self, actor: Actor, *, officer_id: Any, violations: Any,
                        opened_on: Any = None) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        opened = c.date("opened_on", opened_on if opened_on is not None else self.today())
        clean: list[dict] = []
        if not isinstance(violations, list) or not violations:
            c.fail("violations", "must be a non-empty list")
        else:
            for n, v in enumerate(violations):
                f = f"violations[{n}]"
                if not isinstance(v, dict):
                    c.fail(f, "must be an object")
                    continue
                occurred = c.date(f"{f}.occurred_on", v.get("occurred_on"))
                detected = c.date(f"{f}.detected_on", v.get("detected_on"))
                if occurred and detected and detected < occurred:
                    c.fail(f"{f}.detected_on", "must not be before occurred_on")
                ended = c.date(f"{f}.ended_on", v.get("ended_on"), required=False)
                ongoing = c.boolean(f"{f}.ongoing", v.get("ongoing"), default=False)
                if ended and occurred and ended < occurred:
                    c.fail(f"{f}.ended_on", "must not be before occurred_on")
                if ended and ongoing:
                    c.fail(f"{f}.ongoing", "an ongoing violation has no ended_on")
                exemption = v.get("exemption")
                if exemption is not None:
                    c.choice(f"{f}.exemption", exemption, self.reference.limitation_exemptions)
                clean.append({
                    "finding_id": c.uuid(f"{f}.finding_id", v.get("finding_id"), required=False),
                    "inspection_id": c.uuid(f"{f}.inspection_id", v.get("inspection_id"),
                                            required=False),
                    "source": c.choice(f"{f}.source", v.get("source") or
                                       ("finding" if v.get("finding_id") else "other"),
                                       VIOLATION_SOURCES),
                    "conduct_code": c.text(f"{f}.conduct_code", v.get("conduct_code"), max_len=80),
                    "description": c.text(f"{f}.description", v.get("description"), max_len=5000),
                    "occurred_on": occurred, "detected_on": detected, "exemption": exemption,
                    "ended_on": ended, "ongoing": bool(ongoing),
                })
        c.done()
        officer = self.get_officer(officer_uuid)
        cited: list[UUID] = []
        for n, v in enumerate(clean):
            if opened < v["detected_on"]:
                raise ValidationFailed("invalid input", details={
                    f"violations[{n}].detected_on": "must not be after opened_on"})
            if v["finding_id"] is not None:
                if v["finding_id"] in cited:
                    raise ValidationFailed("invalid input", details={
                        f"violations[{n}].finding_id": "cites a finding already cited above"})
                self._check_finding_for(v, officer.id, n)
                cited.append(v["finding_id"])
        proceeding = Proceeding(officer_id=officer.id, violations=clean, opened_on=opened,
                                **actor.kw)
        claims = [c for c in (self._claim_finding(f, proceeding.id, actor) for f in cited) if c]
        return self._save(proceeding.id, proceeding, *claims)

    def _claim_finding(self, finding_id: UUID, proceeding_id: UUID,
                       actor: Actor) -> Index | None:
        """A finding is handled by one proceeding: cited again only after the proceeding
        that cited it was dismissed (then no new claim is needed: the old one names a
        dismissed proceeding)."""
        claim_id = index_id("finding-cited", str(finding_id))
        if self._exists(claim_id):
            owner = self._get(Proceeding, self._get(Index, claim_id, "index").owner_id,
                              "proceeding")
            if owner.status != "dismissed":
                raise RuleViolation(f"the finding is already cited by proceeding {owner.id}"
                                    f" ({owner.status})", code="finding_already_cited",
                                    details={"proceeding_id": str(owner.id)})
            return None
        return Index(kind="finding-cited", key=str(finding_id), owner_id=proceeding_id,
                     **actor.kw)

    def _check_finding_for(self, violation: dict, officer_id: UUID, n: int) -> None:
        """A violation drawn from a finding must name a live finding about this officer."""
        if violation["inspection_id"] is None:
            raise ValidationFailed("invalid input", details={
                f"violations[{n}].inspection_id": "is required with finding_id"})
        inspection = self.get_inspection(violation["inspection_id"])
        finding = inspection.finding(violation["finding_id"])
        if finding["status"] == "withdrawn":
            raise RuleViolation("the finding was withdrawn", code="finding_withdrawn")
        if finding["officer_id"] != officer_id:
            raise RuleViolation("the finding does not name this officer",
                                code="finding_other_officer")

    def get_proceeding(self, proceeding_id: Any) -> Proceeding:
        return self._get(Proceeding, proceeding_id, "proceeding")

    def proceeding_options(self, proceeding_id: Any, on: date | None = None) -> dict:
        """What the service would take next on a proceeding, dates and deferral aside (a
        page offers only these): the discipline systems whose decision may still be
        recorded, the forms of each (state: the officer's category's on ``on``, default
        today; Party: ``PARTY_FORMS``), whether a dismissal may be recorded, and whether a
        Party decision alone is on record with the state side still open."""
        proceeding = self.get_proceeding(proceeding_id)
        unrecorded = (self.get_decision(proceeding.decision_id).discipline_system
                      if proceeding.decided_system_unrecorded else None)
        systems = proceeding.undecided_systems(unrecorded)
        day = on or self.today()
        category = self.get_officer(proceeding.officer_id).category
        forms = {"state": [f.form for f in self.reference.forms_for(category, day)],
                 "party": list(PARTY_FORMS)}
        decided = proceeding.decisions(unrecorded)
        return {"systems": [{"system": s, "forms": forms[s]} for s in systems],
                "dismissible": proceeding.dismissible,
                "awaiting_state": "party" in decided and "state" in systems}

    def defer_proceeding(self, actor: Actor, proceeding_id: Any, *, reason: Any, until: Any,
                         deferred_on: Any = None) -> CommandResult:
        c = self._checker()
        reason = c.choice("reason", reason, self.reference.deferral_reasons)
        until = c.date("until", until, past=False)
        day = c.date("deferred_on", deferred_on if deferred_on is not None else self.today())
        c.done()
        proceeding = self.get_proceeding(proceeding_id)
        proceeding.defer(reason=reason, until=until, deferred_on=day, **actor.kw)
        return self._save(proceeding.id, proceeding)

    def dismiss_proceeding(self, actor: Actor, proceeding_id: Any, *, reason: Any,
                           dismissed_on: Any = None) -> CommandResult:
        c = self._checker()
        reason = c.text("reason", reason)
        day = c.date("dismissed_on", dismissed_on if dismissed_on is not None else self.today())
        c.done()
        proceeding = self.get_proceeding(proceeding_id)
        proceeding.dismiss(reason=reason, dismissed_on=day, **actor.kw)
        return self._save(proceeding.id, proceeding)

    def decide_proceeding(self, actor: Actor, proceeding_id: Any, *, form: Any,
                          decision_ref: Any, effective_from: Any,
                          corruption_related: Any = False,
                          discipline_system: Any = "state") -> CommandResult:
        c = self._checker()
        form = c.choice("form", form, FORMS)
        system = c.choice("discipline_system", discipline_system if discipline_system
                          is not None else "state", DISCIPLINE_SYSTEMS)
        if system == "party" and form not in PARTY_FORMS:
            c.fail("form", f"Party discipline forms recorded here: {', '.join(PARTY_FORMS)}")
        ref = c.decision_ref("decision_ref", decision_ref)
        effective = c.date("effective_from", effective_from)
        corruption = c.boolean("corruption_related", corruption_related, default=False)
        if ref and effective and effective < ref["signed_on"]:
            c.fail("effective_from", "must not be before the decision is signed")
        c.done()
        proceeding = self.get_proceeding(proceeding_id)
        officer = self.get_officer(proceeding.officer_id)
        decided_on = ref["signed_on"]
        # one state and one Party decision per proceeding (Decree 71/2023: for a Party
        # member the administrative decision follows the Party one, on the same act)
        unrecorded = (self.get_decision(proceeding.decision_id).discipline_system
                      if proceeding.decided_system_unrecorded else None)
        proceeding.check_decidable(decided_on, system, unrecorded)
        if system == "party":
            # A Party decision (Regulation 69-QĐ/TW) is recorded for its effect on
            # appointment (effect_periods.toml, scope party): the state forms catalogue and
            # the state limitation periods do not govern it, so neither is checked.
            regime = "party"
        else:
            regime = self._check_state_form(officer, proceeding, form, decided_on)
        decision = Decision(proceeding_id=proceeding.id, officer_id=officer.id,
                            category=officer.category, form=form, regime=regime,
                            decision_ref=ref, effective_from=effective,
                            corruption_related=corruption, discipline_system=system,
                            **actor.kw)
        proceeding.decide(decision_id=decision.id, decided_on=decided_on,
                          discipline_system=system, unrecorded_system=unrecorded, **actor.kw)
        claim = self._check_decision_ref_unique(ref, decision.id, actor)
        return self._save(decision.id, proceeding, decision, claim,
                          extra={"proceeding_id": proceeding.id})

    def _check_state_form(self, officer: Officer, proceeding: Proceeding, form: str,
                          decided_on: date) -> str:
        """A state decision's form must be in the catalogue for the officer's category on
        the signing date, fit the officer's post, and the limitation period must not have
        run out; returns the regime of the catalogue entry."""
        form_entry = self.reference.discipline_form(form, officer.category, decided_on)
        if form_entry is None:
            allowed = [f.form for f in self.reference.forms_for(officer.category, decided_on)]
            raise RuleViolation(
                f"{form} is not a discipline form for {officer.category} on {decided_on};"
                f" allowed: {', '.join(allowed)}",
                code="form_not_applicable", details={"allowed": allowed})
        self._check_form_fits_officer(form_entry, officer, decided_on)
        self._check_limitation(officer.category, proceeding.violations, decided_on, form)
        return form_entry.regime

    @staticmethod
    def _check_form_fits_officer(form_entry: Any, officer: Officer, on: date) -> None:
        """Leaders-only forms (giáng chức, cách chức) need a leadership post held on the
        decision date; non-leaders-only forms (hạ bậc lương) refuse one. Elected status is
        not recorded, so bãi nhiệm is not checked against it."""
        led = officer.led_on(on)
        if form_entry.leaders_only and not led:
            raise RuleViolation(f"{form_entry.form} applies only to officers holding a"
                                f" leadership post (none on record on {on})",
                                code="form_leaders_only")
        if form_entry.non_leaders_only and led:
            raise RuleViolation(f"{form_entry.form} applies only to officers without a"
                                f" leadership post (one on record on {on})",
                                code="form_non_leaders_only")

    def _check_limitation(self, category: str, violations: list[dict], decided_on: date,
                          form: str) -> None:
        periods = self.reference.limitation_periods_for(category)
        expired = expired_under_regimes(violations, periods, form, decided_on,
                                        set(self.reference.limitation_exemptions),
                                        self.reference.limitation_restart_on_new_violation)
        if expired:
            first = expired[0]
            raise RuleViolation(
                f"the limitation period ({first.years} years, {first.source}) for the violation"
                f" of {first.occurred_on} ran out on {first.expired_on}",
                code="limitation_expired",
                details={"violations": [
                    {"index": e.index, "occurred_on": e.occurred_on.isoformat(),
                     "clock_start": e.clock_start.isoformat(),
                     "expired_on": e.expired_on.isoformat(), "rule": e.rule}
                    for e in expired],
                    "rule": first.rule, "source": first.source})

    def get_decision(self, decision_id: Any) -> Decision:
        return self._get(Decision, decision_id, "decision")

    def lodge_appeal(self, actor: Actor, decision_id: Any, *, lodged_on: Any,
                     grounds: Any) -> CommandResult:
        c = self._checker()
        day = c.date("lodged_on", lodged_on)
        grounds = c.text("grounds", grounds, max_len=5000)
        c.done()
        decision = self.get_decision(decision_id)
        appeal_id = uuid4()
        decision.lodge_appeal(appeal_id=appeal_id, lodged_on=day, grounds=grounds, **actor.kw)
        return self._save(appeal_id, decision, extra={"decision_id": decision.id})

    def resolve_appeal(self, actor: Actor, decision_id: Any, appeal_id: Any, *, outcome: Any,
                       resolved_on: Any, new_form: Any = None,
                       decision_ref: Any = None) -> CommandResult:
        c = self._checker()
        appeal_uuid = c.uuid("appeal_id", appeal_id)
        outcome = c.choice("outcome", outcome, APPEAL_OUTCOMES)
        day = c.date("resolved_on", resolved_on)
        ref = c.decision_ref("decision_ref", decision_ref, required=False)
        if outcome == "form_changed":
            new_form = c.choice("new_form", new_form, FORMS)
        elif new_form is not None:
            c.fail("new_form", "is only given when the outcome is form_changed")
        c.done()
        decision = self.get_decision(decision_id)
        if outcome == "form_changed":
            entry = self.reference.discipline_form(new_form, decision.category,
                                                   decision.decision_ref["signed_on"])
            if entry is None:
                raise RuleViolation(f"{new_form} is not a discipline form for {decision.category}"
                                    f" under the decision's regime", code="form_not_applicable")
            if new_form == decision.form:
                raise RuleViolation("the new form equals the current one",
                                    code="correction_changes_nothing")
            self._check_form_fits_officer(entry, self.get_officer(decision.officer_id),
                                          decision.decision_ref["signed_on"])
        decision.resolve_appeal(appeal_id=appeal_uuid, outcome=outcome, new_form=new_form,
                                resolved_on=day, decision_ref=ref, **actor.kw)
        claims = [self._check_decision_ref_unique(ref, decision.id, actor)] if ref else []
        return self._save(appeal_uuid, decision, *claims, extra={"decision_id": decision.id})

    def annul_decision(self, actor: Actor, decision_id: Any, *, reason: Any, decision_ref: Any,
                       annulled_on: Any = None) -> CommandResult:
        c = self._checker()
        reason = c.text("reason", reason, max_len=5000)
        ref = c.decision_ref("decision_ref", decision_ref)
        day = c.date("annulled_on", annulled_on if annulled_on is not None
                     else (ref or {}).get("signed_on"))
        c.done()
        decision = self.get_decision(decision_id)
        decision.annul(reason=reason, decision_ref=ref, annulled_on=day, **actor.kw)
        claim = self._check_decision_ref_unique(ref, decision.id, actor)
        return self._save(decision.id, decision, claim)
