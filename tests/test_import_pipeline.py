"""On PostgreSQL the import writes one chunk while it builds the next as if the first were
stored (on SQLite one after the other: the same expectations hold there). When that guess
fails (the chunk written meets a duplicate in the store, the next one a bad
record) the chunks are built again from the store, and the outcome is the one chunk after
the other would give: the same bad lines, the same records imported, nothing twice."""
from __future__ import annotations

import json

from audit_service.domain import MonthlyGrade
from audit_service.importing import import_records

SETUP = [
    {"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"},
    {"type": "unit", "code": "D-TH", "name": "Quận Tây Hồ", "level": "district",
     "parent_code": "01"},
    {"type": "unit", "code": "W-QA", "name": "Phường Quảng An", "level": "ward",
     "parent_code": "D-TH"},
    {"type": "officer", "personnel_code": "HN-2", "full_name": "Trần Thị Bình",
     "category": "cong_chuc", "unit_code": "W-QA", "position": "Chuyên viên"},
    {"type": "annual_rating", "personnel_code": "HN-2", "year": 2023, "rating": "KHTNV"},
]

REF = {"number": "20", "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
       "signed_on": "2024-12-20"}

# in chunks of three: each chunk leans on the one before it
FILE = [
    # chunk 1: its write is refused (line 2's rating is in the store already)
    {"type": "officer", "personnel_code": "HN-1", "full_name": "Nguyễn Văn An",
     "category": "cong_chuc", "unit_code": "W-QA", "position": "Chuyên viên"},
    {"type": "annual_rating", "personnel_code": "HN-2", "year": 2023, "rating": "HTNV"},
    {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-01", "score": 80},
    # chunk 2: built on chunk 1's officer, then again once chunk 1 is re-run
    {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-02", "score": 90},
    {"type": "transfer", "personnel_code": "HN-1", "to_unit_code": "D-TH",
     "effective_on": "2025-01-02", "decision_ref": REF},
    {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-01", "score": 80},
    # chunk 3: a bad line, and a grade chunk 2 took
    {"type": "annual_rating", "personnel_code": "HN-1", "year": 2025, "rating": "HTTNV"},
    {"type": "monthly_grade", "personnel_code": "HN-404", "period": "2026-02", "score": 70},
    {"type": "monthly_grade", "personnel_code": "HN-1", "period": "2026-02", "score": 70},
]


def lines(records):
    return [json.dumps(r, ensure_ascii=False) for r in records]


def stored(app) -> int:  # rows, not the highest position: a refused write leaves a gap
    return len(app.recorder.select_notifications(start=1, limit=100_000))


def outcome(report):
    return ([(b.line, b.code) for b in report.bad], report.imported,
            report.already_imported)


def test_chunks_built_ahead_end_as_one_chunk_after_the_other(app):
    import_records(app, lines(SETUP))
    before = stored(app)
    report = import_records(app, lines(FILE), batch_size=3)
    assert outcome(report) == ([(2, "rating_exists"), (8, "validation_failed"),
                                (9, "rating_exists")], 5, 1)
    assert stored(app) == before + report.events_appended
    officer = app.find_officer(personnel_code="HN-1")
    assert officer.unit_id == app.find_unit("D-TH").id
    scores = {period: app.repository.get(MonthlyGrade.id_for(officer.id, period)).score
              for period in ("2026-01", "2026-02")}
    assert scores == {"2026-01": 80, "2026-02": 90}
    # the same file in one chunk, run again: the same lines refused, nothing appended
    again = import_records(app, lines(FILE), batch_size=100)
    assert outcome(again) == ([(2, "rating_exists"), (8, "validation_failed"),
                               (9, "rating_exists")], 0, 6)
    assert again.events_appended == 0 and stored(app) == before + report.events_appended


def test_the_same_file_in_one_chunk_gives_the_same_outcome(app):
    import_records(app, lines(SETUP))
    before = stored(app)
    report = import_records(app, lines(FILE), batch_size=100)
    assert outcome(report) == ([(2, "rating_exists"), (8, "validation_failed"),
                                (9, "rating_exists")], 5, 1)
    assert stored(app) == before + report.events_appended
