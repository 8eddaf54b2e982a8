"""A long history comes in pages (``limit``, ``after``; newest first with ``order=desc`` and
``before``), can be filtered by kind, and each entry's ``data`` is the stored JSON, with
statuses worked out over the whole timeline."""
from __future__ import annotations

import json

import pytest

from api import create_app
from audit_service.config import Settings
from tests.api_support import ApiHarness
from tests.conftest import BOARD, build_app
from tests.world import build_world

GRADES = 620


@pytest.fixture(scope="module")
def long_history(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("history")
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    from auditing.bootstrap import init_database

    init_database(Settings.from_env(env))
    settings = Settings.from_env(env)
    flask_app = create_app(settings, service=build_app(env))
    h = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    w = build_world(h.service)
    for i in range(GRADES):
        h.service.record_monthly_grade(BOARD, officer_id=w.officer,
                                       period=f"{1970 + i // 12}-{i % 12 + 1:02d}", score=80)
    # A correction recorded last changes the status of an entry on the first page.
    h.service.correct_monthly_grade(BOARD, officer_id=w.officer, period="1970-01", score=91,
                                    reason="Chấm lại")
    h.project()
    yield h, w
    h.close()


def _pages(h, officer, **params) -> list[dict]:
    pages, after = [], None
    while True:
        query = dict(params, **({"after": after} if after is not None else {}))
        r = h.get("board", f"/officers/{officer}/history", **query)
        assert r.status_code == 200, r.get_json()
        pages.append(r.get_json())
        after = pages[-1]["next_after"]
        if after is None:
            return pages


def test_pages_cover_the_whole_history_in_order(long_history):
    h, w = long_history
    rows = h.flask_app.extensions["audit_service"].readmodels.timeline_rows(str(w.officer))
    total = len(rows)
    assert total > 500 + 100  # more than one default page
    first = h.get("board", f"/officers/{w.officer}/history").get_json()
    assert len(first["entries"]) == 500
    assert first["next_after"] == first["entries"][-1]["position"]
    pages = _pages(h, w.officer, limit=200)
    assert [len(p["entries"]) for p in pages] == [200] * (total // 200) + (
        [total % 200] if total % 200 else [])
    entries = [e for p in pages for e in p["entries"]]
    assert [e["position"] for e in entries] == [r["position"] for r in rows]
    # data is the stored JSON, unchanged; the other fields are the row's.
    assert [e["data"] for e in entries] == [r["data"] for r in rows]
    assert [e["event_type"] for e in entries] == [r["event_type"] for r in rows]
    # The grade corrected at the very end shows as corrected on the first page.
    first_grade = next(e for e in pages[0]["entries"] if e["event_type"] == "MonthlyGrade.Recorded")
    assert first_grade["status"] == "corrected"
    assert first_grade["status_changed_by"] == entries[-1]["position"]
    assert all(p["warnings"] == [] for p in pages)


def test_history_filtered_by_kind(long_history):
    h, w = long_history
    pages = _pages(h, w.officer, kind="MonthlyGrade.Corrected")
    assert [[e["event_type"] for e in p["entries"]] for p in pages] == [["MonthlyGrade.Corrected"]]
    grades = _pages(h, w.officer, kind=["MonthlyGrade", "Officer.Registered"], limit=5000)
    kinds = {e["event_type"] for p in grades for e in p["entries"]}
    assert kinds == {"MonthlyGrade.Recorded", "MonthlyGrade.Corrected", "Officer.Registered"}
    assert sum(len(p["entries"]) for p in grades) == GRADES + 2
    none = h.get("board", f"/officers/{w.officer}/history", kind="Nothing").get_json()
    assert none["entries"] == [] and none["next_after"] is None


def _pages_newest_first(h, officer, **params) -> list[dict]:
    pages, before = [], None
    while True:
        query = dict(params, order="desc", **({"before": before} if before is not None else {}))
        r = h.get("board", f"/officers/{officer}/history", **query)
        assert r.status_code == 200, r.get_json()
        pages.append(r.get_json())
        assert pages[-1]["next_after"] is None
        before = pages[-1]["next_before"]
        if before is None:
            return pages


def test_pages_newest_first_cover_the_whole_history_in_reverse(long_history):
    h, w = long_history
    rows = h.flask_app.extensions["audit_service"].readmodels.timeline_rows(str(w.officer))
    newest = h.get("board", f"/officers/{w.officer}/history", order="desc", limit=50).get_json()
    assert [e["position"] for e in newest["entries"]] == \
        [r["position"] for r in reversed(rows)][:50]
    assert newest["next_before"] == newest["entries"][-1]["position"]
    pages = _pages_newest_first(h, w.officer, limit=200)
    entries = [e for p in pages for e in p["entries"]]
    assert [e["position"] for e in entries] == [r["position"] for r in reversed(rows)]
    assert [len(p["entries"]) for p in pages][:-1] == [200] * (len(pages) - 1)
    # Oldest first, the other cursor is unused.
    oldest = h.get("board", f"/officers/{w.officer}/history", limit=5).get_json()
    assert oldest["next_before"] is None and oldest["next_after"] is not None
    # The status worked out over the whole timeline: the grade corrected last is marked
    # on the oldest page read newest first too.
    first_grade = next(e for e in pages[-1]["entries"][::-1]
                       if e["event_type"] == "MonthlyGrade.Recorded")
    assert first_grade["status"] == "corrected"


def test_before_and_after_bound_a_page_and_kinds_filter_newest_first(long_history):
    h, w = long_history
    rows = h.flask_app.extensions["audit_service"].readmodels.timeline_rows(str(w.officer))
    positions = [r["position"] for r in rows]
    low, high = positions[10], positions[20]
    between = h.get("board", f"/officers/{w.officer}/history", after=low,
                    before=high).get_json()
    assert [e["position"] for e in between["entries"]] == positions[11:20]
    assert between["next_after"] is None
    backwards = h.get("board", f"/officers/{w.officer}/history", after=low, before=high,
                      order="desc", limit=4).get_json()
    assert [e["position"] for e in backwards["entries"]] == positions[19:15:-1]
    assert backwards["next_before"] == positions[16]
    corrected = _pages_newest_first(h, w.officer, kind="MonthlyGrade.Corrected")
    assert [[e["event_type"] for e in p["entries"]] for p in corrected] == \
        [["MonthlyGrade.Corrected"]]
    grades = _pages_newest_first(h, w.officer, kind="MonthlyGrade", limit=100)
    grade_positions = [e["position"] for p in grades for e in p["entries"]]
    assert grade_positions == [r["position"] for r in reversed(rows)
                               if r["event_type"].startswith("MonthlyGrade.")]
    assert len(grade_positions) == GRADES + 1


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 5001}, {"after": -1},
                                    {"limit": "many"}, {"before": -1}, {"order": "newest"},
                                    {"before": "x"}])
def test_bad_page_parameters_are_refused(long_history, params):
    h, w = long_history
    r = h.get("board", f"/officers/{w.officer}/history", **params)
    assert r.status_code in (400, 422)
    assert r.get_json()["code"]


def test_the_openapi_document_describes_pages(long_history):
    h, _ = long_history
    spec = h.client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/officers/{officer_id}/history"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"after", "before", "order", "limit", "kind", "as_of"} <= names
    body = json.dumps(spec["components"]["schemas"]["History"])
    assert "next_after" in body and "next_before" in body


def test_the_offline_verifier_follows_history_pages(monkeypatch):
    """verify_export --compare-url reads every page of a long history, not just the first."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    from scripts import verify_export

    served = [{"position": p, "event_type": "MonthlyGrade.Recorded"} for p in range(1, 8)]
    asked = []

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            asked.append(q)
            after, limit = int(q.get("after", 0)), int(q["limit"])
            page = [e for e in served if e["position"] > after][:limit]
            more = page and page[-1]["position"] < served[-1]["position"]
            data = json.dumps({"entries": page, "next_after": page[-1]["position"] if more
                               else None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(verify_export, "HISTORY_PAGE", 3)
        status, body = verify_export.fetch_history(
            f"http://127.0.0.1:{server.server_port}", "o-1", "2026-01-01T00:00:00Z", None)
    finally:
        server.shutdown()
    assert status == 200
    assert [e["position"] for e in body["entries"]] == list(range(1, 8))
    assert [q.get("after") for q in asked] == [None, "3", "6"]
