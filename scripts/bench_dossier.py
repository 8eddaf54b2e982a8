"""Benchmark the board dossier: the officer map's cost per checkpoint, and one dossier's size,
build and verify times.

Usage::

    python -m scripts.bench_dossier [--officers 1000 10000 100000] [--events-per-officer 10]
        [--database-url sqlite:///var/bench/dossier.sqlite3 | postgresql://...] [--json FILE]

1. **Map update per checkpoint.** For each size, on a fresh store made by ``init-db``:
   ``integrity_officer_chain`` is filled with ``officers × events-per-officer`` synthetic
   chain rows (each position given to a random officer: 100,000 officers × 10 is the 1 M
   events of the issue), the map is built up to three windows before the end, and then
   ``officer_chains.update_map`` runs for each of the last three checkpoints of 1,000 events
   (what the integrity follower does inside a checkpoint's transaction). Printed: the
   median time per checkpoint, the officers changed, the time, stored nodes written and map
   reads (leaf-range and node look-ups) per changed officer, and the ratio of the per-officer time to the smallest size's (the
   baseline, measured in the same run) beside ``log2(n)`` over the baseline's ``log2(n)``:
   O(log n) per changed officer means the ratios stay close (the reads ratio does not depend
   on the machine's load; the time ratio does). Also: one officer's map proof at that size
   (non-default siblings, bytes of JSON, time to make it from the tables).
2. **One dossier.** A fresh store with one officer who has 300 entries (the registration and
   299 monthly grades), chained with signed checkpoints: ``build_dossier`` (median of 3,
   including the eligibility answers replayed from the dossier's events), the file's size,
   ``verify_dossier.check_dossier`` with the verdict recomputed, and without it (the
   signature, the map proof and the chain: what an auditor with ``cryptography`` only runs).
   Baseline in the same run: the four eligibility answers from the live read models (what
   a board is shown without any proof).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import time
import uuid
from datetime import date
from pathlib import Path

from audit_service.config import Settings
from auditing import officer_chains
from auditing.bootstrap import init_database
from auditing.dossier import build_dossier, dossier_bytes
from auditing.integrity import IntegrityFollower
from auditing.officer_map import proof_json
from auditing.signing import AuditSettings, Signer
from projections.db import ReadModelDB
from projections.projector import Projector
from projections.queries import ReadModels
from scripts import verify_dossier
from scripts.bench_projections import build_app, drop_store, fresh_store, machine
from scripts.demo_data import ADMIN, BOARD

DEFAULT_URL = "sqlite:///var/bench/dossier.sqlite3"
WINDOW = 1000  # events per checkpoint (AUDIT_CHECKPOINT_EVERY_EVENTS's default)


def _url_store(url: str, tag: int) -> tuple[str, str | None]:
    if url.startswith("sqlite:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return fresh_store(url, tag)


# --------------------------------------------------------------------------- the map

def _fill_chain(db: ReadModelDB, officers: int, events: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(officers)]
    seqs = dict.fromkeys(ids, 0)
    rows = []
    with db.transaction():
        for position in range(1, events + 1):
            officer = ids[rng.randrange(officers)]
            seqs[officer] += 1
            rows.append((officer, seqs[officer], position,
                         hashlib.sha256(position.to_bytes(8, "big")).hexdigest()))
            if len(rows) >= 50_000:
                db.executemany("INSERT INTO integrity_officer_chain (officer_id, seq, position,"
                               " hash) VALUES (?, ?, ?, ?)", rows)
                rows = []
        db.executemany("INSERT INTO integrity_officer_chain (officer_id, seq, position, hash)"
                       " VALUES (?, ?, ?, ?)", rows)
        officer_chains.set_officers_position(db, events, "2026-11-20T00:00:00.000000+00:00")
    return ids


def _checkpoint(db: ReadModelDB, number: int, position: int) -> tuple[float, int, int]:
    """One checkpoint's map update: (seconds, stored nodes written, map reads)."""
    written, reads = [], [0]
    table = officer_chains.TableMap
    flush, leaves_in, node = table.flush, table.leaves_in, table.node

    def counting(self):
        written.append(len(self.writes))
        flush(self)

    def read_leaves(self, *args):
        reads[0] += 1
        return leaves_in(self, *args)

    def read_node(self, *args):
        reads[0] += 1
        return node(self, *args)

    table.flush, table.leaves_in, table.node = counting, read_leaves, read_node
    try:
        started = time.perf_counter()
        with db.transaction():
            root = officer_chains.update_map(db, position)
            db.execute("INSERT INTO integrity_checkpoints (checkpoint_id, position, head,"
                       " event_count, created_at, officers_root) VALUES (?, ?, ?, ?, ?, ?)",
                       (number, position, "00" * 32, position,
                        "2026-11-20T00:00:00.000000+00:00", root))
        return time.perf_counter() - started, sum(written), reads[0]
    finally:
        table.flush, table.leaves_in, table.node = flush, leaves_in, node


def bench_map(url: str, officers: int, per_officer: int) -> dict:
    run_url, schema = _url_store(url, officers)
    settings = Settings.from_env({"AUDIT_DATABASE_URL": run_url})
    try:
        init_database(settings)
        db = ReadModelDB(settings.database)
        events = officers * per_officer
        started = time.perf_counter()
        ids = _fill_chain(db, officers, events, seed=officers)
        fill = time.perf_counter() - started
        first = events - 3 * WINDOW
        build, _, _ = _checkpoint(db, 1, first)
        times, nodes, changed, reads = [], [], [], []
        for i, position in enumerate(range(first + WINDOW, events + 1, WINDOW), start=2):
            changed.append(int(db.fetchone(
                "SELECT COUNT(DISTINCT officer_id) FROM integrity_officer_chain WHERE"
                " position > ? AND position <= ?", (position - WINDOW, position))[0]))
            seconds, written, read = _checkpoint(db, i, position)
            times.append(seconds)
            nodes.append(written)
            reads.append(read)
        started = time.perf_counter()
        proof = officer_chains.officer_proof(db, ids[0])
        prove_s = time.perf_counter() - started
        proof_bytes = len(json.dumps(proof_json(proof["proof"])))
        db.close()
    finally:
        drop_store(url, run_url, schema)
    median = statistics.median(times)
    per = median / statistics.median(changed)
    return {"officers": officers, "events": events, "fill_s": round(fill, 1),
            "initial_build_s": round(build, 2), "checkpoint_s": [round(t, 4) for t in times],
            "checkpoint_median_s": round(median, 4), "changed_officers": changed,
            "ms_per_changed_officer": round(per * 1000, 3),
            "nodes_written_per_changed_officer": round(statistics.median(
                n / c for n, c in zip(nodes, changed)), 1),
            "map_reads_per_changed_officer": round(statistics.median(
                r / c for r, c in zip(reads, changed)), 1),
            "proof_siblings": len(proof["proof"]["siblings"]), "proof_json_bytes": proof_bytes,
            "prove_ms": round(prove_s * 1000, 2)}


# --------------------------------------------------------------------------- one dossier

def bench_dossier(url: str, entries: int) -> dict:
    run_url, schema = _url_store(url, 300_000 + entries)
    settings = Settings.from_env({"AUDIT_DATABASE_URL": run_url})
    signer = Signer.generate()
    try:
        init_database(settings)
        app = build_app(run_url)
        db = ReadModelDB(settings.database)
        unit = app.register_unit(ADMIN, code="B-1", name="Phường Đo", level="ward").id
        officer = app.register_officer(ADMIN, personnel_code="B-000001", full_name="Lê Văn Đo",
                                       category="cong_chuc", unit_id=unit,
                                       position="Chuyên viên", joined_on="1995-01-02").id
        month = date(1996, 1, 1)
        for i in range(entries - 1):
            period = f"{month.year + (month.month - 1 + i) // 12:04d}-" \
                     f"{(month.month - 1 + i) % 12 + 1:02d}"
            app.record_monthly_grade(BOARD, officer_id=officer, period=period,
                                     score=60 + i % 40)
        follower = IntegrityFollower(app, ReadModelDB(settings.database),
                                     settings=AuditSettings(signer=signer))
        follower.catch_up()
        follower.checkpoint_now()
        follower.close()
        Projector(app).catch_up()
        models = ReadModels(db, app.reference)
        day = date(2026, 11, 20)

        def timed(fn, runs=3):
            times, result = [], None
            for _ in range(runs):
                started = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - started)
            return statistics.median(times), result

        baseline, _ = timed(lambda: [models.eligibility(str(officer), on=day, leadership=lead,
                                                        post=post)
                                     for lead in (True, False) for post in ("same", "higher")])
        build, bundle = timed(lambda: build_dossier(app, db, officer, day))
        data = dossier_bytes(bundle)
        path = Path(run_url[len("sqlite:///"):] if run_url.startswith("sqlite:")
                    else "/tmp/bench-dossier.sqlite3").with_suffix(".dossier.json")
        path.write_bytes(data)
        keys = {signer.key_id: {"public_key": signer.public_b64, "valid_from": None}}
        full, report = timed(lambda: verify_dossier.check_dossier(path, keys))
        assert report["ok"] and report["verdict"] == "checked", report
        recompute = verify_dossier.verdict_recompute
        verify_dossier.verdict_recompute = lambda: None
        try:
            proof_only, report = timed(lambda: verify_dossier.check_dossier(path, keys))
        finally:
            verify_dossier.verdict_recompute = recompute
        assert report["ok"] and report["verdict"] == "verdict_not_checked", report
        path.unlink()
        db.close()
        app.close()
    finally:
        drop_store(url, run_url, schema)
    return {"entries": len(bundle["events"]), "bytes": len(data),
            "baseline_eligibility_s": round(baseline, 4), "build_s": round(build, 3),
            "build_over_baseline": round(build / baseline, 1),
            "verify_with_verdict_s": round(full, 3), "verify_without_verdict_s":
            round(proof_only, 4), "proof_siblings": len(bundle["proof"]["siblings"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--officers", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--events-per-officer", type=int, default=10)
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    out = {"machine": machine(args.database_url), "map": [], "dossier": None}
    print(f"machine: {out['machine']}")
    base = None
    print("officers  events     ckpt median s  changed  ms/officer  nodes/officer"
          "  reads/officer  ratio  reads ratio  log2 ratio")
    for n in sorted(args.officers):
        r = bench_map(args.database_url, n, args.events_per_officer)
        base = base or r
        r["ratio_to_baseline"] = round(r["ms_per_changed_officer"]
                                       / base["ms_per_changed_officer"], 2)
        r["reads_ratio_to_baseline"] = round(r["map_reads_per_changed_officer"]
                                             / base["map_reads_per_changed_officer"], 2)
        r["log2_ratio"] = round(math.log2(n) / math.log2(base["officers"]), 2)
        out["map"].append(r)
        print(f"{n:>8,} {r['events']:>9,} {r['checkpoint_median_s']:>13.3f}"
              f" {statistics.median(r['changed_officers']):>8.0f}"
              f" {r['ms_per_changed_officer']:>11.3f} {r['nodes_written_per_changed_officer']:>14}"
              f" {r['map_reads_per_changed_officer']:>14} {r['ratio_to_baseline']:>6}"
              f" {r['reads_ratio_to_baseline']:>12} {r['log2_ratio']:>10}"
              f"   (fill {r['fill_s']} s, first build {r['initial_build_s']} s; a proof:"
              f" {r['proof_siblings']} siblings, {r['proof_json_bytes']} bytes of JSON, made in"
              f" {r['prove_ms']} ms)")
    d = bench_dossier(args.database_url, args.entries)
    out["dossier"] = d
    print(f"dossier: {d['entries']} entries, {d['bytes']:,} bytes, {d['proof_siblings']}"
          f" proof siblings; build {d['build_s']} s ({d['build_over_baseline']}x the four"
          f" eligibility answers from the read models, {d['baseline_eligibility_s']} s);"
          f" verify {d['verify_with_verdict_s']} s with the verdict recomputed,"
          f" {d['verify_without_verdict_s']} s without")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
