"""Projection lag under write load: how long after a write is acknowledged do reads see it.

A writer appends monthly grades through the service at a fixed rate while
``audit-service project`` runs as its own process; a monitor polls the tracked position
every 5 ms. Lag = first time the projector's position covers the event - the time the
write returned. Prints p50/p99/max and writes JSON with --json.

    python -m scripts.bench_lag --database-url postgresql://root@127.0.0.1:5432/test \
        --rate 100 --seconds 20
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from audit_service.application import Actor
from audit_service.bootstrap import build_service
from auditing.bootstrap import init_database
from audit_service.config import Settings
from projections.db import ReadModelDB

ROOT = Path(__file__).resolve().parents[1]
ADMIN, BOARD = Actor("bench", "admin"), Actor("bench", "board")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(url: str, rate: float, seconds: float) -> dict:
    schema = None
    if url.startswith("postgresql") and "schema=" not in url:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(Settings.from_env({"AUDIT_DATABASE_URL": url}).database.conninfo(),
                             autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{url}?schema={schema}"
    env = {"AUDIT_DATABASE_URL": url}
    settings = Settings.from_env(env)
    init_database(settings)
    app = build_service(settings)
    unit = app.register_unit(ADMIN, code=f"B{uuid.uuid4().hex[:6]}", name="Phường thử",
                             level="ward").id
    officers = [app.register_officer(ADMIN, personnel_code=f"B-{n}", full_name=f"Nguyễn Văn {n}",
                                     category="cong_chuc", unit_id=unit, position="Chuyên viên").id
                for n in range(50)]
    proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", "project"],
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    acked: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = threading.Event()

    def monitor() -> None:
        db = ReadModelDB(settings.database)
        while not done.is_set() or len(seen) < len(acked):
            row = db.fetchone("SELECT MIN(position) FROM projection_positions")
            now = time.monotonic()
            position = int(row[0] or 0)
            for p in [p for p in acked if p not in seen and p <= position]:
                seen[p] = now
            if done.is_set() and time.monotonic() - stop_at > 30:
                break
            time.sleep(0.005)
        db.close()

    stop_at = float("inf")
    watcher = threading.Thread(target=monitor)
    watcher.start()
    start = time.monotonic()
    n = 0
    try:
        while time.monotonic() - start < seconds:
            officer = officers[n % len(officers)]
            year = 1990 + (n // len(officers)) // 12
            month = (n // len(officers)) % 12 + 1
            result = app.record_monthly_grade(BOARD, officer_id=officer,
                                              period=f"{year}-{month:02d}", score=n % 100)
            acked[result.position] = time.monotonic()
            n += 1
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        stop_at = time.monotonic()
        done.set()
        watcher.join()
        proc.terminate()
        proc.wait(timeout=30)
        app.close()
        if schema:
            import psycopg

            with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    lags = [(seen[p] - acked[p]) * 1000 for p in acked if p in seen]
    return {"database": settings.database.kind, "rate_per_s": rate, "seconds": seconds,
            "writes": len(acked), "seen": len(lags), "lag_ms_p50": round(percentile(lags, .5), 1),
            "lag_ms_p99": round(percentile(lags, .99), 1), "lag_ms_max": round(max(lags), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument("--rate", type=float, default=100.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    result = run(args.database_url, args.rate, args.seconds)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
