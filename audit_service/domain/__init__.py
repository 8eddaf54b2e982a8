"""Aggregates and their events: every fact the service knows is one of these events."""
from .base import NAMESPACE, AuditAggregate, index_id
from .evaluations import AnnualRating, MonthlyGrade
from .idempotency import IdempotencyRecord
from .indexes import Index
from .inspections import Inspection
from .officers import Officer
from .proceedings import Decision, Proceeding
from .units import Unit

__all__ = [
    "NAMESPACE", "AuditAggregate", "index_id", "AnnualRating", "MonthlyGrade", "Index", "IdempotencyRecord",
    "Inspection", "Officer", "Decision", "Proceeding", "Unit",
]
