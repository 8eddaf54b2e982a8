"""The measurements of the suite; each returns a plain dict (JSON-ready).

Every ratio the suite reports compares two figures measured here, in the same run, on the
same store kind and the same machine.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from audit_service.application import Actor, AuditService, IdempotencyClaim
from audit_service.bootstrap import build_service
from audit_service.importing import import_records

from . import dataset
from .server import CLI, ROOT, Server, cli, cli_available, timed_child, token
from .stores import Store

ADMIN, BOARD = Actor("bench-admin", "admin"), Actor("bench-board", "board")
ELIGIBILITY_ON = "2026-06-01"
APPEND_OFFICERS = 1000
FIXED_TODAY = date(2026, 11, 20)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- import
def generate_file(path: Path, events: int, officers: int, seed: int = 20261126) -> dict:
    started = time.perf_counter()
    plan = dataset.write(path, events, officers, seed)
    seconds = time.perf_counter() - started
    return {**plan.as_dict(), "seconds": seconds, "file_mb": path.stat().st_size / 1e6}


def bulk_import(store: Store, path: Path, batch_size: int, profile: Path | None = None) -> dict:
    """``import_records`` over the file, in this process, the way ``audit-service import`` runs it."""
    app = build_service(store.settings)
    try:
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
        with open(path, "rb") as lines:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            report = import_records(app, lines, batch_size=batch_size)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
        head = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    if profiler:
        profiler.dump_stats(str(profile))
    if report.bad:
        raise RuntimeError(f"the generated data set has bad records: {report.bad[:3]}")
    if report.events_appended != head:
        raise RuntimeError(f"import appended {report.events_appended} events, log head is {head}")
    return {**report.as_dict(), "seconds": seconds, "batch_size": batch_size,
            "records_per_s": report.records / seconds,
            "events_per_s": report.events_appended / seconds, "log_head": head}


# --------------------------------------------------------------------------- appends
class Slots:
    """Distinct (officer, month) pairs for monthly grades, shared by every writer of a run."""

    def __init__(self, officer_ids: list[str]):
        self.officer_ids = officer_ids
        self.counter = itertools.count()  # next() is atomic under the GIL

    def take(self) -> tuple[str, str]:
        k = next(self.counter)
        n = len(self.officer_ids)
        return self.officer_ids[k % n], dataset._month_back(k // n)


def setup_append_store(store: Store, officers: int = APPEND_OFFICERS) -> list[str]:
    records = [{"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"},
               {"type": "unit", "code": "P-BENCH", "name": "Phường thử tải", "level": "ward",
                "parent_code": "01"}]
    records += [{"type": "officer", "personnel_code": f"AP-{n:05d}",
                 "full_name": f"Nguyễn Văn Thử {n}", "category": "cong_chuc",
                 "unit_code": "P-BENCH", "position": "Chuyên viên"} for n in range(officers)]
    app = build_service(store.settings)
    try:
        report = import_records(app, [json.dumps(r, ensure_ascii=False) for r in records])
        assert not report.bad, report.bad
        return [str(app.find_officer(personnel_code=f"AP-{n:05d}").id) for n in range(officers)]
    finally:
        app.close()


def _system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [float(x) for x in open("/proc/stat").readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _process_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / tick
    return total


class CpuMeter:
    """Where the CPU went during a measured window: the whole machine, the server's
    processes, and this process (the client threads)."""

    def __init__(self, server_pids: list[int]):
        self.pids = server_pids

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.sys0, self.srv0, self.me0 = _system_cpu(), _process_cpu(self.pids), time.process_time()

    def stop(self, appends: int) -> dict:
        wall = time.perf_counter() - self.t0
        busy1, total1 = _system_cpu()
        busy = busy1 - self.sys0[0]
        server = _process_cpu(self.pids) - self.srv0
        client = time.process_time() - self.me0
        per = 1000 / max(1, appends)
        return {"machine_busy_fraction": busy / (total1 - self.sys0[1]),
                "cpus_busy": busy / wall,
                "server_workers_cpu_ms_per_append": server * per,
                "client_cpu_ms_per_append": client * per,
                "rest_cpu_ms_per_append": (busy - server - client) * per}


def _timed_loop(seconds: float, step) -> dict:
    latencies = []
    meter = CpuMeter([])
    meter.start()
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < seconds:
        step()
        latencies.append((time.perf_counter() - now) * 1000)
    elapsed = time.perf_counter() - started
    return {"appends": len(latencies), "seconds": elapsed, "per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "cpu": meter.stop(len(latencies))}


def library_save(store: Store, slots: Slots, seconds: float, with_idempotency: bool = False) -> dict:
    """The library alone: ``app.save()`` of one new MonthlyGrade per call, sequentially
    (``with_idempotency``: plus an IdempotencyRecord in the same save, the rows the API writes)."""
    from uuid import UUID

    from audit_service.domain import IdempotencyRecord, MonthlyGrade

    app = AuditService(store.settings, today=lambda: FIXED_TODAY)
    try:
        def step() -> None:
            officer, period = slots.take()
            grade = MonthlyGrade(officer_id=UUID(officer), period=period, score=80.0, grade="B",
                                 framework="3814-QĐ/TU", **BOARD.kw)
            if with_idempotency:
                key = uuid.uuid4().hex
                record = IdempotencyRecord(
                    user_id=BOARD.user_id, key_sha256=key, request_sha256=key,
                    result_id=grade.id, extra={}, appended=[[str(grade.id), 1]], **BOARD.kw)
                app.save(grade, record)
            else:
                app.save(grade)

        step()  # connection, prepared statements
        return _timed_loop(seconds, step)
    finally:
        app.close()


def service_command(store: Store, slots: Slots, seconds: float) -> dict:
    """The service in-process: ``record_monthly_grade`` with an idempotency claim, sequentially
    (everything the API does for this POST except HTTP, auth and JSON)."""
    app = build_service(store.settings)
    try:
        def step() -> None:
            officer, period = slots.take()
            body = {"officer_id": officer, "period": period, "score": 80}
            claim = IdempotencyClaim.of(BOARD, uuid.uuid4().hex, json.dumps(body).encode())
            app.idempotent(claim, lambda: app.record_monthly_grade(BOARD, **body))

        step()
        return _timed_loop(seconds, step)
    finally:
        app.close()


def api_appends(base: str, board_token: str, slots: Slots, clients: int, seconds: float,
                warmup: float = 1.0, server_pids: list[int] | None = None) -> dict:
    """``clients`` threads POSTing /evaluations/monthly (each with an Idempotency-Key) for
    ``warmup + seconds``; only answers completed inside the measured window count."""
    import requests

    url = base + "/api/v1/evaluations/monthly"
    headers = {"Authorization": f"Bearer {board_token}"}
    start = time.perf_counter() + 0.2
    window = (start + warmup, start + warmup + seconds)
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]

    def client(i: int) -> None:
        session = requests.Session()
        out = results[i]
        while time.perf_counter() < start:
            time.sleep(0.001)
        while (sent := time.perf_counter()) < window[1]:
            officer, period = slots.take()
            try:
                r = session.post(url, json={"officer_id": officer, "period": period, "score": 80},
                                 headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                                 timeout=60)
                status = r.status_code
            except requests.RequestException:
                status = 0
            done = time.perf_counter()
            out.append((done, (done - sent) * 1000, status))
        session.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    meter = CpuMeter(server_pids or [])
    time.sleep(max(0.0, window[0] - time.perf_counter()))
    meter.start()
    time.sleep(max(0.0, window[1] - time.perf_counter()))
    inside_count = sum(1 for rs in results for r in list(rs) if window[0] <= r[0] and r[2] == 201)
    cpu = meter.stop(inside_count)
    for t in threads:
        t.join()
    inside = [r for rs in results for r in rs if window[0] <= r[0] < window[1]]
    ok = [r for r in inside if r[2] == 201]
    statuses = Counter(r[2] for r in inside if r[2] != 201)
    latencies = [r[1] for r in ok]
    return {"clients": clients, "appends": len(ok), "seconds": seconds,
            "per_s": len(ok) / seconds, "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
            "errors": {str(k): v for k, v in statuses.items()}, "cpu": cpu}


def profile_workers(server: Server, seconds: float, out_dir: Path, label: str) -> list:
    """Start ``py-spy record`` on every gunicorn worker for ``seconds`` (raw folded stacks,
    idle frames included, so shares are of wall time; summarise with scripts.bench.stacks)."""
    import shutil
    import subprocess

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    procs = []
    for pid in server.workers():
        procs.append(subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100",
             "--idle", "--format", "raw", "--output", str(out_dir / f"{label}-{pid}.txt"),
             "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs



def appends(store: Store, seconds: float, clients: list[int], workers: int, workdir: Path,
            profile_dir: Path | None = None) -> dict:
    officer_ids = setup_append_store(store)
    slots = Slots(officer_ids)
    out: dict = {"officers": len(officer_ids), "workers": workers, "seconds_per_level": seconds}
    log("appends: library app.save() sequential")
    out["library_save"] = library_save(store, slots, seconds)
    out["library_save_with_idempotency_record"] = library_save(store, slots, seconds, True)
    log("appends: service command in-process")
    out["service_command"] = service_command(store, slots, seconds)
    log("appends: raw driver single-row commits")
    out["raw_single_commit"] = store.raw_single_commits(seconds)
    board = token(store.env, "board", "bench board")
    metrics_dir = workdir / f"metrics-{uuid.uuid4().hex[:6]}"
    metrics_dir.mkdir()
    env = {**store.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    out["api"] = []
    with Server(env, workers, workdir / "serve-appends.log") as server:
        for n in clients:
            spies = []
            if profile_dir is not None and n == 1:
                spies = profile_workers(server, seconds + 1, profile_dir, "api-append-1client")
            result = api_appends(server.base, board, slots, n, seconds,
                                 server_pids=[server.proc.pid, *server.workers()])
            for p in spies:
                p.wait()
            log(f"appends: API {n} client(s): {result['per_s']:.0f}/s, p50 {result['p50_ms']:.1f}"
                f" ms, p99 {result['p99_ms']:.1f} ms, errors {result['errors']}")
            out["api"].append(result)
    base = out["library_save"]["per_s"]
    for r in out["api"]:
        r["over_library_save"] = r["per_s"] / base
        r["over_raw_commit"] = r["per_s"] / out["raw_single_commit"]["per_s"]
    return out


# --------------------------------------------------------------------------- bulk baseline
def raw_bulk(store: Store, rows: int, batch_rows: int) -> dict:
    state = store.average_state_bytes()
    out = {"state_bytes": state, "executemany": store.raw_batched(rows, batch_rows, state)}
    if store.kind == "postgresql":
        out["copy"] = store.raw_batched(rows, batch_rows, state, method="copy")
    return out


# --------------------------------------------------------------------------- projections
def read_decode_and_rebuild(store: Store, batch_size: int = 500) -> dict:
    """The library's read+decode of the whole log (and the same decoding only the events the
    rebuild applies: ``ratio_applied``), then ``Projector.rebuild()`` in a spawned
    process (its wall time and own peak RSS): the functions of scripts/bench_projections.py.

    ``rebuild`` is what ``audit-service projections rebuild`` does by default: on PostgreSQL
    split between as many processes as CPUs (at most 4; ``helper_peak_rss_mb`` is the largest
    helper's peak). ``rebuild_single`` is the same in one process, for comparison."""
    from scripts.bench_projections import build_app, read_and_decode, rebuild_in_child

    app = build_app(store.url)
    try:
        head = app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        decoded = read_and_decode(app)
        base_s = time.perf_counter() - started
        started = time.perf_counter()
        decoded_applied = read_and_decode(app, applied_only=True)  # what the rebuild decodes
        applied_s = time.perf_counter() - started
    finally:
        app.close()
    workers = max(1, min(4, len(os.sched_getaffinity(0)))) if store.kind == "postgresql" else 1
    runs = {"rebuild_single": rebuild_in_child(store.url, batch_size, 1)}
    runs["rebuild"] = (rebuild_in_child(store.url, batch_size, workers) if workers > 1
                       else runs["rebuild_single"])
    out: dict = {"events": head,
                 "read_decode": {"seconds": base_s, "events_per_s": decoded / base_s},
                 "read_decode_applied": {"seconds": applied_s, "decoded": decoded_applied,
                                         "events_per_s": head / applied_s}}
    for name, rb in runs.items():
        if rb["position"] != head:
            raise RuntimeError(f"rebuild stopped at {rb['position']}, log head is {head}")
        out[name] = {"seconds": rb["seconds"], "events_per_s": head / rb["seconds"],
                     "peak_rss_mb": rb["max_rss_mb"], "batch_size": batch_size,
                     "workers": rb["workers"], "helper_peak_rss_mb": rb["helper_max_rss_mb"],
                     "ratio": (head / rb["seconds"]) / (decoded / base_s),
                     "ratio_applied": applied_s / rb["seconds"]}
    out["ratio"] = out["rebuild"]["ratio"]
    out["ratio_applied"] = out["rebuild"]["ratio_applied"]
    return out


# --------------------------------------------------------------------------- queries
def officer_ids_of(store: Store, officers: int, sample: int, seed: int) -> list[str]:
    app = build_service(store.settings)
    try:
        picks = random.Random(seed).sample(range(officers), min(sample, officers))
        return [str(app.find_officer(personnel_code=f"HN-{n:07d}").id) for n in picks]
    finally:
        app.close()


def queries(store: Store, officers: int, workers: int, samples: int, workdir: Path,
            seed: int = 7) -> dict:
    """history and eligibility over HTTP, one client, ``samples`` random officers each
    (after a warm-up on 20 others); the read models must be up to date."""
    import requests

    ids = officer_ids_of(store, officers, samples + 20, seed)
    warm, ids = ids[:20], ids[20:]
    board = token(store.env, "board", "bench reader")
    metrics_dir = workdir / f"metrics-{uuid.uuid4().hex[:6]}"
    metrics_dir.mkdir()
    env = {**store.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    out: dict = {"samples": len(ids)}
    with Server(env, workers, workdir / "serve-queries.log") as server, requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {board}"
        paths = {"history": ("/history", {}),
                 "eligibility": ("/eligibility", {"on": ELIGIBILITY_ON})}
        for oid in warm:
            for suffix, params in paths.values():
                s.get(f"{server.base}/api/v1/officers/{oid}{suffix}", params=params,
                      timeout=30).raise_for_status()
        for name, (suffix, params) in paths.items():
            times, entries = [], 0
            for oid in ids:
                t = time.perf_counter()
                r = s.get(f"{server.base}/api/v1/officers/{oid}{suffix}", params=params,
                          timeout=30)
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                if name == "history":
                    entries += len(r.json()["entries"])
            out[name] = {"p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99),
                         "max_ms": max(times), "n": len(times)}
            if name == "history":
                out[name]["mean_entries"] = entries / len(ids)
    return out


# --------------------------------------------------------------------------- export / verify
def export_and_verify(store: Store, events: int, workdir: Path,
                      verify_seconds: float | None = None) -> dict:
    """``audit-service checkpoint`` (chains every event), ``audit-service export`` and
    ``scripts/verify_export.py --no-replay`` when they exist; each in its own process. Then
    the in-place ``audit-service verify``, given ``verify_seconds`` at most when set (its
    rate comes from the events it reports checked, so a budget still gives the figure)."""
    verifier = ROOT / "scripts" / "verify_export.py"
    missing = [what for what, ok in (("audit-service export", cli_available("export")),
                                     ("audit-service checkpoint", cli_available("checkpoint")),
                                     ("scripts/verify_export.py", verifier.exists())) if not ok]
    if missing:
        return {"available": False, "missing": missing}
    seed_b64 = cli(store.env, "keys", "generate").strip().splitlines()[-1]
    env = {**store.env, "AUDIT_SIGNING_KEY": seed_b64}
    logfile = workdir / "export.log"
    out: dict = {"available": True, "events": events}
    chain = timed_child([*CLI, "checkpoint"], env, logfile)
    out["chain_checkpoint"] = {**chain, "events_per_s": events / chain["seconds"]}
    bundle = workdir / f"export-{uuid.uuid4().hex[:6]}.ndjson"
    said = workdir / "export.out"
    exp = timed_child([*CLI, "export", "--out", str(bundle)], env, logfile, stdout=said)
    # "exported N events (X MB) to FILE in S s": the command's own time, start-up excluded
    found = re.search(r"in ([0-9.]+) s", said.read_text()) if said.exists() else None
    inner = float(found.group(1)) if found else None
    out["export"] = {**exp, "events_per_s": events / exp["seconds"],
                     "reported_seconds": inner,
                     "reported_events_per_s": events / inner if inner else None,
                     "file_mb": bundle.stat().st_size / 1e6 if bundle.exists() else None}
    report = workdir / "verify.json"
    ver = timed_child([sys.executable, str(verifier), str(bundle), "--json", "--no-replay",
                       "--require-signatures"], env, logfile, stdout=report)
    try:
        verdict = json.loads(report.read_text())
        ok = verdict.get("ok")
    except ValueError:
        ok = None
    out["verify"] = {**ver, "events_per_s": events / ver["seconds"], "ok": ok,
                     "mode": "chain and signatures (--no-replay --require-signatures)"}
    bundle.unlink(missing_ok=True)
    said = workdir / "verify-in-place.json"
    budget = ["--max-seconds", str(verify_seconds)] if verify_seconds else []
    live = timed_child([*CLI, "verify", "--json", *budget], env, logfile, stdout=said)
    try:
        checked = json.loads(said.read_text())
    except ValueError:
        checked = {}
    done = checked.get("events") or 0
    out["verify_in_place"] = {**live, "status": checked.get("status"), "events_checked": done,
                              "events_per_s": done / live["seconds"] if done else None,
                              "budget_seconds": verify_seconds}
    if out["export"]["exit"] or out["chain_checkpoint"]["exit"]:
        out["note"] = f"a command failed; see {logfile}"
    return out


# --------------------------------------------------------------------------- lag
def lag(base_url: str, rate: float, seconds: float, workdir: Path) -> dict:
    from scripts.bench_lag import run

    url = base_url
    if base_url.startswith("sqlite:"):
        url = f"sqlite:///{workdir / ('lag-' + uuid.uuid4().hex[:6] + '.sqlite3')}"
    return run(url, rate, seconds)
