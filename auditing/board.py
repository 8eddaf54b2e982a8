"""What the board saw: check the eligibility hash a reappointment decision quotes.

An ``Officer.ReappointmentDecided`` event may carry ``eligibility_hash``: the ``hash`` of the
eligibility answer the board relied on. The answer is recomputed from the officer's timeline
as recorded when the decision was recorded, for the decision date:

- ``before_decision``: every row recorded before the decision (log position lower than the
  decision's), evaluated without an ``as_of`` bound: the answer the service gave for
  ``GET …/eligibility?on=<decided_on>`` just before the decision was recorded;
- ``as_of_recorded``: ``ReadModels.eligibility(officer, on=decided_on, as_of=recorded_at)``:
  the answer to the same question asked "as of" the decision's recorded time.

Both are tried, for a leadership post and for a non-leadership post; the decision matches
if any of them gives the quoted hash (the report says which). Anything else is a mismatch:
the board relied on an answer the record does not reproduce.

A mistaken decision is corrected by an ``Officer.ReappointmentDecisionCorrected`` event
naming it (``corrects_version``, the decision's version in the officer's stream). Nothing is
rewritten: the original is still checked against the rows before it (what the board saw
then) and reported as corrected; the correction's own hash is checked the same way against
the rows before the correction. A correction the service would have refused (see
``corrections``: not the officer's latest decision, already corrected, dated before it, or
changing nothing) is a fault.
"""
from __future__ import annotations

from typing import Any

from audit_service.errors import NotFound

from projections.eligibility import evaluate
from projections.readmodels import iso_ts

from .chain import BOARD, add_faults
from .corrections import CORRECTED, DECIDED, KINDS, CorrectionLinks, facts_of_event

REAPPOINTMENT_TOPIC = "audit_service.domain.officers:Officer.ReappointmentDecided"
CORRECTION_TOPIC = "audit_service.domain.officers:Officer.ReappointmentDecisionCorrected"
BOARD_TOPICS = (REAPPOINTMENT_TOPIC, CORRECTION_TOPIC)
#: what a correction's check follows: the board's events and those after which no earlier
#: decision may be corrected (an appointment, leaving service)
LINK_TOPICS = tuple(f"audit_service.domain.officers:{kind}" for kind in sorted(KINDS))


def decision_of(event: Any, position: int) -> dict | None:
    """The facts of a reappointment decision (or correction) event, or None if it quotes no
    hash."""
    quoted = getattr(event, "eligibility_hash", None)
    if not quoted:
        return None
    decided_on = event.decided_on
    found = {"position": position, "officer_id": str(event.originator_id),
             "decided_on": decided_on.isoformat() if hasattr(decided_on, "isoformat")
             else str(decided_on),
             "eligibility_hash": quoted, "recorded_at": iso_ts(event.timestamp),
             "version": event.originator_version}
    if getattr(event, "corrects_version", None) is not None:
        found["corrects_version"] = event.corrects_version
    return found


class Corrections(CorrectionLinks):
    """``corrections.CorrectionLinks`` fed decoded domain events (in position order)."""

    def feed(self, event: Any, position: int, kind: str | None = None) -> None:
        """``kind``: ``Aggregate.Event`` of the event (``projections.concerns.kind_of``);
        by default a decision, or a correction when the event names the one it corrects."""
        if kind is None:
            kind = CORRECTED if getattr(event, "corrects_version", None) is not None else DECIDED
        self.add(kind, str(event.originator_id), event.originator_version, position,
                 facts_of_event(event) if kind in (DECIDED, CORRECTED) else {})


def check_decision(read_models: Any, decision: dict) -> dict:
    """Recompute the eligibility a decision quotes; ``{"status": "match" | "mismatch" | …}``."""
    officer = decision["officer_id"]
    position = decision["position"]
    result = {**decision, "status": "mismatch", "matched": None, "recomputed": {}}
    rows = read_models.timeline_rows(officer)
    if not any(r["position"] == position for r in rows):
        result.update(status="skipped", reason="the read models do not hold the decision yet"
                      " (run the projector)")
        return result
    before = [r for r in rows if r["position"] < position]
    for leadership in (True, False):
        for post in ("same", "higher"):
            label = ("" if leadership else ", not a leadership post") + (
                "" if post == "same" else ", higher post")
            candidates = {
                f"before_decision{label}": lambda: evaluate(
                    read_models.reference, before, decision["decided_on"], None,
                    leadership=leadership, post=post)["hash"],
                f"as_of_recorded{label}": lambda: read_models.eligibility(
                    officer, on=decision["decided_on"], as_of=decision["recorded_at"],
                    leadership=leadership, post=post)["hash"],
            }
            for name, compute in candidates.items():
                try:
                    value = compute()
                except NotFound:  # the record holds no officer to judge: nothing reproduces
                    value = None
                result["recomputed"][name] = value
                if value == decision["eligibility_hash"]:
                    result.update(status="match", matched=name)
                    return result
    return result


def board_fault(check: dict) -> dict:
    if check["status"] == "bad_correction":
        return {"position": check["position"], "kind": BOARD,
                "detail": f"a reappointment correction {check['reason']}"}
    return {"position": check["position"], "kind": BOARD,
            "detail": f"the reappointment of officer {check['officer_id']} decided on"
                      f" {check['decided_on']} quotes eligibility hash"
                      f" {check['eligibility_hash'][:16]}…, which the record does not"
                      " reproduce"}


def merge_board(report: dict, checks: list[dict]) -> dict:
    """Add board checks to a chain report: mismatches become faults."""
    report["board"] = {
        "decisions": len(checks),
        "matched": sum(c["status"] == "match" for c in checks),
        "mismatched": sum(c["status"] == "mismatch" for c in checks),
        "skipped": sum(c["status"] == "skipped" for c in checks),
        "corrected": sum("corrected_by" in c for c in checks),
        "bad_corrections": sum(c["status"] == "bad_correction" for c in checks),
        "checks": checks,
    }
    faults = [board_fault(c) for c in checks if c["status"] in ("mismatch", "bad_correction")]
    add_faults(report, faults)
    return report


def describe_board(report: dict) -> list[str]:
    board = report.get("board")
    if not board:
        return []
    lines = [f"board decisions quoting an eligibility hash: {board['decisions']}"
             f" ({board['matched']} match, {board['mismatched']} mismatch,"
             f" {board['skipped']} not checked)"]
    for c in board["checks"]:
        note = (f" (corrected at position {c['corrected_by']})" if "corrected_by" in c else
                f" (a correction of position {c['corrects_position']})"
                if "corrects_position" in c else "")
        if c["status"] == "bad_correction":
            lines.append(f"  position {c['position']}: officer {c['officer_id']}: BAD"
                         f" CORRECTION: {c['reason']}")
        elif c["status"] == "match":
            lines.append(f"  position {c['position']}: officer {c['officer_id']}: hash matches"
                         f" ({c['matched']}){note}")
        elif c["status"] == "mismatch":
            lines.append(f"  position {c['position']}: officer {c['officer_id']}: MISMATCH:"
                         f" quoted {c['eligibility_hash']}, recomputed"
                         f" {c['recomputed'].get('before_decision')}{note}")
        else:
            lines.append(f"  position {c['position']}: officer {c['officer_id']}: not checked:"
                         f" {c.get('reason')}")
    return lines
