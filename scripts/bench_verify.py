"""Benchmark the auditor path: chain the log, export it, verify the export offline and in place.

Usage::

    python -m scripts.bench_verify --events 100000 \\
        [--database-url sqlite:///var/bench/verify.sqlite3 | postgresql://root@127.0.0.1/test] \\
        [--json out.json]

For each size, on a fresh store (a new SQLite file, or a new PostgreSQL schema dropped
afterwards):

1. generate a synthetic valid log with ``scripts.bench_projections.generate``;
2. chain it with the integrity follower (signed checkpoints every 1,000 events);
3. ``export_stream`` to an NDJSON file, in a child process;
4. ``scripts/verify_export.py FILE --no-replay`` (signatures and chain, no decoding of
   events), in a child process;
5. ``verify_store`` on the live database, in a child process.

Each child reports its own wall-clock time and peak RSS (``VmHWM``), so the
memory figures are each step's own. Rates are events per second of wall-clock time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.procmem import own_peak_rss_mb

from scripts.bench_projections import (build_app, drop_store, fresh_store, generate, is_sqlite,
                                       machine)

DEFAULT_URL = "sqlite:///var/bench/verify.sqlite3"
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- child steps

def _child(step: str, run_url: str, path: str) -> dict:
    from auditing.export import export_stream
    from projections.db import ReadModelDB

    started = time.perf_counter()
    if step == "export":
        app = build_app(run_url)
        db = ReadModelDB(app.settings.database)
        size = events = 0
        with open(path, "wb") as f:
            def count(n: int) -> None:
                nonlocal events
                events += n

            for chunk in export_stream(app, db, progress=count):
                f.write(chunk)
                size += len(chunk)
        result = {"events": events, "bytes": size}
    elif step == "verify":
        from scripts import verify_export

        with open(os.devnull, "w") as sink:
            stdout, sys.stdout = sys.stdout, sink
            try:
                code = verify_export.main([path, "--no-replay"])
            finally:
                sys.stdout = stdout
        report = verify_export.check_export(path) if code else None
        result = {"exit": code, "faults": report["faults"][:3] if report else []}
    elif step == "verify_store":
        from auditing.verify import verify_store

        app = build_app(run_url)
        db = ReadModelDB(app.settings.database)
        report = verify_store(app, db, check_board=False)
        result = {"ok": report["ok"], "events": report["events"]}
    else:
        raise ValueError(step)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = own_peak_rss_mb()  # not ru_maxrss: see scripts/procmem.py
    return result


def run_child(step: str, run_url: str, path: Path) -> dict:
    """Run one step in a fresh interpreter; returns what it measured about itself."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scripts.bench_verify", "--child", step,
                           "--run-url", run_url, "--file", str(path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{step} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - t
    return result


# --------------------------------------------------------------------------- one size

def run_size(url: str, events: int, folder: Path, keep: bool) -> dict:
    from auditing.signing import AuditSettings, Signer
    from auditing.bootstrap import init_database
    from audit_service.config import Settings
    from auditing.integrity import IntegrityFollower

    run_url, schema = fresh_store(url, events)
    try:
        init_database(Settings.from_env({"AUDIT_DATABASE_URL": run_url}))
        app = build_app(run_url)
        t = time.perf_counter()
        saved, _officers = generate(app, events)
        gen_s = time.perf_counter() - t
        head = app.recorder.max_notification_id() or 0
        print(f"[{events:,}] generated {saved:,} events in {gen_s:.1f} s", flush=True)

        follower = IntegrityFollower(app, settings=AuditSettings(
            every_events=1000, every_seconds=3600, signer=Signer.generate()))
        t = time.perf_counter()
        chained = follower.catch_up()
        follower.checkpoint_now()
        chain_s = time.perf_counter() - t
        follower.close()
        app.close()
        assert chained == head, (chained, head)
        print(f"[{events:,}] chained {chained:,} in {chain_s:.1f} s ="
              f" {chained / chain_s:,.0f} events/s", flush=True)

        path = folder / f"export-{events}.ndjson"
        ex = run_child("export", run_url, path)
        assert ex["events"] == head, ex
        print(f"[{events:,}] export {head:,} ({ex['bytes'] / 1e6:.0f} MB) in"
              f" {ex['seconds']:.1f} s = {head / ex['seconds']:,.0f} events/s;"
              f" peak RSS {ex['peak_rss_mb']:.0f} MB", flush=True)

        ve = run_child("verify", run_url, path)
        assert ve["exit"] == 0, ve
        print(f"[{events:,}] verify export {head:,} in {ve['seconds']:.2f} s ="
              f" {head / ve['seconds']:,.0f} events/s (process with start-up"
              f" {ve['process_seconds']:.2f} s); peak RSS {ve['peak_rss_mb']:.0f} MB",
              flush=True)

        vs = run_child("verify_store", run_url, path)
        assert vs["ok"] and vs["events"] == head, vs
        print(f"[{events:,}] verify in place {head:,} in {vs['seconds']:.1f} s ="
              f" {head / vs['seconds']:,.0f} events/s; peak RSS {vs['peak_rss_mb']:.0f} MB",
              flush=True)
        path.unlink()
        return {
            "events": head, "store": "sqlite" if is_sqlite(url) else "postgresql",
            "generate_seconds": gen_s,
            "chain": {"seconds": chain_s, "events_per_s": head / chain_s},
            "export": {"seconds": ex["seconds"], "events_per_s": head / ex["seconds"],
                       "bytes": ex["bytes"], "peak_rss_mb": ex["peak_rss_mb"]},
            "verify_export": {"seconds": ve["seconds"], "events_per_s": head / ve["seconds"],
                              "process_seconds": ve["process_seconds"],
                              "peak_rss_mb": ve["peak_rss_mb"]},
            "verify_store": {"seconds": vs["seconds"], "events_per_s": head / vs["seconds"],
                             "peak_rss_mb": vs["peak_rss_mb"]},
        }
    finally:
        if not keep:
            drop_store(url, run_url, schema)


def table(results: list[dict]) -> str:
    rows = [("store", "events", "chain ev/s", "export ev/s", "export MB", "export RSS",
             "verify ev/s", "verify s", "verify RSS", "in place ev/s", "in place RSS")]
    for r in results:
        rows.append((r["store"], f"{r['events']:,}", f"{r['chain']['events_per_s']:,.0f}",
                     f"{r['export']['events_per_s']:,.0f}", f"{r['export']['bytes'] / 1e6:.0f}",
                     f"{r['export']['peak_rss_mb']:.0f} MB",
                     f"{r['verify_export']['events_per_s']:,.0f}",
                     f"{r['verify_export']['seconds']:.2f}",
                     f"{r['verify_export']['peak_rss_mb']:.0f} MB",
                     f"{r['verify_store']['events_per_s']:,.0f}",
                     f"{r['verify_store']['peak_rss_mb']:.0f} MB"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, action="append",
                        help="log size to generate (repeatable); default 100000")
    parser.add_argument("--database-url", default=os.environ.get("AUDIT_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.run_url, args.file)))
        return 0
    info = machine(args.database_url)
    print(f"machine: {info['platform']}, {info['cpu_count']} CPU ({info['cpu_model']}),"
          f" {info['memory_gb'] or 0:.1f} GB, Python {info['python']},"
          f" PostgreSQL {info['postgresql']}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        for size in args.events or [100_000]:
            results.append(run_size(args.database_url, size, Path(folder), args.keep))
            if args.json:
                args.json.write_text(json.dumps({"machine": info, "results": results},
                                                indent=2))
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
