"""Officers: registration, transfers and rotations, appointments, reappointment
decisions (with the eligibility they quote) and leaving service."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable
from uuid import UUID

from eventsourcing.application import project_aggregate

from ..domain import Index, Officer, Unit, index_id
from ..errors import ConfigurationError, NotFound, RuleViolation, ValidationFailed
from ..pii import national_id_hash, national_id_problem
from ..rotation import evaluate_rotation, serving_unit
from .core import _BATCH, Actor, CommandResult, ServiceCore

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

TRANSFER_KINDS = ("transfer", "rotation")
REAPPOINTMENT_OUTCOMES = ("reappointed", "not_reappointed")

#: Reads the eligibility answers the service gives now: ``reader(app, officer_id, on)``.
#: Registered by the read-model layer (``projections.answers``), which sits above the domain.
_ELIGIBILITY_READER: Callable[[Any, UUID, date], list[dict]] | None = None


def register_eligibility_reader(reader: Callable[[Any, UUID, date], list[dict]]) -> None:
    """How the layer that owns the read models lets the domain ask for eligibility answers
    (the reappointment decision checks the hash it quotes against them)."""
    global _ELIGIBILITY_READER
    _ELIGIBILITY_READER = reader


class OfficerCommands(ServiceCore):
    """Commands and reads on officers (cán bộ, công chức, viên chức)."""

    def register_officer(self, actor: Actor, *, personnel_code: Any, full_name: Any,
                         category: Any, unit_id: Any, position: Any, national_id: Any = None,
                         joined_on: Any = None) -> CommandResult:
        c = self._checker()
        code = c.text("personnel_code", personnel_code, max_len=40)
        name = c.text("full_name", full_name, max_len=200)
        category = c.choice("category", category, self.reference.categories)
        unit_uuid = c.uuid("unit_id", unit_id)
        position = c.text("position", position, max_len=200)
        joined = c.date("joined_on", joined_on, required=False)
        nid = None
        if national_id not in (None, ""):
            if not isinstance(national_id, str) or national_id_problem(national_id.strip()):
                c.fail("national_id", national_id_problem(str(national_id).strip()) or "invalid")
            elif not self.settings.cipher_key:
                c.fail("national_id", "cannot be stored: the service runs without AUDIT_CIPHER_KEY,"
                       " and national IDs are only kept encrypted")
            else:
                nid = national_id.strip()
        c.done()
        unit = self._get(Unit, unit_uuid, "unit")
        if unit.merged_by(joined):
            raise RuleViolation(f"unit {unit.code} was merged into another unit on"
                                f" {unit.merged_on}", code="unit_merged")
        nid_hash = national_id_hash(self.settings.cipher_key, nid) if nid else None
        officer = Officer(personnel_code=code, full_name=name, category=category,
                          unit_id=unit.id, position=position, national_id=nid,
                          national_id_hash=nid_hash, joined_on=joined, **actor.kw)
        claims = [self._claim("personnel-code", code.upper(), officer.id, actor,
                              f"personnel code {code} is already registered")]
        if nid_hash is not None:
            claims.append(self._claim("national-id", nid_hash, officer.id, actor,
                                      "an officer with this national ID is already registered"))
        return self._save(officer.id, officer, *claims)

    def get_officer(self, officer_id: Any) -> Officer:
        return self._get(Officer, officer_id, "officer")

    def _check_officer(self, officer_id: UUID) -> UUID:
        """That an officer exists, from its first stored event alone (commands that only
        name the officer need not load the officer's whole history)."""
        batch = _BATCH.get()
        if batch is not None and officer_id in batch.aggregates:
            if not isinstance(batch.aggregates[officer_id], Officer):
                raise NotFound(f"no officer with id {officer_id}", code="officer_not_found")
            return officer_id
        first = self.recorder.select_events(officer_id, limit=1)
        if not first or not first[0].topic.endswith(":Officer.Registered"):
            raise NotFound(f"no officer with id {officer_id}", code="officer_not_found")
        return officer_id

    def find_officer(self, *, personnel_code: str | None = None,
                     national_id: str | None = None) -> Officer:
        """Look an officer up by personnel code or (keyed-hash of) national ID."""
        if personnel_code:
            claim_id = index_id("personnel-code", personnel_code.strip().upper())
        elif national_id and self.settings.cipher_key:
            claim_id = index_id("national-id",
                                national_id_hash(self.settings.cipher_key, national_id.strip()))
        else:
            raise ValidationFailed("give a personnel code, or a national ID with a cipher key set",
                                   details={"personnel_code": "is required"})
        index = self._get(Index, claim_id, "officer")
        return self.get_officer(index.owner_id)

    def transfer_officer(self, actor: Actor, officer_id: Any, *, to_unit_id: Any,
                         effective_on: Any, decision_ref: Any, kind: Any = "transfer",
                         new_position: Any = None,
                         rotation_exception_reason: Any = None) -> CommandResult:
        c = self._checker()
        to_uuid = c.uuid("to_unit_id", to_unit_id)
        exception_reason = c.text("rotation_exception_reason", rotation_exception_reason,
                                  required=False, max_len=2000)
        day = c.date("effective_on", effective_on)
        ref = c.decision_ref("decision_ref", decision_ref)
        kind = c.choice("kind", kind, TRANSFER_KINDS)
        position = c.text("new_position", new_position, required=False, max_len=200)
        c.done()
        officer = self.get_officer(officer_id)
        try:
            target = self._get(Unit, to_uuid, "unit")
        except NotFound:
            raise RuleViolation(f"the target unit {to_uuid} does not exist",
                                code="target_unit_not_found") from None
        if target.merged_by(day):
            raise RuleViolation(f"unit {target.code} was merged into another unit on"
                                f" {target.merged_on}", code="unit_merged")
        exception = self._check_rotation(officer, target, day, kind, exception_reason)
        officer.transfer(to_unit_id=target.id, effective_on=day, decision_ref=ref, kind=kind,
                         new_position=position, rotation_exception=exception, **actor.kw)
        return self._save(officer.id, officer)

    def _check_rotation(self, officer: Officer, target: Unit, day: date, kind: str,
                        exception_reason: str | None) -> dict | None:
        """A rotation (luân chuyển) breaching the weak-ward rule is refused unless the board
        records a reasoned exception, kept in the event. Same rule as the rotation-check
        read (audit_service.rotation.evaluate_rotation); ratings known now, in force on
        ``day``; the source unit is the one served in on ``day`` (``serving_unit``)."""
        if kind != "rotation":
            return None

        def as_dict(unit: Unit) -> dict:
            return {"unit_id": str(unit.id), "name": unit.name, "level": unit.level,
                    "merged_into": str(unit.merged_into) if unit.merged_into else None,
                    "merged_on": unit.merged_on}

        start = self._get(Unit, officer.unit_id, "unit")
        source, merged = serving_unit(
            as_dict(start), lambda i: as_dict(self._get(Unit, UUID(i), "unit")), day)
        ratings = self._get(Unit, UUID(source["unit_id"]), "unit").ratings
        answer = evaluate_rotation(self.reference, source, as_dict(target), dict(ratings), day,
                                   merged_away=merged)
        if answer["flag"] is None:
            return None
        if not exception_reason:
            raise RuleViolation(answer["reason_en"], code="weak_ward_rotation",
                                details={"rule_id": answer["rule_id"],
                                         "citation": answer["citation"],
                                         "rating_used": answer["rating_used"]})
        return {"rule_id": answer["rule_id"], "reason": exception_reason}

    #: Computes the eligibility answers the service gives now for (officer_id, on): a list of
    #: result dicts (each with ``hash`` and ``verdict``). The API sets one that waits for its
    #: read models; otherwise the reader the read-model layer registered is used
    #: (``register_eligibility_reader``): the domain knows nothing of the read models.
    eligibility_answers: Callable[[UUID, date], list[dict]] | None = None

    def _answers_now(self, officer_id: UUID, on: date) -> list[dict]:
        if self.eligibility_answers is not None:
            return self.eligibility_answers(officer_id, on)
        if _ELIGIBILITY_READER is None:
            raise ConfigurationError("no eligibility reader is registered (import projections)",
                                     code="eligibility_unavailable")
        return _ELIGIBILITY_READER(self, officer_id, on)

    def _check_eligibility_quoted(self, officer: Officer, day: date, outcome: str,
                                  ehash: str | None, override: str | None) -> str | None:
        """The quoted eligibility hash must be one the service gives for this officer on the
        decision date (recomputed now); reappointing against a not_eligible verdict needs an
        ``override_reason``. Returns the verdict of the matched answer (stored in the event)."""
        if ehash is None:
            if outcome != "reappointed":
                return None
            default = next(a for a in self._answers_now(officer.id, day)
                           if a["leadership"] and a["post"] == "same")
            if default["verdict"] == "not_eligible" and not override:
                raise RuleViolation(
                    "the officer is not eligible on the decision date; reappointing needs an"
                    " override_reason (kept in the event)", code="override_reason_required",
                    details={"verdict": default["verdict"]})
            return default["verdict"]
        answers = self._answers_now(officer.id, day)
        matched = next((a for a in answers if a["hash"] == ehash), None)
        if matched is None:
            raise RuleViolation(
                "the eligibility_hash is not one the service gives for this officer on"
                f" {day.isoformat()}; ask GET /officers/{officer.id}/eligibility?on="
                f"{day.isoformat()} and quote its hash", code="eligibility_hash_unknown",
                details={"decided_on": day.isoformat()})
        if matched["verdict"] == "not_eligible" and outcome == "reappointed" and not override:
            raise RuleViolation(
                "the verdict the board saw is not_eligible; reappointing needs an"
                " override_reason (kept in the event)", code="override_reason_required",
                details={"verdict": matched["verdict"]})
        return matched["verdict"]

    def appoint_officer(self, actor: Actor, officer_id: Any, *, position: Any, term_start: Any,
                        decision_ref: Any, term_years: Any = None) -> CommandResult:
        c = self._checker()
        position = c.text("position", position, max_len=200)
        start = c.date("term_start", term_start)
        default_years = self.reference.rule("term-length").params.get("years", 5)
        years = c.integer("term_years", default_years if term_years is None else term_years,
                          lo=1, hi=10)
        ref = c.decision_ref("decision_ref", decision_ref)
        c.done()
        officer = self.get_officer(officer_id)
        officer.appoint(position=position, term_start=start, term_years=years,
                        decision_ref=ref, **actor.kw)
        claim = self._check_decision_ref_unique(ref, officer.id, actor)
        return self._save(officer.id, officer, claim)

    def decide_reappointment(self, actor: Actor, officer_id: Any, *, outcome: Any,
                             decided_on: Any, decision_ref: Any,
                             eligibility_hash: Any = None,
                             override_reason: Any = None,
                             dossier_hash: Any = None) -> CommandResult:
        c = self._checker()
        outcome = c.choice("outcome", outcome, REAPPOINTMENT_OUTCOMES)
        dossier = c.text("dossier_hash", dossier_hash, required=False, max_len=64)
        if dossier is not None and not _SHA256_HEX.fullmatch(dossier):
            c.fail("dossier_hash", "a dossier's hash is 64 lowercase hex digits")
        day = c.date("decided_on", decided_on)
        ref = c.decision_ref("decision_ref", decision_ref)
        ehash = c.text("eligibility_hash", eligibility_hash, required=False, max_len=128)
        override = c.text("override_reason", override_reason, required=False, max_len=2000)
        c.done()
        officer = self.get_officer(officer_id)
        verdict = self._check_eligibility_quoted(officer, day, outcome, ehash, override)
        officer.decide_reappointment(outcome=outcome, decided_on=day, decision_ref=ref,
                                     eligibility_verdict=verdict, override_reason=override,
                                     eligibility_hash=ehash, dossier_hash=dossier, **actor.kw)
        claim = self._check_decision_ref_unique(ref, officer.id, actor)
        return self._save(officer.id, officer, claim)

    def correct_reappointment(self, actor: Actor, officer_id: Any, *,
                              corrects_decision_ref: Any, outcome: Any, reason: Any,
                              decision_ref: Any, corrected_on: Any = None,
                              eligibility_hash: Any = None,
                              override_reason: Any = None) -> CommandResult:
        """A board's mistaken reappointment decision corrected by a new event naming it
        (by its decision reference): the eligibility it quotes is checked now, on the
        corrected decision's date, as ``decide_reappointment`` checks it."""
        c = self._checker()
        corrects = c.decision_ref("corrects_decision_ref", corrects_decision_ref)
        outcome = c.choice("outcome", outcome, REAPPOINTMENT_OUTCOMES)
        reason = c.text("reason", reason, max_len=2000)
        ref = c.decision_ref("decision_ref", decision_ref)
        day = c.date("corrected_on", corrected_on if corrected_on is not None
                     else (ref or {}).get("signed_on"))
        ehash = c.text("eligibility_hash", eligibility_hash, required=False, max_len=128)
        override = c.text("override_reason", override_reason, required=False, max_len=2000)
        c.done()
        officer = self.get_officer(officer_id)
        if "last_reappointment" not in vars(officer):  # from a snapshot older than corrections
            officer = project_aggregate(None, self.events.get(officer.id))
        last = officer.reappointment_to_correct(corrects)
        verdict = self._check_eligibility_quoted(officer, last["decided_on"], outcome, ehash,
                                                 override)
        officer.correct_reappointment(
            corrects_decision_ref=corrects, outcome=outcome, reason=reason, corrected_on=day,
            decision_ref=ref, eligibility_hash=ehash, eligibility_verdict=verdict,
            override_reason=override, **actor.kw)
        claim = self._check_decision_ref_unique(ref, officer.id, actor)
        return self._save(officer.id, officer, claim)

    def record_leaving(self, actor: Actor, officer_id: Any, *, left_on: Any,
                       reason: Any) -> CommandResult:
        c = self._checker()
        day = c.date("left_on", left_on)
        reason = c.text("reason", reason)
        c.done()
        officer = self.get_officer(officer_id)
        officer.leave_service(left_on=day, reason=reason, **actor.kw)
        return self._save(officer.id, officer)
