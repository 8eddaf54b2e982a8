"""The weak-ward rotation answer against hand-written expectations, each row with its source.

Oracles, not recomputations: every expected answer below is written out in full from the
rule's text (rules.toml ``weak-ward-rotation``: Hanoi's 2019 statement "chấm dứt luân chuyển
cán bộ từ phường yếu lên công tác ở quận", in force 2019-01-01 to 2025-06-30, the district
level's last day) and the domain notes ("use the ward's rating known and in force on the day
of the move"); dates sit on the day before, of and after each boundary: the rule's first and
last day, the end of the rated year, and a target unit's merger.
"""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from audit_service.reference import load_reference
from audit_service.rotation import (check_rotation, evaluate_rotation, rating_in_force,
                                    serving_unit)

REF = load_reference()

HN2019 = ("Chủ trương của TP Hà Nội (2019): chấm dứt luân chuyển cán bộ từ phường yếu lên"
          " công tác ở quận")  # rules.toml weak-ward-rotation, its citation
MERGER = ("units.toml / Unit.merged_by: a unit merged on a day no longer exists from that day"
          " (Luật Tổ chức chính quyền địa phương; sắp xếp đơn vị hành chính 2025)")
IN_FORCE = "domain notes: the ward's rating known and in force on the day of the move"

WARD = {"unit_id": "w", "level": "ward", "name": "Phường Phúc Xá"}
DISTRICT = {"unit_id": "d", "level": "district", "name": "Quận Ba Đình"}
SERVING = "w"  # from_unit_on: the id of the unit the officer serves in on the move's day

FLAG_VI = ("Luân chuyển từ Phường Phúc Xá (phường, xếp loại yếu năm {year}) lên Quận Ba Đình"
           " (quận, huyện, thị xã, cấp cao hơn): trái chủ trương chấm dứt luân chuyển cán bộ"
           " từ phường yếu lên công tác ở quận.")
FLAG_EN = ("Rotation from Phường Phúc Xá (ward, rated weak in {year}) up to Quận Ba Đình"
           " (district (urban or rural) or town, a higher level): contrary to the policy: no"
           " rotation of officials from weak wards up to district level.")


def refused(year: int, position: int | None) -> dict:
    """The answer for a move the rule refuses: the flag and its texts, from the rule."""
    flag = {"rule_id": "weak-ward-rotation", "outcome": "not_allowed", "citation": HN2019,
            "message_vi": FLAG_VI.format(year=year), "message_en": FLAG_EN.format(year=year),
            "positions": [position] if position is not None else []}
    return {"rule_id": "weak-ward-rotation", "citation": HN2019, "rule_in_force": True,
            "from_unit_on": SERVING,
            "rating_used": {"year": year, "rating": "weak", "position": position},
            "allowed": False, "flag": flag, "review": False,
            "reason_code": "weak-ward-rotation",
            "reason_vi": flag["message_vi"], "reason_en": flag["message_en"]}


def allowed(rating: dict | None) -> dict:
    seen = f"{rating['year']}: {rating['rating']}" if rating else "none in force"
    return {"rule_id": "weak-ward-rotation", "citation": HN2019, "rule_in_force": True,
            "from_unit_on": SERVING, "rating_used": rating, "allowed": True, "flag": None, "review": False,
            "reason_vi": f"Không trái quy định (xếp loại đơn vị đang dùng: {seen}).",
            "reason_en": f"Not contrary to the rule (unit rating in force: {seen})."}


def merged(when: str) -> dict:
    """A target merged away by the move's day; the reason names the merger's effective date
    (``?`` when the record has none, as the merged-away steps of a source unit do)."""
    return {"rule_id": "weak-ward-rotation", "citation": HN2019,
            "rule_in_force": None,  # filled per row: the rule's own dates still answer this
            "from_unit_on": SERVING, "rating_used": None, "allowed": False, "flag": None, "review": False,
            "reason_code": "unit_merged",
            "reason_vi": f"Đơn vị đến đã được sáp nhập vào đơn vị khác từ ngày {when}.",
            "reason_en": f"The target unit was merged into another unit on {when}."}


def ended(day: str) -> dict:
    return {"rule_id": "weak-ward-rotation", "citation": HN2019, "rule_in_force": False,
            "from_unit_on": SERVING, "rating_used": None, "allowed": True, "flag": None, "review": False,
            "reason_vi": ("Quy định chấm dứt luân chuyển cán bộ từ phường yếu lên công tác ở quận"
                          f" không còn hiệu lực ngày {day} (áp dụng 2019-01-01 đến 2025-06-30;"
                          " cấp quận đã bỏ từ 2025-07-01): không áp dụng."),
            "reason_en": ("The rule (No rotation of officials from weak wards up to district"
                          f" level) is not in force on {day} (in force 2019-01-01 to 2025-06-30;"
                          " the district level was abolished on 2025-07-01): it does not"
                          " apply.")}


def not_yet(day: str, until: str = "2025-06-30") -> dict:
    return {"rule_id": "weak-ward-rotation", "citation": HN2019, "rule_in_force": False,
            "from_unit_on": SERVING, "rating_used": None, "allowed": True, "flag": None, "review": False,
            "reason_vi": ("Quy định chấm dứt luân chuyển cán bộ từ phường yếu lên công tác ở quận"
                          f" chưa có hiệu lực ngày {day} (áp dụng 2019-01-01 đến {until}):"
                          " không áp dụng."),
            "reason_en": ("The rule (No rotation of officials from weak wards up to district"
                          f" level) is not yet in force on {day} (in force 2019-01-01 to"
                          f" {until}): it does not apply.")}


def rated(year: int, rating: str, position: int) -> dict:
    return {"year": year, "rating": rating, "position": position}


# (case, ratings (read-side list), move date, expected answer, source)
RATINGS_LIST = [
    ("weak 2023, moved on the last day of 2023: the 2023 rating is not yet in force",
     [rated(2023, "weak", 4)], "2023-12-31", allowed(None), IN_FORCE),
    ("weak 2023, moved on the first day of 2024", [rated(2023, "weak", 4)], "2024-01-01",
     refused(2023, 4), f"{HN2019}; {IN_FORCE}"),
    ("weak 2022 then average 2023: the latest ended year decides",
     [rated(2022, "weak", 2), rated(2023, "average", 5)], "2024-06-03",
     allowed(rated(2023, "average", 5)), IN_FORCE),
    ("average 2022 then weak 2023, listed out of order",
     [rated(2023, "weak", 5), rated(2022, "average", 2)], "2024-06-03",
     refused(2023, 5), f"{HN2019}; {IN_FORCE}"),
    ("weak 2023 corrected to average: the correction (the later position) is in force",
     [rated(2023, "weak", 3), rated(2023, "average", 8)], "2024-06-03",
     allowed(rated(2023, "average", 8)), IN_FORCE),
    ("average 2023 corrected to weak, the correction listed first",
     [rated(2023, "weak", 8), rated(2023, "average", 3)], "2024-06-03",
     refused(2023, 8), f"{HN2019}; {IN_FORCE}"),
    ("strong 2023", [rated(2023, "strong", 1)], "2024-06-03", allowed(rated(2023, "strong", 1)),
     HN2019),
    ("no rating at all", [], "2024-06-03", allowed(None), IN_FORCE),
    # the rule's own dates: 2019-01-01 (the statement's year) to 2025-06-30
    ("weak 2018, moved on 2018-12-31, before the statement", [rated(2018, "weak", 1)],
     "2018-12-31", not_yet("2018-12-31"), HN2019),
    ("weak 2018, moved on 2019-01-01, the rule's first day", [rated(2018, "weak", 1)],
     "2019-01-01", refused(2018, 1), HN2019),
    ("weak 2024, moved on 2025-06-30, the district level's last day", [rated(2024, "weak", 6)],
     "2025-06-30", refused(2024, 6), HN2019),
    ("weak 2024, moved on 2025-07-01: no district level any more", [rated(2024, "weak", 6)],
     "2025-07-01", ended("2025-07-01"), HN2019),
]


@pytest.mark.parametrize("case,ratings,on,expected,source", RATINGS_LIST,
                         ids=[r[0] for r in RATINGS_LIST])
def test_rotation_answer_table(case, ratings, on, expected, source):
    assert evaluate_rotation(REF, WARD, DISTRICT, ratings, on) == expected, (case, source)


def test_a_date_object_and_its_text_give_the_same_answer():
    assert evaluate_rotation(REF, WARD, DISTRICT, [rated(2023, "weak", 4)], date(2024, 1, 1)) \
        == refused(2023, 4)


def test_ratings_given_as_a_year_mapping_carry_no_position():
    # the service's write side passes the unit's {year: rating}; there are no log positions
    assert evaluate_rotation(REF, WARD, DISTRICT, {2022: "average", 2023: "weak"},
                             "2024-06-03") == refused(2023, None)
    assert evaluate_rotation(REF, WARD, DISTRICT, {2023: "average"}, "2024-06-03") == \
        allowed({"year": 2023, "rating": "average", "position": None})
    assert rating_in_force({2023: "weak", 2024: "average"}, date(2025, 1, 1)) == \
        {"year": 2024, "rating": "average", "position": None}


# (case, target's merger fields, move date, the merger date the refusal names (None: not
# merged), rule in force?, source). The target unit was merged on 2024-02-29: it no longer
# exists from that day (the same reading as Unit.merged_by).
MERGERS = [
    ("moved the day before the merger", {"merged_into": "x", "merged_on": "2024-02-29"},
     "2024-02-28", None, True, MERGER),
    ("moved on the day of the merger", {"merged_into": "x", "merged_on": "2024-02-29"},
     "2024-02-29", "2024-02-29", True, MERGER),
    ("moved the day after the merger", {"merged_into": "x", "merged_on": "2024-02-29"},
     "2024-03-01", "2024-02-29", True, MERGER),
    ("merged, its date unknown", {"merged_into": "x"}, "2020-01-06", "?", True, MERGER),
    ("merged, its date given as a date", {"merged_into": "x", "merged_on": date(2024, 2, 29)},
     "2024-02-28", None, True, MERGER),
    ("merged by a date object, moved on that day", {"merged_into": "x",
                                                    "merged_on": date(2024, 2, 29)},
     "2024-02-29", "2024-02-29", True, MERGER),
    ("a merger date without a successor is no merger", {"merged_on": "2024-02-29"},
     "2024-06-03", None, True, MERGER),
    ("merged after the weak-ward rule ended: still merged", {"merged_into": "x",
                                                              "merged_on": "2025-07-01"},
     "2025-08-01", "2025-07-01", False, f"{MERGER}; {HN2019}"),
]


@pytest.mark.parametrize("case,fields,on,named,in_force,source", MERGERS,
                         ids=[r[0] for r in MERGERS])
def test_merged_target_table(case, fields, on, named, in_force, source):
    target = {**DISTRICT, **fields}
    answer = evaluate_rotation(REF, WARD, target, [rated(2022, "strong", 1)], on)
    if named is not None:
        assert answer == {**merged(named), "rule_in_force": in_force}, (case, source)
    else:
        assert answer == allowed(rated(2022, "strong", 1)), (case, source)


def test_a_weak_ward_moved_up_the_day_before_the_target_merged_is_still_refused():
    # both rules at once: the unit still exists on 2024-02-28, so the weak-ward rule answers
    target = {**DISTRICT, "merged_into": "x", "merged_on": "2024-02-29"}
    assert evaluate_rotation(REF, WARD, target, [rated(2023, "weak", 2)], "2024-02-28") == \
        refused(2023, 2)


def test_an_open_ended_rule_before_its_start_says_so():
    # A rule with no end date (rules.toml: valid_until absent means open-ended) is not yet in
    # force before its start; the reason must not invent an end date.
    class OpenEnded:
        unit_levels = REF.unit_levels

        def rule(self, rule_id):
            return dataclasses.replace(REF.rule(rule_id), valid_until=None)

    assert evaluate_rotation(OpenEnded(), WARD, DISTRICT, [rated(2018, "weak", 1)],
                             "2018-12-31") == not_yet("2018-12-31", until="?")
    assert evaluate_rotation(OpenEnded(), WARD, DISTRICT, [rated(2024, "weak", 1)],
                             "2026-01-05")["allowed"] is False


def test_check_rotation_on_an_empty_unit_raises_no_flag():
    # a unit without a level (an empty record) has no rank to compare
    weak = {"year": 2023, "rating": "weak", "position": 1}
    assert check_rotation(REF, {}, DISTRICT, weak) is None
    assert check_rotation(REF, WARD, {}, weak) is None


# A source ward merged away before the move: the caller passes the successor it serves in
# (serving_unit) and the merged-away wards, which every answer names (rules.toml
# weak-ward-rotation note: followed to its successor when the merge took effect on or before
# the move; the successor's rating in force decides). The merge is dated 2008-08-01 (the day
# Hà Tây joined Hanoi, Nghị quyết 15/2008/QH12), older than the rule itself.
OLD = {"unit_id": "o", "level": "ward", "name": "Phường Cũ", "merged_into": "w",
       "merged_on": "2008-08-01"}
MERGED_SOURCE = "domain notes: rotation through merged units (rules.toml weak-ward-rotation)"


def via(day: str) -> tuple[str, str]:
    return (f" Đơn vị của cán bộ đã sáp nhập trước ngày {day} (Phường Cũ sáp nhập ngày"
            " 2008-08-01): xét theo Phường Phúc Xá và xếp loại của đơn vị này.",
            f" The officer's unit had been merged by {day} (Phường Cũ merged on 2008-08-01):"
            " judged as Phường Phúc Xá, by its ratings.")


def with_via(answer: dict, day: str) -> dict:
    v_vi, v_en = via(day)
    return {**answer, "reason_vi": answer["reason_vi"] + v_vi,
            "reason_en": answer["reason_en"] + v_en}


# (case, ratings of the successor, move date, expected answer before the steps, source)
MERGED_SOURCES = [
    ("before the rule: not yet in force", [rated(2018, "weak", 1)], "2018-12-31",
     not_yet("2018-12-31"), f"{HN2019}; {MERGED_SOURCE}"),
    ("the successor rated weak: refused", [rated(2023, "weak", 4)], "2024-01-01",
     refused(2023, 4), f"{HN2019}; {MERGED_SOURCE}"),
    ("the successor rated average: allowed", [rated(2023, "average", 4)], "2024-01-01",
     allowed(rated(2023, "average", 4)), f"{HN2019}; {MERGED_SOURCE}"),
    ("after the district level: ended", [rated(2024, "weak", 6)], "2025-07-01",
     ended("2025-07-01"), f"{HN2019}; {MERGED_SOURCE}"),
]


@pytest.mark.parametrize("case,ratings,on,expected,source", MERGED_SOURCES,
                         ids=[r[0] for r in MERGED_SOURCES])
def test_a_merged_source_is_named_in_every_answer(case, ratings, on, expected, source):
    units = {"o": OLD, "w": WARD}
    unit, merged_away = serving_unit(OLD, units.__getitem__, on)
    assert (unit, merged_away) == (WARD, [OLD])
    answer = evaluate_rotation(REF, unit, DISTRICT, ratings, on, merged_away=merged_away)
    assert answer == with_via(expected, on), (case, source)


def test_a_merge_after_the_move_is_not_followed():
    # the ward is served as itself the day before its merge took effect
    units = {"o": OLD, "w": WARD}
    assert serving_unit(OLD, units.__getitem__, "2008-07-31") == (OLD, [])
    assert serving_unit(OLD, units.__getitem__, "2008-08-01") == (WARD, [OLD])


def test_a_chain_of_merges_names_every_step_and_a_nameless_unit_by_its_id():
    # two merges before the move, the older one of a unit with no name and no date on record
    older = {"unit_id": "o2", "level": "ward", "merged_into": "o"}
    units = {"o2": older, "o": OLD, "w": WARD}
    unit, merged_away = serving_unit(older, units.__getitem__, "2024-01-01")
    assert (unit, merged_away) == (WARD, [older, OLD])
    answer = evaluate_rotation(REF, unit, DISTRICT, [rated(2023, "weak", 4)], "2024-01-01",
                               merged_away=merged_away)
    assert answer["reason_en"] == (
        FLAG_EN.format(year=2023) + " The officer's unit had been merged by 2024-01-01 (o2 merged"
        " on ?; Phường Cũ merged on 2008-08-01): judged as Phường Phúc Xá, by its ratings.")
    assert answer["reason_vi"] == (
        FLAG_VI.format(year=2023) + " Đơn vị của cán bộ đã sáp nhập trước ngày 2024-01-01 (o2 sáp"
        " nhập ngày ?; Phường Cũ sáp nhập ngày 2008-08-01): xét theo Phường Phúc Xá và xếp loại"
        " của đơn vị này.")
    nameless = {"unit_id": "w9", "level": "ward"}
    got = evaluate_rotation(REF, nameless, DISTRICT, [], "2024-01-01", merged_away=[OLD])
    assert got["from_unit_on"] == "w9"
    assert got["reason_en"].endswith("): judged as w9, by its ratings.")
    assert got["reason_vi"].endswith("): xét theo w9 và xếp loại của đơn vị này.")


def test_a_merge_cycle_in_bad_data_is_followed_once():
    # a record merged back into a unit already passed: stop there, never loop
    a = {"unit_id": "a", "level": "ward", "merged_into": "b", "merged_on": "2020-01-01"}
    b = {"unit_id": "b", "level": "ward", "merged_into": "a", "merged_on": "2021-01-01"}
    assert serving_unit(a, {"a": a, "b": b}.__getitem__, "2024-01-01") == (b, [a])
    b2 = {**b, "merged_into": "c"}
    c = {"unit_id": "c", "level": "ward", "merged_into": "b", "merged_on": "2022-01-01"}
    assert serving_unit(a, {"a": a, "b": b2, "c": c}.__getitem__, "2024-01-01") == (c, [a, b2])


CITY = {"unit_id": "c", "level": "city", "name": "UBND Thành phố"}
DEPARTMENT = {"unit_id": "s", "level": "department", "name": "Sở Nội vụ"}
COMMUNE = {"unit_id": "x", "level": "commune", "name": "Xã Đông Anh"}
OUTSIDE_VI = (" Đơn vị đi xếp loại yếu và đơn vị đến ở cấp cao hơn, nhưng chủ trương chỉ nêu từ"
              " ward lên district: ngoài phạm vi câu chữ, cần xem xét.")
OUTSIDE_EN = (" The unit is rated weak and the target is a higher level, but the statement"
              " names ward to district only: outside its words; needs review.")
NAMED = ("rules.toml weak-ward-rotation params from_level = ward, to_level = district: the 2019"
         " statement names 'phường yếu lên quận' only (domain notes, Rotation)")


@pytest.mark.parametrize("case, source_unit, target, rating, review", [
    ("weak ward to the city: outside the statement's words", WARD, CITY, "weak", True),
    ("weak ward to a city department", WARD, DEPARTMENT, "weak", True),
    ("weak commune to a district", COMMUNE, DISTRICT, "weak", True),
    ("average ward to the city: nothing to weigh", WARD, CITY, "average", False),
    ("weak ward to another ward: not up", WARD, {**WARD, "unit_id": "w2"}, "weak", False),
])
def test_moves_up_outside_the_named_levels_are_allowed_and_said(case, source_unit, target,
                                                                  rating, review):
    used = rated(2022, rating, 7)
    answer = evaluate_rotation(REF, source_unit, target, [used], date(2023, 3, 1))
    seen = f"2022: {rating}"
    assert answer == {
        "rule_id": "weak-ward-rotation", "citation": HN2019, "rule_in_force": True,
        "from_unit_on": source_unit["unit_id"], "rating_used": used, "allowed": True,
        "flag": None, "review": review,
        "reason_vi": f"Không trái quy định (xếp loại đơn vị đang dùng: {seen})."
                     + (OUTSIDE_VI if review else ""),
        "reason_en": f"Not contrary to the rule (unit rating in force: {seen})."
                     + (OUTSIDE_EN if review else "")}, (case, NAMED)
    assert check_rotation(REF, source_unit, target, used) is None, case
