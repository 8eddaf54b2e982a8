"""The web pages through Flask's test client on real stores: sign-in, sessions, CSRF,
roles, the access log, idempotent forms, languages, search, and the dossier PDF."""
from __future__ import annotations

import io
import re

import pytest

from api import create_app
from auditing.access import AccessLog, TokenStore
from auditing.bootstrap import init_database
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector
from tests.conftest import build_app, event_count
from tests.web_support import ACCOUNTS, KEY, PASSWORD, build_city, create_accounts, csrf_of, \
    sign_in


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _web(env: dict):
    clock = Clock()
    flask_app = create_app(Settings.from_env(env), service=build_app(env),
                           config={"WEB_CLOCK": clock, "WEB_READ_WAIT_SECONDS": 0.1})
    svc = flask_app.extensions["audit_service"]
    db = ReadModelDB(svc.settings.database)
    create_accounts(db)
    city = build_city(svc.service)

    class Web:
        app, service = flask_app, svc.service
        ids = city

        def client(self, role: str | None = None):
            c = flask_app.test_client()
            if role:
                r = sign_in(c, ACCOUNTS[role])
                assert r.status_code == 302, r.get_data(as_text=True)[:500]
            return c

        def project(self):
            Projector(svc.service).catch_up()

    w = Web()
    w.db = db
    w.clock = clock
    yield w
    db.close()
    svc.close()


@pytest.fixture
def web(store_env):
    """Pages on each store (what keeps state: accounts, throttle, idempotency, access log)."""
    yield from _web(store_env)


@pytest.fixture
def web_lite(tmp_path):
    """Pages on SQLite only (what the store does not change: templates, roles, language)."""
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    yield from _web(env)


def _form(html: str, action: str) -> dict:
    """The hidden fields (CSRF token, idempotency key) of the form posting to ``action``."""
    start = html.index(f'action="{action}"')
    chunk = html[start:html.index("</form>", start)]
    return {"csrf_token": csrf_of(chunk), "idempotency_key": KEY.search(chunk).group(1)}


def test_password_sign_in_sets_a_safe_session_cookie(web):
    c = web.client()
    r = sign_in(c, ACCOUNTS["board"])
    assert (r.status_code, r.headers["Location"]) == (302, "/board")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Nhiệm kỳ sắp kết thúc" in c.get("/board").get_data(as_text=True)
    https = web.app.test_client()
    token = csrf_of(https.get("/login", base_url="https://localhost").get_data(as_text=True))
    r = https.post("/login", base_url="https://localhost", data={
        "csrf_token": token, "user_name": ACCOUNTS["board"], "password": PASSWORD},
        headers={"Referer": "https://localhost/login"})
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_are_refused_alike(web):
    c = web.client()
    for name, password in ((ACCOUNTS["board"], "sai mật khẩu"), ("khong.co", PASSWORD)):
        r = sign_in(c, name, password)
        assert r.status_code == 401
        assert "không đúng" in r.get_data(as_text=True)
    assert c.get("/board").status_code == 302  # still signed out


def test_sign_in_with_an_api_token(web):
    _, token = TokenStore(web.db).create("auditor", "Kiểm toán viên")
    c = web.client()
    page = csrf_of(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"csrf_token": page, "token": token})
    assert (r.status_code, r.headers["Location"]) == (302, "/audit")
    assert c.get("/audit").status_code == 200
    TokenStore(web.db).revoke(TokenStore(web.db).list()[-1]["user_id"])
    assert c.get("/audit").status_code == 302  # a revoked token's session ends at once


def test_repeated_failed_sign_ins_are_slowed_down_per_user_and_address(web):
    c = web.client()
    for _ in range(3):
        assert sign_in(c, ACCOUNTS["board"], "sai").status_code == 401
    r = sign_in(c, ACCOUNTS["board"])  # the right password, but too soon after the failures
    assert r.status_code == 429 and "2 giây" in r.get_data(as_text=True)
    # another user from the same address is not held back
    assert sign_in(web.client(), ACCOUNTS["auditor"]).status_code == 302
    web.clock.now += 3
    assert sign_in(c, ACCOUNTS["board"], "sai").status_code == 401  # the 4th failure
    web.clock.now += 3
    assert sign_in(c, ACCOUNTS["board"]).status_code == 429  # now 4 seconds to wait
    web.clock.now += 2
    assert sign_in(c, ACCOUNTS["board"]).status_code == 302  # and a success clears it
    c.post("/logout", data={"csrf_token": csrf_of(c.get("/board").get_data(as_text=True))})
    assert sign_in(c, ACCOUNTS["board"], "sai").status_code == 401  # counted from zero


def test_an_idle_session_is_signed_out(web_lite):
    c = web_lite.client("board")
    assert c.get("/board").status_code == 200
    web_lite.clock.now += 29 * 60
    assert c.get("/board").status_code == 200  # activity keeps it alive
    web_lite.clock.now += 31 * 60
    r = c.get("/board")
    assert r.status_code == 302 and "/login" in r.headers["Location"] and "idle=1" in \
        r.headers["Location"]
    assert "hết hạn do không hoạt động" in c.get(r.headers["Location"]).get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(web_lite):
    c = web_lite.client("inspector")
    before = event_count(web_lite.service)
    r = c.post(f"/inspections/{web_lite.ids['inspection']}/findings", data={
        "conduct_code": "qd522-late", "description": "Muộn",
        "observed_at": "2026-11-03T08:00", "idempotency_key": "k1"})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert event_count(web_lite.service) == before
    # the sign-in form is protected too
    refused = web_lite.client().post("/login", data={"user_name": "x", "password": "y"})
    assert refused.status_code == 400


PAGES = {  # page -> roles that may open it (the API's roles for the same data)
    "/board": {"board", "auditor"},
    "/officers": {"inspector", "board", "auditor", "admin"},
    "/officers/{leader}": {"board", "auditor"},
    "/officers/{leader}/dossier.pdf": {"board", "auditor"},
    "/inspections": {"inspector", "board", "auditor", "admin"},
    "/inspections/{inspection}": {"inspector", "board", "auditor", "admin"},
    "/units/{ward}": {"inspector", "board", "auditor", "admin"},
    "/proceedings/{proceeding}": {"board", "auditor"},
    "/decisions/{decision}": {"board", "auditor"},
    "/audit": {"auditor"},
    "/audit/events": {"auditor"},
}


def test_each_role_opens_only_its_pages(web_lite):
    clients = {role: web_lite.client(role) for role in ACCOUNTS}
    for template, allowed in PAGES.items():
        path = template.format(**web_lite.ids)
        for role, c in clients.items():
            status = c.get(path).status_code
            assert status == (200 if role in allowed else 403), (path, role, status)
        anonymous = web_lite.client().get(path)
        assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]


def test_every_page_route_has_a_role_rule(web_lite):
    open_routes = {"web.login", "web.logout", "web.language", "web.static"}
    checked = 0
    for rule in web_lite.app.url_map.iter_rules():
        if rule.endpoint.startswith("web.") and rule.endpoint not in open_routes:
            view = web_lite.app.view_functions[rule.endpoint]
            assert getattr(view, "_roles", None), rule.rule
            checked += 1
    assert checked >= 20


def test_forms_answer_with_the_api_roles(web_lite):
    """An auditor can read a decision but not annul it; an inspector cannot open one."""
    c = web_lite.client("auditor")
    html = c.get(f"/decisions/{web_lite.ids['decision']}").get_data(as_text=True)
    assert "annulment-form" not in html
    before = event_count(web_lite.service)
    r = c.post(f"/decisions/{web_lite.ids['decision']}/annulment",
               data={"csrf_token": csrf_of(html), "reason": "x"})
    assert r.status_code == 403 and event_count(web_lite.service) == before


def test_the_officer_page_shows_the_record_and_writes_the_access_log(web):
    c = web.client("board")
    leader = web.ids["leader"]
    html = c.get(f"/officers/{leader}?on=2026-11-20").get_data(as_text=True)
    assert "Trần Thị Bình" in html and "10/01/2027" in html  # term end as dd/mm/yyyy
    verdict_hash = re.search(r'id="eligibility-hash">([0-9a-f]{64})<', html).group(1)
    api = web.service  # the same verdict the API computes
    from projections.queries import ReadModels

    expected = ReadModels(web.db, api.reference).eligibility(leader, on="2026-11-20")
    assert verdict_hash == expected["hash"]
    assert f'name="eligibility_hash" value="{verdict_hash}"' in html
    for reason in expected["reasons"]:
        assert reason["citation"] in html.replace("&#34;", '"').replace("&#39;", "'")
        for position in reason["positions"]:
            assert f'href="#p{position}"' in html and f'id="p{position}"' in html
    log = AccessLog(web.db).entries(officer_id=leader)["items"]
    assert [e["what"] for e in log] == ["history", "standing", "eligibility"]
    assert {e["user_id"] for e in log} == {ACCOUNTS["board"]}


def test_withdrawn_and_corrected_entries_are_marked_on_the_timeline(web_lite):
    c = web_lite.client("inspector")
    inspection = web_lite.ids["inspection"]
    html = c.get(f"/inspections/{inspection}").get_data(as_text=True)
    action = f"/inspections/{inspection}/findings/{web_lite.ids['finding']}/withdrawal"
    r = c.post(action, data={**_form(html, action), "reason": "Nhầm người"})
    assert r.status_code == 302
    web_lite.project()
    officer = web_lite.ids["officers"][0]
    page = web_lite.client("board").get(f"/officers/{officer}").get_data(as_text=True)
    assert 'class="superseded' in page and "đã rút" in page


def test_a_finding_form_submitted_twice_records_once(web):
    c = web.client("inspector")
    inspection = web.ids["inspection"]
    html = c.get(f"/inspections/{inspection}").get_data(as_text=True)
    action = f"/inspections/{inspection}/findings"
    data = {**_form(html, action), "conduct_code": "qd522-late", "description": "Về sớm",
            "observed_at": "2026-11-03T16:10", "officer_id": web.ids["officers"][4],
            "evidence_sha256": "a" * 64}
    first = c.post(action, data=data)
    after_first = event_count(web.service)
    second = c.post(action, data=data)
    assert first.status_code == second.status_code == 302
    assert event_count(web.service) == after_first
    finding = [f for f in web.service.get_inspection(inspection).findings.values()
               if f["description"] == "Về sớm"]
    assert len(finding) == 1 and finding[0]["evidence_sha256"] == ["a" * 64]
    assert finding[0]["observed_at"].isoformat() == "2026-11-03T09:10:00+00:00"  # 16:10 UTC+7
    shown = c.get(second.headers["Location"]).get_data(as_text=True)
    assert "đã có từ trước" in shown or "Đã ghi lại" in shown


def test_a_refused_command_shows_the_services_reason_and_records_nothing(web_lite):
    c = web_lite.client("inspector")
    inspection = web_lite.ids["inspection"]
    html = c.get(f"/inspections/{inspection}").get_data(as_text=True)
    action = f"/inspections/{inspection}/findings"
    before = event_count(web_lite.service)
    r = c.post(action, data={**_form(html, action), "conduct_code": "qd522-late",
                             "description": "Trước khi bắt đầu",
                             "observed_at": "2026-10-01T08:00"}, follow_redirects=True)
    assert "finding_before_inspection" in r.get_data(as_text=True)
    assert event_count(web_lite.service) == before


def test_the_reappointment_form_records_the_hash_it_showed(web_lite):
    c = web_lite.client("board")
    leader = web_lite.ids["leader"]
    html = c.get(f"/officers/{leader}?on=2026-11-10").get_data(as_text=True)
    action = f"/officers/{leader}/reappointment"
    shown = re.search(r'id="eligibility-hash">([0-9a-f]{64})<', html).group(1)
    form = html[html.index(f'action="{action}"'):]
    # the decision date is the date of the verdict shown, whose hash the form quotes
    assert re.search(r'name="decided_on" value="([^"]+)"', form).group(1) == "2026-11-10"
    r = c.post(action, data={**_form(html, action), "eligibility_hash": shown,
                             "outcome": "reappointed", "decided_on": "2026-11-10",
                             "ref_number": "99", "ref_symbol": "QĐ-UBND",
                             "ref_issuer": "UBND quận Tây Hồ", "ref_signed_on": "2026-11-10"})
    assert r.status_code == 302
    app = web_lite.service
    last = app.recorder.select_notifications(start=1, limit=100_000)[-5:]
    decided = [app.mapper.to_domain_event(n) for n in last
               if n.topic.endswith("ReappointmentDecided")]
    assert len(decided) == 1 and decided[0].eligibility_hash == shown
    assert decided[0].actor_id == ACCOUNTS["board"]


def test_english_is_switched_on_and_remembered(web_lite):
    c = web_lite.client("board")
    assert "Nhiệm kỳ sắp kết thúc" in c.get("/board").get_data(as_text=True)
    assert "Terms ending soon" in c.get("/board?lang=en").get_data(as_text=True)
    assert "Terms ending soon" in c.get("/board").get_data(as_text=True)  # remembered
    assert "Nhiệm kỳ sắp kết thúc" in c.get("/board?lang=vi").get_data(as_text=True)


def test_officer_search_is_accent_insensitive_word_based_and_sorted_in_vietnamese(web):
    c = web.client("board")
    html = c.get("/officers?q=van").get_data(as_text=True)
    found = re.findall(r'<a href="/officers/[^"]+">([^<]+)</a>', html)
    assert found == ["Nguyễn Văn An", "Lê Văn Cường", "Đỗ Văn Em"]  # by given name
    assert re.findall(r'<a href="/officers/[^"]+">([^<]+)</a>',
                      c.get("/officers?q=THI binh").get_data(as_text=True)) == ["Trần Thị Bình"]
    assert "Phạm Thị Dung" in c.get("/officers?q=HN-000004").get_data(as_text=True)
    assert "Không tìm thấy" in c.get("/officers?q=van xyz").get_data(as_text=True)


def test_the_dossier_pdf_carries_name_verdict_and_hash_in_vietnamese(web_lite):
    from pypdf import PdfReader

    c = web_lite.client("board")
    leader = web_lite.ids["leader"]
    r = c.get(f"/officers/{leader}/dossier.pdf?on=2026-11-20")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", "", text)
    from projections.queries import ReadModels

    models = ReadModels(web_lite.db, web_lite.service.reference)
    expected = models.eligibility(leader, on="2026-11-20")
    assert "Trần Thị Bình" in text
    assert "HỒ SƠ CÁN BỘ" in text and "Điều kiện bổ nhiệm lại" in text
    verdict = {"eligible": "đủ điều kiện", "not_eligible": "không đủ điều kiện",
               "needs_review": "cần xem xét"}[expected["verdict"]]
    assert verdict in text
    assert expected["hash"] in flat
    assert ACCOUNTS["board"] in text  # who printed it
    assert AccessLog(web_lite.db).entries(officer_id=leader)["items"][0]["query"].startswith(
        "web dossier")


def test_worklists_on_the_board_page(web_lite):
    html = web_lite.client("board").get("/board").get_data(as_text=True)
    terms = html[html.index('id="terms-ending"'):html.index('id="proceedings-due"')]
    assert "Trần Thị Bình" in terms and "10/01/2027" in terms
    due = html[html.index('id="proceedings-due"'):html.index('id="appeals-pending"')]
    assert "Lê Văn Cường" in due and "29/09/2026" in due  # opened 01/07/2026 + 90 days
    appeals = html[html.index('id="appeals-pending"'):html.index('id="in-force"')]
    assert "Phạm Thị Dung" in appeals


@pytest.mark.parametrize("path, name, value", [
    ("/officers", "q", "Nguyễn\x00"),  # reached PostgreSQL text: a 500
    ("/board", "unit_id", "\x00"),
    ("/audit", "user_id", "\x01x"),
    ("/audit", "log_after", "9" * 30),  # beyond 64 bits
    ("/audit/events", "officer_id", "\x00"),
])
def test_a_page_refuses_unstorable_query_text_naming_it(web, path, name, value):
    c = web.client("auditor")
    r = c.get(path, query_string={name: value})
    assert r.status_code == 422
    assert f"{name}: " in r.get_data(as_text=True)


def test_a_form_field_with_a_nul_is_refused_and_records_nothing(web):
    c = web.client("inspector")
    inspection = web.ids["inspection"]
    html = c.get(f"/inspections/{inspection}").get_data(as_text=True)
    action = f"/inspections/{inspection}/findings"
    before = event_count(web.service)
    r = c.post(action, data={**_form(html, action), "conduct_code": "qd522-late",
                             "description": "Vắng\x00 mặt", "observed_at": "2026-11-03T09:10"})
    assert r.status_code == 422 and "description: " in r.get_data(as_text=True)
    assert event_count(web.service) == before


def test_the_bounded_verify_takes_any_seconds_value(web):
    c = web.client("auditor")
    for seconds in ("abc", "nan", "inf", "-3"):
        r = c.get("/audit", query_string={"verify": "1", "seconds": seconds})
        assert r.status_code == 200, seconds
        assert "checked" in r.get_data(as_text=True) or "kiểm" in r.get_data(as_text=True)


def test_the_proceeding_page_links_a_party_decision_and_its_state_twin(web_lite):
    """A proceeding decided by a Party decision alone shows that decision; once the state
    decision for the same act follows, both are linked, each under its own label."""
    from tests.web_support import ref
    from tests.conftest import BOARD
    app, proc = web_lite.service, web_lite.ids["proceeding"]
    party = app.decide_proceeding(BOARD, proc, form="khien_trach", discipline_system="party",
                                  decision_ref=ref("31", "2026-08-03"),
                                  effective_from="2026-08-03").id
    web_lite.project()
    c = web_lite.client("board")
    html = c.get(f"/proceedings/{proc}").get_data(as_text=True)
    assert f'href="/decisions/{party}"' in html and "Quyết định kỷ luật đảng" in html
    state = app.decide_proceeding(BOARD, proc, form="khien_trach",
                                  decision_ref=ref("32", "2026-08-20"),
                                  effective_from="2026-08-20").id
    web_lite.project()
    html = c.get(f"/proceedings/{proc}").get_data(as_text=True)
    assert f'href="/decisions/{party}"' in html and f'href="/decisions/{state}"' in html


def _grades(web, officer: str, months: int) -> None:
    """``months`` monthly grades for the officer, the newest for October 2026."""
    from tests.conftest import BOARD
    for n in range(months):
        year, month = divmod(2026 * 12 + 9 - n, 12)
        web.service.record_monthly_grade(BOARD, officer_id=officer,
                                         period=f"{year}-{month + 1:02d}", score=70 + n % 30)
    web.project()


def _rows(html: str) -> list[int]:
    """The positions of the timeline rows on a page, top to bottom."""
    timeline = html[html.index('id="timeline"'):]
    return [int(p) for p in re.findall(r'<tr id="p(\d+)"', timeline)]


def test_the_officer_page_shows_the_newest_history_page_and_links_older_ones(web_lite):
    from web.views.officers import HISTORY_PAGE
    leader = web_lite.ids["leader"]
    _grades(web_lite, leader, 2 * HISTORY_PAGE + 7)
    rows = [r["position"] for r in web_lite.app.extensions["audit_service"].readmodels
            .timeline_rows(leader)]
    c = web_lite.client("board")
    html = c.get(f"/officers/{leader}?on=2026-11-20").get_data(as_text=True)
    assert _rows(html) == rows[::-1][:HISTORY_PAGE]  # the newest page, newest first
    verdict = re.search(r'id="eligibility-hash">([0-9a-f]{64})<', html).group(1)
    seen, pages = _rows(html), 1
    while 'id="older-entries"' in html:
        older = re.search(r'id="older-entries" class="button" href="([^"]+)"', html).group(1)
        older = older.replace("&amp;", "&")
        assert "on=2026-11-20" in older and f"before={seen[-1]}" in older
        html = c.get(older).get_data(as_text=True)
        seen += _rows(html)
        pages += 1
        assert 'id="newest-entries"' in html
        # the verdict, standing and forms stay those of the whole record
        assert f'id="eligibility-hash">{verdict}<' in html and 'id="reappointment-form"' in html
    assert seen == rows[::-1] and pages == -(-len(rows) // HISTORY_PAGE)
    assert _rows(html)[-1] == rows[0]  # the last page ends with the oldest entry
    # A reason's cited entry off the page is linked on the page that starts with it.
    first = c.get(f"/officers/{leader}?on=2026-11-20").get_data(as_text=True)
    cited = {int(p) for p in re.findall(r'href="[^"#]*#p(\d+)"', first)}
    assert cited - set(_rows(first))  # the appointment, long before the newest page
    for position in cited:
        if position in _rows(first):
            assert f'href="#p{position}"' in first
        else:
            link = f'before={position + 1}#p{position}'
            assert link in first
            target = c.get(f"/officers/{leader}?on=2026-11-20&before={position + 1}")
            assert _rows(target.get_data(as_text=True))[0] == position


def test_the_officer_page_filters_its_history_by_kind(web_lite):
    leader = web_lite.ids["leader"]
    _grades(web_lite, leader, 60)
    timeline = web_lite.app.extensions["audit_service"].readmodels.timeline_rows(leader)
    c = web_lite.client("board")
    html = c.get(f"/officers/{leader}?kind=AnnualRating").get_data(as_text=True)
    ratings = [r["position"] for r in timeline if r["event_type"].startswith("AnnualRating.")]
    assert ratings and _rows(html) == ratings[::-1]
    assert '<option value="AnnualRating" selected>' in html
    assert 'id="older-entries"' not in html
    html = c.get(f"/officers/{leader}?kind=MonthlyGrade").get_data(as_text=True)
    grades = [r["position"] for r in timeline if r["event_type"].startswith("MonthlyGrade.")]
    assert _rows(html) == grades[::-1][:50]
    older = re.search(r'id="older-entries" class="button" href="([^"]+)"', html).group(1)
    assert "kind=MonthlyGrade" in older  # the filter is kept from page to page
    html = c.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert _rows(html) == grades[::-1][50:]
    assert c.get(f"/officers/{leader}?before=abc").status_code == 422


def _decided_proceeding(web) -> str:
    return str(web.service.get_decision(web.ids["decision"]).proceeding_id)


def test_a_party_decision_recorded_through_the_form_then_the_administrative_side_dismissed(
        web_lite):
    app, proc = web_lite.service, web_lite.ids["proceeding"]
    c = web_lite.client("board")
    html = c.get(f"/proceedings/{proc}").get_data(as_text=True)
    assert '<option value="party">Kỷ luật đảng</option>' in html
    assert '<option value="state">Kỷ luật hành chính</option>' in html
    assert 'id="awaiting-state"' not in html
    action = f"/proceedings/{proc}/decision"
    r = c.post(action, data={**_form(html, action), "discipline_system": "party",
                             "form": "canh_cao", "effective_from": "2026-08-03",
                             "ref_number": "41", "ref_symbol": "QĐ-UBKT",
                             "ref_issuer": "Ủy ban Kiểm tra Quận ủy Tây Hồ",
                             "ref_signed_on": "2026-08-03"})
    assert r.status_code == 302
    web_lite.project()
    p = app.get_proceeding(proc)
    assert p.decision_id is None and p.party_decision_id is not None
    party = app.get_decision(p.party_decision_id)
    assert party.discipline_system == "party" and party.form == "canh_cao"
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f'href="/decisions/{p.party_decision_id}"' in html
    assert 'id="awaiting-state"' in html and "chờ quyết định kỷ luật hành chính" in html
    # Only the state decision remains to be recorded; the administrative side may be
    # dismissed.
    assert '<option value="party">' not in html and '<option value="state">' in html
    assert 'id="dismissal-form"' in html and 'id="deferral-form"' in html
    english = c.get(f"/proceedings/{proc}?lang=en").get_data(as_text=True)
    assert "Party decision recorded; awaiting the state decision or a dismissal of the" \
           " administrative side" in english
    c.get("/board?lang=vi")
    action = f"/proceedings/{proc}/dismissal"
    r = c.post(action, data={**_form(html, action), "reason": "Không kỷ luật hành chính",
                             "dismissed_on": "2026-08-20"})
    assert r.status_code == 302
    web_lite.project()
    assert app.get_proceeding(proc).dismissed_on.isoformat() == "2026-08-20"
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="dismissed-on">20/08/2026' in html
    # dismissed once: neither a dismissal nor a decision is offered any more
    for form in ('id="dismissal-form"', 'id="decision-form"', 'id="awaiting-state"'):
        assert form not in html


def test_the_dismissal_form_is_absent_where_the_service_would_refuse_it(web_lite):
    app, c = web_lite.service, web_lite.client("board")
    proc = _decided_proceeding(web_lite)  # decided by a state decision
    html = c.get(f"/proceedings/{proc}").get_data(as_text=True)
    assert 'id="dismissal-form"' not in html and 'id="awaiting-state"' not in html
    # only the Party decision may still follow
    assert '<option value="party">' in html and '<option value="state">' not in html
    action = f"/proceedings/{proc}/dismissal"
    before = event_count(app)
    r = c.post(action, data={"csrf_token": csrf_of(html), "reason": "x"},
               follow_redirects=True)
    assert "proceeding_decided" in r.get_data(as_text=True) and event_count(app) == before


def test_a_party_form_the_party_does_not_have_is_refused_with_the_services_reason(web_lite):
    proc, c = web_lite.ids["proceeding"], web_lite.client("board")
    html = c.get(f"/proceedings/{proc}").get_data(as_text=True)
    party_group = html[html.index('<optgroup label="Kỷ luật đảng">'):]
    party_group = party_group[:party_group.index("</optgroup>")]
    assert re.findall(r'value="(\w+)"', party_group) == ["khien_trach", "canh_cao", "cach_chuc"]
    action = f"/proceedings/{proc}/decision"
    before = event_count(web_lite.service)
    r = c.post(action, data={**_form(html, action), "discipline_system": "party",
                             "form": "buoc_thoi_viec", "effective_from": "2026-08-03",
                             "ref_number": "42", "ref_symbol": "QĐ-UBKT", "ref_issuer": "UBKT",
                             "ref_signed_on": "2026-08-03"}, follow_redirects=True)
    assert "Party discipline forms" in r.get_data(as_text=True)
    assert event_count(web_lite.service) == before
