"""The import's fast lane: monthly grades and annual ratings, stored without aggregates.

Nine records in ten of a migrated history are grades and ratings. Through the commands each
costs two aggregate constructions and two passes through the library's mapper (a third of
the import's time); here the same checks run (the commands' own ``Checker`` methods, the
same reference tables, the officer's state from the batch) and the two stored events are
written directly: the rating's ``Recorded`` event and its idempotency record, encoded with
the application's own JSON encoder into the bytes the commands would store. Anything
unusual (a failed check, a missing officer, a rating already taken) is left to the command,
which gives the record its error. ``lanes_agree`` compares both ways on a sample before an
import uses this lane, so a change to these events' fields switches the lane off instead
of storing something the commands would not.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timezone
from json.encoder import encode_basestring
from typing import Any, Callable
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from .application import Actor, AuditService, IdempotencyClaim
from .domain import AnnualRating, IdempotencyRecord, MonthlyGrade, Officer
from .errors import AuditError

logger = logging.getLogger(__name__)

FRAMEWORK = "3814-QĐ/TU"  # what record_monthly_grade stores
GRADES = ("A", "B", "C", "D")

_MG_TOPIC, _MG_ORIGIN = get_topic(MonthlyGrade.Recorded), get_topic(MonthlyGrade)
_AR_TOPIC, _AR_ORIGIN = get_topic(AnnualRating.Recorded), get_topic(AnnualRating)
_IR_TOPIC, _IR_ORIGIN = get_topic(IdempotencyRecord.Recorded), get_topic(IdempotencyRecord)
_MG_VERSION = getattr(MonthlyGrade.Recorded, "class_version", 1)


def _now() -> str:
    """The recorded time of a record's events, as the library's datetime transcoding
    writes it (one time for the record and its idempotency record, saved together)."""
    return datetime.now(timezone.utc).isoformat()


class Prepared:
    """Stands in a batch for an aggregate whose stored events are already encoded."""

    __slots__ = ("id", "stored")

    def __init__(self, id: UUID, stored: list[StoredEvent]):  # noqa: A002 - like aggregates
        self.id = id
        self.stored = stored


def _template(encode: Callable[[Any], str], state: dict, fields: int) -> str:
    """The encoded ``state`` as a %-template: each placeholder string ``@@n@@`` (with its
    quotes) becomes ``%s``, so a record's encoding is one formatting of ready-made texts
    in the encoder's own field order and separators."""
    text = encode(state).replace("%", "%%")
    for n in range(fields):
        marker = f'"@@{n}@@"'
        if text.count(marker) != 1:
            raise ValueError(f"placeholder {n} appears {text.count(marker)} times")
        text = text.replace(marker, "%s")
    return text


_text: Callable[[str], str] = encode_basestring  # a JSON string literal, as the encoder writes it


class FastLane:
    """Per import: encodes the fast records' events and remembers officers' ids by code."""

    def __init__(self, app: AuditService, actor: Actor):
        self.app = app
        self.actor = actor
        mapper = app.mapper
        self._encode: Callable[[Any], str] = mapper.transcoder.encoder.encode
        self._compressor, self._cipher = mapper.compressor, mapper.cipher
        self._officer_ids: dict[str, UUID] = {}
        self.handlers = {"monthly_grade": self.monthly_grade, "annual_rating": self.annual_rating}
        p = [f"@@{n}@@" for n in range(6)]
        ts = {"_type_": "datetime_iso", "_data_": p[0]}
        officer = {"_type_": "uuid_hex", "_data_": p[1]}
        self._monthly = _template(self._encode, self.monthly_state(
            officer, p[2], p[3], p[4], ts), 5)
        self._annual = _template(self._encode, self.annual_state(officer, p[2], p[3], ts), 4)
        self._record = _template(self._encode, self._record_state(
            p[1], p[2], {"_type_": "uuid_hex", "_data_": p[3]}, p[4], p[5], ts), 6)

    # -------------------------------------------------------------- encoding
    def _stored(self, originator_id: UUID, topic: str, text: str) -> StoredEvent:
        data = text.encode("utf8")
        if self._compressor:
            data = self._compressor.compress(data)
        if self._cipher:
            data = self._cipher.encrypt(data)
        return StoredEvent(originator_id, 1, topic, data)

    def monthly_state(self, officer_id: Any, period: Any, score: Any, grade: Any,
                      timestamp: dict) -> dict:
        """The state ``record_monthly_grade`` stores (the event's fields, in order)."""
        state = {"timestamp": timestamp, "originator_topic": _MG_ORIGIN,
                 "officer_id": officer_id, "period": period, "score": score,
                 "grade": grade, "framework": FRAMEWORK, "actor_id": self.actor.user_id,
                 "actor_role": self.actor.role}
        if _MG_VERSION > 1:
            state["class_version"] = _MG_VERSION
        return state

    def annual_state(self, officer_id: Any, year: Any, rating: Any, timestamp: dict) -> dict:
        """The state ``record_annual_rating`` stores."""
        return {"timestamp": timestamp, "originator_topic": _AR_ORIGIN,
                "officer_id": officer_id, "year": year, "rating": rating,
                "actor_id": self.actor.user_id, "actor_role": self.actor.role}

    def _record_state(self, key_sha256: Any, request_sha256: Any, result_id: Any,
                      result_text: Any, record_text: Any, timestamp: dict) -> dict:
        """The state of the idempotency record a command's ``_save`` adds."""
        return {"timestamp": timestamp, "originator_topic": _IR_ORIGIN,
                "user_id": self.actor.user_id, "key_sha256": key_sha256,
                "request_sha256": request_sha256, "result_id": result_id,
                "extra": {}, "appended": [[result_text, 1], [record_text, 1]],
                "actor_id": self.actor.user_id, "actor_role": self.actor.role}

    def monthly_text(self, officer_id: UUID, period: str, score: float, grade: str,
                     ts: str) -> str:
        return self._monthly % (f'"{ts}"', f'"{officer_id.hex}"', _text(period),
                                float.__repr__(score), _text(grade))

    def annual_text(self, officer_id: UUID, year: int, rating: str, ts: str) -> str:
        return self._annual % (f'"{ts}"', f'"{officer_id.hex}"', int.__repr__(year),
                               _text(rating))

    def record_text(self, claim: IdempotencyClaim, result_id: UUID, ts: str) -> str:
        return self._record % (f'"{ts}"', _text(claim.key_sha256), _text(claim.request_sha256),
                               f'"{result_id.hex}"', f'"{result_id}"',
                               f'"{claim.record_id}"')

    def _prepare(self, batch: Any, claim: IdempotencyClaim, result_id: UUID, topic: str,
                 text: str, ts: str) -> bool:
        """Put the record's two events in the batch, where the commands' aggregates go."""
        if claim.actor is not self.actor and claim.actor != self.actor:
            return False
        batch.aggregates[result_id] = Prepared(result_id, [self._stored(result_id, topic, text)])
        record = self._stored(claim.record_id, _IR_TOPIC, self.record_text(claim, result_id, ts))
        batch.aggregates[claim.record_id] = Prepared(claim.record_id, [record])
        return True

    # -------------------------------------------------------------- the records
    def _officer(self, code: Any, batch: Any) -> Any:
        """The officer a record names, as the batch holds it; None if the command should
        say why not."""
        if not isinstance(code, str):
            return None
        officer_id = self._officer_ids.get(code)
        try:
            if officer_id is not None:
                # what get_officer finds first, without its checks of the id's form
                found = batch.aggregates.get(officer_id)
                if type(found) is Officer:
                    return found
                return self.app.get_officer(officer_id)
        except AuditError:
            del self._officer_ids[code]
        try:
            if not code.strip():
                return None
            officer = self.app.find_officer(personnel_code=code)
        except AuditError:
            return None
        self._officer_ids[code] = officer.id
        return officer

    def forget(self) -> None:
        """A batch was discarded: officers it registered were never stored."""
        self._officer_ids.clear()

    def monthly_grade(self, batch: Any, record: dict, claim: IdempotencyClaim) -> bool:
        """``record_monthly_grade``'s checks; True when the record's events are prepared."""
        officer = self._officer(record.get("personnel_code"), batch)
        if officer is None:
            return False
        app = self.app
        c = app._checker()
        period = c.period("period", record.get("period"))
        score = c.number("score", record.get("score"), lo=0, hi=100)
        grade = record.get("grade")
        if grade is not None:
            c.choice("grade", grade, GRADES)
        if c.errors:
            return False
        computed = app.reference.monthly_grade_for(score)
        if grade is not None and grade != computed:
            return False
        if officer.left_on is not None and date.fromisoformat(f"{period}-01") > officer.left_on:
            return False
        grade_id = MonthlyGrade.id_for(officer.id, period)
        if app._rating_taken(grade_id):
            return False
        ts = _now()
        text = self.monthly_text(officer.id, period, score, computed, ts)
        return self._prepare(batch, claim, grade_id, _MG_TOPIC, text, ts)

    def annual_rating(self, batch: Any, record: dict, claim: IdempotencyClaim) -> bool:
        """``record_annual_rating``'s checks; True when the record's events are prepared."""
        officer = self._officer(record.get("personnel_code"), batch)
        if officer is None:
            return False
        app = self.app
        today = app.today()
        c = app._checker()
        year = c.integer("year", record.get("year"), lo=1990, hi=today.year)
        rating = c.text("rating", record.get("rating"), max_len=20)
        if c.errors or app.reference.annual_level(rating, year) is None:
            return False
        if today < date(year, 12, 1):
            return False
        if officer.left_on is not None and year > officer.left_on.year:
            return False
        rating_id = AnnualRating.id_for(officer.id, year)
        if app._rating_taken(rating_id):
            return False
        ts = _now()
        text = self.annual_text(officer.id, year, rating, ts)
        return self._prepare(batch, claim, rating_id, _AR_TOPIC, text, ts)


def lanes_agree(app: AuditService, actor: Actor) -> bool:
    """Whether the fast lane encodes a grade, a rating and an idempotency record exactly as
    the aggregates and the application's mapper do (same topic, id and state bytes)."""
    try:
        lane = FastLane(app, actor)
    except ValueError:
        logger.warning("the import's fast lane cannot template these events", exc_info=True)
        return False
    encode = app.mapper.transcoder.encode
    officer_id = uuid.uuid4()
    claim = IdempotencyClaim.of(actor, "import:lanes-agree", "{\"é\": 1}".encode())
    grade = MonthlyGrade(officer_id=officer_id, period="2020-01", score=81.5, grade="B",
                         framework=FRAMEWORK, **actor.kw)
    rating = AnnualRating(officer_id=officer_id, year=2020, rating="HTTNV", **actor.kw)
    record = IdempotencyRecord(
        user_id=actor.user_id, key_sha256=claim.key_sha256, request_sha256=claim.request_sha256,
        result_id=grade.id, extra={}, appended=[[str(grade.id), 1], [str(claim.record_id), 1]],
        **actor.kw)
    checks = []
    for aggregate, topic, build in (
            (grade, _MG_TOPIC, lambda ts: lane.monthly_text(officer_id, "2020-01", 81.5, "B", ts)),
            (rating, _AR_TOPIC, lambda ts: lane.annual_text(officer_id, 2020, "HTTNV", ts)),
            (record, _IR_TOPIC, lambda ts: lane.record_text(claim, grade.id, ts))):
        event = aggregate.collect_events()[0]
        expected = app.mapper.to_stored_event(event)
        plain = dict(vars(event))
        plain.pop("originator_id"), plain.pop("originator_version")
        if getattr(type(event), "class_version", 1) > 1:
            plain["class_version"] = type(event).class_version
        mine = build(event.timestamp.isoformat()).encode("utf8")
        checks.append(expected.topic == topic and expected.originator_id == aggregate.id
                      and expected.originator_version == 1 and encode(plain) == mine
                      and (app.mapper.cipher or app.mapper.compressor
                           or expected.state == mine))
    if not all(checks):
        logger.warning("the import's fast lane disagrees with the commands; importing"
                       " every record through the commands")
    return all(checks)
