"""Bulk import of historical records (NDJSON), through the same commands as the API.

One JSON object per line, with a ``type`` and natural keys instead of ids (``unit_code``,
``personnel_code``), so a file can be written from another system's export. Records are
applied in batches; each batch is one transaction, so a batch is either wholly saved or
not at all. A record that fails validation or a rule is reported with its line number and
left out; the rest of its batch is re-run without it. Each record carries an idempotency
record keyed by its content, so re-running a file appends nothing twice.
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, StoredEvent

from . import safejson
from .application import Actor, AuditService, Batch, IdempotencyClaim
from .errors import AuditError, Conflict, ValidationFailed
from .import_lane import FastLane, Prepared, lanes_agree
from .domain import Index, index_id
from .validation import has_no_bad_text, nfc, text_problems

IMPORTER = Actor("importer", "system")


def _unit(app: AuditService, code: Any, field_name: str = "unit_code") -> Any:
    if code is None:
        return None
    if not isinstance(code, str):
        raise ValidationFailed("invalid input", details={field_name: "must be a unit code"})
    try:
        return app.find_unit(code).id
    except AuditError:
        raise ValidationFailed("invalid input", details={
            field_name: f"no unit with code {code!r}"}) from None


def _officer(app: AuditService, code: Any) -> Any:
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("invalid input", details={"personnel_code": "is required"})
    try:
        return app.find_officer(personnel_code=code).id
    except AuditError:
        raise ValidationFailed("invalid input", details={
            "personnel_code": f"no officer with personnel code {code!r}"}) from None


def _take(record: dict, *names: str, optional: tuple[str, ...] = ()) -> dict:
    """Required fields (None when missing, so the service names them) and optional ones
    when given (so the service's defaults apply)."""
    return {**{n: record.get(n) for n in names},
            **{n: record[n] for n in optional if n in record}}


def _unit_cmd(app, a, r):
    return app.register_unit(a, parent_id=_unit(app, r.get("parent_code"), "parent_code"),
                             **_take(r, "code", "name", "level", optional=("established_on",)))


def _unit_rating(app, a, r):
    return app.rate_unit(a, _unit(app, r.get("unit_code")), **_take(r, "year", "rating", optional=("source",)))


def _officer_cmd(app, a, r):
    return app.register_officer(a, unit_id=_unit(app, r.get("unit_code")), **_take(
        r, "personnel_code", "full_name", "category", "position",
        optional=("national_id", "joined_on")))


def _appointment(app, a, r):
    return app.appoint_officer(a, _officer(app, r.get("personnel_code")), **_take(
        r, "position", "term_start", "decision_ref", optional=("term_years",)))


def _transfer(app, a, r):
    return app.transfer_officer(a, _officer(app, r.get("personnel_code")),
                                to_unit_id=_unit(app, r.get("to_unit_code"), "to_unit_code"),
                                **_take(r, "effective_on", "decision_ref",
                                      optional=("kind", "new_position")))


def _reappointment(app, a, r):
    return app.decide_reappointment(a, _officer(app, r.get("personnel_code")), **_take(
        r, "outcome", "decided_on", "decision_ref", optional=("eligibility_hash",)))


def _leaving(app, a, r):
    return app.record_leaving(a, _officer(app, r.get("personnel_code")),
                              **_take(r, "left_on", "reason"))


def _annual(app, a, r):
    return app.record_annual_rating(a, officer_id=_officer(app, r.get("personnel_code")),
                                    **_take(r, "year", "rating"))


def _monthly(app, a, r):
    return app.record_monthly_grade(a, officer_id=_officer(app, r.get("personnel_code")),
                                    **_take(r, "period", "score", optional=("grade",)))


def _discipline(app, a, r):
    """A past case in one record: the proceeding and its decision."""
    opened = app.open_proceeding(a, officer_id=_officer(app, r.get("personnel_code")),
                                 **_take(r, "violations", optional=("opened_on",)))
    return app.decide_proceeding(a, opened.id, **_take(
        r, "form", "decision_ref", "effective_from", optional=("corruption_related",)))


def _inspection(app, a, r):
    """A past inspection in one record: opened, its ``findings`` (each naming the officer by
    ``personnel_code``, or none for a finding against the unit), and closed when ``closed_on``
    is given. A finding that is refused refuses the record, named by its place in the list."""
    findings = r.get("findings", [])
    if not isinstance(findings, list):
        raise ValidationFailed("invalid input", details={"findings": "must be a list"})
    opened = app.open_inspection(a, unit_id=_unit(app, r.get("unit_code")), **_take(
        r, "team", "started_on", optional=("announced", "basis_ref")))
    for n, finding in enumerate(findings):
        try:
            if not isinstance(finding, dict):
                raise ValidationFailed("invalid input", details={"finding": "must be an object"})
            code = finding.get("personnel_code")
            app.record_finding(a, opened.id,
                               officer_id=None if code is None else _officer(app, code),
                               **_take(finding, "conduct_code", "description", "observed_at",
                                       optional=("evidence_sha256",)))
        except AuditError as exc:
            exc.message = f"findings[{n}]: {exc.message}"
            exc.details = {f"findings[{n}]": exc.details}
            raise
    if r.get("closed_on") is not None:
        app.close_inspection(a, opened.id, **_take(r, "closed_on", optional=("conclusion_ref",)))
    return opened


RECORD_TYPES: dict[str, Callable] = {
    "unit": _unit_cmd, "unit_rating": _unit_rating, "officer": _officer_cmd,
    "appointment": _appointment, "transfer": _transfer, "reappointment": _reappointment,
    "leaving": _leaving, "annual_rating": _annual, "monthly_grade": _monthly,
    "discipline": _discipline, "inspection": _inspection,
}


@dataclass
class BadRecord:
    line: int
    code: str
    message: str
    details: Any = None

    def as_dict(self) -> dict:
        body = {"line": self.line, "code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


@dataclass
class ImportReport:
    records: int = 0
    imported: int = 0
    already_imported: int = 0
    events_appended: int = 0
    batches: int = 0
    bad: list[BadRecord] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"records": self.records, "imported": self.imported,
                "already_imported": self.already_imported,
                "events_appended": self.events_appended, "batches": self.batches,
                "bad_records": len(self.bad)}


def parse_lines(lines: Iterable[str | bytes]) -> Iterator[tuple[int, dict | BadRecord]]:
    """(line number, record or the reason it is unreadable); blank lines are skipped.

    Each line is decoded on its own, so a line that is not UTF-8, not JSON, nested too
    deep, or holding text no field may store is that line's error and the others go on.
    """
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, BadRecord(number, "invalid_utf8", f"the line is not UTF-8: byte"
                                        f" 0x{raw[exc.start]:02x} at column {exc.start + 1}")
                continue
        else:
            text = raw
        if not text.strip():
            continue
        try:
            record = safejson.loads(text)
        except safejson.TooDeep as exc:
            yield number, BadRecord(number, "json_too_deep", str(exc))
            continue
        except ValueError as exc:
            yield number, BadRecord(number, "invalid_json", f"not a JSON object: {exc}")
            continue
        bad_text = None if has_no_bad_text(text) else text_problems(record)
        if bad_text:
            yield number, BadRecord(number, "validation_failed",
                                    f"invalid input: {', '.join(sorted(bad_text))}", bad_text)
            continue
        if not isinstance(record, dict):
            yield number, BadRecord(number, "invalid_json", "a line must be a JSON object")
        elif record.get("type") not in RECORD_TYPES:
            yield number, BadRecord(number, "unknown_record_type",
                                    f"type must be one of {', '.join(RECORD_TYPES)}",
                                    {"type": record.get("type")})
        else:
            yield number, record


# an over-long number (refused later) has a repr
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                              default=repr).encode


def record_claim(record: dict, actor: Actor) -> IdempotencyClaim:
    canonical = _CANONICAL(record)
    # = IdempotencyClaim.of(actor, f"import:{digest}", canonical), hashing the record once
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return IdempotencyClaim(actor, hashlib.sha256(f"import:{digest}".encode()).hexdigest(),
                            digest)


def import_records(app: AuditService, lines: Iterable[str | bytes], *, batch_size: int = 500,
                   actor: Actor = IMPORTER,
                   progress: Callable[[int], Any] | None = None) -> ImportReport:
    report = ImportReport()
    lane = FastLane(app, actor) if lanes_agree(app, actor) else None
    statistics = Statistics(app)
    with Pipeline(app, actor, report, lane) as pipeline:
        chunk: list[tuple[int, dict]] = []
        for number, item in parse_lines(lines):
            report.records += 1
            if isinstance(item, BadRecord):
                report.bad.append(item)
                if progress:
                    progress(1)
                continue
            chunk.append((number, item))
            if len(chunk) >= batch_size:
                pipeline.apply(chunk)
                statistics.grown(report.events_appended)  # the chunks written so far
                if progress:
                    progress(len(chunk))
                chunk = []
        if chunk:
            pipeline.apply(chunk)
            if progress:
                progress(len(chunk))
    report.bad.sort(key=lambda b: b.line)
    return report


class Statistics:
    """Keeps the store's planner statistics in step with a long import: refreshed each time
    the log has doubled since the last refresh (a few times per import, about 0.3 s each at
    millions of events). Stale statistics make the per-chunk look-ups scan the whole log."""

    FLOOR = 20_000  # events appended before the first refresh

    def __init__(self, app: AuditService):
        self.refresh = getattr(app.recorder, "analyze", None)
        self.log = 0  # events in the log at the start
        self.done_at = 0  # events appended by this import at the last refresh
        self.refreshed = 0
        if self.refresh is not None:
            self.log = app.recorder.max_notification_id() or 0
            if self.log >= self.FLOOR:  # a large store: start from its current figures
                self.refresh()
                self.refreshed += 1

    def grown(self, appended: int) -> None:
        if self.refresh is None or appended - self.done_at < max(self.FLOOR,
                                                                  self.log + self.done_at):
            return
        self.refresh()
        self.done_at = appended
        self.refreshed += 1


@dataclass
class Staged:
    """A chunk whose every record passed (bar those excluded): the events to write."""
    chunk: list[tuple[int, dict]]
    excluded: dict[int, BadRecord]
    imported: int
    skipped: int
    stored: list[StoredEvent]
    processing: ProcessingEvent
    #: the command aggregates the chunk changed, as they stand once it is written
    changed: dict[UUID, Any]

    @property
    def written_ids(self) -> set[UUID]:
        return {e.originator_id for e in self.stored}


class Pipeline:
    """Writes chunk n (in a writer thread: the database does that work, on its own CPU)
    while chunk n+1 is checked and built as if chunk n were stored already: its look-ups
    see chunk n's changed aggregates and written ids. That guess only stands when nothing
    unusual happens: if chunk n+1 meets a bad record, or chunk n's write is refused, chunk
    n+1 is built again from the store once chunk n is settled, exactly as one chunk after
    the other would be. Writes stay in file order, one transaction per chunk.

    On SQLite the library writes in this process, releasing the GIL around each row, so a
    writer thread would only trade places with this one (measured slower): there each chunk
    is written before the next is built."""

    def __init__(self, app: AuditService, actor: Actor, report: ImportReport,
                 lane: FastLane | None):
        self.app, self.actor, self.report, self.lane = app, actor, report, lane
        self.writer = (None if app.settings.database.kind == "sqlite" else
                       ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer"))
        self.pending: tuple[Staged, Future] | None = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        try:
            if kind is None:
                self._settle()
        finally:
            if self.writer is not None:
                self.writer.shutdown(wait=True)

    def apply(self, chunk: list[tuple[int, dict]]) -> None:
        if self.writer is None:
            _apply_batch(self.app, chunk, self.actor, self.report, self.lane)
            return
        staged = None
        if self.pending is not None:
            ahead = self.pending[0]
            staged = _stage(self.app, chunk, self.actor, self.lane, careful=False,
                            excluded={}, seed=ahead.changed, written=ahead.written_ids,
                            give_up=True)
            if staged is None and self.lane is not None:
                self.lane.forget()
            if not self._settle():
                staged = None  # it was built on a chunk that had to be built again
        if staged is None:
            staged = _stage(self.app, chunk, self.actor, self.lane, careful=False,
                            excluded={})
        self.pending = (staged, self.writer.submit(_insert, self.app, staged.stored))

    def _settle(self) -> bool:
        """Wait for the pending write; False if it was refused and its chunk re-run."""
        if self.pending is None:
            return True
        staged, future = self.pending
        self.pending = None
        try:
            positions = future.result()
        except Conflict:
            # someone else wrote meanwhile: ask the store again, key by key
            if self.lane is not None:
                self.lane.forget()
            _apply_batch(self.app, staged.chunk, self.actor, self.report, self.lane,
                         careful=True, excluded=staged.excluded)
            return False
        self.app._take_snapshots(staged.processing)
        _account(self.report, staged, positions)
        return True


def _account(report: ImportReport, staged: Staged, positions: list[int]) -> None:
    report.batches += 1 if positions else 0
    report.imported += staged.imported
    report.already_imported += staged.skipped
    report.events_appended += len(positions)
    report.bad.extend(staged.excluded.values())


def _apply_batch(app: AuditService, chunk: list[tuple[int, dict]], actor: Actor,
                 report: ImportReport, lane: FastLane | None = None, *,
                 careful: bool = False, excluded: dict[int, BadRecord] | None = None) -> None:
    """Run the chunk in one batch and write it; a duplicate refused at the write (another
    writer) runs it again carefully."""
    excluded = dict(excluded or {})
    while True:
        staged = _stage(app, chunk, actor, lane, careful=careful, excluded=excluded)
        try:
            positions = _insert(app, staged.stored)
        except Conflict:
            if careful:
                raise
            careful = True
            excluded = staged.excluded
            if lane is not None:
                lane.forget()
            continue
        app._take_snapshots(staged.processing)
        _account(report, staged, positions)
        return


def _stage(app: AuditService, chunk: list[tuple[int, dict]], actor: Actor,
           lane: FastLane | None, *, careful: bool, excluded: dict[int, BadRecord],
           seed: dict[UUID, Any] | None = None, written: set[UUID] = frozenset(),
           give_up: bool = False) -> Staged | None:
    """Run the chunk in one batch; on a bad record, drop it and run the batch again (or,
    with ``give_up``, return None). ``seed`` and ``written``: a chunk being written ahead
    of this one, whose changed aggregates and ids count as stored.

    Grades and ratings go through ``lane`` (their events built directly) unless it hands
    a record back; every other record, and those, run their command."""
    fast = lane.handlers if lane is not None else {}
    excluded = dict(excluded)
    claims = {number: record_claim(record, actor) for number, record in chunk}
    stored_ids = {c.record_id for c in claims.values()}
    if careful:
        stored = app.existing_ids(list(stored_ids)) if stored_ids else set()
        absent: set[UUID] = set()
    else:
        keys = _unique_keys(chunk)
        # one query per chunk: which records are imported already, which keys are taken
        asked = [*stored_ids, *keys]
        found = app.existing_ids(asked)
        if written:
            found |= written.intersection(asked)
        stored = stored_ids & found
        absent = set(keys) - found
    while True:
        imported = skipped = 0
        failed = None
        with app.batch(careful=careful) as batch:
            batch.absent = absent
            if seed:
                batch.aggregates.update(seed)
            _preload(app, batch, chunk)
            for number, record in chunk:
                if number in excluded:
                    continue
                claim = claims[number]
                try:
                    if claim.record_id in stored or claim.record_id in batch.aggregates:
                        skipped += 1
                        continue
                    if _prepared(fast.get(record["type"]), batch, record, claim):
                        imported += 1
                        continue
                    body = {k: v for k, v in record.items() if k != "type"}
                    with app.claimed(claim):
                        RECORD_TYPES[record["type"]](app, actor, body)
                    imported += 1
                except AuditError as exc:
                    failed = BadRecord(number, exc.code, exc.message, exc.details)
                    break
                except (TypeError, ValueError, AttributeError) as exc:
                    failed = BadRecord(number, "invalid_record", f"malformed record: {exc}")
                    break
            if failed is None:
                stored_events, processing, changed = _collect(app, batch)
                return Staged(chunk, excluded, imported, skipped, stored_events, processing,
                              changed)
        if give_up:
            return None
        excluded[failed.line] = failed
        if lane is not None:
            lane.forget()


#: The unique keys (index kinds) a record type's command claims, and the field holding each.
CLAIMED_KEYS = {"unit": ("unit-code", "code"), "officer": ("personnel-code", "personnel_code")}


def _unique_keys(chunk: list[tuple[int, dict]]) -> list[UUID]:
    """The index ids the chunk's units and officers will claim, normalised as their
    commands do, so that one query tells which are free. A key guessed wrong only costs
    the command its own query."""
    ids = []
    for _, record in chunk:
        kind_field = CLAIMED_KEYS.get(record["type"])
        value = record.get(kind_field[1]) if kind_field else None
        if isinstance(value, str) and value.strip():
            ids.append(index_id(kind_field[0], nfc(value).upper()))
    return ids


#: Fields naming a unit or an officer by code, and the index kind that resolves each.
NAMED_BY_CODE = {"unit_code": "unit-code", "parent_code": "unit-code", "to_unit_code": "unit-code",
                 "personnel_code": "personnel-code"}


def _preload(app: AuditService, batch: Batch, chunk: list[tuple[int, dict]]) -> None:
    """Load the officers and units a chunk names, with their code indexes, in two queries
    for the whole chunk, into the batch, where the commands' own look-ups find them
    (otherwise each costs one or two queries of its own in every batch)."""
    named = set()
    for _, record in chunk:
        for name, kind in NAMED_BY_CODE.items():
            code = record.get(name)
            if isinstance(code, str) and not (name == "personnel_code"
                                              and record["type"] == "officer"):
                named.add((kind, code))
        findings = record.get("findings") if record["type"] == "inspection" else None
        for finding in findings if isinstance(findings, list) else ():
            code = finding.get("personnel_code") if isinstance(finding, dict) else None
            if isinstance(code, str):
                named.add(("personnel-code", code))
    wanted = {index_id(kind, code.strip().upper()) for kind, code in named if code.strip()}
    wanted -= batch.absent
    indexes = _load(app, wanted - batch.aggregates.keys())
    batch.aggregates.update(indexes)
    owners = {i.owner_id for i in indexes.values() if isinstance(i, Index)}
    batch.aggregates.update(_load(app, owners - batch.aggregates.keys()))


def _load(app: AuditService, ids: set[UUID]) -> dict[UUID, Any]:
    """Aggregates by id, each rebuilt from all its stored events, read in one query."""
    select = getattr(app.recorder, "select_events_of", None)
    if not ids or select is None:
        return {}
    events: dict[UUID, list] = {}
    for stored in select(list(ids)):
        events.setdefault(stored.originator_id, []).append(stored)
    to_event = app.mapper.to_domain_event
    loaded = {}
    for aggregate_id, stored in events.items():
        aggregate = None
        for s in sorted(stored, key=lambda e: e.originator_version):
            aggregate = to_event(s).mutate(aggregate)
        if aggregate is not None:
            loaded[aggregate_id] = aggregate
    return loaded


def _prepared(handler: Callable | None, batch: Batch, record: dict,
              claim: IdempotencyClaim) -> bool:
    """Whether the fast lane prepared the record's events; if it could not, or met
    anything unexpected, the record's command runs and answers for it."""
    if handler is None:
        return False
    try:
        return handler(batch, record, claim)
    except Exception:  # noqa: BLE001 - the command gives the record its proper error
        return False


def _collect(app: AuditService, batch: Batch
             ) -> tuple[list[StoredEvent], ProcessingEvent, dict[UUID, Any]]:
    """The batch's events to store, in the order the batch met its aggregates (prepared
    ones as they are), the processing event its snapshots are taken from, and the
    aggregates that changed."""
    stored: list[StoredEvent] = []
    processing = ProcessingEvent()
    changed = {}
    to_stored = app.mapper.to_stored_event
    for aggregate in batch.aggregates.values():
        if type(aggregate) is Prepared:
            stored += aggregate.stored
            continue
        events = aggregate.collect_events()
        if events:
            processing.events.extend(events)
            processing.aggregates[aggregate.id] = aggregate
            changed[aggregate.id] = aggregate
            stored += [to_stored(e) for e in events]
    return stored, processing, changed


def _insert(app: AuditService, stored: list[StoredEvent]) -> list[int]:
    """Every event in one transaction (COPY on PostgreSQL, one executemany on SQLite)."""
    if not stored:
        return []
    try:
        positions = app.recorder.insert_events(stored)
    except IntegrityError:
        raise Conflict("another writer changed records of this batch first; re-run it",
                       code="stale_write") from None
    return list(positions or [])


def commit(app: AuditService, batch: Batch) -> list[int]:
    """``AuditService.commit_batch`` for a batch that may also hold prepared events;
    snapshots as the commands would take them."""
    stored, processing, _ = _collect(app, batch)
    positions = _insert(app, stored)
    app._take_snapshots(processing)
    return positions
