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
