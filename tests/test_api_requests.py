"""Requests as HTTP sees them: the Idempotency-Key contract and the Authorization scheme."""
from __future__ import annotations

import pytest

from api import create_app
from api.auth import actor, current_user
from auditing.access import TokenStore
from audit_service.config import Settings
from tests.api_support import ApiHarness, build_city
from tests.conftest import build_app

KEY = "Idempotency-Key"


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def same_answer(first, again) -> None:
    assert first.status_code == again.status_code == 201
    assert {k: v for k, v in again.get_json().items() if k != "replayed"} == \
        {k: v for k, v in first.get_json().items() if k != "replayed"}
    assert first.get_json()["replayed"] is False
    assert again.get_json()["replayed"] is True and again.headers["Idempotent-Replayed"] == "true"


# --------------------------------------------------------------------------- replays

def test_a_retried_officer_registration_replays_instead_of_personnel_code_taken(h):
    w = build_city(h)
    body = {"personnel_code": "HN-000777", "full_name": "Đỗ Văn Khải", "category": "cong_chuc",
            "unit_id": w["ward"], "position": "Chuyên viên"}
    first = h.post("admin", "/officers", body, **{KEY: "reg-1"})
    count = h.event_count()
    again = h.post("admin", "/officers", body, **{KEY: "reg-1"})
    same_answer(first, again)
    assert again.headers["Location"] == first.headers["Location"]
    assert h.event_count() == count
    # without the key the same body is a second command, which the rule refuses
    plain = h.post("admin", "/officers", body)
    assert plain.get_json()["code"] == "personnel_code_taken"


def test_a_retried_close_replays_instead_of_already_closed(h):
    w = build_city(h)
    inspection = h.ok("inspector", "/inspections", {"unit_id": w["ward"],
                                                    "started_on": "2024-03-01"})["id"]
    body = {"closed_on": "2024-03-05", "conclusion_ref": "KL 1/KL-ĐKT"}
    first = h.post("inspector", f"/inspections/{inspection}/close", body, **{KEY: "close-1"})
    count = h.event_count()
    again = h.post("inspector", f"/inspections/{inspection}/close", body, **{KEY: "close-1"})
    same_answer(first, again)
    assert h.event_count() == count
    plain = h.post("inspector", f"/inspections/{inspection}/close", body)
    assert plain.status_code == 409, plain.get_json()


def test_the_same_key_and_body_on_another_path_is_refused(h):
    w = build_city(h)
    a, b = (h.ok("inspector", "/inspections", {"unit_id": w["ward"],
                                                "started_on": "2024-03-01"})["id"]
            for _ in range(2))
    body = {"closed_on": "2024-03-05"}
    first = h.post("inspector", f"/inspections/{a}/close", body, **{KEY: "close-x"})
    assert first.status_code == 201
    count = h.event_count()
    other = h.post("inspector", f"/inspections/{b}/close", body, **{KEY: "close-x"})
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    assert h.event_count() == count
    assert h.get("inspector", f"/inspections/{a}").get_json()["closed_on"] == "2024-03-05"
    assert h.get("inspector", f"/inspections/{b}").get_json()["closed_on"] is None


# --------------------------------------------------------------------------- refusals

def test_a_refused_request_is_not_remembered_under_its_key(h):
    w = build_city(h)
    bad = {"officer_id": w["officer"], "year": 2025, "rating": "NOPE"}
    refused = h.post("board", "/evaluations/annual", bad, **{KEY: "k"})
    assert (refused.status_code, refused.get_json()["code"]) == (422, "validation_failed")
    fixed = h.post("board", "/evaluations/annual", {**bad, "rating": "HTNV"}, **{KEY: "k"})
    assert fixed.status_code == 201 and fixed.get_json()["replayed"] is False


def test_a_rule_refusal_is_not_remembered_under_its_key(h):
    w = build_city(h)
    body = {"personnel_code": "HN-000001", "full_name": "Đỗ Văn Khải", "category": "cong_chuc",
            "unit_id": w["ward"], "position": "Chuyên viên"}
    refused = h.post("admin", "/officers", body, **{KEY: "k"})
    assert refused.get_json()["code"] == "personnel_code_taken"
    fixed = h.post("admin", "/officers", {**body, "personnel_code": "HN-000778"}, **{KEY: "k"})
    assert fixed.status_code == 201 and fixed.get_json()["replayed"] is False


# --------------------------------------------------------------------------- authorization

@pytest.mark.parametrize("scheme", ["Basic", "Token", "Digest", "", "Bearer:"])
def test_only_the_bearer_scheme_is_accepted(h, scheme):
    token = h.tokens["admin"]
    header = f"{scheme} {token}" if scheme else token
    r = h.client.get("/api/v1/units", headers={"Authorization": header})
    assert (r.status_code, r.get_json()["code"]) == (401, "unauthenticated")


def test_the_bearer_scheme_name_is_case_insensitive(h):
    # RFC 9110 section 11.1: the authentication scheme is case-insensitive
    for scheme in ("Bearer", "bearer", "BEARER"):
        r = h.client.get("/api/v1/units",
                         headers={"Authorization": f"{scheme} {h.tokens['admin']}"})
        assert r.status_code == 200, scheme


def test_a_missing_or_unknown_token_is_refused_with_a_message_saying_which(h):
    missing = h.client.get("/api/v1/units")
    assert (missing.status_code, missing.get_json()["code"]) == (401, "unauthenticated")
    assert missing.get_json()["detail"] == "send Authorization: Bearer <token>"
    unknown = h.client.get("/api/v1/units", headers={"Authorization": "Bearer not-a-token"})
    assert (unknown.status_code, unknown.get_json()["code"]) == (401, "unauthenticated")
    assert unknown.get_json()["detail"] == "the token is unknown or revoked"


def test_spaces_around_the_token_are_tolerated(h):
    # RFC 9110 section 11.4 allows only one space, but clients that pad the token are common;
    # the token itself never holds a space
    r = h.client.get("/api/v1/units", headers={"Authorization": f"Bearer  {h.tokens['admin']} "})
    assert r.status_code == 200


def test_a_request_authenticates_once_so_its_user_is_fixed_for_the_whole_request(h):
    """Revoking a token while a request runs does not change who that request acts as."""
    with h.flask_app.test_request_context(
            "/api/v1/units", headers={"Authorization": f"Bearer {h.tokens['board']}"}):
        first = current_user()
        assert (first.user_id, first.role) == (h.users["board"], "board")
        TokenStore(h.db).revoke(h.users["board"])
        assert current_user() == first
        assert actor().user_id == h.users["board"]
    revoked = h.get("board", "/units")
    assert revoked.status_code == 401


# --------------------------------------------------------------------------- the key and the answer

def test_the_key_is_trimmed_and_the_body_compared_whatever_its_key_order(h):
    w = build_city(h)
    body = {"personnel_code": "HN-000901", "full_name": "Lê Thị Hoa", "category": "cong_chuc",
            "unit_id": w["ward"], "position": "Chuyên viên"}
    first = h.post("admin", "/officers", body, **{KEY: "reg-9"})
    count = h.event_count()
    reordered = dict(reversed(list(body.items())))
    again = h.post("admin", "/officers", reordered, **{KEY: "  reg-9 "})
    same_answer(first, again)
    assert h.event_count() == count


@pytest.mark.parametrize("key, problem", [
    ("k" * 201, "1 to 200 characters"),
    ("   ", "1 to 200 characters"),
    ("a\x07b", "must not contain U+0007 (a control character), found at character 2"),
])
def test_a_bad_key_is_refused_naming_the_header_and_appends_nothing(h, key, problem):
    w = build_city(h)
    count = h.event_count()
    r = h.post("board", "/evaluations/annual",
               {"officer_id": w["officer"], "year": 2025, "rating": "HTNV"}, **{KEY: key})
    assert (r.status_code, r.get_json()["code"]) == (422, "validation_failed")
    assert r.get_json()["detail"] == "invalid Idempotency-Key"
    assert r.get_json()["errors"] == {"Idempotency-Key": problem}
    assert h.event_count() == count


def test_a_key_of_200_characters_is_accepted(h):
    w = build_city(h)
    r = h.post("board", "/evaluations/annual",
               {"officer_id": w["officer"], "year": 2025, "rating": "HTNV"}, **{KEY: "k" * 200})
    assert r.status_code == 201 and r.get_json()["replayed"] is False


def test_the_answer_names_the_positions_written_and_links_the_new_resource(h):
    w = build_city(h)
    ins = h.post("inspector", "/inspections", {"unit_id": w["ward"], "started_on": "2024-03-01"})
    head = h.event_count()
    assert ins.get_json()["position"] == head and ins.get_json()["positions"] == [head]
    assert ins.headers["Location"] == f"/api/v1/inspections/{ins.get_json()['id']}"
    assert "Idempotent-Replayed" not in ins.headers
    finding = h.post("inspector", f"/inspections/{ins.get_json()['id']}/findings", {
        "officer_id": w["officer"], "conduct_code": "qd522-late", "description": "Muộn",
        "observed_at": "2024-03-01T08:45:00+07:00"}, **{KEY: "f-1"})
    f = finding.get_json()
    assert f["inspection_id"] == ins.get_json()["id"] and f["replayed"] is False
    assert finding.headers["Location"] == \
        f"/api/v1/inspections/{ins.get_json()['id']}/findings/{f['id']}"
    assert h.get("inspector", f"/inspections/{f['inspection_id']}/findings/{f['id']}") \
        .status_code == 200


def test_the_fingerprint_stored_with_a_key_is_pinned(h):
    """Stored idempotency records keep the request's fingerprint; if its form changed between
    versions, a client retrying across an upgrade would be refused as reusing its key. So the
    form is fixed: method, path and the body as compact JSON with sorted keys and the text
    as it is (not \\u-escaped), one per line."""
    from api.commands import request_fingerprint

    with h.flask_app.test_request_context("/api/v1/officers", method="POST",
                                          json={"full_name": "Lê Thị Hoa", "category": "x",
                                                "n": [1, {"b": 2, "a": None}]}):
        assert request_fingerprint() == (
            'POST\n/api/v1/officers\n{"category":"x","full_name":"Lê Thị Hoa",'
            '"n":[1,{"a":null,"b":2}]}').encode()


def test_the_answer_links_a_rating_to_the_officers_standing(h):
    w = build_city(h)
    r = h.post("board", "/evaluations/annual",
               {"officer_id": w["officer"], "year": 2025, "rating": "HTNV"}, **{KEY: "r-1"})
    assert r.headers["Location"] == f"/api/v1/officers/{w['officer']}/standing"
