"""Weak-ward rotation (Hanoi practice, 2019; rules.toml weak-ward-rotation, in force to
2025-06-30): the rating in force on the move's date, the rule's own dates, merged units,
and the same check inside ``transfer`` (refused unless a reasoned exception is recorded)."""
from __future__ import annotations

import json
from datetime import date

import pytest

from audit_service.errors import RuleViolation
from audit_service.reference import load_reference
from audit_service.rotation import evaluate_rotation, rating_in_force
from tests.conftest import ADMIN, build_app, event_count
from tests.world import build_world, ref

REF = load_reference()
WARD = {"unit_id": "w", "level": "ward", "name": "Phường Phúc Xá"}
DISTRICT = {"unit_id": "d", "level": "district", "name": "Quận Ba Đình"}


def test_the_rating_in_force_is_the_latest_ended_year():
    ratings = [{"year": 2023, "rating": "weak", "position": 1},
               {"year": 2024, "rating": "strong", "position": 2}]
    assert rating_in_force(ratings, date(2024, 6, 1))["year"] == 2023  # 2024 not over yet
    assert rating_in_force(ratings, date(2025, 2, 1))["year"] == 2024
    assert rating_in_force(ratings, date(2023, 6, 1)) is None


def test_a_later_rating_does_not_decide_an_earlier_move():
    ratings = [{"year": 2022, "rating": "average", "position": 1},
               {"year": 2023, "rating": "weak", "position": 2}]
    early = evaluate_rotation(REF, WARD, DISTRICT, ratings, "2023-06-01")
    assert early["allowed"] is True and early["rating_used"]["year"] == 2022
    later = evaluate_rotation(REF, WARD, DISTRICT, ratings, "2024-03-01")
    assert later["allowed"] is False and later["flag"]["rule_id"] == "weak-ward-rotation"


def test_after_the_rule_ends_the_answer_says_it_does_not_apply():
    answer = evaluate_rotation(REF, WARD, DISTRICT, {2024: "weak"}, "2025-08-01")
    assert answer["allowed"] is True and answer["rule_in_force"] is False
    assert "not in force on 2025-08-01" in answer["reason_en"]
    assert "2025-06-30" in answer["reason_en"]


def test_a_merged_target_is_not_a_valid_move():
    merged = {**DISTRICT, "merged_into": "x", "merged_on": "2024-01-01"}
    answer = evaluate_rotation(REF, WARD, merged, {}, "2024-06-01")
    assert answer["allowed"] is False and answer["reason_code"] == "unit_merged"


@pytest.fixture
def app(store_env):
    service = build_app(store_env)
    yield service
    service.close()


def test_transfer_runs_the_rotation_check_and_refuses_without_an_exception(app):
    w = build_world(app)
    app.rate_unit(ADMIN, w.ward, year=2019, rating="weak", source="QĐ 9/QĐ-UBND")
    district = app.get_unit(w.ward).parent_id
    before = event_count(app)
    with pytest.raises(RuleViolation) as e:
        app.transfer_officer(ADMIN, w.officer, to_unit_id=district, effective_on="2020-03-02",
                             decision_ref=ref("40", "2020-02-20"), kind="rotation")
    assert e.value.code == "weak_ward_rotation" and e.value.details["citation"]
    assert event_count(app) == before
    done = app.transfer_officer(ADMIN, w.officer, to_unit_id=district,
                                effective_on="2020-03-02", decision_ref=ref("40", "2020-02-20"),
                                kind="rotation",
                                rotation_exception_reason="Cần cán bộ có chuyên môn đặc thù")
    assert done.positions
    last = app.recorder.select_notifications(start=1, limit=100_000)[-1]
    state = json.loads(last.state)
    assert state["rotation_exception"] == {"rule_id": "weak-ward-rotation",
                                           "reason": "Cần cán bộ có chuyên môn đặc thù"}
    assert state["class_version"] == 2


def test_transfer_after_the_rule_ended_is_not_refused(app):
    w = build_world(app)
    app.rate_unit(ADMIN, w.ward, year=2024, rating="weak", source="QĐ 9/QĐ-UBND")
    district = app.get_unit(w.ward).parent_id
    assert app.transfer_officer(ADMIN, w.officer, to_unit_id=district, effective_on="2025-08-01",
                                decision_ref=ref("41", "2025-07-20"), kind="rotation").positions


def test_upcaster_loads_version_1_transfer(app):
    """An Officer.Transferred stored in its version-1 shape (no rotation_exception) loads."""
    import uuid

    from eventsourcing.persistence import StoredEvent

    w = build_world(app)
    officer = app.get_officer(w.officer)
    d = lambda s: {"_type_": "date_iso", "_data_": s}  # noqa: E731
    v1_state = {
        "from_unit_id": {"_type_": "uuid_hex", "_data_": w.ward.hex},
        "to_unit_id": {"_type_": "uuid_hex", "_data_": w.ward2.hex},
        "effective_on": d("2021-01-04"),
        "decision_ref": {"number": "3", "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
                         "signed_on": d("2020-12-20")},
        "kind": "transfer", "new_position": None, "actor_id": "legacy", "actor_role": "admin",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2021-01-04T01:00:00+00:00"},
        "originator_topic": "audit_service.domain.officers:Officer",
    }
    app.recorder.insert_events([StoredEvent(
        originator_id=officer.id, originator_version=officer.version + 1,
        topic="audit_service.domain.officers:Officer.Transferred",
        state=json.dumps(v1_state).encode())])
    loaded = app.get_officer(w.officer)
    assert loaded.unit_id == w.ward2
    event = app.mapper.to_domain_event(
        app.recorder.select_notifications(start=1, limit=100_000)[-1])
    assert event.rotation_exception is None
    assert isinstance(uuid.UUID(str(event.originator_id)), uuid.UUID)


def test_a_unit_merged_after_the_move_is_not_followed():
    from audit_service.rotation import serving_unit

    units = {"w": {**WARD, "merged_into": "w2", "merged_on": "2024-06-03"},
             "w2": {"unit_id": "w2", "level": "ward", "name": "Phường Trúc Bạch"}}
    before, merged = serving_unit(units["w"], units.__getitem__, "2024-06-02")
    assert before["unit_id"] == "w" and merged == []
    after, merged = serving_unit(units["w"], units.__getitem__, "2024-06-03")
    assert after["unit_id"] == "w2" and [u["unit_id"] for u in merged] == ["w"]
    unknown = {**units["w"], "merged_on": None}  # projected before the date was kept
    assert serving_unit(unknown, units.__getitem__, "2000-01-01")[0]["unit_id"] == "w2"


def test_the_units_read_model_keeps_the_merge_date_and_an_old_store_gets_the_column(store_env):
    """``merged_on`` is filled by the projector from Unit.Merged; a store whose units table
    predates the column gets it from ``create_tables`` (empty), and a rebuild fills it."""
    from projections.projector import Projector, create_tables
    from projections.queries import ReadModels

    app = build_app(store_env)
    try:
        w = build_world(app)
        app.rate_unit(ADMIN, w.ward, year=2023, rating="weak", source="QĐ 9/QĐ-UBND")
        app.merge_unit(ADMIN, w.ward, into_unit_id=w.ward2, effective_on="2024-06-03")
        projector = Projector(app)
        projector.catch_up()
        db = projector.db
        reads = ReadModels(db, app.reference)
        assert reads.unit_merge(str(w.ward))["merged_on"] == "2024-06-03"
        district = str(app.get_unit(w.ward).parent_id)
        early = reads.rotation_on(str(w.ward), district, date(2024, 6, 2))
        late = reads.rotation_on(str(w.ward), district, date(2024, 6, 3))
        assert (early["allowed"], early["from_unit_on"]) == (False, str(w.ward))
        assert (late["allowed"], late["from_unit_on"]) == (True, str(w.ward2))
        # an old store: the column missing, then added empty, then filled by a rebuild
        with db.transaction():
            db.execute("ALTER TABLE units DROP COLUMN merged_on")
        assert "merged_on" not in db.columns("units")
        create_tables(db)
        assert "merged_on" in db.columns("units")
        assert reads.unit_merge(str(w.ward))["merged_on"] is None
        assert reads.rotation_on(str(w.ward), district, date(2024, 6, 2))["allowed"] is True
        projector.rebuild(["directory"])
        assert reads.unit_merge(str(w.ward))["merged_on"] == "2024-06-03"
        assert reads.rotation_on(str(w.ward), district, date(2024, 6, 2))["allowed"] is False
    finally:
        app.close()
