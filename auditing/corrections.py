"""Which reappointment decision each correction names, checked from the events alone.

Standard library only, like ``chain.py``: the offline verifier loads this file as it is, so
that it checks corrections without the service installed. ``audit-service verify`` uses the
same rules (``board.Corrections``).

An ``Officer.ReappointmentDecisionCorrected`` names the decision it corrects by its version
in the officer's stream (``corrects_version``). The service accepts a correction only of the
officer's latest reappointment decision, once, while no appointment or leaving came after
it, dated on or after it, and changing its outcome, eligibility hash or override reason. A
correction in the log that breaks one of these is a fault (kind ``board_hash``): the
service recorded what it refuses, or the log was written around it.
"""
from __future__ import annotations

import json
from typing import Any

DECIDED = "Officer.ReappointmentDecided"
CORRECTED = "Officer.ReappointmentDecisionCorrected"
ENDS_DECISION = frozenset({"Officer.Appointed", "Officer.LeftService"})  # no correction after
KINDS = frozenset({DECIDED, CORRECTED, *ENDS_DECISION})
BOARD = "board_hash"  # the fault kind (``chain.BOARD``)
FIELDS = ("outcome", "decided_on", "corrected_on", "corrects_version", "eligibility_hash",
          "override_reason", "dossier_hash")


def _plain(value: Any) -> Any:
    """A stored JSON value without its type tag (``{"_type_": "date_iso", "_data_": …}``)."""
    if isinstance(value, dict) and "_type_" in value and "_data_" in value:
        return value["_data_"]
    return value


def facts_of(state: bytes | None) -> dict:
    """The fields these checks read, from an event's readable JSON state ({} if unreadable)."""
    try:
        data = json.loads(state) if state is not None else None
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {name: _plain(data.get(name)) for name in FIELDS}


def facts_of_event(event: Any) -> dict:
    """The same fields from a decoded domain event."""
    out = {}
    for name in FIELDS:
        value = getattr(event, name, None)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class CorrectionLinks:
    """Follows reappointment decisions and their corrections through the log, in position
    order. Memory: one entry per decision (to name it in the report) and the latest per
    officer."""

    def __init__(self) -> None:
        self.decided: dict[tuple[str, int], int] = {}    # (officer, version) -> position
        self.corrected: dict[tuple[str, int], int] = {}  # the same -> correcting position
        self.latest: dict[str, dict] = {}  # officer -> the decision a correction may name
        self.corrections = 0
        self.problems: list[dict] = []

    def add(self, kind: str, officer: str, version: int, position: int, facts: dict) -> None:
        if kind in ENDS_DECISION:
            self.latest.pop(officer, None)
            return
        if kind == DECIDED:
            self.decided[(officer, int(version))] = position
            self.latest[officer] = {**facts, "version": int(version), "position": position}
            return
        if kind != CORRECTED:
            return
        self.corrections += 1
        corrects = facts.get("corrects_version")
        target = (officer, int(corrects)) if isinstance(corrects, int) else None
        latest = self.latest.get(officer)
        reason = None
        if target not in self.decided:
            reason = (f"corrects version {corrects} of officer {officer}, which is no earlier"
                      " reappointment decision")
        elif target in self.corrected:
            reason = (f"corrects the decision at position {self.decided[target]}, already"
                      f" corrected at position {self.corrected[target]}")
        elif latest is None or latest["version"] != target[1]:
            reason = (f"corrects the decision at position {self.decided[target]}, which is not"
                      " the officer's latest (a later decision, appointment or leaving came"
                      " after it)")
        else:
            self.corrected[target] = position
            if str(facts.get("corrected_on") or "") < str(latest.get("decided_on") or ""):
                reason = (f"is dated {facts.get('corrected_on')}, before the decision it"
                          f" corrects (position {latest['position']}, {latest['decided_on']})")
            elif all(facts.get(k) == latest.get(k) for k in
                     ("outcome", "eligibility_hash", "override_reason")):
                reason = (f"changes nothing in the decision at position {latest['position']}"
                          " (the same outcome, eligibility hash and override reason)")
            latest.update(outcome=facts.get("outcome"),
                          eligibility_hash=facts.get("eligibility_hash"),
                          override_reason=facts.get("override_reason"))
        if reason:
            self.problems.append({"position": position, "officer_id": officer,
                                  "status": "bad_correction", "reason": reason})

    def annotate(self, checks: list[dict]) -> list[dict]:
        """Each check says which decision it corrects, or by which it was corrected; the
        corrections that break the rules are added as faulty checks."""
        for c in checks:
            officer = c["officer_id"]
            if "corrects_version" in c:
                c["corrects_position"] = self.decided.get((officer, c["corrects_version"]))
            elif (officer, c.get("version")) in self.corrected:
                c["corrected_by"] = self.corrected[(officer, c["version"])]
        return sorted(checks + self.problems, key=lambda c: c["position"])

    def faults(self) -> list[dict]:
        return [{"position": p["position"], "kind": BOARD,
                 "detail": f"a reappointment correction {p['reason']}"} for p in self.problems]
