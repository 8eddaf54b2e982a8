"""Which officers an event concerns: the one rule behind the officer timeline and the officer chains.

The officer timeline (``readmodels.OfficerTimeline``) writes one row per officer this rule
names; the integrity follower extends the same officers' hash chains; the offline verifiers
(``scripts/verify_export.py``, ``scripts/verify_dossier.py``) recompute the chains with it.
So the rule lives here once, with nothing but the standard library: the verifiers load this
file as it is, without the service installed.

The rule, for an event of kind ``Aggregate.Event``:

- ``Unit``, ``Index`` and ``IdempotencyRecord`` events concern no officer;
- an officer's own events concern that officer;
- ``Inspection.Opened`` / ``Inspection.Closed`` concern no officer; any other inspection
  event is about a finding (``finding_id``) and concerns the officer the finding concerned
  until then and the officer it names (a correction may move a finding to another officer:
  both see it), in that order;
- ``Proceeding.Opened``, ``Decision.Issued``, ``AnnualRating.Recorded`` and
  ``MonthlyGrade.Recorded`` concern the officer they name (``officer_id``);
- any other event concerns the officer its subject (the aggregate, or the finding)
  concerned last, if any.

"Concerned last" is what earlier events of the log said: the caller remembers, for each
subject, the last officer this rule named for it (``officer_of``). It depends only on
the events themselves, never on other read-model state.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping
from uuid import UUID

IGNORED_AGGREGATES = frozenset({"Unit", "Index", "IdempotencyRecord"})
NAMED_BY_EVENT = frozenset({"Proceeding.Opened", "Decision.Issued", "AnnualRating.Recorded",
                            "MonthlyGrade.Recorded"})
NO_OFFICER = frozenset({"Inspection.Opened", "Inspection.Closed"})
_LOWER_HEX = frozenset("0123456789abcdef")
_DECODER = json.JSONDecoder()


def reads_state(kind: str) -> bool:
    """Whether ``concerned`` reads the event's fields for this kind (the others are placed
    by their aggregate alone, so their state need not be parsed)."""
    return kind in NAMED_BY_EVENT or (kind.startswith("Inspection.") and kind not in NO_OFFICER)


def kind_of(topic: str) -> str:
    """``Aggregate.Event`` from a stored topic (``module:Aggregate.Event``)."""
    return topic.rsplit(":", 1)[-1]


def id_text(value: Any) -> str | None:
    """An id as the text the read models hold (lowercase hyphenated UUID), from a UUID, its
    text, or the stored JSON form (``{"_type_": "uuid_hex", "_data_": ...}``)."""
    if value is None:
        return None
    if (type(value) is dict or isinstance(value, Mapping)) and value.get("_type_") == "uuid_hex":
        h = value["_data_"]
        if isinstance(h, str) and len(h) == 32 and _LOWER_HEX.issuperset(h):  # the usual form
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return str(UUID(str(h)))
    return str(value)


def state_fields(plain_state: bytes) -> dict:
    """The fields this rule reads (``officer_id``, ``finding_id``) from a stored event's
    decrypted, decompressed JSON state; {} if it cannot be read."""
    try:
        state = _DECODER.raw_decode(plain_state.decode("utf-8"))[0]
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(state, dict):
        return {}
    out = {}
    for name in ("officer_id", "finding_id"):
        if name in state:
            try:
                out[name] = id_text(state[name])
            except (ValueError, TypeError, KeyError):
                out[name] = None
    return out


def concerned(kind: str, originator_id: str, data: Mapping[str, Any],
              officer_of: Callable[[str, str], str | None]) -> tuple[str, list[str]]:
    """``(subject, officers)``: the subject the event is about (its aggregate, or the finding)
    and the officers it concerns, in order (empty: none). ``officer_of(aggregate, subject)``
    answers the last officer this rule named for the subject (None if none)."""
    aggregate = kind.split(".", 1)[0]
    if aggregate in IGNORED_AGGREGATES or kind in NO_OFFICER:
        return originator_id, []
    if aggregate == "Officer":
        return originator_id, [originator_id]
    if aggregate == "Inspection":
        subject = id_text(data.get("finding_id")) or originator_id
        previous = officer_of(aggregate, subject)
        named = id_text(data.get("officer_id"))
        return subject, [o for o in dict.fromkeys([previous, named]) if o]
    if kind in NAMED_BY_EVENT:
        named = id_text(data.get("officer_id"))
        return originator_id, [named] if named else []
    officer = officer_of(aggregate, originator_id)
    return originator_id, [officer] if officer else []


def remembers(kind: str) -> bool:
    """Whether the subject's officer is remembered after this event (an officer's own
    events name their officer: nothing to remember)."""
    return kind.split(".", 1)[0] != "Officer"


class SubjectMemory:
    """``officer_of`` over a plain dict (the offline verifiers, a dossier's events)."""

    def __init__(self) -> None:
        self.officers: dict[str, str] = {}

    def __call__(self, aggregate: str, subject: str) -> str | None:
        return self.officers.get(subject)

    def assign(self, topic: str, originator_id: str, plain_state: bytes | None) -> list[str]:
        """The officers a stored event concerns, remembering its subject's officer."""
        kind = kind_of(topic)
        data = state_fields(plain_state) if plain_state is not None and reads_state(kind) \
            else {}
        subject, officers = concerned(kind, originator_id, data, self)
        if officers and remembers(kind):
            self.officers[subject] = officers[-1]
        return officers
