"""The benchmark suite's moving parts at a tiny size on SQLite: counts, never timings."""
from __future__ import annotations

import json
import sqlite3

from audit_service.importing import import_records
from scripts.bench import dataset, measure, report
from scripts.bench.stores import SCRATCH, Store
from tests.conftest import build_app, event_count


def test_generated_data_set_imports_cleanly_with_the_planned_event_count(tmp_path):
    store = Store.fresh(f"sqlite:///{tmp_path}/unused.sqlite3", "smoke", tmp_path)
    plan = dataset.Plan(6_000, 120)
    lines = list(dataset.generate(6_000, 120, plan=plan))
    assert len(lines) == plan.record_count
    assert plan.records["officer"] == 120 and plan.wards == 3 and plan.districts == 1
    assert plan.records["unit"] == 1 + plan.districts + plan.wards
    assert {"annual_rating", "monthly_grade", "unit_rating"} <= set(plan.records)
    assert abs(plan.events_expected - 6_000) < 200
    app = build_app(store.env)
    try:
        report_ = import_records(app, lines, batch_size=200)
        assert report_.bad == []
        assert report_.imported == plan.record_count
        assert report_.events_appended == plan.events_expected == event_count(app)
        wards = {app.find_unit(f"Q000-P{w:02d}").id for w in range(plan.wards)}
        assert app.find_officer(personnel_code="HN-0000119").unit_id in wards
    finally:
        app.close()


def test_data_set_file_and_import_measure_agree(tmp_path):
    store = Store.fresh(f"sqlite:///{tmp_path}/unused.sqlite3", "smoke", tmp_path)
    path = tmp_path / "data.ndjson"
    ds = measure.generate_file(path, 2_000, 60)
    assert sum(1 for _ in path.open(encoding="utf-8")) == ds["records"]
    imp = measure.bulk_import(store, path, batch_size=100)
    assert imp["events_appended"] == ds["events_expected"] == imp["log_head"]
    assert imp["records"] == ds["records"] and imp["bad_records"] == 0


def test_generation_is_deterministic():
    assert list(dataset.generate(3_000, 60)) == list(dataset.generate(3_000, 60))


def test_raw_batched_baseline_writes_every_row(tmp_path):
    store = Store.fresh(f"sqlite:///{tmp_path}/unused.sqlite3", "smoke", tmp_path)
    result = store.raw_batched(250, 100, state_bytes=64)
    assert result["rows"] == 250
    with sqlite3.connect(store.path) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {SCRATCH}").fetchone()[0] == 250
    store.drop()
    assert not store.path.exists()


def test_doc_section_is_rewritten_between_its_markers_only(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nearlier sections\n", encoding="utf-8")
    result = {
        "command": "python -m scripts.bench --quick", "options": {"samples": 5},
        "store": "PostgreSQL", "git": {"commit": "abc1234", "modified_files": []},
        "machine": {"nproc": 2, "cpu_model": "cpu", "memory_gib": 1.0, "os": "os",
                    "python": "3.11", "packages": {}, "postgresql": None,
                    "date": "2026-11-26T00:00:00+00:00", "loadavg_at_start": (0.0, 0.0, 0.0)},
        "lag": {"writes": 10, "rate_per_s": 10.0, "lag_ms_p50": 50.0, "lag_ms_p99": 90.0,
                "lag_ms_max": 95.0},
        "export": {"available": False, "missing": ["audit-service export"]},
    }
    result["verdicts"] = report.verdicts(result)
    assert [r["met"] for r in result["verdicts"]] == [None, True]
    report.update_doc(doc, result)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nearlier sections\n")
    assert text.count(report.SECTION) == 1 and "lag p50 50 ms" in text
    doc.write_text(text + "\n### Profiles\n\nwritten by hand\n", encoding="utf-8")
    result["lag"]["lag_ms_p50"] = 60.0
    report.update_doc(doc, result)
    again = doc.read_text(encoding="utf-8")
    assert again.count(report.SECTION) == 1 and "lag p50 60 ms" in again
    assert again.endswith("### Profiles\n\nwritten by hand\n")
    json.dumps(result, default=str)
    sqlite = {**result, "store": "SQLite", "lag": {**result["lag"], "lag_ms_p50": 70.0}}
    report.update_doc(doc, sqlite)
    both = doc.read_text(encoding="utf-8")
    assert both.index("lag p50 60 ms") < both.index("### The same suite on SQLite") \
        < both.index("lag p50 70 ms") < both.index("### Profiles")
    sqlite["lag"]["lag_ms_p50"] = 80.0
    report.update_doc(doc, sqlite)
    last = doc.read_text(encoding="utf-8")
    assert "lag p50 70 ms" not in last and "lag p50 80 ms" in last and "lag p50 60 ms" in last
    assert last.count("### The same suite on SQLite") == 1
    # the section may be renamed and moved by hand: the markers still say where it is
    moved = "# Benchmarks\n\n## Summary\n\n" + last.replace(
        report.SECTION, "## The 10 M-event run (benchmark suite)").replace(
        "# Benchmarks\n\nearlier sections\n", "")
    doc.write_text(moved, encoding="utf-8")
    result["lag"]["lag_ms_p50"] = 65.0
    report.update_doc(doc, result)
    renamed = doc.read_text(encoding="utf-8")
    assert report.SECTION not in renamed and renamed.count("lag p50 65 ms") == 1
    assert renamed.startswith(moved[:moved.index("<!--")])  # what came before is untouched
    assert "lag p50 60 ms" not in renamed and "lag p50 80 ms" in renamed


def test_rebuild_measure_reports_the_rebuild_the_command_runs(tmp_path):
    store = Store.fresh(f"sqlite:///{tmp_path}/unused.sqlite3", "smoke", tmp_path)
    path = tmp_path / "data.ndjson"
    measure.generate_file(path, 1_500, 40)
    imp = measure.bulk_import(store, path, batch_size=100)
    pj = measure.read_decode_and_rebuild(store)
    assert pj["events"] == imp["log_head"]
    # SQLite rebuilds in one process: the command's rebuild is the single-process one.
    assert pj["rebuild"]["workers"] == pj["rebuild_single"]["workers"] == 1
    assert pj["ratio"] == pj["rebuild"]["ratio"] > 0
    # the second baseline decodes only what the rebuild applies: not the index claims and
    # idempotency records of the import, though it reads the whole log
    assert 0 < pj["read_decode_applied"]["decoded"] < pj["events"]
    assert pj["ratio_applied"] == pj["rebuild"]["ratio_applied"] > 0
    rows = report.verdicts({"projections": pj})
    assert [r["measure"] for r in rows] == ["projection rebuild (1 process)", "rebuild peak RSS"]


def test_timed_child_reports_the_childs_own_peak_memory(tmp_path):
    """Not ``ru_maxrss``, which a spawned child starts at its parent's peak."""
    import sys

    from scripts.bench.server import timed_child

    ballast = bytearray(200 * 2**20)  # this process's peak: well above the child's
    ballast[::4096] = b"\1" * len(ballast[::4096])
    code = ("x = bytearray(30 * 2**20)\nx[::4096] = b'\\1' * len(x[::4096])\n"
            "import time; time.sleep(0.3)")
    result = timed_child([sys.executable, "-c", code], {}, tmp_path / "child.log")
    assert result["exit"] == 0
    assert 30 <= result["peak_rss_mb"] < 30 + 40
    del ballast
