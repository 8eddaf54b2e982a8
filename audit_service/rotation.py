"""Weak-ward rotation check (Hanoi practice, 2019): no rotation of officials from weak wards up.

``check_rotation(reference, from_unit, to_unit, from_unit_latest_rating)`` returns a flag when
an officer moves from a unit whose latest rating is ``weak`` to a unit of a higher level
(smaller ``rank`` in ``reference.unit_levels``), else None. Pure: no I/O, no clock.

Units are dicts ``{unit_id, level, name}``; the rating is ``{year, rating, position}``.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from .clock import parse_date



__all__ = ["check_rotation", "evaluate_rotation", "rating_in_force", "RULE_ID", "WEAK"]

RULE_ID = "weak-ward-rotation"
WEAK = "weak"  # the unit-rating value (strong | average | weak) the rule is about


def _level(reference: Any, unit: Mapping[str, Any]) -> Any:
    return reference.unit_levels.get(unit.get("level"))


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


def rating_in_force(ratings: Mapping[int, Any] | list, on: date) -> dict | None:
    """The unit rating in force on ``on``: the latest rated year that had ended before
    ``on``'s year (a year's rating cannot be in force before the year is over). ``ratings``:
    a list of ``{year, rating, position}`` (read side) or a ``{year: rating}`` mapping."""
    items = ([{"year": y, "rating": r, "position": None} for y, r in ratings.items()]
             if isinstance(ratings, Mapping) else list(ratings))
    usable = [r for r in items if int(r["year"]) < on.year]
    if not usable:
        return None
    return max(usable, key=lambda r: (int(r["year"]), r.get("position") or 0))


def evaluate_rotation(reference: Any, from_unit: Mapping[str, Any],
                      to_unit: Mapping[str, Any], ratings: Mapping[int, Any] | list,
                      on: date | str) -> dict:
    """The rotation answer for a move on ``on``: ``allowed``, ``rule_in_force`` with the
    reason when it is not, the rating used, and the flag when the move breaches the rule.

    Units are dicts ``{unit_id, level, name, merged_into?, merged_on?}``; the caller passes
    the unit the officer serves in on ``on`` (its successor if it was merged away).
    """
    day = parse_date(on)
    rule = reference.rule(RULE_ID)
    answer: dict[str, Any] = {"rule_id": rule.id, "citation": rule.citation,
                              "rule_in_force": rule.valid_on(day), "rating_used": None,
                              "allowed": True, "flag": None, "reason_vi": "", "reason_en": ""}
    merged_on = parse_date(to_unit.get("merged_on")) if to_unit.get("merged_on") else None
    if to_unit.get("merged_into") and (merged_on is None or merged_on <= day):
        answer.update(allowed=False, reason_code="unit_merged",
                      reason_vi="Đơn vị đến đã được sáp nhập vào đơn vị khác.",
                      reason_en="The target unit was merged into another unit.")
        return answer
    if not answer["rule_in_force"]:
        until = rule.valid_until.isoformat() if rule.valid_until else "?"
        if day < rule.valid_from:  # before the statement: nothing has ended yet
            answer.update(
                reason_vi=(f"Quy định {rule.title_vi[:1].lower()}{rule.title_vi[1:]} chưa có"
                           f" hiệu lực ngày {day.isoformat()} (áp dụng"
                           f" {rule.valid_from.isoformat()} đến {until}): không áp dụng."),
                reason_en=(f"The rule ({rule.title_en}) is not yet in force on {day.isoformat()}"
                           f" (in force {rule.valid_from.isoformat()} to {until}): it does not"
                           " apply."))
            return answer
        answer.update(
            reason_vi=(f"Quy định {rule.title_vi[:1].lower()}{rule.title_vi[1:]} không còn"
                       f" hiệu lực ngày {day.isoformat()} (áp dụng {rule.valid_from.isoformat()}"
                       f" đến {until}; cấp quận đã bỏ từ 2025-07-01): không áp dụng."),
            reason_en=(f"The rule ({rule.title_en}) is not in force on {day.isoformat()}"
                       f" (in force {rule.valid_from.isoformat()} to {until}; the district"
                       " level was abolished on 2025-07-01): it does not apply."))
        return answer
    rating = rating_in_force(ratings, day)
    answer["rating_used"] = rating
    flag = check_rotation(reference, from_unit, to_unit, rating)  # in force: checked above
    if flag is not None:
        answer.update(allowed=False, flag=flag, reason_code=rule.id,
                      reason_vi=flag["message_vi"], reason_en=flag["message_en"])
    else:
        seen = f"{rating['year']}: {rating['rating']}" if rating else "none in force"
        answer.update(reason_vi=f"Không trái quy định (xếp loại đơn vị đang dùng: {seen}).",
                      reason_en=f"Not contrary to the rule (unit rating in force: {seen}).")
    return answer
