"""Units: registration, renaming, merging, yearly ratings, and the unit tree."""
from __future__ import annotations

from typing import Any

from ..domain import Index, Unit, index_id
from ..errors import RuleViolation, ValidationFailed
from .core import Actor, CommandResult, ServiceCore

UNIT_RATINGS = ("strong", "average", "weak")


class UnitCommands(ServiceCore):
    """Commands and reads on units (đơn vị)."""

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
