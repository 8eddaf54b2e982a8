"""How officer reads grow with the officer's history: ``python -m scripts.bench_history``

On a fresh store (PostgreSQL by default) the script records three officers with about
``--short`` (30), ``--long`` (300) and ``--longest`` (1,000) timeline entries (monthly grades
after registration, then annual ratings and transfers), brings the read models up to date, starts ``audit-service serve
--no-projector`` and times ``history``, ``standing`` and ``eligibility`` over HTTP with one
client, taking the officers in turn so that each sees the same machine load. It prints p50
and p99 per officer and the p99 ratio long/short (targets: p99 ≤ 10 ms at 300 entries,
ratio ≤ 1.5, the default history answer for 1,000 entries under 50 ms). In the same rounds
it times two floors: ``/healthz`` (the HTTP stack alone) and ``GET /api/v1/officers?limit=1``
(a token check and one indexed query, no access-log write), so that what an officer read
adds to any request can be told from what every request costs on the machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from audit_service.application import Actor, AuditService
from projections.projector import Projector

from .bench.measure import percentile
from .bench.server import Server, token
from .bench.stores import Store

ADMIN = Actor("bench-admin", "admin")
BOARD = Actor("bench-board", "board")
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"
PATHS = {"history": ("/history", {}), "standing": ("/standing", {"on": "2026-06-01"}),
         "eligibility": ("/eligibility", {"on": "2026-06-01"})}


# what every request costs: the HTTP stack alone, and a token check with one indexed query
FLOORS = {"floor_http": ("/healthz", {}), "floor_api": ("/api/v1/officers", {"limit": 1})}


MONTHS = 970  # monthly grades 1946-01 … 2026-10, then annual ratings 2015-2025, transfers


def build(app: AuditService, sizes: list[int]) -> dict[int, str]:
    wards = [app.register_unit(ADMIN, code=f"H-W{n}", name=f"Phường {n}", level="ward").id
             for n in range(2)]
    ward = wards[1]
    officers = {}
    for n, size in enumerate(sizes):
        officer = app.register_officer(ADMIN, personnel_code=f"H-{n:06d}",
                                       full_name="Trần Thị Bình", category="cong_chuc",
                                       unit_id=ward, position="Chuyên viên",
                                       joined_on="1945-10-01").id
        with app.batch() as batch:
            for i in range(size - 1):  # registration is the first entry
                if i < MONTHS:
                    app.record_monthly_grade(BOARD, officer_id=officer,
                                             period=f"{1946 + i // 12}-{i % 12 + 1:02d}",
                                             score=60 + (i * 7) % 40)
                elif i < MONTHS + 11:
                    app.record_annual_rating(BOARD, officer_id=officer,
                                             year=2015 + i - MONTHS, rating="HTTNV")
                else:  # then transfers back and forth
                    app.transfer_officer(ADMIN, officer, to_unit_id=wards[(i - MONTHS - 11) % 2],
                                         effective_on="2020-01-01", decision_ref={
                                             "number": str(i), "symbol": "QĐ-UBND",
                                             "issuer": "UBND quận 1", "signed_on": "2019-12-20"})
            app.commit_batch(batch)
        officers[size] = str(officer)
    return officers


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench_history", description=__doc__)
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--short", type=int, default=30)
    p.add_argument("--long", type=int, default=300)
    p.add_argument("--longest", type=int, default=1000)
    p.add_argument("--samples", type=int, default=300, help="requests per officer and read")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    import requests

    sizes = [args.short, args.long, args.longest]
    results: dict = {"sizes": sizes, "samples": args.samples}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.fresh(args.database_url, "history", Path(tmp))
        try:
            app = AuditService(store.settings)
            try:
                officers = build(app, sizes)
                Projector(app).catch_up()
            finally:
                app.close()
            board = token(store.env, "board", "bench reader")
            with Server(store.env, args.workers, Path(tmp) / "serve.log") as server, \
                    requests.Session() as s:
                s.headers["Authorization"] = f"Bearer {board}"
                times: dict = {(name, size): [] for name in PATHS for size in sizes}
                floors: dict = {name: [] for name in FLOORS}
                entries = {}
                for round_ in range(args.samples + 10):  # the first 10 rounds warm up
                    for name, (path, params) in FLOORS.items():
                        t = time.perf_counter()
                        s.get(f"{server.base}{path}", params=params,
                              timeout=30).raise_for_status()
                        if round_ >= 10:
                            floors[name].append((time.perf_counter() - t) * 1000)
                    for name, (suffix, params) in PATHS.items():
                        for size in sizes:
                            t = time.perf_counter()
                            r = s.get(f"{server.base}/api/v1/officers/{officers[size]}{suffix}",
                                      params=params, timeout=30)
                            spent = (time.perf_counter() - t) * 1000
                            r.raise_for_status()
                            if round_ >= 10:
                                times[name, size].append(spent)
                            if name == "history":
                                entries[size] = len(r.json()["entries"])
            for name in PATHS:
                row = {}
                for size in sizes:
                    t = times[name, size]
                    row[str(size)] = {"p50_ms": percentile(t, 0.5), "p99_ms": percentile(t, 0.99)}
                row["p99_ratio_long_short"] = (row[str(args.long)]["p99_ms"]
                                               / row[str(args.short)]["p99_ms"])
                row["p50_ratio_long_short"] = (row[str(args.long)]["p50_ms"]
                                               / row[str(args.short)]["p50_ms"])
                results[name] = row
                print(f"{name:<12}" + "".join(
                    f"  {size} entries p50 {row[str(size)]['p50_ms']:6.2f} ms"
                    f" p99 {row[str(size)]['p99_ms']:6.2f} ms" for size in sizes)
                    + f"   p99 {args.long}/{args.short} {row['p99_ratio_long_short']:.2f}"
                    + f"   p50 {args.long}/{args.short} {row['p50_ratio_long_short']:.2f}",
                    flush=True)
            for name, t in floors.items():
                results[name] = {"p50_ms": percentile(t, 0.5), "p99_ms": percentile(t, 0.99)}
                print(f"{name:<12}  p50 {results[name]['p50_ms']:6.2f} ms"
                      f" p99 {results[name]['p99_ms']:6.2f} ms", flush=True)
            results["history_entries_answered"] = entries
            print(f"history entries answered by default: {entries}")
        finally:
            store.drop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
