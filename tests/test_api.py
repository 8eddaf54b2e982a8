"""The HTTP API through Flask's test client, on real SQLite and PostgreSQL stores."""
from __future__ import annotations

import json
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from api import create_app
from auditing.access import TokenStore
from audit_service.config import Settings
from tests.api_support import ApiHarness, build_city, ref
from tests.conftest import build_app


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    flask_app.extensions["audit_service"].read_wait_seconds = 0.3
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def test_the_whole_workflow_through_every_endpoint(h):
    w = build_city(h)
    r = h.post("admin", f"/units/{w['ward']}/ratings", {"year": 2025, "rating": "weak"})
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/units/{w['ward']}")
    assert h.get("inspector", f"/units/{w['ward']}").get_json()["ratings"] == {"2025": "weak"}

    # an inspection with a finding, corrected, another withdrawn, then closed
    second, _ = TokenStore(h.db).create("inspector", "Thanh tra viên thứ hai")
    ins = h.ok("inspector", "/inspections", {"unit_id": w["ward"], "team": [second.user_id],
                                             "started_on": "2024-03-01", "announced": False})
    inspection = ins["id"]
    finding = h.ok("inspector", f"/inspections/{inspection}/findings", {
        "officer_id": w["officer"], "conduct_code": "qd522-late",
        "description": "Đến muộn 45 phút", "observed_at": "2024-03-01T08:45:00+07:00",
        "evidence_sha256": ["ab" * 32]})
    assert finding["inspection_id"] == inspection
    r = h.post("inspector", f"/inspections/{inspection}/findings/{finding['id']}/corrections",
               {"reason": "giờ ghi sai", "description": "Đến muộn 50 phút"})
    assert r.status_code == 201, r.get_json()
    other = h.ok("inspector", f"/inspections/{inspection}/findings", {
        "conduct_code": "qd522-late", "description": "Bộ phận một cửa vắng người",
        "observed_at": "2024-03-01T09:00:00+07:00"})
    h.ok("inspector", f"/inspections/{inspection}/findings/{other['id']}/withdrawal",
         {"reason": "nhầm đơn vị"})
    h.ok("inspector", f"/inspections/{inspection}/close", {"closed_on": "2024-03-05"})
    got = h.get("auditor", f"/inspections/{inspection}").get_json()
    assert got["closed_on"] == "2024-03-05" and got["team"][0] == h.users["inspector"]
    statuses = {f["finding_id"]: f["status"] for f in got["findings"]}
    assert statuses == {finding["id"]: "active", other["id"]: "withdrawn"}
    one = h.get("board", f"/inspections/{inspection}/findings/{finding['id']}").get_json()
    assert one["description"] == "Đến muộn 50 phút"

    # a proceeding from the finding, a decision, an appeal, an annulment
    proc = h.ok("board", "/proceedings", {"officer_id": w["officer"], "violations": [{
        "finding_id": finding["id"], "inspection_id": inspection, "conduct_code": "qd522-late",
        "occurred_on": "2024-03-01", "detected_on": "2024-03-01",
        "description": "Đi muộn"}], "opened_on": "2024-03-10"})
    assert h.get("board", f"/proceedings/{proc['id']}").get_json()["officer_id"] == w["officer"]
    decision = h.ok("board", f"/proceedings/{proc['id']}/decision", {
        "form": "khien_trach", "decision_ref": ref("12", "2024-04-01"),
        "effective_from": "2024-04-01", "corruption_related": False})
    assert decision["proceeding_id"] == proc["id"]
    appeal = h.ok("board", f"/decisions/{decision['id']}/appeals",
                  {"lodged_on": "2024-04-10", "grounds": "Không đồng ý"})
    h.ok("board", f"/decisions/{decision['id']}/appeals/{appeal['id']}/resolution",
         {"outcome": "upheld", "resolved_on": "2024-05-01"})
    h.ok("board", f"/decisions/{decision['id']}/annulment",
         {"reason": "sai thẩm quyền", "decision_ref": ref("30", "2024-06-01")})
    assert h.get("auditor", f"/decisions/{decision['id']}").get_json()["status"] == "annulled"

    # a second proceeding deferred, a third dismissed
    for action, body in (("deferral", {"reason": "serious_illness", "until": "2027-01-01"}),
                         ("dismissal", {"reason": "không đủ căn cứ"})):
        p = h.ok("board", "/proceedings", {"officer_id": w["leader"], "violations": [{
            "conduct_code": "qd522-absent", "occurred_on": "2026-10-01",
            "detected_on": "2026-10-02", "description": "Vắng mặt"}]})
        h.ok("board", f"/proceedings/{p['id']}/{action}", body)

    # evaluations and their corrections
    h.ok("board", "/evaluations/annual", {"officer_id": w["leader"], "year": 2024,
                                          "rating": "KHTNV"})
    h.ok("board", "/evaluations/annual/corrections", {"officer_id": w["leader"], "year": 2024,
                                                      "rating": "HTNV", "reason": "phúc tra"})
    h.ok("board", "/evaluations/monthly", {"officer_id": w["officer"], "period": "2026-10",
                                           "score": 72})
    h.ok("board", "/evaluations/monthly/corrections", {"officer_id": w["officer"],
                                                       "period": "2026-10", "score": 91,
                                                       "reason": "chấm lại"})

    # transfers, reappointment, leaving
    h.ok("admin", f"/officers/{w['officer']}/transfers", {
        "to_unit_id": w["ward2"], "effective_on": "2026-01-02", "decision_ref": ref("40", "2025-12-20")})
    elig = None
    h.project()
    elig = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-02-25").get_json()
    assert elig["verdict"] in ("eligible", "not_eligible", "needs_review")
    assert elig["reasons"] and all(r["rule_id"] and r["citation"] for r in elig["reasons"])
    h.ok("board", f"/officers/{w['leader']}/reappointment-decisions", {
        "outcome": "reappointed", "decided_on": "2026-02-25",
        "decision_ref": ref("50", "2026-02-25"), "eligibility_hash": elig["hash"]})
    vc = h.ok("admin", "/officers", {"personnel_code": "HN-000003", "full_name": "Lê Minh Châu",
                                     "category": "vien_chuc", "unit_id": w["ward"],
                                     "position": "Giáo viên"})
    h.ok("admin", f"/officers/{vc['id']}/leaving", {"left_on": "2026-06-30", "reason": "nghỉ hưu"})

    h.project()
    history = h.get("board", f"/officers/{w['officer']}/history").get_json()
    kinds = [e["event_type"] for e in history["entries"]]
    assert "Decision.Annulled" in kinds and "Officer.Transferred" in kinds
    issued = next(e for e in history["entries"] if e["event_type"] == "Decision.Issued")
    assert issued["status"] == "annulled"
    standing = h.get("auditor", f"/officers/{w['officer']}/standing").get_json()
    assert standing["unit_id"] == w["ward2"] and standing["effects_in_force"] == []
    stats = h.get("admin", f"/units/{w['district']}/statistics", year=2024).get_json()
    assert stats["inspections"] == 1 and stats["findings"] == 1
    assert stats["proceedings_opened"] == 1 and stats["officers_disciplined"] == 0
    alone = h.get("admin", f"/units/{w['district']}/statistics", year=2024, subunits="false")
    assert alone.get_json()["inspections"] == 0
    listing = h.get("inspector", "/officers", unit_id=w["ward"]).get_json()
    assert {o["personnel_code"] for o in listing["items"]} == {"HN-000002", "HN-000003"}
    assert h.get("inspector", "/officers", q="nguyen van an").get_json()["items"][0][
        "officer_id"] == w["officer"]
    units = h.get("inspector", "/units", parent_id=w["district"]).get_json()["items"]
    assert {u["unit_id"] for u in units} == {w["ward"], w["ward2"]}


def test_reference_catalogues_are_pick_lists_with_citations(h):
    forms = h.get("inspector", "/reference/discipline-forms").get_json()["items"]
    assert {f["form"] for f in forms} >= {"khien_trach", "canh_cao", "buoc_thoi_viec"}
    codes = h.get("board", "/reference/conduct-codes").get_json()["items"]
    late = next(c for c in codes if c["code"] == "qd522-late")
    assert late["title_vi"] and late["title_en"] and late["valid_from"]
    rules = h.get("auditor", "/reference/rules").get_json()
    assert rules["rules_version"] and all(r["citation"] for r in rules["items"])


def test_pagination_is_a_cursor(h):
    w = build_city(h)
    for n in range(5):
        h.ok("admin", "/officers", {"personnel_code": f"P-{n}", "full_name": f"Cán bộ {n}",
                                    "category": "cong_chuc", "unit_id": w["ward2"],
                                    "position": "Chuyên viên"})
    h.project()
    seen, after = [], None
    while True:
        page = h.get("admin", "/officers", unit_id=w["ward2"], limit=2,
                     **({"after": after} if after else {})).get_json()
        seen += [o["officer_id"] for o in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == 5 == len(set(seen)) and seen == sorted(seen)


# ---------------------------------------------------------------- errors

def test_errors_are_problem_json_and_append_nothing(h):
    w = build_city(h)
    before = h.event_count()
    r = h.post("admin", "/officers", {"personnel_code": "", "category": "x", "unit_id": "nope",
                                      "extra": 1})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["code"] == "validation_failed" and body["status"] == 422
    assert set(body["errors"]) == {"personnel_code", "category", "unit_id", "full_name",
                                   "position", "extra"}
    r = h.post("admin", "/officers", {"personnel_code": "HN-000001", "full_name": "X",
                                      "category": "cong_chuc", "unit_id": w["ward"],
                                      "position": "Y"})
    assert (r.status_code, r.get_json()["code"]) == (409, "personnel_code_taken")
    r = h.post("board", f"/proceedings/{w['ward']}/decision", {
        "form": "khien_trach", "decision_ref": ref("1", "2024-01-01"),
        "effective_from": "2024-01-01"})
    assert (r.status_code, r.get_json()["code"]) == (404, "proceeding_not_found")
    r = h.post("admin", "/units", {"code": "X", "name": "Y", "level": "ward",
                                   "established_on": "2099-01-01"})
    assert r.status_code == 422 and "established_on" in r.get_json()["errors"]
    r = h.client.post("/api/v1/units", data="{not json", content_type="application/json",
                      headers=h.headers("admin"))
    assert r.status_code in (400, 422) and r.mimetype == "application/problem+json"
    r = h.client.post("/api/v1/units", data=json.dumps({"name": "x" * 2_000_000}),
                      content_type="application/json", headers=h.headers("admin"))
    assert (r.status_code, r.get_json()["code"]) == (413, "body_too_large")
    assert h.get("admin", "/units/not-a-uuid").status_code == 404
    assert h.get("admin", "/no/such/route").get_json()["code"] == "not_found"
    assert h.event_count() == before


def test_authentication_and_revocation(h):
    assert h.get(None, "/units").status_code == 401
    r = h.client.get("/api/v1/units", headers={"Authorization": "Bearer ast_forged"})
    assert (r.status_code, r.get_json()["code"]) == (401, "unauthenticated")
    from auditing.access import TokenStore

    TokenStore(h.db).revoke(h.users["admin"])
    assert h.get("admin", "/units").status_code == 401
    assert h.get("board", "/units").status_code == 200


def test_vietnamese_text_round_trips_nfc(h):
    w = build_city(h)
    decomposed = unicodedata.normalize("NFD", "Phạm Thị Hường")
    assert decomposed != "Phạm Thị Hường"
    r = h.ok("admin", "/officers", {"personnel_code": "HN-9", "full_name": decomposed,
                                    "category": "cong_chuc", "unit_id": w["ward"],
                                    "position": "Chuyên viên"})
    got = h.client.get(f"/api/v1/officers/{r['id']}", headers=h.headers("admin"))
    assert "Phạm Thị Hường".encode() in got.data  # UTF-8, not \\u escapes, NFC
    assert got.get_json()["full_name"] == "Phạm Thị Hường"


# ---------------------------------------------------------------- idempotency

def test_a_retried_post_returns_the_first_answer_and_appends_nothing(h):
    w = build_city(h)
    body = {"officer_id": w["officer"], "year": 2025, "rating": "HTTNV"}
    first = h.post("board", "/evaluations/annual", body, **{"Idempotency-Key": "r-1"})
    count = h.event_count()
    again = h.post("board", "/evaluations/annual", body, **{"Idempotency-Key": "r-1"})
    assert first.status_code == again.status_code == 201
    assert {k: v for k, v in again.get_json().items() if k != "replayed"} == \
        {k: v for k, v in first.get_json().items() if k != "replayed"}
    assert again.get_json()["replayed"] and again.headers["Location"] == first.headers["Location"]
    assert h.event_count() == count
    other = h.post("board", "/evaluations/annual", {**body, "rating": "HTNV"},
                   **{"Idempotency-Key": "r-1"})
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    # keys belong to users: another user's same key is a different request
    ins = h.post("inspector", "/inspections", {"unit_id": w["ward"], "started_on": "2024-01-02"},
                 **{"Idempotency-Key": "r-1"})
    assert ins.status_code == 201 and h.event_count() == count + len(ins.get_json()["positions"])


def test_a_retried_finding_answers_with_the_finding_not_the_inspection(h):
    """Commands whose answer names a part of a record (a finding, an appeal) replay it too."""
    w = build_city(h)
    ins = h.ok("inspector", "/inspections", {"unit_id": w["ward"], "started_on": "2024-01-02"})
    body = {"conduct_code": "qd522-late", "description": "Đến muộn 20 phút",
            "observed_at": "2024-01-02T08:20:00+07:00"}
    path = f"/inspections/{ins['id']}/findings"
    first = h.post("inspector", path, body, **{"Idempotency-Key": "f-1"})
    again = h.post("inspector", path, body, **{"Idempotency-Key": "f-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json()["replayed"]
    assert again.get_json()["id"] == first.get_json()["id"] != ins["id"]
    assert again.get_json()["inspection_id"] == ins["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert h.get("inspector", again.headers["Location"].split("/api/v1")[1]).status_code == 200


def test_concurrent_copies_of_one_request_append_once(h):
    w = build_city(h)
    body = {"unit_id": w["ward"], "started_on": "2024-01-02", "team": []}
    before = h.event_count()

    def send(_):
        client = h.flask_app.test_client()
        return client.post("/api/v1/inspections", json=body,
                           headers=h.headers("inspector", **{"Idempotency-Key": "same"}))

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert h.event_count() == before + len(answers[0].get_json()["positions"])


def test_a_refused_request_is_not_remembered(h):
    w = build_city(h)
    bad = {"officer_id": w["officer"], "year": 2025, "rating": "NOPE"}
    assert h.post("board", "/evaluations/annual", bad, **{"Idempotency-Key": "k"}).status_code == 422
    good = h.post("board", "/evaluations/annual", {**bad, "rating": "HTNV"},
                  **{"Idempotency-Key": "k"})
    assert good.status_code == 201 and good.get_json()["replayed"] is False


# ---------------------------------------------------------------- reads

def test_min_position_waits_for_the_projector_then_answers(h):
    w = build_city(h)
    h.project()
    r = h.ok("board", "/evaluations/annual", {"officer_id": w["officer"], "year": 2025,
                                              "rating": "KHTNV"})
    late = h.get("board", f"/officers/{w['officer']}/history", min_position=r["position"])
    assert late.status_code == 503 and late.headers["Retry-After"]
    assert late.get_json()["code"] == "projection_behind"
    h.project()
    got = h.get("board", f"/officers/{w['officer']}/history", min_position=r["position"])
    assert got.status_code == 200
    assert got.get_json()["entries"][-1]["position"] == r["position"]


def test_as_of_hides_later_corrections(h):
    w = build_city(h)
    h.ok("board", "/evaluations/annual", {"officer_id": w["officer"], "year": 2025,
                                          "rating": "KHTNV"})
    h.project()
    before = h.get("board", f"/officers/{w['officer']}/standing").get_json()
    history = h.get("board", f"/officers/{w['officer']}/history").get_json()
    moment = history["entries"][-1]["recorded_at"]
    h.ok("board", "/evaluations/annual/corrections", {"officer_id": w["officer"], "year": 2025,
                                                      "rating": "HTTNV", "reason": "phúc tra"})
    h.project()
    now = h.get("board", f"/officers/{w['officer']}/standing").get_json()
    then = h.get("board", f"/officers/{w['officer']}/standing", as_of=moment).get_json()
    assert before["ratings"]["2025"] == then["ratings"]["2025"] == "KHTNV"
    assert now["ratings"]["2025"] == "HTTNV"


def test_officer_reads_are_in_the_access_log(h):
    w = build_city(h)
    h.project()
    h.get("board", f"/officers/{w['officer']}/history")
    h.get("auditor", f"/officers/{w['officer']}/eligibility", on="2026-01-01")
    h.get("board", f"/officers/{w['leader']}/standing")
    log = h.get("auditor", "/access-log", officer_id=w["officer"]).get_json()["items"]
    assert [(e["user_id"], e["what"]) for e in log] == [
        (h.users["board"], "history"), (h.users["auditor"], "eligibility")]
    assert log[1]["query"] == "on=2026-01-01" and log[0]["accessed_at"]
    assert h.get("board", "/access-log").status_code == 403


def test_event_stream_is_ndjson_with_positions(h):
    build_city(h)
    total = h.event_count()
    r = h.get("auditor", "/events", after=2, limit=3)
    lines = [json.loads(line) for line in r.data.decode().splitlines()]
    assert r.mimetype == "application/x-ndjson"
    assert [e["position"] for e in lines] == [3, 4, 5]
    assert r.headers["X-Next-After"] == "5" and r.headers["X-Has-More"] == "true"
    assert all(e["topic"] and e["state_b64"] and e["recorded_at"] for e in lines)
    rest = h.get("auditor", "/events", after=5, limit=10000)
    assert len(rest.data.decode().splitlines()) == total - 5


def test_operations_endpoints(h):
    build_city(h)
    assert h.client.get("/healthz").get_json() == {"status": "ok"}
    h.project()
    ready = h.client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["behind"] == 0
    h.get("admin", "/units")
    text = h.client.get("/metrics").data.decode()
    assert 'audit_http_requests_total{method="GET",route="/api/v1/units",status="200"}' in text
    assert f"audit_log_head_position {float(h.event_count())}" in text
    spec = h.client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/officers/{officer_id}/eligibility" in spec["paths"]
    post = spec["paths"]["/api/v1/officers"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert h.client.get("/openapi.json").get_json()["paths"] == spec["paths"]


def test_an_unreachable_database_is_a_503_with_retry_after(tmp_path):
    """A worker starts without its database and answers 503 + Retry-After, not 500."""
    settings = Settings.from_env({"AUDIT_DATABASE_URL": "postgresql://root@127.0.0.1:9/none"})
    flask_app = create_app(settings)
    client = flask_app.test_client()
    r = client.get("/api/v1/units", headers={"Authorization": "Bearer ast_x"})
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["code"] == "database_unavailable"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["code"] == "database_unavailable"
    assert client.get("/healthz").status_code == 200


def test_documented_read_shapes_drop_nothing(h):
    """The response schemas document the reads; the answers must equal the query results."""
    w = build_city(h)
    h.ok("board", "/evaluations/annual", {"officer_id": w["leader"], "year": 2024,
                                          "rating": "KHTNV"})
    h.project()
    rm = h.flask_app.extensions["audit_service"].readmodels
    pairs = [
        (h.get("board", f"/officers/{w['leader']}/history"), rm.history(w["leader"])),
        (h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-02-01"),
         rm.eligibility(w["leader"], on="2026-02-01")),
        (h.get("admin", f"/units/{w['city']}/statistics", year=2024),
         rm.unit_statistics(w["city"], 2024)),
    ]
    for response, expected in pairs:
        assert response.get_json() == json.loads(json.dumps(expected, default=str))
    standing = h.get("board", f"/officers/{w['leader']}/standing").get_json()
    assert set(standing) == set(rm.standing(w["leader"]))


def test_rotation_check_flags_a_move_up_from_a_weak_ward(h):
    w = build_city(h)
    h.ok("admin", f"/units/{w['ward']}/ratings", {"year": 2019, "rating": "weak"})
    h.project()
    up = h.get("board", f"/officers/{w['officer']}/rotation-check", to_unit_id=w["district"],
               on="2020-03-01").get_json()
    assert up["allowed"] is False and up["flag"]["rule_id"] == "weak-ward-rotation"
    assert up["flag"]["citation"] and up["flag"]["positions"]
    sideways = h.get("board", f"/officers/{w['officer']}/rotation-check", to_unit_id=w["ward2"],
                     on="2020-03-01").get_json()
    assert sideways == {**sideways, "allowed": True, "flag": None}


def test_eligibility_asks_about_the_same_or_a_higher_post_and_party_discipline(h):
    """?post= is part of the question and of the hash; a Party cảnh cáo (Regulation
    377-QĐ/TW) bars a higher post for 36 months and not the same post (once the
    administrative side it calls for is closed: Decree 71/2023)."""
    w = build_city(h)
    proc = h.ok("board", "/proceedings", {"officer_id": w["leader"], "violations": [{
        "conduct_code": "qd522-absent", "occurred_on": "2025-10-20",
        "detected_on": "2025-10-21", "description": "Vắng mặt"}], "opened_on": "2025-10-25"})
    d = h.ok("board", f"/proceedings/{proc['id']}/decision", {
        "form": "canh_cao", "decision_ref": ref("77", "2025-11-03", symbol="QĐ-UBKT"),
        "effective_from": "2025-11-03", "discipline_system": "party"})
    assert h.get("board", f"/decisions/{d['id']}").status_code == 200
    h.project()
    waiting = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-01-05").get_json()
    assert waiting["verdict"] == "needs_review"  # the administrative side is still open
    assert [r["outcome"] for r in waiting["reasons"]
            if r["rule_id"] == "party-decision-awaits-state"] == ["needs_review"]
    h.ok("board", f"/proceedings/{proc['id']}/dismissal",
         {"reason": "Không xử lý kỷ luật hành chính", "dismissed_on": "2025-12-01"})
    h.project()
    same = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-01-05").get_json()
    higher = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-01-05",
                   post="higher").get_json()
    assert (same["post"], higher["post"]) == ("same", "higher")
    assert same["verdict"] == "eligible" and higher["verdict"] == "not_eligible"
    assert same["hash"] != higher["hash"]
    bar = [r for r in higher["reasons"] if r["rule_id"] == "discipline-effect"]
    assert len(bar) == 1 and "36-month" in bar[0]["message_en"] and "377" in bar[0]["message_en"]
    bad = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-01-05", post="lower")
    assert bad.status_code in (400, 422)


def test_eligibility_for_an_officer_not_yet_on_record_is_404(h):
    w = build_city(h)
    h.project()
    r = h.get("board", f"/officers/{w['officer']}/eligibility", on="2009-12-31")  # joined 2010
    assert r.status_code == 404 and r.get_json()["code"] == "officer_not_on_record"
    assert h.get("board", f"/officers/{w['officer']}/eligibility",
                 on="2010-01-04").status_code == 200


def test_rotation_check_and_transfer_use_the_rule_in_force_on_the_date(h):
    w = build_city(h)
    h.ok("admin", f"/units/{w['ward']}/ratings", {"year": 2024, "rating": "weak"})
    h.project()
    after = h.get("board", f"/officers/{w['officer']}/rotation-check", to_unit_id=w["district"],
                  on="2025-08-01").get_json()
    assert after["allowed"] is True and after["rule_in_force"] is False
    assert "not in force" in after["reason_en"]
    same_year = h.get("board", f"/officers/{w['officer']}/rotation-check",
                      to_unit_id=w["district"], on="2024-06-03").get_json()
    assert same_year["allowed"] is True and same_year["rating_used"] is None  # 2024 not over
    before = h.event_count()
    body = {"to_unit_id": w["district"], "effective_on": "2025-03-03", "kind": "rotation",
            "decision_ref": ref("44", "2025-02-20")}
    r = h.post("admin", f"/officers/{w['officer']}/transfers", body)
    assert r.status_code == 409 and r.get_json()["code"] == "weak_ward_rotation"
    assert h.event_count() == before
    h.ok("admin", f"/officers/{w['officer']}/transfers",
         {**body, "rotation_exception_reason": "Điều động theo yêu cầu nhiệm vụ đặc biệt"})


def test_reappointment_hash_is_recomputed_at_write_time_and_override_is_kept(h):
    """Section 3: a hash the service never gave is refused (409, nothing appended);
    reappointing against a not_eligible verdict needs override_reason, kept in the event
    and shown in the history."""
    w = build_city(h)
    h.ok("board", "/evaluations/annual", {"officer_id": w["leader"], "year": 2024,
                                          "rating": "KHTNV"})
    h.project()
    before = h.event_count()
    body = {"outcome": "reappointed", "decided_on": "2026-02-25",
            "decision_ref": ref("50", "2026-02-25"), "eligibility_hash": "0" * 64}
    path = f"/officers/{w['leader']}/reappointment-decisions"
    r = h.post("board", path, body)
    assert r.status_code == 409 and r.get_json()["code"] == "eligibility_hash_unknown"
    elig = h.get("board", f"/officers/{w['leader']}/eligibility", on="2026-02-25").get_json()
    assert elig["verdict"] == "not_eligible"
    r = h.post("board", path, {**body, "eligibility_hash": elig["hash"]})
    assert r.status_code == 409 and r.get_json()["code"] == "override_reason_required"
    assert h.event_count() == before
    h.ok("board", path, {**body, "eligibility_hash": elig["hash"],
                         "override_reason": "Phúc tra xếp loại 2024 đang chờ kết luận"})
    (last,) = [n for n in h.service.recorder.select_notifications(start=1, limit=100_000)
               if n.topic.endswith("ReappointmentDecided")]
    state = json.loads(last.state)
    assert state["eligibility_verdict"] == "not_eligible" and state["class_version"] == 3
    assert state["dossier_hash"] is None
    assert state["override_reason"].startswith("Phúc tra")
    h.project()
    history = h.get("auditor", f"/officers/{w['leader']}/history").get_json()
    assert "decided against the verdict" in json.dumps(history, ensure_ascii=False)
