"""The board's work on a long record and on Party decisions in a real browser (the machine's
Chromium, driven by Playwright) against a real server (`audit-service serve`, SQLite with its
projector): paging back through an officer's history and filtering it by kind, recording a
Party decision through the proceeding form, then closing the administrative side.

Skipped when /usr/bin/chromium is absent, unless AUDIT_REQUIRE_BROWSER=1 (CI), where it
fails instead (the same rule and launch as ``test_browser``).
"""
from __future__ import annotations

import os
import subprocess

import pytest

from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector
from projections.queries import ReadModels
from scripts.load_test import CLI, Stack
from tests.conftest import BOARD, build_app
from tests.test_browser import (CHROMIUM, LAUNCH_ARGS, REQUIRED, _browser_missing, _shot,
                                 _signed_in)
from tests.web_support import build_city, create_accounts

pytestmark = pytest.mark.slow

GRADES = 110  # with the city's entries, three pages of the officer page's 50


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One server for the module: the small city, its leader with a long record."""
    missing = _browser_missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"browser tests are required here: {missing}")
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("browser-cases")
    env = {**os.environ, "AUDIT_DATABASE_URL": f"sqlite:///{tmp}/audit.sqlite3"}
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=120)
    service = build_app(env)
    ids = build_city(service)
    for n in range(GRADES):
        year, month = divmod(2026 * 12 + 9 - n, 12)
        service.record_monthly_grade(BOARD, officer_id=ids["leader"],
                                     period=f"{year}-{month + 1:02d}", score=70 + n % 30)
    Projector(service).catch_up()
    db = ReadModelDB(Settings.from_env(env).database)
    timeline = ReadModels(db, service.reference).timeline_rows(ids["leader"])
    ids["timeline"] = [(r["position"], r["event_type"]) for r in timeline]
    ids["decided_proceeding"] = str(service.get_decision(ids["decision"]).proceeding_id)
    service.close()
    create_accounts(db)
    db.close()
    stack = Stack(env, workers=2, log_dir=str(tmp), own_projector=False)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield {"base": stack.base, "ids": ids, "browser": browser, "env": env}
    browser.close()
    pw.stop()
    stack.stop()


def _positions(page) -> list[int]:
    ids = page.locator("#timeline tr[id^=p]").evaluate_all("rows => rows.map(r => r.id)")
    return [int(i[1:]) for i in ids]


def test_board_pages_back_to_the_oldest_entry_and_filters_by_kind(site):
    timeline = site["ids"]["timeline"]
    newest_first = [p for p, _ in reversed(timeline)]
    context, page = _signed_in(site, "board")
    try:
        page.goto(f"/officers/{site['ids']['leader']}")
        seen = _positions(page)
        assert seen == newest_first[:50]
        assert page.locator("#newest-entries").count() == 0
        verdict = page.inner_text("#verdict")
        while page.locator("#older-entries").count():
            page.click("#older-entries")
            page.wait_for_load_state()
            seen += _positions(page)
            assert page.inner_text("#verdict") == verdict  # the verdict stays the record's
        assert seen == newest_first
        _shot(page, "board-officer-oldest-entries")
        assert page.locator(f"#p{timeline[0][0]}").count() == 1  # the oldest entry reached
        page.click("#newest-entries")
        page.wait_for_load_state()
        assert _positions(page) == newest_first[:50]

        page.select_option("#kind", "AnnualRating")
        page.click("#history-filter button[type=submit]")
        page.wait_for_load_state()
        ratings = [p for p, kind in reversed(timeline) if kind.startswith("AnnualRating.")]
        assert ratings and _positions(page) == ratings
        assert "kind=AnnualRating" in page.url
        assert page.locator("#older-entries").count() == 0
    finally:
        context.close()


def _fill_ref(page, form: str, number: str, signed_on: str) -> None:
    page.fill(f"{form} input[name=ref_number]", number)
    page.fill(f"{form} input[name=ref_symbol]", "QĐ-UBKT")
    page.fill(f"{form} input[name=ref_issuer]", "Ủy ban Kiểm tra Quận ủy Tây Hồ")
    page.fill(f"{form} input[name=ref_signed_on]", signed_on)


def test_board_records_a_party_decision_then_dismisses_the_administrative_side(site):
    context, page = _signed_in(site, "board")
    try:
        page.goto(f"/proceedings/{site['ids']['proceeding']}")
        assert page.locator("#awaiting-state").count() == 0
        page.select_option("#discipline_system", "party")
        page.select_option("#form", "canh_cao")
        page.fill("#decision-form input[name=effective_from]", "2026-08-03")
        _fill_ref(page, "#decision-form", "61", "2026-08-03")
        page.click("#decision-form button[type=submit]")
        page.wait_for_load_state()
        assert "Đã ghi lại" in page.inner_text("main")
        assert "Quyết định kỷ luật đảng" in page.inner_text("main table")
        assert "chờ quyết định kỷ luật hành chính" in page.inner_text("#awaiting-state")
        systems = page.locator("#discipline_system option").evaluate_all(
            "options => options.map(o => o.value)")
        assert systems == ["state"]  # the Party decision is on record
        _shot(page, "board-proceeding-party-decided")
        party_link = page.locator("main table a[href^='/decisions/']").first
        party_link.click()
        page.wait_for_load_state()
        assert "Cảnh cáo" in page.inner_text("main")
        page.go_back()
        page.wait_for_load_state()

        page.fill("#dismissal-form input[name=reason]", "Không xử lý kỷ luật hành chính")
        page.fill("#dismissal-form input[name=dismissed_on]", "2026-08-20")
        page.click("#dismissal-form button[type=submit]")
        page.wait_for_load_state()
        assert "Đã ghi lại" in page.inner_text("main")
        assert page.inner_text("#dismissed-on").startswith("20/08/2026")
        for gone in ("#dismissal-form", "#decision-form", "#awaiting-state"):
            assert page.locator(gone).count() == 0, gone
    finally:
        context.close()


def test_no_dismissal_form_where_the_service_would_refuse_it(site):
    context, page = _signed_in(site, "board")
    try:
        page.goto(f"/proceedings/{site['ids']['decided_proceeding']}")  # a state decision
        assert page.locator("#dismissal-form").count() == 0
        systems = page.locator("#discipline_system option").evaluate_all(
            "options => options.map(o => o.value)")
        assert systems == ["party"]
    finally:
        context.close()
