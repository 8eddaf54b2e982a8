"""Who may call what: the endpoint × role matrix, table-driven, checked against the app."""
from __future__ import annotations

import re

import pytest

from api import create_app
from auditing.access import TokenStore
from audit_service.config import Settings
from tests.api_support import ROLES, ApiHarness, build_city, ref
from tests.conftest import build_app

ALL = set(ROLES)
BOARD, ADMIN, INSPECTOR, AUDITOR = {"board"}, {"admin"}, {"inspector"}, {"auditor"}
BOARD_AUDITOR = {"board", "auditor"}
STAFF = {"admin", "board"}
REFERENCE = ("conduct-codes", "discipline-forms", "rules", "rating-levels", "monthly-grades",
             "categories", "unit-levels", "limitation-periods", "effect-periods",
             "deferral-reasons")

MATRIX = [
    ("POST", "/units", ADMIN),
    ("GET", "/units", ALL),
    ("GET", "/units/{unit_id}", ALL),
    ("POST", "/units/{unit_id}/ratings", STAFF),
    ("GET", "/units/{unit_id}/statistics", ALL),
    ("POST", "/officers", ADMIN),
    ("GET", "/officers", ALL),
    ("GET", "/officers/{officer_id}", ALL),
    ("POST", "/officers/{officer_id}/transfers", STAFF),
    ("POST", "/officers/{officer_id}/appointments", BOARD),
    ("POST", "/officers/{officer_id}/reappointment-decisions", BOARD),
    ("POST", "/officers/{officer_id}/reappointment-corrections", BOARD),
    ("POST", "/officers/{officer_id}/leaving", STAFF),
    ("GET", "/officers/{officer_id}/history", BOARD_AUDITOR),
    ("GET", "/officers/{officer_id}/standing", BOARD_AUDITOR),
    ("GET", "/officers/{officer_id}/eligibility", BOARD_AUDITOR),
    ("GET", "/officers/{officer_id}/dossier", BOARD_AUDITOR),
    ("GET", "/officers/{officer_id}/rotation-check", {"admin", "board", "auditor"}),
    ("POST", "/inspections", INSPECTOR),
    ("GET", "/inspections/{inspection_id}", ALL),
    ("GET", "/inspections/{inspection_id}/findings/{finding_id}", ALL),
    ("POST", "/inspections/{inspection_id}/findings", INSPECTOR),
    ("POST", "/inspections/{inspection_id}/findings/{finding_id}/corrections", INSPECTOR),
    ("POST", "/inspections/{inspection_id}/findings/{finding_id}/withdrawal", INSPECTOR),
    ("POST", "/inspections/{inspection_id}/close", INSPECTOR),
    ("POST", "/proceedings", BOARD),
    ("GET", "/proceedings/{proceeding_id}", BOARD_AUDITOR),
    ("POST", "/proceedings/{proceeding_id}/deferral", BOARD),
    ("POST", "/proceedings/{proceeding_id}/dismissal", BOARD),
    ("POST", "/proceedings/{proceeding_id}/decision", BOARD),
    ("GET", "/decisions/{decision_id}", BOARD_AUDITOR),
    ("POST", "/decisions/{decision_id}/appeals", BOARD),
    ("POST", "/decisions/{decision_id}/appeals/{appeal_id}/resolution", BOARD),
    ("POST", "/decisions/{decision_id}/annulment", BOARD),
    ("POST", "/evaluations/monthly", BOARD),
    ("POST", "/evaluations/monthly/corrections", BOARD),
    ("POST", "/evaluations/annual", BOARD),
    ("POST", "/evaluations/annual/corrections", BOARD),
    ("GET", "/events", AUDITOR),
    ("GET", "/access-log", AUDITOR),
    ("GET", "/audit/public-key", ALL),
    ("GET", "/audit/checkpoints", ALL),
    ("GET", "/audit/checkpoints/latest", ALL),
    ("GET", "/audit/export", AUDITOR),
    ("GET", "/audit/verify", AUDITOR),
    ("GET", "/inspections", ALL),
    ("GET", "/proceedings", BOARD_AUDITOR),
    ("GET", "/decisions", BOARD_AUDITOR),
    ("GET", "/worklists/terms-ending", BOARD_AUDITOR),
    ("GET", "/worklists/proceedings-due", BOARD_AUDITOR),
    ("GET", "/worklists/appeals-pending", BOARD_AUDITOR),
    *[("GET", f"/reference/{name}", ALL) for name in REFERENCE],
]
UNAUTHENTICATED = {"/api/v1/openapi.json", "/api/v1/healthz", "/api/v1/readyz", "/api/v1/metrics"}


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def test_the_matrix_covers_every_route_and_matches_the_code(store_env):
    flask_app = create_app(Settings.from_env(store_env), service=build_app(store_env))
    table = {(m, "/api/v1" + p): allowed for m, p, allowed in MATRIX}
    found = {}
    for rule in flask_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule in UNAUTHENTICATED:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        view = flask_app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[(method, path)] = set(getattr(view, "_roles", ()))
    assert found == table
    flask_app.extensions["audit_service"].close()


def _ids(h: ApiHarness) -> dict:
    w = build_city(h)
    ins = h.ok("inspector", "/inspections", {"unit_id": w["ward"], "started_on": "2024-03-01"})
    finding = h.ok("inspector", f"/inspections/{ins['id']}/findings", {
        "officer_id": w["officer"], "conduct_code": "qd522-late", "description": "Muộn",
        "observed_at": "2024-03-01T08:45:00+07:00"})
    proc = h.ok("board", "/proceedings", {"officer_id": w["officer"], "violations": [{
        "conduct_code": "qd522-late", "occurred_on": "2024-03-01", "detected_on": "2024-03-01",
        "description": "Đi muộn"}], "opened_on": "2024-03-10"})
    dec = h.ok("board", f"/proceedings/{proc['id']}/decision", {
        "form": "khien_trach", "decision_ref": ref("12", "2024-04-01"),
        "effective_from": "2024-04-01"})
    appeal = h.ok("board", f"/decisions/{dec['id']}/appeals", {"lodged_on": "2024-04-10",
                                                              "grounds": "Không đồng ý"})
    h.project()
    return {"unit_id": w["ward"], "officer_id": w["officer"], "inspection_id": ins["id"],
            "finding_id": finding["id"], "proceeding_id": proc["id"], "decision_id": dec["id"],
            "appeal_id": appeal["id"]}


def test_every_endpoint_for_every_role(h):
    ids = _ids(h)
    before = h.event_count()
    outcomes = []
    for method, template, allowed in MATRIX:
        path = template.format(**ids)
        query = ({"year": 2024} if path.endswith("/statistics") else
                 {"to_unit_id": ids["unit_id"]} if path.endswith("/rotation-check") else {})
        for role in (*ROLES, None):
            if method == "POST":
                r = h.post(role, path, {})
            else:
                r = h.get(role, path, **query)
            outcomes.append((method, template, role, r.status_code))
            if role is None:
                assert r.status_code == 401, (method, template)
            elif role in allowed:
                assert r.status_code not in (401, 403), (method, template, role, r.get_json())
                # an empty body is never a valid command: refused before anything is appended
                assert method == "GET" or r.status_code == 422, (method, template, role)
                assert method == "POST" or r.status_code == 200, (method, template, role,
                                                                  r.get_data()[:300])
            else:
                assert (r.status_code, (r.get_json() or {}).get("code")) == (403, "forbidden"), (
                    method, template, role, r.get_data()[:200])
    assert h.event_count() == before
    assert len(outcomes) == len(MATRIX) * (len(ROLES) + 1)


def test_only_team_members_record_findings(h):
    w = build_city(h)
    ins = h.ok("inspector", "/inspections", {"unit_id": w["ward"], "started_on": "2024-03-01"})
    _, other = TokenStore(h.db).create("inspector", "not on the team")
    before = h.event_count()
    r = h.client.post(f"/api/v1/inspections/{ins['id']}/findings", json={
        "conduct_code": "qd522-late", "description": "Muộn",
        "observed_at": "2024-03-01T08:45:00+07:00"}, headers={"Authorization": f"Bearer {other}"})
    assert (r.status_code, r.get_json()["code"]) == (409, "not_on_team")
    assert h.event_count() == before


def test_every_event_names_the_acting_user(h):
    _ids(h)
    lines = h.get("auditor", "/events", limit=10000).get_data(as_text=True).splitlines()
    import json

    actors = {json.loads(line)["data"].get("actor_id") for line in lines}
    assert actors <= {h.users["admin"], h.users["board"], h.users["inspector"]}
    assert actors >= {h.users["admin"], h.users["board"], h.users["inspector"]}


def test_an_inspector_tied_to_a_unit_opens_inspections_only_under_it(h):
    w = build_city(h)
    other = h.ok("admin", "/units", {"code": "D-BD", "name": "Quận Ba Đình", "level": "district",
                                     "parent_id": w["city"]})["id"]
    _, token = TokenStore(h.db).create("inspector", "Đoàn quận Tây Hồ", unit_id=w["district"])
    auth = {"Authorization": f"Bearer {token}"}
    inside = h.client.post("/api/v1/inspections", headers=auth,
                           json={"unit_id": w["ward"], "started_on": "2024-03-01"})
    assert inside.status_code == 201
    before = h.event_count()
    outside = h.client.post("/api/v1/inspections", headers=auth,
                            json={"unit_id": other, "started_on": "2024-03-01"})
    assert (outside.status_code, outside.get_json()["code"]) == (403, "outside_user_unit")
    assert h.event_count() == before
