"""The core every command shares: who acts, what a command returns, atomic saves,
idempotency records, batches, transcodings and snapshots.

The commands themselves live one module per context beside this one (units, officers,
inspections, discipline, evaluations), as mixins that ``audit_service.application``
composes into ``AuditService``. Every command checks all of its input and every rule
before anything is saved, so a rejected command appends nothing.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID

from eventsourcing.application import (AggregateNotFoundError, Application, ProcessingEvent,
                                       project_aggregate)
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import strtobool

from ..clock import Clock
from ..config import Settings
from ..domain import AnnualRating, IdempotencyRecord, Index, MonthlyGrade, index_id
from ..errors import AuditError, Conflict, NotFound, RuleViolation, ValidationFailed
from ..loading import OneReadRepository
from ..reference import ReferenceData, load_reference
from ..transcodings import DateAsISO
from ..validation import Checker, decision_ref_key, decision_ref_text

logger = logging.getLogger(__name__)

# The kinds of unique key an Index aggregate claims, and the code of the rule each enforces.
CLAIM_CODES = {"unit-code": "unit_code_taken", "personnel-code": "personnel_code_taken",
               "national-id": "national_id_taken", "decision-ref": "decision_ref_taken",
               "finding-cited": "finding_already_cited"}
ROLES = ("inspector", "board", "auditor", "admin", "system")


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
    # ids the caller looked up together and found unstored: not asked of the store again
    absent: set[UUID] = field(default_factory=set)


_BATCH: ContextVar[Batch | None] = ContextVar("command_batch", default=None)


class ServiceCore(Application):
    """What every command uses: the clock, reference data, loads, unique-key claims, the
    atomic save with its idempotency record, replays and batches."""

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
        return Clock(self.today()).now()

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

    def construct_repository(self) -> OneReadRepository:
        """The library's repository and settings, loading current state in one query."""
        env = self.env
        cache_maxsize = env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return OneReadRepository(
            event_store=self.events, snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING,
                                                   "n")),
            deepcopy_from_cache=strtobool(env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

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
        if batch is not None and aggregate_id in batch.absent:
            return False
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
            recordings = self._store(aggregates)
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
        try:
            recordings = self._store(batch.aggregates.values())
        except IntegrityError:
            raise Conflict("another writer changed records of this batch first; re-run it",
                           code="stale_write") from None
        return [r.notification.id for r in recordings]

    def _store(self, aggregates: Iterable[Any]) -> list[Any]:
        """What ``save()`` does, minus its per-object runtime-protocol checks (a tenth of a
        bulk import's time, a twentieth of a single command's): every object here is one of
        our aggregates. Returns the recordings; a unique key refused raises IntegrityError."""
        processing = ProcessingEvent()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

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
            # one index probe per id, whatever the table's statistics say: the DISTINCT ...
            # = ANY form is planned from them, and a table never analysed (a bulk import
            # outrunning autovacuum) made it a parallel scan of the whole log per chunk
            sql = (f"SELECT t.id AS originator_id FROM unnest(%s::uuid[]) AS t(id) WHERE EXISTS"
                   f" (SELECT 1 FROM {self.recorder.datastore.schema}.{table} AS e"
                   " WHERE e.originator_id = t.id)")
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
