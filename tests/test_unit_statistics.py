"""Unit statistics on histories with overturned appeals, changed forms, moved findings and
transfers, against counts written by hand (not recomputed from the log)."""
from __future__ import annotations

import pytest

from projections.projector import Projector
from projections.queries import ReadModels
from tests.conftest import ADMIN, BOARD, INSPECTOR, build_app
from tests.world import build_world, ref, violation


def _decide(app, officer, number, form, day):
    p = app.open_proceeding(BOARD, officer_id=officer, violations=[violation("2024-03-01")],
                            opened_on="2024-03-20")
    return app.decide_proceeding(BOARD, p.id, form=form, decision_ref=ref(number, day),
                                 effective_from=day).id


@pytest.fixture
def stats(store_env):
    """A ward's 2024: two findings, one moved to another officer; three decisions, one
    overturned on appeal, one changed on appeal; then an officer transferred to ward2 and
    disciplined there."""
    app = build_app(store_env)
    w = build_world(app)
    # world: one finding (officer, qd522-late) in the ward's 2024 inspection
    app.record_finding(INSPECTOR, w.inspection, officer_id=w.leader, conduct_code="dossier-overdue",
                       description="Hồ sơ quá hạn", observed_at="2024-03-02T09:00:00+07:00")
    app.correct_finding(INSPECTOR, w.inspection, w.finding, reason="Nhầm người",
                        officer_id=w.leader)
    overturned = _decide(app, w.officer, "80", "khien_trach", "2024-04-01")
    aid = app.lodge_appeal(BOARD, overturned, lodged_on="2024-04-05", grounds="Sai").id
    app.resolve_appeal(BOARD, overturned, aid, outcome="overturned", resolved_on="2024-05-01")
    changed = _decide(app, w.vien_chuc, "81", "canh_cao", "2024-04-01")
    aid = app.lodge_appeal(BOARD, changed, lodged_on="2024-04-05", grounds="Nặng").id
    app.resolve_appeal(BOARD, changed, aid, outcome="form_changed", new_form="khien_trach",
                       resolved_on="2024-05-01")
    _decide(app, w.leader, "82", "canh_cao", "2024-04-01")
    app.transfer_officer(ADMIN, w.officer, to_unit_id=w.ward2, effective_on="2024-06-01",
                         decision_ref=ref("83", "2024-05-20"))
    _decide(app, w.officer, "84", "canh_cao", "2024-09-02")
    projector = Projector(app)
    projector.catch_up()
    models = ReadModels(projector.db, app.reference)
    yield w, models
    projector.db.close()
    app.close()


def test_a_finding_moved_to_another_officer_counts_only_the_new_one(stats):
    w, models = stats
    s = models.unit_statistics(w.ward, 2024, subunits=False)
    assert s["findings"] == 2
    assert s["findings_by_conduct_code"] == {"dossier-overdue": 1, "qd522-late": 1}
    assert s["officers_with_findings"] == 1  # both findings are the leader's now


def test_overturned_decisions_are_not_counted_and_changed_forms_count_as_changed(stats):
    w, models = stats
    s = models.unit_statistics(w.ward, 2024, subunits=False)
    # officer: overturned (not counted); vien_chuc: warning changed to reprimand; leader: warning
    assert s["officers_disciplined"] == 2
    assert s["disciplined_by_form"] == {"canh_cao": 1, "khien_trach": 1}
    assert s["proceedings_opened"] == 3


def test_a_transfer_counts_later_facts_in_the_new_unit(stats):
    w, models = stats
    ward2 = models.unit_statistics(w.ward2, 2024, subunits=False)
    assert ward2["officers_disciplined"] == 1
    assert ward2["disciplined_by_form"] == {"canh_cao": 1}
    assert ward2["findings"] == 0
    district = models.unit_statistics(w.city, 2024)
    assert district["officers_disciplined"] == 3  # vien_chuc, leader, and officer in ward2
    assert district["disciplined_by_form"] == {"canh_cao": 2, "khien_trach": 1}


# --------------------------------------------------------------------------- the counting rule

def test_no_facts_count_nothing():
    from projections.queries import count_facts

    assert count_facts([]) == {
        "inspections": 0, "findings": 0, "findings_by_conduct_code": {},
        "officers_with_findings": 0, "proceedings_opened": 0, "officers_disciplined": 0,
        "disciplined_by_form": {}, "rating_distribution": {}}


def test_count_facts_against_a_hand_counted_table():
    """Fact rows as the statistics projection writes them (position, kind, subject, officer,
    detail), with the totals counted by hand in the comments."""
    from projections.queries import count_facts

    facts = [
        (1, "inspection", "i1", None, None),
        (2, "inspection", "i2", None, None),                     # inspections: 2
        (3, "finding", "f1", "o1", "qd522-late"),
        (4, "finding", "f2", "o2", "qd522-late"),
        (5, "finding", "f3", None, "dossier-overdue"),           # a finding about no officer
        (6, "finding", "f4", "o3", "qd522-absent"),
        (7, "finding_corrected", "f2", None,                     # f2 moved to o4, new code
         '{"conduct_code": "qd522-absent", "officer_id": "o4"}'),
        (8, "finding_withdrawn", "f4", None, None),              # f4 no longer counts
        (9, "finding_corrected", "zz", None, '{"conduct_code": "x", "officer_id": "o9"}'),
        (10, "finding_withdrawn", "zz", None, None),             # unknown findings: ignored
        (11, "proceeding", "p1", "o1", None),
        (12, "proceeding", "p2", "o2", None),
        (13, "proceeding", "p3", "o5", None),                    # proceedings opened: 3
        (14, "decision", "d1", "o1", "khien_trach"),
        (15, "decision", "d2", "o2", "canh_cao"),
        (16, "decision", "d3", "o5", "canh_cao"),
        (17, "decision", "d4", "o1", "khien_trach"),             # o1 twice, same form
        (18, "decision", "d5", "o6", "cach_chuc"),
        (19, "decision_changed", "d2", None, "form:khien_trach"),  # d2 now khien_trach
        (20, "decision_changed", "d3", None, "overturned"),      # d3 no longer counts
        (21, "decision_changed", "d5", None, "annulled"),        # d5 no longer counts
        (22, "decision_changed", "d1", None, "upheld"),          # no change
        (23, "decision_changed", "zz", None, "annulled"),        # unknown decision: ignored
        (24, "rating", "r1", "o1", "HTTNV"),
        (25, "rating", "r2", "o2", "HTNV"),
        (26, "rating", "r3", "o3", "HTTNV"),
        (27, "rating_corrected", "r2", "o2", "HTXSNV"),          # r2 now HTXSNV
    ]
    assert count_facts(facts) == {
        "inspections": 2,
        "findings": 3,                                           # f1, f2, f3
        "findings_by_conduct_code": {"dossier-overdue": 1, "qd522-absent": 1, "qd522-late": 1},
        "officers_with_findings": 2,                             # o1, o4 (f3 has none)
        "proceedings_opened": 3,
        "officers_disciplined": 2,                               # o1 (d1, d4), o2 (d2)
        "disciplined_by_form": {"khien_trach": 2},               # o1 and o2
        "rating_distribution": {"HTTNV": 2, "HTXSNV": 1},
    }
    # keys come out sorted whatever the order of the facts
    assert list(count_facts(facts)["findings_by_conduct_code"]) == \
        ["dossier-overdue", "qd522-absent", "qd522-late"]
    assert list(count_facts(list(reversed(facts[23:])))["rating_distribution"]) == \
        ["HTNV", "HTTNV"]


def test_the_answer_says_what_it_counted_and_as_of_when(stats):
    w, models = stats
    one = models.unit_statistics(w.ward, "2024", subunits=False)
    assert (one["unit_id"], one["year"], one["as_of"], one["subunits"], one["units_counted"]) \
        == (str(w.ward), 2024, None, False, 1)
    # the city: itself, the district and the district's two wards
    city = models.unit_statistics(w.city, 2024)
    assert (city["subunits"], city["units_counted"]) == (True, 4)
    assert city["proceedings_opened"] == 4 and city["officers_disciplined"] == 3
    # as of a moment before anything was recorded: nothing counted, the bound in UTC
    before = models.unit_statistics(w.city, 2024, as_of="2000-01-01T07:00:00+07:00")
    assert before["as_of"] == "2000-01-01T00:00:00.000000+00:00"
    assert (before["proceedings_opened"], before["findings"], before["inspections"]) == (0, 0, 0)
    # another year holds none of these facts
    assert models.unit_statistics(w.city, 2023)["proceedings_opened"] == 0


def test_statistics_of_a_unit_alone_or_with_its_subtree(stats):
    w, models = stats
    tree = models.subtree(w.city)  # the city, its one district, the district's two wards
    assert len(tree) == 4 and tree[0] == str(w.city) and tree[2:] == [str(w.ward), str(w.ward2)]
    assert models.subtree(w.ward) == [str(w.ward)]
    alone = models.unit_statistics(w.city, 2024, subunits=False)
    assert alone["units_counted"] == 1 and alone["proceedings_opened"] == 0
    district = models.unit_statistics(tree[1], 2024)
    assert district["units_counted"] == 3 and district["proceedings_opened"] == 4
    # as of a moment after everything: the same as now
    later = models.unit_statistics(tree[1], 2024, as_of="2100-01-01T00:00:00+00:00")
    assert {k: v for k, v in later.items() if k != "as_of"} == \
        {k: v for k, v in district.items() if k != "as_of"}
