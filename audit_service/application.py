"""The service layer: validate a command, load aggregates, apply the change, save atomically.

``AuditService`` is composed of one mixin per context, so a rule is found in one hop:

- ``commands.core``: actors, command results, idempotency, batches, the atomic save;
- ``commands.units``: register, rename, merge, rate a unit;
- ``commands.officers``: register, transfer, appoint, reappointment decisions, leaving;
- ``commands.inspections``: open, findings, close;
- ``commands.discipline``: proceedings, decisions, appeals, annulments;
- ``commands.evaluations``: monthly grades, annual ratings.

Every command checks all of its input and every rule before anything is saved, so a
rejected command appends nothing. Each returns the id it acted on and the log positions of
the events it appended. Importers use this module's names; the split is the service's own.
"""
from __future__ import annotations

from .commands.core import (_BATCH, _CLAIM, CLAIM_CODES, ROLES, SYSTEM, Actor, Batch,
                            CommandResult, IdempotencyClaim, ServiceCore)
from .commands.discipline import (APPEAL_OUTCOMES, FORMS, PARTY_FORMS, VIOLATION_SOURCES,
                                  DisciplineCommands)
from .commands.evaluations import EvaluationCommands
from .commands.inspections import InspectionCommands
from .commands.officers import (REAPPOINTMENT_OUTCOMES, TRANSFER_KINDS, OfficerCommands,
                                register_eligibility_reader)
from .commands.units import UNIT_RATINGS, UnitCommands
from .domain import Decision, Inspection, Officer, Proceeding, Unit

__all__ = [
    "AuditService", "Actor", "SYSTEM", "Batch", "CommandResult", "IdempotencyClaim",
    "register_eligibility_reader", "CLAIM_CODES", "ROLES", "UNIT_RATINGS", "TRANSFER_KINDS",
    "REAPPOINTMENT_OUTCOMES", "APPEAL_OUTCOMES", "VIOLATION_SOURCES", "FORMS", "PARTY_FORMS",
    "_BATCH", "_CLAIM",
]


class AuditService(UnitCommands, OfficerCommands, InspectionCommands, DisciplineCommands,
                   EvaluationCommands, ServiceCore):
    """The audit-service application: commands that append events, and simple reads."""

    name = "AuditService"
    # Aggregates that grow load from their latest snapshot plus at most 49 events, so a
    # command costs the same on the 1,000th finding as on the 10th. Snapshots sit in their
    # own table (not in the notification log, the export or the chain), are taken from the
    # stored events after a save, and every load reads the store: a snapshot written by
    # another worker or host is as good as one's own, and none is ever trusted over events.
    snapshotting_intervals = {Inspection: 50, Officer: 50, Decision: 50, Proceeding: 50,
                              Unit: 50}
