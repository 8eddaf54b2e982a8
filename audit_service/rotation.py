"""Weak-ward rotation check (Hanoi practice, 2019): no rotation of officials from weak wards up.

``check_rotation(reference, from_unit, to_unit, from_unit_latest_rating)`` returns a flag when
an officer moves from a unit whose latest rating is ``weak`` to a unit of a higher level
(smaller ``rank`` in ``reference.unit_levels``) between the levels the rule names (its params
``from_level`` and ``to_level``: ward to district), else None. Other moves up from a weak unit
are allowed with ``review`` set in ``evaluate_rotation``'s answer. Pure: no I/O, no clock.

Units are dicts ``{unit_id, level, name}``; the rating is ``{year, rating, position}``.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

from .clock import parse_date



__all__ = ["check_rotation", "evaluate_rotation", "rating_in_force", "serving_unit", "RULE_ID",
           "WEAK"]

RULE_ID = "weak-ward-rotation"
WEAK = "weak"  # the unit-rating value (strong | average | weak) the rule is about


def _level(reference: Any, unit: Mapping[str, Any]) -> Any:
    return reference.unit_levels.get(unit.get("level"))


def _named_levels(rule: Any, from_unit: Mapping[str, Any], to_unit: Mapping[str, Any]) -> bool:
    """Whether the move is between the levels the rule names (params ``from_level`` and
    ``to_level``: the 2019 statement names weak wards to the district level only)."""
    wanted = (rule.params.get("from_level"), rule.params.get("to_level"))
    return all(w is None or u.get("level") == w
               for w, u in zip(wanted, (from_unit, to_unit)))


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
    if not _named_levels(rule, from_unit, to_unit):
        return None
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


def merged_by(unit: Mapping[str, Any], day: date) -> bool:
    """Whether ``unit`` had been merged into another by ``day`` (its Unit.Merged effective
    date on or before it; a merge of unknown date counts as done)."""
    if not unit.get("merged_into"):
        return False
    merged_on = parse_date(unit.get("merged_on")) if unit.get("merged_on") else None
    return merged_on is None or merged_on <= day


def serving_unit(unit: Mapping[str, Any], lookup: Callable[[str], Mapping[str, Any]],
                 on: date | str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The unit an officer of ``unit`` serves in on ``on``: followed through every merge that
    had taken effect by then, never through one that takes effect later; with the units
    merged away on the way (oldest first). ``lookup`` gives a unit dict by id. The read
    side (rotation-check) and the write side (transfer) both pick the source unit so."""
    day = parse_date(on)
    merged: list[Mapping[str, Any]] = []
    seen = {str(unit.get("unit_id"))}
    while merged_by(unit, day) and str(unit["merged_into"]) not in seen:
        merged.append(unit)
        unit = lookup(str(unit["merged_into"]))
        seen.add(str(unit.get("unit_id")))
    return unit, merged


def evaluate_rotation(reference: Any, from_unit: Mapping[str, Any],
                      to_unit: Mapping[str, Any], ratings: Mapping[int, Any] | list,
                      on: date | str, *, merged_away: list | tuple = ()) -> dict:
    """The rotation answer for a move on ``on``: ``allowed``, ``rule_in_force`` with the
    reason when it is not, the rating used, and the flag when the move breaches the rule.

    Units are dicts ``{unit_id, level, name, merged_into?, merged_on?}``; the caller passes
    the unit the officer serves in on ``on`` (``serving_unit``: its successor if it was
    merged away by then) and, in ``merged_away``, the units it was followed from (named in
    the reason). A target unit merged away by ``on`` is not allowed (``unit_merged``).
    """
    day = parse_date(on)
    rule = reference.rule(RULE_ID)
    answer: dict[str, Any] = {"rule_id": rule.id, "citation": rule.citation,
                              "rule_in_force": rule.valid_on(day), "rating_used": None,
                              "allowed": True, "flag": None, "review": False,
                              "reason_vi": "", "reason_en": "",
                              "from_unit_on": str(from_unit.get("unit_id"))}
    if merged_by(to_unit, day):
        when = to_unit.get("merged_on") or "?"
        answer.update(allowed=False, reason_code="unit_merged",
                      reason_vi=f"Đơn vị đến đã được sáp nhập vào đơn vị khác từ ngày {when}.",
                      reason_en=f"The target unit was merged into another unit on {when}.")
        return answer
    via_vi = via_en = ""
    if merged_away:
        src_name = from_unit.get("name") or from_unit.get("unit_id")
        steps_vi = "; ".join(f"{u.get('name') or u.get('unit_id')} sáp nhập ngày"
                             f" {u.get('merged_on') or '?'}" for u in merged_away)
        steps_en = "; ".join(f"{u.get('name') or u.get('unit_id')} merged on"
                             f" {u.get('merged_on') or '?'}" for u in merged_away)
        via_vi = (f" Đơn vị của cán bộ đã sáp nhập trước ngày {day.isoformat()} ({steps_vi}):"
                  f" xét theo {src_name} và xếp loại của đơn vị này.")
        via_en = (f" The officer's unit had been merged by {day.isoformat()} ({steps_en}):"
                  f" judged as {src_name}, by its ratings.")
    if not answer["rule_in_force"]:
        until = rule.valid_until.isoformat() if rule.valid_until else "?"
        if day < rule.valid_from:  # before the statement: nothing has ended yet
            answer.update(
                reason_vi=(f"Quy định {rule.title_vi[:1].lower()}{rule.title_vi[1:]} chưa có"
                           f" hiệu lực ngày {day.isoformat()} (áp dụng"
                           f" {rule.valid_from.isoformat()} đến {until}): không áp dụng.{via_vi}"),
                reason_en=(f"The rule ({rule.title_en}) is not yet in force on {day.isoformat()}"
                           f" (in force {rule.valid_from.isoformat()} to {until}): it does not"
                           f" apply.{via_en}"))
            return answer
        answer.update(
            reason_vi=(f"Quy định {rule.title_vi[:1].lower()}{rule.title_vi[1:]} không còn"
                       f" hiệu lực ngày {day.isoformat()} (áp dụng {rule.valid_from.isoformat()}"
                       f" đến {until}; cấp quận đã bỏ từ 2025-07-01): không áp dụng.{via_vi}"),
            reason_en=(f"The rule ({rule.title_en}) is not in force on {day.isoformat()}"
                       f" (in force {rule.valid_from.isoformat()} to {until}; the district"
                       f" level was abolished on 2025-07-01): it does not apply.{via_en}"))
        return answer
    rating = rating_in_force(ratings, day)
    answer["rating_used"] = rating
    flag = check_rotation(reference, from_unit, to_unit, rating)  # in force: checked above
    if flag is not None:
        answer.update(allowed=False, flag=flag, reason_code=rule.id,
                      reason_vi=flag["message_vi"] + via_vi,
                      reason_en=flag["message_en"] + via_en)
    else:
        seen = f"{rating['year']}: {rating['rating']}" if rating else "none in force"
        outside_vi = outside_en = ""
        if _weak_upward_outside(reference, rule, from_unit, to_unit, rating):
            answer["review"] = True
            outside_vi = (f" Đơn vị đi xếp loại yếu và đơn vị đến ở cấp cao hơn, nhưng chủ"
                          f" trương chỉ nêu từ {rule.params.get('from_level')} lên"
                          f" {rule.params.get('to_level')}: ngoài phạm vi câu chữ, cần xem xét.")
            outside_en = (f" The unit is rated weak and the target is a higher level, but the"
                          f" statement names {rule.params.get('from_level')} to"
                          f" {rule.params.get('to_level')} only: outside its words; needs"
                          f" review.")
        answer.update(reason_vi=f"Không trái quy định (xếp loại đơn vị đang dùng: {seen})."
                                f"{outside_vi}{via_vi}",
                      reason_en=f"Not contrary to the rule (unit rating in force: {seen})."
                                f"{outside_en}{via_en}")
    return answer


def _weak_upward_outside(reference: Any, rule: Any, from_unit: Mapping[str, Any],
                         to_unit: Mapping[str, Any], rating: Mapping[str, Any] | None) -> bool:
    """A move up from a weak unit between levels the rule does not name (e.g. a weak ward to
    a city department): not refused, but said, so a board can weigh it."""
    if not rating or rating.get("rating") != WEAK:
        return False
    src, dst = _level(reference, from_unit), _level(reference, to_unit)
    return (src is not None and dst is not None and dst.rank < src.rank
            and not _named_levels(rule, from_unit, to_unit))
