"""Weak-ward rotation check (Hanoi practice, 2019): no rotation of officials from weak wards up.

``check_rotation(reference, from_unit, to_unit, from_unit_latest_rating)`` returns a flag when
an officer moves from a unit whose latest rating is ``weak`` to a unit of a higher level
(smaller ``rank`` in ``reference.unit_levels``), else None. Pure: no I/O, no clock.

Units are dicts ``{unit_id, level, name}``; the rating is ``{year, rating, position}``.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from .timeline import parse_date

__all__ = ["check_rotation", "RULE_ID", "WEAK"]

RULE_ID = "weak-ward-rotation"
WEAK = "weak"  # the unit-rating value (strong | average | weak) the rule is about


def _level(reference: Any, unit: Mapping[str, Any]) -> Any:
    return reference.unit_levels.get(unit.get("level")) if unit else None


def check_rotation(reference: Any, from_unit: Mapping[str, Any], to_unit: Mapping[str, Any],
                   from_unit_latest_rating: Mapping[str, Any] | None, *,
                   on: date | str | None = None) -> dict | None:
    """A ``weak-ward-rotation`` flag, or None.

    ``on`` (optional): the move's effective date; when given and the rule is not in force on
    it (the rule ends with the district level, 2025-06-30), no flag is raised.
    """
    if not from_unit_latest_rating or from_unit_latest_rating.get("rating") != WEAK:
        return None
    src, dst = _level(reference, from_unit), _level(reference, to_unit)
    if src is None or dst is None or dst.rank >= src.rank:
        return None
    rule = reference.rule(RULE_ID)
    day = parse_date(on)
    if day is not None and not rule.valid_on(day):
        return None
    year = from_unit_latest_rating.get("year")
    src_name = from_unit.get("name") or from_unit.get("unit_id")
    dst_name = to_unit.get("name") or to_unit.get("unit_id")
    position = from_unit_latest_rating.get("position")
    return {
        "rule_id": rule.id,
        "outcome": rule.params.get("outcome", "not_allowed"),
        "citation": rule.citation,
        "message_vi": (f"Luân chuyển từ {src_name} ({src.title_vi.lower()}, xếp loại yếu năm"
                       f" {year}) lên {dst_name} ({dst.title_vi.lower()}, cấp cao hơn): trái chủ"
                       f" trương {rule.title_vi[:1].lower()}{rule.title_vi[1:]}."),
        "message_en": (f"Rotation from {src_name} ({src.title_en.lower()}, rated weak in"
                       f" {year}) up to {dst_name} ({dst.title_en.lower()}, a higher level):"
                       f" contrary to the policy: {rule.title_en[:1].lower()}"
                       f"{rule.title_en[1:]}."),
        "positions": [int(position)] if position is not None else [],
    }
