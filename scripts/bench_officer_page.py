"""How long the officer page takes to render, server side, for an officer with a long record.

Builds a fresh SQLite store with one officer holding ``--entries`` timeline entries (monthly
grades, annual ratings, findings, a proceeding with its decision), projects it, signs a board
user in and times ``GET /officers/<id>`` through the Flask app (the whole request: reading
the timeline, folding it, eligibility and its hash, the access log writes, the template),
in wall-clock and CPU time. The page shows the newest page of the history, so the path is
the page a reader lands on.

    python -m scripts.bench_officer_page [--entries 300] [--runs 50]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import date

from auditing.accounts import Accounts
from audit_service.application import Actor, AuditService
from auditing.bootstrap import init_database
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector

TODAY = date(2026, 11, 20)
PASSWORD = "benchmark-password"


def ref(number: str, signed_on: str) -> dict:
    return {"number": number, "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
            "signed_on": signed_on}


def build(app: AuditService, entries: int) -> str:
    """One officer with ``entries`` timeline rows; returns the officer id."""
    admin, board = Actor("admin-bench", "admin"), Actor("board-bench", "board")
    inspector = Actor("insp-bench", "inspector")
    city = app.register_unit(admin, code="01", name="Hà Nội", level="city").id
    ward = app.register_unit(admin, code="W1", name="Phường Quảng An", level="ward",
                             parent_id=city).id
    officer = app.register_officer(admin, personnel_code="HN-300300", full_name="Nguyễn Văn Dài",
                                   category="cong_chuc", unit_id=ward,
                                   position="Trưởng phòng").id
    app.appoint_officer(board, officer, position="Trưởng phòng", term_start="2022-01-10",
                        term_years=5, decision_ref=ref("1", "2022-01-05"))
    done = 2
    inspection = app.open_inspection(inspector, unit_id=ward, team=[inspector.user_id],
                                     started_on="2017-02-01").id
    for n in range(20):  # findings, a few of them corrected
        finding = app.record_finding(inspector, inspection, conduct_code="qd522-late",
                                     description=f"Đi muộn lần {n + 1}",
                                     observed_at=f"{2017 + n % 9}-03-0{1 + n % 8}T08:40:00+07:00",
                                     officer_id=officer).id
        done += 1
        if n % 5 == 0:
            app.correct_finding(inspector, inspection, finding, reason="Sửa mô tả",
                                description=f"Đi muộn lần {n + 1} (40 phút)")
            done += 1
    proceeding = app.open_proceeding(board, officer_id=officer, violations=[{
        "conduct_code": "qd522-late", "occurred_on": "2023-03-01", "detected_on": "2023-03-01",
        "description": "Đi muộn nhiều lần"}], opened_on="2023-03-10").id
    app.decide_proceeding(board, proceeding, form="khien_trach",
                          decision_ref=ref("12", "2023-04-01"), effective_from="2023-04-01")
    done += 3
    year = 2025
    while done < entries - 12 and year > 2019:
        app.record_annual_rating(board, officer_id=officer, year=year, rating="HTTNV")
        done += 1
        year -= 1
    month = 0
    while done < entries:
        y, m = 2026 - month // 12, 10 - month % 12
        if m <= 0:
            y, m = y - 1, m + 12
        app.record_monthly_grade(board, officer_id=officer, period=f"{y}-{m:02d}",
                                 score=80 + month % 20)
        done += 1
        month += 1
    Projector(app).catch_up()
    return str(officer)


def measure(entries: int = 300, runs: int = 50) -> dict:
    from api import create_app

    with tempfile.TemporaryDirectory() as tmp:
        env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        settings = Settings.from_env(env)
        init_database(settings)
        app = AuditService(settings, today=lambda: TODAY)
        officer = build(app, entries)
        flask_app = create_app(settings, service=app)
        db = ReadModelDB(settings.database)
        Accounts(db).set_password("bench.board", PASSWORD, role="board")
        client = flask_app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"csrf_token": token, "user_name": "bench.board",
                                    "password": PASSWORD})
        rows = len(flask_app.extensions["audit_service"].readmodels.timeline_rows(officer))
        path = f"/officers/{officer}?on=2026-11-20"
        for _ in range(3):  # warm up: templates compiled, caches filled
            assert client.get(path).status_code == 200
        times, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert answer.status_code == 200
        db.close()
        flask_app.extensions["audit_service"].close()
    times.sort()
    return {"timeline_entries": rows, "runs": runs,
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "max_ms": round(times[-1], 1),
            # CPU time of this process (the test client and the app run in it): steadier
            # than the wall clock on a shared machine
            "cpu_median_ms": round(statistics.median(cpu), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.entries, args.runs)
    if args.json:
        print(json.dumps(result))
        return
    print(f"officer page, {result['timeline_entries']} timeline entries, {result['runs']} runs:"
          f" median {result['median_ms']} ms, p95 {result['p95_ms']} ms,"
          f" max {result['max_ms']} ms (server time, SQLite); CPU median"
          f" {result['cpu_median_ms']} ms")


if __name__ == "__main__":
    main()
