"""Each role's main path in a real browser (the machine's Chromium, driven by Playwright)
against a real server (`audit-service serve`, gunicorn, SQLite with its projector).

Skipped when /usr/bin/chromium is absent, unless AUDIT_REQUIRE_BROWSER=1 (CI), where it
fails instead. With AUDIT_SCREENSHOTS_DIR set, the main pages are saved there as PNG.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess

import pytest

from audit_service.config import Settings
from projections.db import ReadModelDB
from scripts.load_test import CLI, Stack
from tests.conftest import build_app
from tests.web_support import ACCOUNTS, PASSWORD, build_city, create_accounts

CHROMIUM = "/usr/bin/chromium"
REQUIRED = os.environ.get("AUDIT_REQUIRE_BROWSER") == "1"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--lang=vi"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.slow


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One server for the whole module: a small city, one account per role."""
    missing = _browser_missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"browser tests are required here: {missing}")
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "AUDIT_DATABASE_URL": f"sqlite:///{tmp}/audit.sqlite3"}
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=120)
    service = build_app(env)
    ids = build_city(service)
    service.close()
    db = ReadModelDB(Settings.from_env(env).database)
    create_accounts(db)
    token = json.loads(subprocess.run(
        [*CLI, "tokens", "create", "--role", "auditor", "--name", "Kiểm toán nhà nước",
         "--json"], env=env, check=True, capture_output=True, text=True).stdout)["token"]
    db.close()
    stack = Stack(env, workers=2, log_dir=str(tmp), own_projector=False)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield {"base": stack.base, "ids": ids, "browser": browser, "env": env, "token": token}
    browser.close()
    pw.stop()
    stack.stop()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _shot(page, name: str) -> None:
    folder = os.environ.get("AUDIT_SCREENSHOTS_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _signed_in(site, role: str, viewport=DESKTOP):
    context = site["browser"].new_context(viewport=viewport, base_url=site["base"],
                                          locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.goto("/login")
    page.fill("#user_name", ACCOUNTS[role])
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _count_findings(page, description: str) -> int:
    return page.locator(".finding", has_text=description).count()


def test_inspector_records_a_finding_with_hashed_evidence_and_closes(site, tmp_path):
    context, page = _signed_in(site, "inspector", PHONE)
    try:
        assert page.url.endswith("/inspections")
        _shot(page, "inspector-my-inspections")
        page.click("#inspection-list a")
        assert "/inspections/" + site["ids"]["inspection"] in page.url
        page.wait_for_load_state("load")  # the filter's script is deferred
        page.fill("#code-filter", "di muon")  # accent-insensitive: "Đi muộn, về sớm"
        visible = page.locator("#codes label:not(.hidden)")
        assert visible.count() >= 1
        assert all("muộn" in t.lower() or "late" in t.lower() for t in visible.all_inner_texts())
        visible.first.locator("input").check()
        officers = page.locator("#officer_id option").all_inner_texts()
        assert any("Nguyễn Văn An" in o for o in officers)
        assert page.input_value("#observed_at")  # defaults to now (Vietnam time)
        page.select_option("#officer_id", label=next(o for o in officers if "Lê Văn Cường" in o))
        evidence = "ảnh chụp sổ chấm công".encode() * 100
        page.set_input_files("#evidence-files", files=[{
            "name": "so-cham-cong.jpg", "mimeType": "image/jpeg", "buffer": evidence}])
        digest = hashlib.sha256(evidence).hexdigest()
        expect(page.locator("#evidence_sha256")).to_have_value(re.compile("^[0-9a-f]{64}$"))
        assert page.input_value("#evidence_sha256") == digest  # hashed in the browser
        page.fill("#description", "Vắng mặt không lý do buổi sáng")
        page.click("#record-finding button[type=submit]")
        page.wait_for_load_state()
        assert "Đã ghi lại" in page.inner_text(".flash.ok")
        card = page.locator(".finding", has_text="Vắng mặt không lý do buổi sáng")
        assert card.count() == 1 and digest in card.inner_text()
        _shot(page, "inspector-inspection")
        page.fill("#close-form input[name=conclusion_ref]", "KL-15/2026")
        page.click("#close-form button[type=submit]")
        page.wait_for_load_state()
        assert "đã kết thúc" in page.inner_text("main")
        assert page.locator("#finding-form").count() == 0  # a closed inspection takes none
    finally:
        context.close()


def _open_inspection(site) -> str:
    service = build_app(site["env"])
    try:
        from audit_service.application import Actor

        inspector = Actor(ACCOUNTS["inspector"], "inspector")
        return str(service.open_inspection(inspector, unit_id=site["ids"]["ward"],
                                           team=[ACCOUNTS["inspector"]],
                                           started_on="2026-11-03").id)
    finally:
        service.close()


def test_a_double_submitted_finding_form_records_once(site):
    inspection = _open_inspection(site)
    context, page = _signed_in(site, "inspector", PHONE)
    try:
        page.goto(f"/inspections/{inspection}")
        page.locator("#codes input").first.check()
        page.fill("#description", "Gửi hai lần do mạng chập chờn")
        statuses = page.evaluate("""async () => {
            const form = document.getElementById('record-finding');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form),
                                                   redirect: 'manual'});
            const answers = await Promise.all([send(), send()]);  // a double tap
            return answers.map(a => a.type === 'opaqueredirect' ? 302 : a.status);
        }""")
        assert statuses == [302, 302]
        page.goto(f"/inspections/{inspection}")
        assert _count_findings(page, "Gửi hai lần do mạng chập chờn") == 1
        page.click("#record-finding button[type=submit]")  # once more, the same form
        page.wait_for_load_state()
        assert _count_findings(page, "Gửi hai lần do mạng chập chờn") == 1
    finally:
        context.close()


def test_a_post_without_the_csrf_token_is_refused(site):
    inspection = _open_inspection(site)
    context, page = _signed_in(site, "inspector", PHONE)
    try:
        page.goto(f"/inspections/{inspection}")
        key = page.input_value("#record-finding input[name=idempotency_key]")
        answer = context.request.post(f"{site['base']}/inspections/{inspection}/findings",
                                      form={"conduct_code": "qd522-late", "idempotency_key": key,
                                            "description": "Không có mã CSRF",
                                            "observed_at": "2026-11-04T08:00"},
                                      max_redirects=0)
        assert answer.status == 400 and "CSRF" in answer.text()
        page.goto(f"/inspections/{inspection}")
        assert _count_findings(page, "Không có mã CSRF") == 0
    finally:
        context.close()


def test_a_role_is_denied_a_page(site):
    context, page = _signed_in(site, "inspector", PHONE)
    try:
        answer = page.goto("/board")
        assert answer.status == 403 and "Không có quyền" in page.inner_text("h1")
        answer = page.goto(f"/officers/{site['ids']['leader']}")
        assert answer.status == 403
    finally:
        context.close()


def test_board_works_the_lists_reads_an_officer_and_prints_the_dossier(site):
    context, page = _signed_in(site, "board")
    try:
        assert page.url.endswith("/board")
        terms = page.inner_text("#terms-ending")
        assert "Trần Thị Bình" in terms and "10/01/2027" in terms
        assert "Lê Văn Cường" in page.inner_text("#proceedings-due")
        _shot(page, "board-worklists")
        page.click("header.top >> text=Cán bộ")
        page.fill("#q", "tran binh")
        page.click("form[role=search] button")
        page.click("#results >> text=Trần Thị Bình")
        assert "/officers/" + site["ids"]["leader"] in page.url
        verdict_hash = page.inner_text("#eligibility-hash")
        assert re.fullmatch(r"[0-9a-f]{64}", verdict_hash)
        assert page.input_value("#reappointment-form input[name=eligibility_hash]") == \
            verdict_hash
        _shot(page, "board-officer")
        pdf = context.request.get(f"{site['base']}/officers/{site['ids']['leader']}/dossier.pdf")
        assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
        page.goto(f"/units/{site['ids']['district']}")
        assert page.locator("#chart svg rect").count() >= 3
        _shot(page, "board-unit")
        page.goto(f"/officers/{site['ids']['leader']}?lang=en")
        assert "Reappointment eligibility on" in page.inner_text("#eligibility")
        _shot(page, "board-officer-en")
        page.goto("/board")
        assert "Terms ending soon" in page.inner_text("main")  # the choice is remembered
    finally:
        context.close()


def test_auditor_signs_in_with_a_token_verifies_and_browses(site):
    board, board_page = _signed_in(site, "board")
    board_page.goto(f"/officers/{site['ids']['officers'][3]}")  # a read the auditor will see
    board.close()
    context = site["browser"].new_context(viewport=DESKTOP, base_url=site["base"])
    page = context.new_page()
    try:
        page.goto("/login")
        page.click("details summary")
        page.fill("#token", site["token"])
        page.click("#login-form button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith("/audit")
        assert int(page.inner_text("#log-head")) > 0
        page.fill("#seconds", "10")
        page.click("#integrity form button")
        page.wait_for_load_state()
        assert "hợp lệ" in page.inner_text("#verify-report")
        assert "hoàn tất" in page.inner_text("#verify-report")
        _shot(page, "auditor-audit")
        page.goto("/audit/events?type=Decision")
        rows = page.locator("#events tr").all_inner_texts()[1:]
        assert rows and all("Decision." in r for r in rows)
        page.goto(f"/audit?officer_id={site['ids']['officers'][3]}")
        log = page.locator("#access-log tr").all_inner_texts()[1:]
        assert len(log) == 3 and all(ACCOUNTS["board"] in row for row in log)
        assert [row.split("\t")[-1].split()[0] for row in log] == [
            "history", "standing", "eligibility"]
        download = context.request.get(f"{site['base']}/audit/export.ndjson")
        first = json.loads(download.text().splitlines()[0])
        assert download.status == 200 and first["type"] == "manifest"
    finally:
        context.close()
