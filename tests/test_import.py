"""`audit-service import`: bulk import through the service's rules, in whole batches,
with bad records reported by line, and re-runs appending nothing."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from audit_service.importing import import_records
from scripts.cli import main
from tests.conftest import build_app, event_count


def ref(number, signed_on):
    return {"number": number, "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
            "signed_on": signed_on}


RECORDS = [
    {"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"},
    {"type": "unit", "code": "D-TH", "name": "Quận Tây Hồ", "level": "district",
     "parent_code": "01"},
    {"type": "unit", "code": "W-QA", "name": "Phường Quảng An", "level": "ward",
     "parent_code": "D-TH"},
    {"type": "unit_rating", "unit_code": "W-QA", "year": 2024, "rating": "weak"},
    {"type": "officer", "personnel_code": "HN-1", "full_name": "Nguyễn Văn An",
     "category": "cong_chuc", "unit_code": "W-QA", "position": "Chuyên viên"},
    {"type": "officer", "personnel_code": "HN-2", "full_name": "Trần Thị Bình",
     "category": "cong_chuc", "unit_code": "W-QA", "position": "Phó Chủ tịch"},
    {"type": "appointment", "personnel_code": "HN-2", "position": "Phó Chủ tịch",
     "term_start": "2021-03-01", "decision_ref": ref("5", "2021-02-20")},
    {"type": "annual_rating", "personnel_code": "HN-2", "year": 2023, "rating": "KHTNV"},
    {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-10", "score": 88},
    {"type": "discipline", "personnel_code": "HN-1", "opened_on": "2024-03-10",
     "violations": [{"conduct_code": "qd522-late", "occurred_on": "2024-03-01",
                     "detected_on": "2024-03-01", "description": "Đi muộn"}],
     "form": "khien_trach", "decision_ref": ref("12", "2024-04-01"),
     "effective_from": "2024-04-01"},
    {"type": "transfer", "personnel_code": "HN-1", "to_unit_code": "D-TH",
     "effective_on": "2025-01-02", "decision_ref": ref("20", "2024-12-20")},
]


def lines(records):
    return [json.dumps(r, ensure_ascii=False) for r in records]


def test_import_applies_every_record_and_a_rerun_appends_nothing(app):
    report = import_records(app, lines(RECORDS), batch_size=4)
    assert report.bad == [] and report.imported == len(RECORDS) and report.batches == 3
    after = event_count(app)
    assert report.events_appended == after
    officer = app.find_officer(personnel_code="HN-1")
    assert officer.unit_id == app.find_unit("D-TH").id
    again = import_records(app, lines(RECORDS), batch_size=3)
    assert (again.imported, again.already_imported, again.events_appended) == (0, len(RECORDS), 0)
    assert event_count(app) == after


def test_bad_records_are_reported_by_line_and_the_rest_of_the_batch_lands(app):
    records = [*RECORDS[:5],
               {"type": "officer", "personnel_code": "HN-1", "full_name": "Trùng mã",
                "category": "cong_chuc", "unit_code": "W-QA", "position": "X"},
               {"type": "annual_rating", "personnel_code": "HN-404", "year": 2023,
                "rating": "HTNV"},
               {"type": "annual_rating", "personnel_code": "HN-1", "year": 2023,
                "rating": "GREAT"},
               {"type": "spaceship"}]
    text = lines(records)
    text.insert(3, "{not json")
    text.insert(4, "")
    report = import_records(app, text, batch_size=50)
    got = [(b.line, b.code) for b in report.bad]
    assert got == [(4, "invalid_json"), (8, "personnel_code_taken"), (9, "validation_failed"),
                   (10, "validation_failed"), (11, "unknown_record_type")]
    assert "personnel_code" in report.bad[2].details
    assert report.imported == 5 and report.records == 10
    assert app.find_officer(personnel_code="HN-1").full_name == "Nguyễn Văn An"
    assert report.events_appended == event_count(app)


def test_a_batch_that_fails_to_commit_leaves_nothing(app, monkeypatch):
    from eventsourcing.persistence import OperationalError

    import_records(app, lines(RECORDS[:3]))
    before = event_count(app)
    real = app.recorder.insert_events
    calls = []

    def failing(stored_events, **kw):
        calls.append(len(stored_events))
        raise OperationalError("disk full")

    monkeypatch.setattr(app.recorder, "insert_events", failing)
    with pytest.raises(OperationalError):
        import_records(app, lines(RECORDS), batch_size=100)
    assert calls and event_count(app) == before
    monkeypatch.setattr(app.recorder, "insert_events", real)
    report = import_records(app, lines(RECORDS), batch_size=100)
    assert (report.already_imported, report.imported) == (3, len(RECORDS) - 3)


def test_import_command(store_env, tmp_path):
    path = tmp_path / "records.ndjson"
    path.write_text("\n".join(lines(RECORDS[:5]) + ['{"type": "unit"}']) + "\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["import", str(path), "--json"], env=store_env)
    assert out.exit_code == 1
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["imported"] == 5 and report["bad"][0]["line"] == 6
    assert set(report["bad"][0]["details"]) >= {"code", "name", "level"}
    again = CliRunner().invoke(main, ["import", str(path), "--json"], env=store_env)
    assert json.loads(again.stdout.strip().splitlines()[-1])["events_appended"] == 0
    app = build_app(store_env)
    try:
        assert app.find_unit("W-QA").name == "Phường Quảng An"
    finally:
        app.close()


def test_a_rating_already_in_the_store_is_found_after_an_optimistic_batch_fails(app):
    """Batches first trust the store's unique keys; a duplicate refused at commit makes the
    batch run again with reads, which name the line, and the rest of the batch lands."""
    import_records(app, lines(RECORDS))

    def stored() -> int:  # rows, not the highest position: a refused commit leaves a gap
        return len(app.recorder.select_notifications(start=1, limit=100_000))

    before = stored()
    again = [
        {"type": "annual_rating", "personnel_code": "HN-1", "year": 2022, "rating": "HTTNV"},
        {"type": "annual_rating", "personnel_code": "HN-2", "year": 2023, "rating": "HTNV"},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-09", "score": 70},
        {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-09", "score": 75},
    ]
    report = import_records(app, lines(again), batch_size=10)
    assert [(b.line, b.code) for b in report.bad] == [(2, "rating_exists"), (4, "rating_exists")]
    assert report.imported == 2 and report.events_appended == 4
    assert stored() == before + 4
