"""Bad input is refused with a 422 naming the field, and leaves nothing behind.

Text no store or reader can hold (NUL and other control characters, lone surrogates,
non-characters), dates and instants off the calendar, numbers beyond 64 bits, JSON nested
thousands deep: through the API (SQLite and PostgreSQL), through the service itself, and
through ``audit-service import``. Each case here was a 500, or worse a 201 that halted
the PostgreSQL read models, before these checks.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api import create_app
from auditing.access import TokenStore
from auditing.bootstrap import init_database
from audit_service.config import Settings
from audit_service.errors import ValidationFailed
from projections.db import ReadModelDB
from scripts.cli import main
from tests.api_support import ApiHarness, build_city, ref
from tests.conftest import (ADMIN, PG_URL, REQUIRE_PG, build_app, drop_pg_schema,
                            event_count, make_pg_schema)

FINDING = {"conduct_code": "qd522-late", "description": "Đi muộn 20 phút",
           "observed_at": "2026-11-02T08:15:00+07:00"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def city(request, tmp_path_factory, pg_reason):
    """One store per kind for the whole module, with a small city and an open inspection;
    every case is refused, so the cases cannot disturb each other."""
    schema = None
    if request.param == "sqlite":
        env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('bad')}/a.sqlite3"}
    else:
        if pg_reason:
            if REQUIRE_PG:
                pytest.fail(f"PostgreSQL is required here but unreachable: {pg_reason}")
            pytest.skip(f"PostgreSQL unreachable: {pg_reason}")
        schema = make_pg_schema()
        env = {"AUDIT_DATABASE_URL": f"{PG_URL}?schema={schema}"}
    settings = Settings.from_env(env)
    init_database(settings)
    flask_app = create_app(settings, service=build_app(env))
    flask_app.extensions["audit_service"].read_wait_seconds = 0.3
    h = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    ids = build_city(h)
    ids["inspection"] = h.ok("inspector", "/inspections", {
        "unit_id": ids["ward"], "team": [], "started_on": "2026-11-02"})["id"]
    h.project()
    try:
        yield h, ids
    finally:
        h.close()
        if schema:
            drop_pg_schema(schema)


def refused(h: ApiHarness, response, field: str, code: str = "validation_failed") -> dict:
    body = response.get_json()
    assert response.status_code == 422, body
    assert response.mimetype == "application/problem+json"
    assert body["code"] == code and field in body["errors"], body
    return body


# ------------------------------------------------------------------ text


BAD_TEXT = {
    "NUL": "Phường\x00Bưởi", "C0 control": "Phường\x07Bưởi", "escape": "\x1b[31mPhường",
    "DEL": "Phường\x7f", "C1 control": "Phường\x85Bưởi", "lone surrogate": "Phường\ud800",
    "non-character": "Phường\ufffe", "non-character U+FDD0": "\ufdd0",
    "plane-16 non-character": "x\U0010ffff", "newline in a one-line field": "Phường\nBưởi",
    "tab in a one-line field": "Phường\tBưởi",
}


def _post_raw(h: ApiHarness, role: str, path: str, body: dict, **headers: str):
    """Posted as ASCII JSON, so a lone surrogate travels as the escape \\ud800."""
    return h.client.post(f"/api/v1{path}", data=json.dumps(body), content_type="application/json",
                         headers=h.headers(role, **headers))


@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_a_unit_name_no_store_can_hold_is_refused(city, text):
    h, ids = city
    before = h.event_count()
    response = _post_raw(h, "admin", "/units", {"code": "W-BAD", "name": text, "level": "ward",
                                                "parent_id": ids["district"]})
    body = refused(h, response, "name")
    assert "must not contain U+" in body["errors"]["name"]
    assert h.event_count() == before


@pytest.mark.parametrize("text", ["Đi muộn\x00", "\x01", "x\ud800y", "x\uffff"])
def test_a_finding_description_no_store_can_hold_is_refused(city, text):
    h, ids = city
    before = h.event_count()
    response = _post_raw(h, "inspector", f"/inspections/{ids['inspection']}/findings",
                         {**FINDING, "description": text})
    refused(h, response, "description")
    assert h.event_count() == before


def test_multi_line_fields_keep_their_line_breaks(city):
    h, ids = city
    description = "Đi muộn 20 phút.\n\tLần thứ hai trong tháng.\r\nĐã nhắc nhở."
    found = h.ok("inspector", f"/inspections/{ids['inspection']}/findings",
                 {**FINDING, "description": description})
    h.project()
    inspection = h.client.get(f"/api/v1/inspections/{ids['inspection']}",
                              headers=h.headers("board")).get_json()
    stored = next(f for f in inspection["findings"] if f["finding_id"] == found["id"])
    assert stored["description"] == description.strip()


TEXT_FIELDS = [  # (role, path, body, field named) — every kind of text the API takes
    ("admin", "/officers", lambda i: {"personnel_code": "HN-9", "full_name": "Lê\x00Văn",
                                      "category": "cong_chuc", "unit_id": i["ward"],
                                      "position": "Chuyên viên"}, "full_name"),
    ("admin", "/officers", lambda i: {"personnel_code": "HN\ud8009", "full_name": "Lê Văn",
                                      "category": "cong_chuc", "unit_id": i["ward"],
                                      "position": "Chuyên viên"}, "personnel_code"),
    ("board", "/officers/{officer}/leaving", lambda i: {"left_on": "2026-11-01",
                                                        "reason": "nghỉ hưu\x00"}, "reason"),
    ("board", "/officers/{officer}/transfers", lambda i: {
        "to_unit_id": i["ward2"], "effective_on": "2026-11-01",
        "decision_ref": {**ref("77", "2026-10-30"), "issuer": "UBND\x85quận"}},
     "decision_ref.issuer"),
    ("board", "/proceedings", lambda i: {"officer_id": i["officer"], "violations": [{
        "conduct_code": "qd522-late", "occurred_on": "2026-10-01", "detected_on": "2026-10-02",
        "description": "Đi muộn\ufdd0"}]}, "violations[0].description"),
    ("inspector", "/inspections", lambda i: {"unit_id": i["ward"], "team": ["Lê\tVăn"],
                                             "started_on": "2026-11-02"}, "team[0]"),
    ("inspector", "/inspections", lambda i: {"unit_id": i["ward"], "started_on": "2026-11-02",
                                             "basis_ref": "KH\x00 12"}, "basis_ref"),
    ("board", "/evaluations/monthly", lambda i: {"officer_id": i["officer"],
                                                 "period": "2026-10\n", "score": 80}, "period"),
    ("board", "/units/{ward}/ratings", lambda i: {"year": 2025, "rating": "weak",
                                                  "source": "\x1b[2J"}, "source"),
]


@pytest.mark.parametrize("role,path,body,field", TEXT_FIELDS,
                         ids=[f"{p}:{f}" for _, p, _, f in TEXT_FIELDS])
def test_every_text_field_refuses_what_no_store_can_hold(city, role, path, body, field):
    h, ids = city
    before = h.event_count()
    response = _post_raw(h, role, path.format(**ids), body(ids))
    refused(h, response, field)
    assert h.event_count() == before


@pytest.mark.parametrize("key", ["retry\x00-1", "retry\x01-1", "retry\x7f"])
def test_an_idempotency_key_with_control_characters_is_refused(city, key):
    h, ids = city
    before = h.event_count()
    response = h.post("admin", "/units", {"code": "W-IK", "name": "Phường Mới", "level": "ward",
                                          "parent_id": ids["district"]}, **{"Idempotency-Key": key})
    refused(h, response, "Idempotency-Key")
    assert h.event_count() == before


def test_an_unknown_field_named_with_a_lone_surrogate_is_a_422_not_a_500(city):
    h, ids = city
    response = h.client.post("/api/v1/units", headers=h.headers("admin"),
                             content_type="application/json",
                             data='{"code": "W-X", "name": "x", "level": "ward", "\\ud800": 1}')
    refused(h, response, "\ud800")


QUERIES = [  # (role, path, params, field named)
    ("board", "/officers", {"q": "\x00"}, "query.q"),
    ("board", "/officers", {"q": "Lê\x1fVăn"}, "query.q"),
    ("board", "/units", {"after": "\x00"}, "query.after"),
    ("auditor", "/access-log", {"user_id": "admin\x00"}, "query.user_id"),
    ("board", "/officers", {"after": "HN-1\x1b"}, "query.after"),
]


@pytest.mark.parametrize("role,path,params,field", QUERIES,
                         ids=[f"{p}?{next(iter(q))}" for _, p, q, _ in QUERIES])
def test_query_parameters_with_control_characters_are_refused(city, role, path, params, field):
    h, ids = city
    refused(h, h.get(role, path.format(**ids), **params), field)


def test_a_path_parameter_with_control_characters_is_refused_and_not_logged(city):
    h, ids = city
    response = h.client.get("/api/v1/officers/%00/history", headers=h.headers("board"))
    refused(h, response, "path.officer_id")
    log = h.get("auditor", "/access-log", user_id=h.users["board"]).get_json()["items"]
    assert all("\x00" not in entry["officer_id"] for entry in log)


# ------------------------------------------------------------------ extreme values


EXTREME_READS = [  # (path, params, field named); the officer or ward is filled in
    ("/officers/{officer}/eligibility", {"as_of": "0001-01-01T00:00:00+00:00"}, "query.as_of"),
    ("/officers/{officer}/history", {"as_of": "9999-12-31T23:59:59-14:00"}, "query.as_of"),
    ("/officers/{officer}/standing", {"as_of": "9999-12-31T23:59:59-14:00"}, "query.as_of"),
    ("/officers/{officer}/eligibility", {"as_of": "9999-12-31T23:59:59-14:00"}, "query.as_of"),
    ("/units/{ward}/statistics", {"year": 2026, "as_of": "9999-12-31T23:59:59-14:00"},
     "query.as_of"),
    ("/officers/{officer}/eligibility", {"on": "9999-12-31"}, "query.on"),
    ("/units/{ward}/statistics", {"year": "100000000000000000000"}, "query.year"),
    ("/units/{ward}/statistics", {"year": "-5"}, "query.year"),
    ("/events", {"after": "100000000000000000000000000"}, "query.after"),
    ("/access-log", {"after": "100000000000000000000000000"}, "query.after"),
    ("/audit/export", {"from_position": "100000000000000000000000000"}, "query.from_position"),
    ("/officers", {"min_position": "100000000000000000000000000"}, "query.min_position"),
]


@pytest.mark.parametrize("path,params,field", EXTREME_READS,
                         ids=[f"{p.rsplit('/', 1)[-1]}?{'&'.join(f'{k}={v}' for k, v in q.items())}"
                              for p, q, _ in EXTREME_READS])
def test_extreme_query_values_are_a_422(city, path, params, field):
    h, ids = city
    refused(h, h.get("auditor", path.format(**ids), **params), field)


def test_instants_far_from_now_are_refused_in_a_finding(city):
    h, ids = city
    before = h.event_count()
    for observed in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        response = h.post("inspector", f"/inspections/{ids['inspection']}/findings",
                          {**FINDING, "observed_at": observed})
        refused(h, response, "observed_at")
    assert h.event_count() == before


@pytest.mark.parametrize("body,field,code", [
    ("[" * 5000 + "]" * 5000, "_body", "json_too_deep"),
    ('{"code": ' * 5000 + "1" + "}" * 5000, "_body", "json_too_deep"),
    ('{"year": ' + "9" * 5000 + ', "rating": "weak"}', "year", "validation_failed"),
    ('{"year": -' + "9" * 5000 + ', "rating": "weak"}', "year", "validation_failed"),
    ('{"year": 2025, "rating": "weak", "source": "UBND\\ud800"}', "source", "validation_failed"),
], ids=["array nested 5000 deep", "object nested 5000 deep", "integer of 5000 digits",
        "negative integer of 5000 digits", "lone surrogate"])
def test_hostile_json_bodies_are_a_422(city, body, field, code):
    h, ids = city
    before = h.event_count()
    response = h.client.post(f"/api/v1/units/{ids['ward']}/ratings", data=body,
                             content_type="application/json", headers=h.headers("admin"))
    refused(h, response, field, code)
    assert h.event_count() == before


def test_json_nested_as_deep_as_a_real_request_still_parses(city):
    h, ids = city
    response = h.post("board", "/proceedings", {"officer_id": ids["officer"], "violations": [{
        "conduct_code": "qd522-late", "occurred_on": "2026-10-01", "detected_on": "2026-10-02",
        "description": "Đi muộn"}], "unknown": [[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]})
    assert refused(h, response, "unknown")["code"] == "validation_failed"


def test_the_openapi_document_states_every_range(city):
    h, _ = city
    doc = h.client.get("/api/v1/openapi.json").get_json()
    params = {(path, p["name"]): p["schema"] for path, item in doc["paths"].items()
              for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])}
    as_of = params[("/api/v1/officers/{officer_id}/history", "as_of")]
    assert (as_of["x-minimum"], as_of["x-maximum"]) == ("1945-09-02T00:00:00+00:00",
                                                        "2199-12-31T23:59:59+00:00")
    assert params[("/api/v1/units/{unit_id}/statistics", "year")]["maximum"] == 2199
    assert params[("/api/v1/events", "after")]["maximum"] == 2**63 - 1
    schemas = doc["components"]["schemas"]
    assert schemas["FindingCreate"]["properties"]["observed_at"]["x-maximum"].startswith("2199")
    assert schemas["DecisionRef"]["properties"]["signed_on"]["x-minimum"] == "1945-09-02"
    assert schemas["AnnualCreate"]["properties"]["year"]["minimum"] == 1990


# ------------------------------------------------------------------ the domain


def test_the_service_refuses_bad_text_whatever_the_entry_point(app):
    """The CLI, the importer and any script reach the service without the API's schemas."""
    before = event_count(app)
    for name in ("Phường\x00Bưởi", "Phường\ud800", "Phường\ufffe", "Phường\nBưởi"):
        with pytest.raises(ValidationFailed) as caught:
            app.register_unit(ADMIN, code="W-X", name=name, level="city")
        assert "name" in caught.value.details
    with pytest.raises(ValidationFailed) as caught:
        app.register_unit(ADMIN, code="W-X", name="Phường", level="city",
                          established_on="9999-12-31")
    assert "established_on" in caught.value.details
    assert event_count(app) == before


def test_a_token_name_with_control_characters_is_refused(store_env):
    db = ReadModelDB(Settings.from_env(store_env).database)
    try:
        with pytest.raises(ValidationFailed) as caught:
            TokenStore(db).create("board", "Lê\x00Văn")
        assert "name" in caught.value.details
        assert TokenStore(db).list() == []
    finally:
        db.close()


def test_the_text_rule_allows_vietnamese_and_line_breaks_only_where_multi_line():
    from audit_service.validation import text_problem

    assert text_problem("Nguyễn Thị Ánh Tuyết — Phó Chủ tịch (QĐ-UBND) 😀 \ufffd") is None
    assert text_problem("dòng một\ndòng hai", multiline=True) is None
    assert text_problem("dòng một\ndòng hai") is not None
    assert text_problem("\x00", multiline=True) is not None


def test_every_reason_a_board_types_may_span_lines():
    from datetime import date
    from audit_service.validation import Checker, MULTILINE_FIELDS

    reasons = {"reason", "correction_reason", "override_reason", "rotation_exception_reason",
               "description", "grounds"}
    assert reasons <= MULTILINE_FIELDS
    c = Checker(date(2026, 11, 20))
    assert c.text("override_reason", "Lý do một.\nLý do hai.", max_len=2000) == \
        "Lý do một.\nLý do hai."
    c.done()


# ------------------------------------------------------------------ import


def test_import_reports_unreadable_and_unstorable_lines_and_imports_the_rest(store_env, tmp_path):
    good = [{"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"},
            {"type": "unit", "code": "D-TH", "name": "Quận Tây Hồ", "level": "district",
             "parent_code": "01"},
            {"type": "unit", "code": "D-BĐ", "name": "Quận Ba Đình", "level": "district",
             "parent_code": "01"}]
    lines = [
        json.dumps(good[0], ensure_ascii=False).encode(),                            # 1
        json.dumps({"type": "unit", "code": "W-1", "name": "Phường\x00Bưởi",
                    "level": "ward", "parent_code": "D-TH"}).encode(),             # 2 NUL
        b'{"type": "unit", "code": "W-2", "name": "Ph\xfd\xf4ng", "level": "ward"}',   # 3 Latin-1
        json.dumps(good[1], ensure_ascii=False).encode(),                            # 4
        b'{"type": "unit", "code": "W-3", "name": "x\\ud800", "level": "ward"}',     # 5
        b"[" * 5000 + b"]" * 5000,                                                   # 6
        b'{"type": "unit_rating", "unit_code": "D-TH", "rating": "weak", "year": '
        + b"9" * 5000 + b"}",                                                        # 7
        json.dumps(good[2], ensure_ascii=False).encode(),                            # 8
    ]
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = CliRunner().invoke(main, ["import", str(path), "--json"], env=store_env)
    assert out.exit_code == 1, out.output
    report = json.loads(out.stdout.strip().splitlines()[-1])
    bad = {b["line"]: b for b in report["bad"]}
    assert sorted(bad) == [2, 3, 5, 6, 7] and report["imported"] == 3
    assert bad[2]["code"] == "validation_failed" and "name" in bad[2]["details"]
    assert bad[3]["code"] == "invalid_utf8"
    assert bad[5]["code"] == "validation_failed" and "name" in bad[5]["details"]
    assert bad[6]["code"] == "json_too_deep"
    assert bad[7]["code"] == "validation_failed" and "year" in bad[7]["details"]
    app = build_app(store_env)
    try:
        assert app.find_unit("D-BĐ").name == "Quận Ba Đình"
        assert event_count(app) == report["events_appended"]
    finally:
        app.close()
