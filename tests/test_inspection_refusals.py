"""Writes an inspection refuses (409 with a rule code, nothing appended): team members who
are not active inspector users (API tokens and web accounts, as the user directory wired at
start-up tells them), and, for an inspector limited to a unit, findings against officers
serving outside it. Over HTTP and the web pages with real users, on SQLite and PostgreSQL;
and what a bare service without a user directory does."""
from __future__ import annotations

import pytest

from api import create_app
from auditing.access import TokenStore
from auditing.accounts import Accounts
from audit_service.application import Actor
from audit_service.config import Settings
from audit_service.errors import RuleViolation
from projections.db import ReadModelDB
from projections.projector import Projector
from tests.api_support import harness_for, build_city
from tests.conftest import ADMIN, INSPECTOR, build_app, event_count
from tests.web_support import KEY, PASSWORD, csrf_of, sign_in
from tests.world import build_world


@pytest.fixture
def h(store_env):
    harness = harness_for(store_env)
    yield harness
    harness.close()


def _open(h, role_or_token, team):
    headers = {"Authorization": f"Bearer {role_or_token}"}
    return h.client.post("/api/v1/inspections", headers=headers, json={
        "unit_id": h.ids["ward"], "team": team, "started_on": "2024-03-01"})


def _refused(r, code: str) -> dict:
    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert body["code"] == code
    return body


def test_team_members_must_be_active_inspector_users(h):
    h.ids = build_city(h)
    tokens = TokenStore(h.db)
    second, _ = tokens.create("inspector", "Thanh tra viên hai")
    gone, _ = tokens.create("inspector", "Thanh tra viên đã nghỉ")
    tokens.revoke(gone.user_id)
    Accounts(h.db).set_password("thanh.tra.web", PASSWORD, role="inspector")
    Accounts(h.db).set_password("hoi.dong.web", PASSWORD, role="board")
    me = h.tokens["inspector"]
    before = h.event_count()
    for team, strangers in (([h.users["board"]], [h.users["board"]]),
                            (["Lê Văn C"], ["Lê Văn C"]),
                            ([gone.user_id], [gone.user_id]),
                            (["hoi.dong.web", second.user_id], ["hoi.dong.web"])):
        body = _refused(_open(h, me, team), "team_member_not_inspector")
        assert body["details"]["team"] == strangers
    assert h.event_count() == before
    r = _open(h, me, [second.user_id, "thanh.tra.web"])
    assert r.status_code == 201, r.get_json()
    team = h.get("auditor", f"/inspections/{r.get_json()['id']}").get_json()["team"]
    assert team == [h.users["inspector"], second.user_id, "thanh.tra.web"]


def test_a_unit_scoped_inspector_records_findings_only_within_the_unit(h):
    w = h.ids = build_city(h)
    outside = h.ok("admin", "/officers", {
        "personnel_code": "HN-000009", "full_name": "Đỗ Văn Giang", "category": "cong_chuc",
        "unit_id": w["ward2"], "position": "Chuyên viên"})["id"]
    ward_user, ward_token = TokenStore(h.db).create("inspector", "Thanh tra phường",
                                                    unit_id=w["ward"])
    district_user, district_token = TokenStore(h.db).create(
        "inspector", "Thanh tra quận", unit_id=w["district"])
    ins = _open(h, ward_token, [district_user.user_id])
    assert ins.status_code == 201, ins.get_json()
    path = f"/api/v1/inspections/{ins.get_json()['id']}/findings"

    def finding(token, officer_id):
        return h.client.post(path, headers={"Authorization": f"Bearer {token}"}, json={
            "officer_id": officer_id, "conduct_code": "qd522-late", "description": "Đi muộn",
            "observed_at": "2024-03-01T08:40:00+07:00"})

    inside = finding(ward_token, w["officer"])
    assert inside.status_code == 201, inside.get_json()
    before = h.event_count()
    body = _refused(finding(ward_token, outside), "officer_outside_user_unit")
    assert body["details"]["officer_id"] == outside
    # moving a finding to an officer outside the scope is refused the same way
    fid = inside.get_json()["id"]
    moved = h.client.post(f"{path}/{fid}/corrections",
                          headers={"Authorization": f"Bearer {ward_token}"},
                          json={"reason": "nhầm người", "officer_id": outside})
    _refused(moved, "officer_outside_user_unit")
    assert h.event_count() == before
    # the district's inspector (on the team) reaches both wards under the district
    assert finding(district_token, outside).status_code == 201


def test_the_web_form_gets_the_same_refusal(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env),
                           config={"WEB_READ_WAIT_SECONDS": 0.1})
    svc = flask_app.extensions["audit_service"]
    db = ReadModelDB(settings.database)
    try:
        w = build_world(svc.service)  # its inspectors become web accounts
        Accounts(db).set_password("thanh.tra.phuong", PASSWORD, role="inspector",
                                  unit_id=str(w.ward))
        me = Actor("thanh.tra.phuong", "inspector", str(w.ward))
        inspection = svc.service.open_inspection(me, unit_id=w.ward, team=[],
                                                 started_on="2024-03-01").id
        outside = svc.service.register_officer(
            ADMIN, personnel_code="HN-000099", full_name="Đỗ Văn Giang",
            category="cong_chuc", unit_id=w.ward2, position="Chuyên viên").id
        Projector(svc.service).catch_up()
        c = flask_app.test_client()
        assert sign_in(c, "thanh.tra.phuong").status_code == 302
        html = c.get(f"/inspections/{inspection}").get_data(as_text=True)
        action = f"/inspections/{inspection}/findings"
        chunk = html[html.index(f'action="{action}"'):]
        chunk = chunk[:chunk.index("</form>")]
        before = event_count(svc.service)
        r = c.post(action, data={
            "csrf_token": csrf_of(chunk), "idempotency_key": KEY.search(chunk).group(1),
            "officer_id": str(outside), "conduct_code": "qd522-late",
            "description": "Đi muộn", "observed_at": "2024-03-01T08:40"})
        assert r.status_code == 302 and r.headers["Location"].endswith(action[:-9])
        page = c.get(r.headers["Location"]).get_data(as_text=True)
        assert "[officer_outside_user_unit]" in page
        assert event_count(svc.service) == before
    finally:
        db.close()
        svc.close()


class _Directory:
    """A user directory that knows one inspector."""

    def active_with_role(self, role, user_ids):
        return {u for u in user_ids if role == "inspector" and u == "insp-2"}


def test_without_a_user_directory_team_members_are_taken_as_given(store_env):
    """A bare service (pure domain tests, the demo generator) has no users to check team
    members against: it records them as given. Wired with a directory, it checks them."""
    app = build_app(store_env)
    w = build_world(app)
    assert app.user_directory is None
    taken = app.open_inspection(INSPECTOR, unit_id=w.ward, team=["anyone at all"],
                                started_on="2024-03-01").id
    assert app.get_inspection(taken).team == [INSPECTOR.user_id, "anyone at all"]
    app.user_directory = _Directory()
    before = event_count(app)
    with pytest.raises(RuleViolation) as e:
        app.open_inspection(INSPECTOR, unit_id=w.ward, team=["insp-2", "anyone at all"],
                            started_on="2024-03-01")
    # the opener (insp-1) is no inspector user of this directory either
    assert e.value.code == "team_member_not_inspector"
    assert e.value.details["team"] == [INSPECTOR.user_id, "anyone at all"]
    assert event_count(app) == before
    ok = app.open_inspection(Actor("insp-2", "inspector"), unit_id=w.ward, team=[],
                             started_on="2024-03-01").id
    assert app.get_inspection(ok).team == ["insp-2"]
    app.close()
