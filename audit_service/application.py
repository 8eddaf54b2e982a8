"""The service layer: validate a command, load aggregates, apply the change, save atomically.

Every command checks all of its input and every rule before anything is saved, so a
rejected command appends nothing. Each command returns the id it acted on and the log
positions of the events it appended.
"""
from __future__ import annotations

import hashlib
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime
from typing import Any, Callable, Iterator
from uuid import UUID, uuid4

from eventsourcing.application import (AggregateNotFoundError, Application, ProcessingEvent,
                                       project_aggregate)
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from .clock import VIETNAM, local_date
from .config import Settings
from .domain.proceedings import DISCIPLINE_SYSTEMS
from .domain import (AnnualRating, Decision, IdempotencyRecord, Index, Inspection,
                     MonthlyGrade, Officer, Proceeding, Unit, index_id)
from .errors import (AuditError, ConfigurationError, Conflict, Forbidden, NotFound, RuleViolation,
                     ValidationFailed)
from .limitation import expired_under_regimes
from .rotation import evaluate_rotation
from .pii import national_id_hash, national_id_problem
from .reference import ReferenceData, load_reference
from .transcodings import DateAsISO
from .validation import Checker, decision_ref_key, decision_ref_text

logger = logging.getLogger(__name__)

# The kinds of unique key an Index aggregate claims, and the code of the rule each enforces.
CLAIM_CODES = {"unit-code": "unit_code_taken", "personnel-code": "personnel_code_taken",
               "national-id": "national_id_taken", "decision-ref": "decision_ref_taken",
               "finding-cited": "finding_already_cited"}
ROLES = ("inspector", "board", "auditor", "admin", "system")
UNIT_RATINGS = ("strong", "average", "weak")
TRANSFER_KINDS = ("transfer", "rotation")
REAPPOINTMENT_OUTCOMES = ("reappointed", "not_reappointed")
APPEAL_OUTCOMES = ("upheld", "overturned", "form_changed")
VIOLATION_SOURCES = ("finding", "complaint", "other")
FORMS = ("khien_trach", "canh_cao", "ha_bac_luong", "giang_chuc", "cach_chuc",
         "buoc_thoi_viec", "bai_nhiem")
#: Party discipline forms recorded for their effect on appointment (khai trừ ends membership
#: and has no appointment period here).
PARTY_FORMS = ("khien_trach", "canh_cao", "cach_chuc")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user id and a role, recorded in every event; and, for a user tied
    to a unit, that unit (which limits where an inspector may open inspections)."""

    user_id: str
    role: str
    unit_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def kw(self) -> dict[str, str]:
        return {"actor_id": self.user_id, "actor_role": self.role}


SYSTEM = Actor("system", "system")


@dataclass
class CommandResult:
    """What a command did: the id it acted on and the positions of the events appended."""

    id: UUID
    positions: list[int]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def position(self) -> int:
        return max(self.positions)


@dataclass(frozen=True)
class IdempotencyClaim:
    """A request's Idempotency-Key, as it is saved with the command's events."""

    actor: Actor
    key_sha256: str
    request_sha256: str

    @classmethod
    def of(cls, actor: Actor, key: str, request_fingerprint: bytes) -> "IdempotencyClaim":
        return cls(actor, hashlib.sha256(key.encode()).hexdigest(),
                   hashlib.sha256(request_fingerprint).hexdigest())

    @cached_property
    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(self.actor.user_id, self.key_sha256)


class _ReplayInstead(Exception):
    """A concurrent copy of the same idempotent request was saved first."""


_CLAIM: ContextVar[IdempotencyClaim | None] = ContextVar("idempotency_claim", default=None)


@dataclass
class Batch:
    """Commands run inside ``AuditService.batch()`` collect their aggregates here instead of
    saving; later commands in the batch see them; ``commit_batch`` saves them all at once."""

    aggregates: dict[UUID, Any] = field(default_factory=dict)
    # careful: rules that the store's unique keys would also enforce (a grade or rating
    # already recorded) are checked with a read before saving; optimistic batches skip
    # that read and rely on the commit refusing a duplicate.
    careful: bool = True


_BATCH: ContextVar[Batch | None] = ContextVar("command_batch", default=None)


#: Reads the eligibility answers the service gives now: ``reader(app, officer_id, on)``.
#: Registered by the read-model layer (``projections.answers``), which sits above the domain.
_ELIGIBILITY_READER: Callable[[Any, UUID, date], list[dict]] | None = None


def register_eligibility_reader(reader: Callable[[Any, UUID, date], list[dict]]) -> None:
    """How the layer that owns the read models lets the domain ask for eligibility answers
    (the reappointment decision checks the hash it quotes against them)."""
    global _ELIGIBILITY_READER
    _ELIGIBILITY_READER = reader


class AuditService(Application):
    """The audit-service application: commands that append events, and simple reads."""

    name = "AuditService"
    # Aggregates that grow load from their latest snapshot plus at most 49 events, so a
    # command costs the same on the 1,000th finding as on the 10th. Snapshots sit in their
    # own table (not in the notification log, the export or the chain), are taken from the
    # stored events after a save, and every load reads the store: a snapshot written by
    # another worker or host is as good as one's own, and none is ever trusted over events.
    snapshotting_intervals = {Inspection: 50, Officer: 50, Decision: 50, Proceeding: 50,
                              Unit: 50}

    def __init__(self, settings: Settings | None = None, *, env: dict | None = None,
                 create_table: bool = False, today: Callable[[], date] | None = None,
                 reference: ReferenceData | None = None):
        self.settings = settings or Settings.from_env()
        full_env = self.settings.eventsourcing_env(create_table=create_table)
        full_env.update(env or {})
        # the one clock for world dates: injected, else the settings' (AUDIT_TODAY or real)
        self.today = today or self.settings.clock.today
        self.reference = reference or load_reference()
        super().__init__(env=full_env)

    def now(self) -> datetime:
        """Now in Vietnam on the service's today (the real time of day): the default of an
        observed time, so a form's default is never a day the service would refuse."""
        return datetime.combine(self.today(), datetime.now(VIETNAM).timetz())

    def take_snapshot(self, aggregate_id: Any, version: int | None = None,
                      projector_func: Any = project_aggregate) -> None:
        """Take a snapshot after a save; failing to is logged, never the command's failure.

        The command's events are already stored when this runs. Two workers snapshotting
        the same version collide harmlessly on the snapshot table's key.
        """
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except Exception:  # noqa: BLE001 - a snapshot is only a shortcut for loading
            logger.warning("snapshot of %s at version %s not taken", aggregate_id, version,
                           exc_info=True)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ------------------------------------------------------------------ plumbing

    def _checker(self) -> Checker:
        return Checker(self.today())

    def _get(self, cls: type, aggregate_id: UUID | str | None, what: str) -> Any:
        try:
            aggregate_id = aggregate_id if isinstance(aggregate_id, UUID) else UUID(str(aggregate_id))
            batch = _BATCH.get()
            if batch is not None and aggregate_id in batch.aggregates:
                aggregate = batch.aggregates[aggregate_id]
            else:
                aggregate = self.repository.get(aggregate_id)
                if batch is not None:  # later commands of the batch see the same object
                    batch.aggregates[aggregate_id] = aggregate
        except (AggregateNotFoundError, ValueError, TypeError):
            raise NotFound(f"no {what} with id {aggregate_id}", code=f"{what}_not_found") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {what} with id {aggregate_id}", code=f"{what}_not_found")
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        batch = _BATCH.get()
        if batch is not None and aggregate_id in batch.aggregates:
            return True
        return any(True for _ in self.events.get(aggregate_id, limit=1))

    def _claim(self, kind: str, key: str, owner_id: UUID, actor: Actor, message: str) -> Index:
        """An index aggregate that claims a unique key, refused now if already claimed."""
        if self._exists(index_id(kind, key)):
            raise RuleViolation(message, code=CLAIM_CODES[kind])
        return Index(kind=kind, key=key, owner_id=owner_id, **actor.kw)

    def _save(self, result_id: UUID, *aggregates: Any, extra: dict | None = None) -> CommandResult:
        """Save atomically; a lost race becomes the rule it broke, or a stale-write conflict.

        Inside ``idempotent()``, the request's idempotency record is saved in the same
        transaction, listing every event this save appends.
        """
        claim = _CLAIM.get()
        batch = _BATCH.get()
        if claim is not None and not (batch is not None and claim.record_id in batch.aggregates):
            appended = [[str(e.originator_id), e.originator_version]
                        for agg in aggregates for e in agg.pending_events]
            appended.append([str(claim.record_id), 1])
            record = IdempotencyRecord(
                user_id=claim.actor.user_id, key_sha256=claim.key_sha256,
                request_sha256=claim.request_sha256, result_id=result_id,
                extra={k: str(v) for k, v in (extra or {}).items()}, appended=appended,
                **claim.actor.kw)
            aggregates = (*aggregates, record)
        if batch is not None:
            for agg in aggregates:
                batch.aggregates[agg.id] = agg
            return CommandResult(result_id, [], extra or {})
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            if claim is not None and self._exists(claim.record_id):
                raise _ReplayInstead() from None
            for agg in aggregates:
                if isinstance(agg, Index) and agg.version == 1 and self._exists(agg.id):
                    raise RuleViolation(
                        f"the {agg.kind.replace('-', ' ')} was claimed by a concurrent request",
                        code=CLAIM_CODES[agg.kind]) from None
            for agg in aggregates:
                if isinstance(agg, (AnnualRating, MonthlyGrade)) and agg.version == 1:
                    raise RuleViolation(
                        "a rating for this officer and period is already recorded;"
                        " send a correction", code="rating_exists") from None
            raise Conflict(
                "another change to the same record was saved first; reload and retry",
                code="stale_write") from None
        positions = [r.notification.id for r in recordings]
        if not positions:
            raise RuleViolation("the command changes nothing", code="no_change")
        return CommandResult(result_id, positions, extra or {})

    # ------------------------------------------------------------------ idempotency

    def idempotent(self, claim: IdempotencyClaim,
                   command: Callable[[], CommandResult]) -> tuple[CommandResult, bool]:
        """Run ``command`` once per (user, key): a repeat returns the first result.

        Returns the result and whether it is a replay. The same key with a different
        request is refused with ``idempotency_key_reused``; a command that was refused
        records nothing, so its retry runs again. The command runs first and the record is
        looked for only when it fails, so a first request costs no extra read.
        """
        try:
            with self.claimed(claim):
                return command(), False
        except (_ReplayInstead, AuditError) as exc:
            # The command ran as if for the first time; if the key was used before, its
            # record exists and the original answer stands (a repeat usually meets the
            # rule its first run now breaks, e.g. rating_exists, or collides on the record).
            failure = exc
        replay = self._replay(claim)
        if replay is not None:
            return replay, True
        if isinstance(failure, _ReplayInstead):  # pragma: no cover - seen a moment ago
            raise Conflict("a concurrent copy of this request is being saved; retry",
                           code="stale_write")
        raise failure

    def replay(self, claim: IdempotencyClaim) -> CommandResult | None:
        """The stored answer to ``claim``'s request, or None if it was never saved; a key
        used for another request is refused (``idempotency_key_reused``)."""
        return self._replay(claim)

    def _replay(self, claim: IdempotencyClaim) -> CommandResult | None:
        if not self._exists(claim.record_id):
            return None
        record = self._get(IdempotencyRecord, claim.record_id, "idempotency_record")
        if record.request_sha256 != claim.request_sha256:
            raise ValidationFailed(
                "this Idempotency-Key was already used for a different request",
                code="idempotency_key_reused",
                details={"Idempotency-Key": "already used with another method, path or body"})
        batch = _BATCH.get()
        in_batch = batch is not None and claim.record_id in batch.aggregates
        positions = [] if in_batch else self.positions_of(
            [(UUID(i), v) for i, v in record.appended])
        return CommandResult(record.result_id, positions, dict(record.extra))

    # ------------------------------------------------------------------ batches

    @contextmanager
    def batch(self, careful: bool = True) -> Iterator[Batch]:
        """Collect the aggregates of several commands, to be saved by ``commit_batch``.

        A command that fails inside a batch may have changed aggregates the batch holds,
        so a caller that meets an error must discard the batch (and may re-run it without
        the failing command), never commit it.
        """
        batch = Batch(careful=careful)
        token = _BATCH.set(batch)
        try:
            yield batch
        finally:
            _BATCH.reset(token)

    @contextmanager
    def claimed(self, claim: IdempotencyClaim | None) -> Iterator[None]:
        """Attach ``claim``'s idempotency record to the command's save (in a batch: once)."""
        token = _CLAIM.set(claim)
        try:
            yield
        finally:
            _CLAIM.reset(token)

    def commit_batch(self, batch: Batch) -> list[int]:
        """Save every aggregate of the batch in one transaction; returns the positions."""
        if not batch.aggregates:
            return []
        # What ``save()`` does, minus its per-object runtime-protocol checks (a tenth of a
        # bulk import's time): every object here is one of our aggregates.
        processing = ProcessingEvent()
        for aggregate in batch.aggregates.values():
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        try:
            recordings = self._record(processing)
        except IntegrityError:
            raise Conflict("another writer changed records of this batch first; re-run it",
                           code="stale_write") from None
        self._take_snapshots(processing)
        self._notify(recordings)
        return [r.notification.id for r in recordings]

    def existing_ids(self, ids: list[UUID]) -> set[UUID]:
        """Which of these aggregates have stored events: one query for many ids."""
        if not ids:
            return set()
        table = self.recorder.events_table_name
        found: set[UUID] = set()
        if self.settings.database.kind == "sqlite":
            with self.recorder.datastore.transaction(commit=False) as cursor:
                for start in range(0, len(ids), 500):
                    part = [i.hex for i in ids[start:start + 500]]
                    marks = ", ".join("?" for _ in part)
                    cursor.execute(f"SELECT DISTINCT originator_id FROM {table}"
                                   f" WHERE originator_id IN ({marks})", part)
                    found |= {UUID(row[0]) for row in cursor.fetchall()}
        else:
            sql = (f"SELECT DISTINCT originator_id FROM {self.recorder.datastore.schema}.{table}"
                   " WHERE originator_id = ANY(%s)")
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute(sql, (list(ids),))
                found = {row["originator_id"] for row in cursor.fetchall()}
        return found

    def positions_of(self, events: list[tuple[UUID, int]]) -> list[int]:
        """The log positions of stored events, by (originator id, version)."""
        table = self.recorder.events_table_name
        if self.settings.database.kind == "sqlite":
            sql = f"SELECT rowid FROM {table} WHERE originator_id = ? AND originator_version = ?"
            args = [(i.hex, v) for i, v in events]
            with self.recorder.datastore.transaction(commit=False) as cursor:
                found = []
                for a in args:
                    cursor.execute(sql, a)
                    found += [row[0] for row in cursor.fetchall()]
        else:
            sql = (f"SELECT notification_id FROM {self.recorder.datastore.schema}.{table}"
                   " WHERE originator_id = %s AND originator_version = %s")
            with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
                found = []
                for i, v in events:
                    cursor.execute(sql, (i, v))
                    found += [row["notification_id"] for row in cursor.fetchall()]
        return sorted(int(p) for p in found)

    def _check_decision_ref_unique(self, ref: dict, owner_id: UUID, actor: Actor) -> Index:
        key = decision_ref_key(ref)
        text = decision_ref_text(ref, with_date=True)
        return self._claim("decision-ref", key, owner_id, actor,
                           f"decision reference {text} is already recorded")

    # ------------------------------------------------------------------ units

    def register_unit(self, actor: Actor, *, code: Any, name: Any, level: Any,
                      parent_id: Any = None, established_on: Any = None) -> CommandResult:
        c = self._checker()
        code = c.text("code", code, max_len=40)
        name = c.text("name", name, max_len=300)
        level = c.choice("level", level, self.reference.unit_levels)
        parent_uuid = c.uuid("parent_id", parent_id, required=False)
        established = c.date("established_on", established_on, required=False)
        c.done()
        if parent_uuid is not None:
            parent = self._get(Unit, parent_uuid, "unit")
            if self.reference.unit_levels[parent.level].rank >= self.reference.unit_levels[level].rank:
                raise RuleViolation(
                    f"a {level} cannot sit under a {parent.level}", code="unit_level_order")
        unit = Unit(code=code, name=name, level=level, parent_id=parent_uuid,
                    established_on=established, **actor.kw)
        claim = self._claim("unit-code", code.upper(), unit.id, actor,
                           f"unit code {code} is already registered")
        return self._save(unit.id, unit, claim)

    def rename_unit(self, actor: Actor, unit_id: Any, *, new_name: Any, effective_on: Any,
                    decision_ref: Any = None) -> CommandResult:
        c = self._checker()
        name = c.text("new_name", new_name, max_len=300)
        day = c.date("effective_on", effective_on)
        ref = c.decision_ref("decision_ref", decision_ref, required=False)
        c.done()
        unit = self._get(Unit, unit_id, "unit")
        unit.rename(new_name=name, effective_on=day, decision_ref=ref, **actor.kw)
        return self._save(unit.id, unit)

    def merge_unit(self, actor: Actor, unit_id: Any, *, into_unit_id: Any, effective_on: Any,
                   decision_ref: Any = None) -> CommandResult:
        c = self._checker()
        into = c.uuid("into_unit_id", into_unit_id)
        day = c.date("effective_on", effective_on)
        ref = c.decision_ref("decision_ref", decision_ref, required=False)
        c.done()
        unit = self._get(Unit, unit_id, "unit")
        target = self._get(Unit, into, "unit")
        if target.merged_into is not None:
            raise RuleViolation("the target unit was itself merged", code="unit_already_merged")
        unit.merge_into(into_unit_id=target.id, effective_on=day, decision_ref=ref, **actor.kw)
        return self._save(unit.id, unit)

    def rate_unit(self, actor: Actor, unit_id: Any, *, year: Any, rating: Any,
                  source: Any = None, correction_reason: Any = None) -> CommandResult:
        c = self._checker()
        year = c.integer("year", year, lo=1990, hi=self.today().year)
        rating = c.choice("rating", rating, UNIT_RATINGS)
        source = c.text("source", source, required=False, max_len=300)
        reason = c.text("correction_reason", correction_reason, required=False)
        c.done()
        unit = self._get(Unit, unit_id, "unit")
        unit.rate(year=year, rating=rating, source=source, correction_reason=reason, **actor.kw)
        return self._save(unit.id, unit)

    def get_unit(self, unit_id: Any) -> Unit:
        return self._get(Unit, unit_id, "unit")

    def find_unit(self, code: str) -> Unit:
        """A unit by its code (case-insensitive)."""
        if not isinstance(code, str) or not code.strip():
            raise ValidationFailed("a unit code is required", details={"unit_code": "is required"})
        index = self._get(Index, index_id("unit-code", code.strip().upper()), "unit")
        return self.get_unit(index.owner_id)

    # ------------------------------------------------------------------ officers

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
        ``day``; the source unit is followed to its successor if it was merged away."""
        if kind != "rotation":
            return None
        source = self._get(Unit, officer.unit_id, "unit")
        seen = {source.id}
        while source.merged_by(day) and source.merged_into not in seen:
            source = self._get(Unit, source.merged_into, "unit")
            seen.add(source.id)
        as_dict = lambda u: {"unit_id": str(u.id), "name": u.name,  # noqa: E731
                             "level": u.level, "merged_into": None}
        answer = evaluate_rotation(self.reference, as_dict(source), as_dict(target),
                                   dict(source.ratings), day)
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
        day = c.date("decided_on", decided_on)
        ref = c.decision_ref("decision_ref", decision_ref)
        ehash = c.text("eligibility_hash", eligibility_hash, required=False, max_len=128)
        override = c.text("override_reason", override_reason, required=False, max_len=2000)
        c.done()
        if dossier is not None and not re.fullmatch(r"[0-9a-f]{64}", dossier):
            raise ValidationFailed("invalid input", details={
                "dossier_hash": "a dossier's hash is 64 lowercase hex digits"})
        officer = self.get_officer(officer_id)
        verdict = self._check_eligibility_quoted(officer, day, outcome, ehash, override)
        officer.decide_reappointment(outcome=outcome, decided_on=day, decision_ref=ref,
                                     eligibility_verdict=verdict, override_reason=override,
                                     eligibility_hash=ehash, dossier_hash=dossier, **actor.kw)
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

    # ------------------------------------------------------------------ inspections

    def open_inspection(self, actor: Actor, *, unit_id: Any, team: Any, started_on: Any,
                        announced: Any = True, basis_ref: Any = None) -> CommandResult:
        c = self._checker()
        unit_uuid = c.uuid("unit_id", unit_id)
        members = c.str_list("team", [] if team is None else team,
                             required=actor.role != "inspector")
        started = c.date("started_on", started_on)
        announced = c.boolean("announced", announced, default=True)
        basis = c.text("basis_ref", basis_ref, required=False, max_len=300)
        c.done()
        unit = self._get(Unit, unit_uuid, "unit")
        if unit.merged_by(started):
            raise RuleViolation(f"unit {unit.code} was merged into another unit on"
                                f" {unit.merged_on}, before {started}", code="unit_merged")
        if actor.role == "inspector" and actor.unit_id and not self._within(unit, actor.unit_id):
            raise Forbidden(f"your token is limited to unit {actor.unit_id} and the units under"
                            f" it; {unit.code} is outside", code="outside_user_unit")
        if actor.role == "inspector" and actor.user_id not in members:
            members = [actor.user_id, *members]  # the opener is on the team
        inspection = Inspection(unit_id=unit.id, team=members, basis_ref=basis,
                                announced=announced, started_on=started, **actor.kw)
        return self._save(inspection.id, inspection)

    def _within(self, unit: Unit, ancestor_id: str) -> bool:
        """Whether ``unit`` is the unit ``ancestor_id`` or sits (transitively) under it."""
        seen = 0
        current: Unit | None = unit
        while current is not None and seen < 20:
            if str(current.id) == str(ancestor_id):
                return True
            current = self._get(Unit, current.parent_id, "unit") if current.parent_id else None
            seen += 1
        return False

    def get_inspection(self, inspection_id: Any) -> Inspection:
        return self._get(Inspection, inspection_id, "inspection")

    def _finding_fields(self, c: Checker, officer_id: Any, conduct_code: Any, description: Any,
                        observed_at: Any, evidence_sha256: Any) -> dict:
        officer_uuid = c.uuid("officer_id", officer_id, required=False)
        code = c.text("conduct_code", conduct_code, max_len=80)
        observed = c.datetime("observed_at", observed_at)
        if code is not None and observed is not None:
            day = local_date(observed)
            if self.reference.conduct_code(code, day) is None:
                c.fail("conduct_code", f"unknown conduct-code clause {code!r} on {day}")
        return {
            "officer_id": officer_uuid, "conduct_code": code,
            "description": c.text("description", description, max_len=5000),
            "observed_at": observed,
            "evidence_sha256": c.sha256_list("evidence_sha256", evidence_sha256),
        }

    def record_finding(self, actor: Actor, inspection_id: Any, *, conduct_code: Any,
                       description: Any, observed_at: Any, officer_id: Any = None,
                       evidence_sha256: Any = None) -> CommandResult:
        c = self._checker()
        fields = self._finding_fields(c, officer_id, conduct_code, description, observed_at,
                                      evidence_sha256)
        c.done()
        inspection = self.get_inspection(inspection_id)
        if fields["officer_id"] is not None:
            officer = self.get_officer(fields["officer_id"])
            observed = local_date(fields["observed_at"])
            if officer.left_on is not None and observed > officer.left_on:
                raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                    f" {officer.left_on}, before {observed}",
                                    code="officer_left_service")
        finding_id = uuid4()
        inspection.record_finding(finding_id=finding_id, **fields, **actor.kw)
        # the idempotency record holds the answer given: a replay returns the same ids
        return self._save(finding_id, inspection, extra={"inspection_id": inspection.id})

    def correct_finding(self, actor: Actor, inspection_id: Any, finding_id: Any, *,
                        reason: Any, **changes: Any) -> CommandResult:
        """A corrected finding: fields not given keep their current values."""
        unknown = set(changes) - {"officer_id", "conduct_code", "description", "observed_at",
                                  "evidence_sha256"}
        if unknown:
            raise ValidationFailed("unknown fields", details={k: "unknown field" for k in unknown})
        c = self._checker()
        reason = c.text("reason", reason)
        finding_uuid = c.uuid("finding_id", finding_id)
        c.done()
        inspection = self.get_inspection(inspection_id)
        current = inspection.finding(finding_uuid)
        merged = {k: current[k] for k in ("officer_id", "conduct_code", "description",
                                           "observed_at", "evidence_sha256")}
        merged.update(changes)
        c = self._checker()
        fields = self._finding_fields(c, **merged)
        c.done()
        if fields["officer_id"] is not None:
            self.get_officer(fields["officer_id"])
        if all(fields[k] == current[k] for k in fields):
            raise RuleViolation("the correction changes nothing", code="correction_changes_nothing")
        inspection.correct_finding(finding_id=finding_uuid, reason=reason, **fields, **actor.kw)
        return self._save(finding_uuid, inspection, extra={"inspection_id": inspection.id})

    def withdraw_finding(self, actor: Actor, inspection_id: Any, finding_id: Any, *,
                         reason: Any) -> CommandResult:
        c = self._checker()
        reason = c.text("reason", reason)
        finding_uuid = c.uuid("finding_id", finding_id)
        c.done()
        inspection = self.get_inspection(inspection_id)
        inspection.withdraw_finding(finding_id=finding_uuid, reason=reason, **actor.kw)
        return self._save(finding_uuid, inspection, extra={"inspection_id": inspection.id})

    def close_inspection(self, actor: Actor, inspection_id: Any, *, closed_on: Any,
                         conclusion_ref: Any = None) -> CommandResult:
        c = self._checker()
        day = c.date("closed_on", closed_on)
        ref = c.text("conclusion_ref", conclusion_ref, required=False, max_len=300)
        c.done()
        inspection = self.get_inspection(inspection_id)
        inspection.close(closed_on=day, conclusion_ref=ref, **actor.kw)
        return self._save(inspection.id, inspection)

    # ------------------------------------------------------------------ proceedings

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
        proceeding.check_decidable(decided_on)
        if system == "party":
            return self._record_party_decision(actor, proceeding, officer, form, ref, effective,
                                               corruption)
        form_entry = self.reference.discipline_form(form, officer.category, decided_on)
        if form_entry is None:
            allowed = [f.form for f in self.reference.forms_for(officer.category, decided_on)]
            raise RuleViolation(
                f"{form} is not a discipline form for {officer.category} on {decided_on};"
                f" allowed: {', '.join(allowed)}",
                code="form_not_applicable", details={"allowed": allowed})
        self._check_form_fits_officer(form_entry, officer, decided_on)
        self._check_limitation(officer.category, proceeding.violations, decided_on, form)
        decision = Decision(proceeding_id=proceeding.id, officer_id=officer.id,
                            category=officer.category, form=form, regime=form_entry.regime,
                            decision_ref=ref, effective_from=effective,
                            corruption_related=corruption, discipline_system="state",
                            **actor.kw)
        proceeding.decide(decision_id=decision.id, decided_on=decided_on, **actor.kw)
        claim = self._check_decision_ref_unique(ref, decision.id, actor)
        return self._save(decision.id, proceeding, decision, claim,
                          extra={"proceeding_id": proceeding.id})

    def _record_party_decision(self, actor: Actor, proceeding: Proceeding, officer: Officer,
                               form: str, ref: dict, effective: date,
                               corruption: bool) -> CommandResult:
        """A Party discipline decision (Regulation 69-QĐ/TW), recorded for its effect on
        appointment (effect_periods.toml, scope party). The state forms catalogue and the
        state limitation periods do not govern it, so neither is checked."""
        decision = Decision(proceeding_id=proceeding.id, officer_id=officer.id,
                            category=officer.category, form=form, regime="party",
                            decision_ref=ref, effective_from=effective,
                            corruption_related=corruption, discipline_system="party",
                            **actor.kw)
        proceeding.decide(decision_id=decision.id, decided_on=ref["signed_on"], **actor.kw)
        claim = self._check_decision_ref_unique(ref, decision.id, actor)
        return self._save(decision.id, proceeding, decision, claim,
                          extra={"proceeding_id": proceeding.id})

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

    # ------------------------------------------------------------------ evaluations

    def record_monthly_grade(self, actor: Actor, *, officer_id: Any, period: Any, score: Any,
                             grade: Any = None) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        period = c.period("period", period)
        score = c.number("score", score, lo=0, hi=100)
        if grade is not None:
            c.choice("grade", grade, ("A", "B", "C", "D"))
        c.done()
        computed = self.reference.monthly_grade_for(score)
        if grade is not None and grade != computed:
            raise ValidationFailed("invalid input", details={
                "grade": f"a score of {score:g} is grade {computed}, not {grade}"})
        officer = self.get_officer(officer_uuid)
        month = date.fromisoformat(f"{period}-01")
        if officer.left_on is not None and month > officer.left_on:
            raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                f" {officer.left_on}, before {period}", code="officer_left_service")
        officer_uuid = officer.id
        grade_id = MonthlyGrade.id_for(officer_uuid, period)
        if self._rating_taken(grade_id):
            raise RuleViolation(f"a grade for {period} is already recorded; send a correction",
                                code="rating_exists")
        record = MonthlyGrade(officer_id=officer_uuid, period=period, score=score, grade=computed,
                              framework="3814-QĐ/TU", **actor.kw)
        return self._save(grade_id, record)

    def correct_monthly_grade(self, actor: Actor, *, officer_id: Any, period: Any, score: Any,
                              reason: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        period = c.period("period", period)
        score = c.number("score", score, lo=0, hi=100)
        reason = c.text("reason", reason)
        c.done()
        record = self._get(MonthlyGrade, MonthlyGrade.id_for(officer_uuid, period), "monthly_grade")
        record.correct(score=score, grade=self.reference.monthly_grade_for(score), reason=reason,
                       **actor.kw)
        return self._save(record.id, record)

    def _rating_taken(self, rating_id: UUID) -> bool:
        """Outside a batch the save's unique key says so (``rating_exists``); in a batch,
        another record of the batch may hold it, or (careful batches) the store."""
        batch = _BATCH.get()
        if batch is None:
            return False
        return rating_id in batch.aggregates or (batch.careful and self._exists(rating_id))

    def record_annual_rating(self, actor: Actor, *, officer_id: Any, year: Any,
                             rating: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        year = c.integer("year", year, lo=1990, hi=self.today().year)
        rating = c.text("rating", rating, max_len=20)
        if rating is not None and year is not None and self.reference.annual_level(rating, year) is None:
            c.fail("rating", f"{rating!r} is not an annual rating level for {year}")
        c.done()
        if self.today() < date(year, 12, 1):
            raise RuleViolation(
                f"the year {year} has not reached its evaluation month (December): an annual"
                " rating is recorded from December of its year", code="rating_year_not_ended")
        officer = self.get_officer(officer_uuid)
        if officer.left_on is not None and year > officer.left_on.year:
            raise RuleViolation(f"officer {officer.personnel_code} left service on"
                                f" {officer.left_on}, before {year}", code="officer_left_service")
        officer_uuid = officer.id
        rating_id = AnnualRating.id_for(officer_uuid, year)
        if self._rating_taken(rating_id):
            raise RuleViolation(f"the officer already has a rating for {year};"
                                " send a correction", code="rating_exists")
        record = AnnualRating(officer_id=officer_uuid, year=year, rating=rating, **actor.kw)
        return self._save(rating_id, record)

    def correct_annual_rating(self, actor: Actor, *, officer_id: Any, year: Any, rating: Any,
                              reason: Any) -> CommandResult:
        c = self._checker()
        officer_uuid = c.uuid("officer_id", officer_id)
        year = c.integer("year", year, lo=1990, hi=self.today().year)
        rating = c.text("rating", rating, max_len=20)
        reason = c.text("reason", reason)
        if rating is not None and year is not None and self.reference.annual_level(rating, year) is None:
            c.fail("rating", f"{rating!r} is not an annual rating level for {year}")
        c.done()
        record = self._get(AnnualRating, AnnualRating.id_for(officer_uuid, year), "annual_rating")
        record.correct(rating=rating, reason=reason, **actor.kw)
        return self._save(record.id, record)
