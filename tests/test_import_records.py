"""The import's file format, record by record: which service command each record type runs
with which fields (natural keys resolved to ids), what a line that cannot be read is
reported as, and the report's shape. The commands' own rules are tested elsewhere; here the
service is a stand-in that records the calls, so each row is exactly one mapping; the
last tests run the import on a real store.
"""
from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest

from audit_service.errors import NotFound, ValidationFailed
from audit_service.importing import (IMPORTER, RECORD_TYPES, BadRecord, ImportReport,
                                     import_records, parse_lines, record_claim)
from tests.conftest import event_count

A = IMPORTER
REF = {"number": "5", "symbol": "QĐ-UBND", "issuer": "UBND", "signed_on": "2021-02-20"}


class Service:
    """Units W-QA, D-TH and officer HN-1 exist; every command call is recorded."""

    def __init__(self):
        self.calls: list[tuple] = []

    def find_unit(self, code):
        if code not in ("W-QA", "D-TH"):
            raise NotFound(f"no unit {code}")
        return SimpleNamespace(id=f"unit:{code}")

    def find_officer(self, personnel_code):
        if personnel_code != "HN-1":
            raise NotFound(f"no officer {personnel_code}")
        return SimpleNamespace(id="officer:HN-1")

    def __getattr__(self, command):
        def call(*args, **kwargs):
            self.calls.append((command, args, kwargs))
            return SimpleNamespace(id=f"{command}-result")
        return call


# (record type, the record's fields, the calls expected: (command, positional args, keywords))
MAPPINGS = [
    ("unit", {"code": "P-1", "name": "Phường 1", "level": "ward", "parent_code": "D-TH",
              "established_on": "2025-07-01"},
     [("register_unit", (A,), {"parent_id": "unit:D-TH", "code": "P-1", "name": "Phường 1",
                                "level": "ward", "established_on": "2025-07-01"})]),
    ("unit", {"code": "01", "name": "Hà Nội", "level": "city"},
     [("register_unit", (A,), {"parent_id": None, "code": "01", "name": "Hà Nội",
                                "level": "city"})]),
    ("unit_rating", {"unit_code": "W-QA", "year": 2024, "rating": "weak", "source": "QĐ 1"},
     [("rate_unit", (A, "unit:W-QA"), {"year": 2024, "rating": "weak", "source": "QĐ 1"})]),
    ("officer", {"personnel_code": "HN-9", "full_name": "An", "category": "cong_chuc",
                 "unit_code": "W-QA", "position": "Chuyên viên", "national_id": "001",
                 "joined_on": "2015-01-05"},
     [("register_officer", (A,), {"unit_id": "unit:W-QA", "personnel_code": "HN-9",
                                  "full_name": "An", "category": "cong_chuc",
                                  "position": "Chuyên viên", "national_id": "001",
                                  "joined_on": "2015-01-05"})]),
    ("appointment", {"personnel_code": "HN-1", "position": "Phó Chủ tịch",
                     "term_start": "2021-03-01", "decision_ref": REF, "term_years": 5},
     [("appoint_officer", (A, "officer:HN-1"), {"position": "Phó Chủ tịch",
                                                "term_start": "2021-03-01",
                                                "decision_ref": REF, "term_years": 5})]),
    ("transfer", {"personnel_code": "HN-1", "to_unit_code": "D-TH", "effective_on": "2025-01-02",
                  "decision_ref": REF, "kind": "rotation", "new_position": "Phó phòng"},
     [("transfer_officer", (A, "officer:HN-1"), {"to_unit_id": "unit:D-TH",
                                                 "effective_on": "2025-01-02",
                                                 "decision_ref": REF, "kind": "rotation",
                                                 "new_position": "Phó phòng"})]),
    ("reappointment", {"personnel_code": "HN-1", "outcome": "reappointed",
                       "decided_on": "2026-02-01", "decision_ref": REF,
                       "eligibility_hash": "ab" * 32},
     [("decide_reappointment", (A, "officer:HN-1"), {"outcome": "reappointed",
                                                     "decided_on": "2026-02-01",
                                                     "decision_ref": REF,
                                                     "eligibility_hash": "ab" * 32})]),
    ("reappointment", {"personnel_code": "HN-1", "outcome": "not_reappointed",
                       "decided_on": "2026-02-01", "decision_ref": REF},
     [("decide_reappointment", (A, "officer:HN-1"), {"outcome": "not_reappointed",
                                                     "decided_on": "2026-02-01",
                                                     "decision_ref": REF})]),
    ("leaving", {"personnel_code": "HN-1", "left_on": "2026-01-01", "reason": "nghỉ hưu"},
     [("record_leaving", (A, "officer:HN-1"), {"left_on": "2026-01-01", "reason": "nghỉ hưu"})]),
    ("leaving", {"personnel_code": "HN-1"},
     [("record_leaving", (A, "officer:HN-1"), {"left_on": None, "reason": None})]),
    ("annual_rating", {"personnel_code": "HN-1", "year": 2023, "rating": "KHTNV"},
     [("record_annual_rating", (A,), {"officer_id": "officer:HN-1", "year": 2023,
                                      "rating": "KHTNV"})]),
    ("monthly_grade", {"personnel_code": "HN-1", "period": "2026-10", "score": 88,
                       "grade": "A"},
     [("record_monthly_grade", (A,), {"officer_id": "officer:HN-1", "period": "2026-10",
                                      "score": 88, "grade": "A"})]),
    ("discipline", {"personnel_code": "HN-1", "opened_on": "2024-03-10", "violations": [],
                    "form": "khien_trach", "decision_ref": REF, "effective_from": "2024-04-01",
                    "corruption_related": True},
     [("open_proceeding", (A,), {"officer_id": "officer:HN-1", "violations": [],
                                 "opened_on": "2024-03-10"}),
      ("decide_proceeding", (A, "open_proceeding-result"),
       {"form": "khien_trach", "decision_ref": REF, "effective_from": "2024-04-01",
        "corruption_related": True})]),
    ("inspection", {"unit_code": "W-QA", "started_on": "2025-05-02", "team": ["kt-1"],
                    "announced": False, "basis_ref": "7/QĐ-ĐKT",
                    "findings": [{"personnel_code": "HN-1", "conduct_code": "qd522-late",
                                  "description": "Đến muộn",
                                  "observed_at": "2025-05-05T08:20:00+07:00",
                                  "evidence_sha256": ["ab" * 32]},
                                 {"conduct_code": "dossier-overdue", "description": "Quá hạn",
                                  "observed_at": "2025-05-06T09:00:00+07:00"}],
                    "closed_on": "2025-05-28", "conclusion_ref": "7/KL-ĐKT"},
     [("open_inspection", (A,), {"unit_id": "unit:W-QA", "team": ["kt-1"],
                                 "started_on": "2025-05-02", "announced": False,
                                 "basis_ref": "7/QĐ-ĐKT"}),
      ("record_finding", (A, "open_inspection-result"),
       {"officer_id": "officer:HN-1", "conduct_code": "qd522-late", "description": "Đến muộn",
        "observed_at": "2025-05-05T08:20:00+07:00", "evidence_sha256": ["ab" * 32]}),
      ("record_finding", (A, "open_inspection-result"),
       {"officer_id": None, "conduct_code": "dossier-overdue", "description": "Quá hạn",
        "observed_at": "2025-05-06T09:00:00+07:00"}),
      ("close_inspection", (A, "open_inspection-result"),
       {"closed_on": "2025-05-28", "conclusion_ref": "7/KL-ĐKT"})]),
    ("inspection", {"unit_code": "W-QA", "started_on": "2025-05-02", "team": ["kt-1"]},
     [("open_inspection", (A,), {"unit_id": "unit:W-QA", "team": ["kt-1"],
                                 "started_on": "2025-05-02"})]),
]


@pytest.mark.parametrize("kind,fields,calls", MAPPINGS, ids=[m[0] for m in MAPPINGS])
def test_each_record_type_runs_its_command_with_its_fields(kind, fields, calls):
    service = Service()
    RECORD_TYPES[kind](service, A, dict(fields))
    assert service.calls == calls


@pytest.mark.parametrize("kind,fields,field,problem", [
    ("officer", {"unit_code": "W-404"}, "unit_code", "no unit with code 'W-404'"),
    ("officer", {"unit_code": 7}, "unit_code", "must be a unit code"),
    ("unit", {"parent_code": "X-1"}, "parent_code", "no unit with code 'X-1'"),
    ("unit", {"parent_code": ["01"]}, "parent_code", "must be a unit code"),
    ("transfer", {"personnel_code": "HN-1", "to_unit_code": "Z"}, "to_unit_code",
     "no unit with code 'Z'"),
    ("leaving", {"personnel_code": "HN-404"}, "personnel_code",
     "no officer with personnel code 'HN-404'"),
    ("leaving", {}, "personnel_code", "is required"),
    ("leaving", {"personnel_code": "   "}, "personnel_code", "is required"),
    ("annual_rating", {"personnel_code": 12}, "personnel_code", "is required"),
    ("inspection", {"unit_code": "W-QA", "findings": {"a": 1}}, "findings", "must be a list"),
])
def test_a_natural_key_that_names_nothing_is_refused_by_field(kind, fields, field, problem):
    service = Service()
    with pytest.raises(ValidationFailed) as refused:
        RECORD_TYPES[kind](service, A, fields)
    assert (refused.value.message, refused.value.details) == ("invalid input", {field: problem})
    assert service.calls == []


# --------------------------------------------------------------------------- reading lines

def read(*lines) -> list[tuple]:
    out = []
    for number, item in parse_lines(lines):
        out.append((number, item.as_dict() if isinstance(item, BadRecord) else item))
    return out


def test_lines_are_numbered_from_one_and_blank_lines_skipped():
    assert read('{"type": "unit"}', "", "   ", b'{"type": "leaving"}\n') == [
        (1, {"type": "unit"}), (4, {"type": "leaving"})]


def test_a_byte_order_mark_is_allowed_on_the_first_line_only():
    bom = "\ufeff".encode()
    assert read(bom + b'{"type": "unit"}') == [(1, {"type": "unit"})]
    second = read(b'{"type": "unit"}', bom + b'{"type": "unit"}')[1]
    assert second[0] == 2 and second[1]["code"] == "invalid_json"


def test_a_line_that_is_not_utf8_says_which_byte_and_where():
    assert read(b'{"type": "unit", "name": "\xff"}') == [(1, {
        "line": 1, "code": "invalid_utf8",
        "message": "the line is not UTF-8: byte 0xff at column 27"})]


def test_unreadable_lines_each_say_why():
    got = dict(read("not json", "[1, 2]", '{"type": "spaceship"}', '{"kind": "unit"}',
                    '{"type": "unit", "name": "a\\u0007b"}', "[" * 200 + "]" * 200))
    assert got[1]["code"] == "invalid_json" and got[1]["message"].startswith("not a JSON object: ")
    assert got[2] == {"line": 2, "code": "invalid_json", "message": "a line must be a JSON object"}
    types = ", ".join(RECORD_TYPES)
    assert got[3] == {"line": 3, "code": "unknown_record_type",
                      "message": f"type must be one of {types}", "details": {"type": "spaceship"}}
    assert got[4] == {"line": 4, "code": "unknown_record_type",
                      "message": f"type must be one of {types}", "details": {"type": None}}
    assert got[5] == {"line": 5, "code": "validation_failed", "message": "invalid input: name",
                      "details": {"name": "must not contain U+0007 (a control character),"
                                          " found at character 2"}}
    assert got[6]["code"] == "json_too_deep"


def test_the_record_types_are_the_eleven_of_the_file_format():
    assert list(RECORD_TYPES) == ["unit", "unit_rating", "officer", "appointment", "transfer",
                                  "reappointment", "leaving", "annual_rating", "monthly_grade",
                                  "discipline", "inspection"]


@pytest.mark.parametrize("finding,details", [
    ("late", {"findings[1]": {"finding": "must be an object"}}),
    ({"personnel_code": "HN-404", "conduct_code": "qd522-late", "description": "x",
      "observed_at": "2025-05-05T08:00:00+07:00"},
     {"findings[1]": {"personnel_code": "no officer with personnel code 'HN-404'"}}),
])
def test_a_refused_finding_is_named_by_its_place_in_the_list(finding, details):
    service = Service()
    ok = {"personnel_code": "HN-1", "conduct_code": "qd522-late", "description": "x",
          "observed_at": "2025-05-05T08:00:00+07:00"}
    with pytest.raises(ValidationFailed) as refused:
        RECORD_TYPES["inspection"](service, A, {"unit_code": "W-QA", "team": ["kt-1"],
                                                "started_on": "2025-05-02",
                                                "findings": [ok, finding],
                                                "closed_on": "2025-05-28"})
    assert refused.value.message.startswith("findings[1]: ")
    assert refused.value.details == details
    assert [c[0] for c in service.calls] == ["open_inspection", "record_finding"]


def test_the_reports_shape():
    report = ImportReport(records=5, imported=2, already_imported=1, events_appended=6,
                          batches=1, bad=[BadRecord(3, "x", "y"), BadRecord(4, "z", "w", {"a": 1})])
    assert report.as_dict() == {"records": 5, "imported": 2, "already_imported": 1,
                                "events_appended": 6, "batches": 1, "bad_records": 2}
    assert report.bad[0].as_dict() == {"line": 3, "code": "x", "message": "y"}
    assert report.bad[1].as_dict() == {"line": 4, "code": "z", "message": "w",
                                       "details": {"a": 1}}


# --------------------------------------------------------------------------- with the service

CITY = {"type": "unit", "code": "01", "name": "Hà Nội", "level": "city"}
OFFICERS = [{"type": "officer", "personnel_code": f"HN-{n}", "full_name": f"Cán bộ {n}",
             "category": "cong_chuc", "unit_code": "01", "position": "Chuyên viên"}
            for n in range(1, 5)]


def test_a_records_claim_is_keyed_by_its_canonical_json():
    """Re-running a file finds its records again by this key; if the canonical form changed
    between versions, a re-run would import everything twice."""
    canonical = '{"level":"city","name":"Hà Nội","type":"unit"}'.encode()
    claim = record_claim({"type": "unit", "name": "Hà Nội", "level": "city"}, A)
    assert claim.request_sha256 == hashlib.sha256(canonical).hexdigest()
    key = "import:" + hashlib.sha256(canonical).hexdigest()
    assert claim.key_sha256 == hashlib.sha256(key.encode()).hexdigest()


def test_progress_is_reported_per_bad_line_and_per_batch(app):
    calls: list[int] = []
    text = [json.dumps(CITY), "not json", *(json.dumps(o) for o in OFFICERS)]
    report = import_records(app, text, batch_size=2, progress=calls.append)
    assert calls == [1, 2, 2, 1]  # the bad line, then batches of 2, 2 and the last 1
    assert report.batches == 3 and report.imported == 5 and len(report.bad) == 1
    again = import_records(app, text, batch_size=2)
    assert (again.batches, again.imported, again.already_imported) == (0, 0, 5)


def test_lines_after_an_unreadable_one_are_still_read(app):
    text = [b'{"name": "\xff"}', "[" * 40 + "]" * 40, json.dumps(CITY)]
    report = import_records(app, text)
    assert [b.as_dict() for b in report.bad] == [
        {"line": 1, "code": "invalid_utf8",
         "message": "the line is not UTF-8: byte 0xff at column 11"},
        {"line": 2, "code": "json_too_deep", "message": "JSON nested deeper than 16 levels"}]
    assert report.imported == 1


def test_every_field_with_text_no_store_can_hold_is_named():
    (_, bad), = parse_lines(['{"type": "unit", "name": "a\\u0000", "code": "b\\u0007"}'])
    assert bad.message == "invalid input: code, name"


def test_a_refused_record_keeps_the_services_message_and_the_rest_land(app):
    text = [json.dumps(CITY), json.dumps({**OFFICERS[0], "unit_code": "nowhere"}),
            json.dumps(OFFICERS[1])]
    report = import_records(app, text)
    assert [b.as_dict() for b in report.bad] == [{
        "line": 2, "code": "validation_failed", "message": "invalid input",
        "details": {"unit_code": "no unit with code 'nowhere'"}}]
    assert report.imported == 2


def test_a_record_its_command_cannot_take_is_malformed_and_the_rest_land(app, monkeypatch):
    def broken(app, actor, record):
        raise TypeError("unexpected field")

    monkeypatch.setitem(RECORD_TYPES, "leaving", broken)
    before = event_count(app)
    text = [json.dumps(CITY), json.dumps({"type": "leaving", "personnel_code": "HN-1"}),
            json.dumps(OFFICERS[0])]
    report = import_records(app, text)
    assert [b.as_dict() for b in report.bad] == [
        {"line": 2, "code": "invalid_record", "message": "malformed record: unexpected field"}]
    assert report.imported == 2 and event_count(app) > before


def test_a_number_too_long_to_hold_is_one_bad_record(app):
    text = [json.dumps(CITY),
            '{"type": "officer", "personnel_code": "HN-9", "full_name": "X", "category":'
            ' "cong_chuc", "unit_code": "01", "position": "P", "joined_on": ' + "9" * 5000 + "}",
            json.dumps(OFFICERS[0])]
    report = import_records(app, text)
    assert [b.line for b in report.bad] == [2] and report.imported == 2


WARD = {"type": "unit", "code": "W-1", "name": "Phường 1", "level": "ward", "parent_code": "01"}


def _inspection_record(*findings, closed_on="2025-05-28") -> dict:
    return {"type": "inspection", "unit_code": "W-1", "started_on": "2025-05-02",
            "team": ["kt-1", "kt-2"], "basis_ref": "7/QĐ-ĐKT", "findings": list(findings),
            "closed_on": closed_on, "conclusion_ref": "7/KL-ĐKT"}


def _finding(code: str | None, day: int) -> dict:
    finding = {"conduct_code": "qd522-late", "description": f"Đến muộn ngày {day}",
               "observed_at": f"2025-05-{day:02d}T08:20:00+07:00"}
    return finding if code is None else {**finding, "personnel_code": code}


def test_an_inspection_is_imported_with_its_findings_and_closed(app):
    officers = [{**o, "unit_code": "W-1"} for o in OFFICERS[:2]]
    record = _inspection_record(_finding("HN-1", 5), _finding("HN-2", 6), _finding(None, 7),
                                _finding("HN-1", 8))
    text = [json.dumps(CITY), json.dumps(WARD), *(json.dumps(o) for o in officers),
            json.dumps(record)]
    before = event_count(app)
    report = import_records(app, text)
    assert report.bad == [] and report.imported == 5
    # opened, four findings, closed, the record's idempotency record
    inspection_events = 1 + 4 + 1 + 1
    assert report.events_appended == event_count(app) - before
    assert report.events_appended == 2 * 3 + 2 * 3 + inspection_events
    found = app.find_officer(personnel_code="HN-1")
    (ins,) = [a for a in (app.repository.get(e.originator_id)
                          for e in app.recorder.select_notifications(1, 1000)
                          if e.topic.endswith("Inspection.Opened")) if a]
    assert ins.closed_on.isoformat() == "2025-05-28" and ins.team == ["kt-1", "kt-2"]
    findings = [ins.findings[k] for k in ins.findings]
    assert [(f["officer_id"], f["description"]) for f in findings] == [
        (found.id, "Đến muộn ngày 5"), (app.find_officer(personnel_code="HN-2").id,
                                       "Đến muộn ngày 6"),
        (None, "Đến muộn ngày 7"), (found.id, "Đến muộn ngày 8")]
    again = import_records(app, text)
    assert (again.imported, again.already_imported, event_count(app)) == (
        0, 5, before + report.events_appended)


def test_an_inspection_with_a_refused_finding_leaves_nothing_and_the_rest_land(app):
    officers = [{**o, "unit_code": "W-1"} for o in OFFICERS[:2]]
    early = _finding("HN-2", 1)  # the day before the inspection started
    text = [json.dumps(CITY), json.dumps(WARD), *(json.dumps(o) for o in officers),
            json.dumps(_inspection_record(_finding("HN-1", 5), early)),
            json.dumps(OFFICERS[2])]
    report = import_records(app, text)
    (bad,) = report.bad
    assert (bad.line, bad.code, bad.message) == (
        5, "finding_before_inspection",
        "findings[1]: a finding cannot be observed before the inspection started")
    assert report.imported == 5
    topics = [e.topic for e in app.recorder.select_notifications(1, 1000)]
    assert not any("Inspection" in t for t in topics)


class _Recorder:
    def __init__(self, head: int):
        self.head = head
        self.refreshes: list[int] = []

    def max_notification_id(self):
        return self.head

    def analyze(self):
        self.refreshes.append(self.head)


@pytest.mark.parametrize("start,appended,expected", [
    # an empty store: first at 20,000 appended, then each time the log doubled
    (0, [5_000, 19_999, 20_000, 39_999, 40_000, 79_999, 80_000, 160_000], [20_000, 40_000,
                                                                          80_000, 160_000]),
    # a store of 1 M events: refreshed at the start, then once it reaches 2 M, then 4 M
    (1_000_000, [500_000, 999_999, 1_000_000, 2_999_999, 3_000_000],
     [1_000_000, 2_000_000, 4_000_000]),
    # a small store: no refresh at the start
    (19_999, [10_000], []),
])
def test_an_imports_statistics_are_refreshed_each_time_the_log_doubles(start, appended,
                                                                         expected):
    from audit_service.importing import Statistics

    recorder = _Recorder(start)
    statistics = Statistics(SimpleNamespace(recorder=recorder))
    for count in appended:
        recorder.head = start + count
        statistics.grown(count)
    assert recorder.refreshes == expected


def test_a_store_without_statistics_is_never_asked_to_refresh_them():
    from audit_service.importing import Statistics

    statistics = Statistics(SimpleNamespace(recorder=SimpleNamespace(
        max_notification_id=lambda: pytest.fail("not asked"))))
    statistics.grown(10_000_000)
    assert statistics.refreshed == 0


def test_the_postgresql_recorder_refreshes_the_events_tables_statistics(app):
    if app.settings.database.kind == "sqlite":
        assert getattr(app.recorder, "analyze", None) is None  # its planner needs none
        return
    import_records(app, [json.dumps(CITY), *(json.dumps(o) for o in OFFICERS)])
    datastore = app.recorder.datastore
    sql = ("SELECT reltuples FROM pg_class WHERE oid = %s::regclass")
    name = f"{datastore.schema}.{app.recorder.events_table_name}"
    with datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(sql, (name,))
        before = cursor.fetchone()["reltuples"]
    app.recorder.analyze()
    with datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(sql, (name,))
        after = cursor.fetchone()["reltuples"]
    assert before <= 0 and after == event_count(app)
