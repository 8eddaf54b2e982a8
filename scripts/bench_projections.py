"""Benchmark the projections: rebuild throughput vs. the library's read+decode, memory, queries.

Usage::

    python -m scripts.bench_projections --events 100000 [--events 1000000] \\
        --database-url postgresql://root@127.0.0.1:5432/test --json out.json

For each size, on a fresh PostgreSQL schema (created and dropped here) or a fresh SQLite
file (``--database-url sqlite:///path/bench.sqlite3``; the size is appended to the name):

1. generate a synthetic but valid log by building aggregates directly and saving them with
   ``app.save`` in batches of ~1,000 events (service validation is bypassed on purpose);
2. baseline: the library alone reading and decoding the whole log; and a second baseline
   that reads the whole log but decodes only the events some projection applies, which is
   what the rebuild decodes (it routes by topic first: index claims and idempotency
   records are never decoded). Both ratios are reported; the second is the like-for-like one;
3. ``Projector(app).rebuild()`` in a separate (spawned) process: events/s, ratio to the
   baseline, and that process's peak RSS (``VmHWM``); then (PostgreSQL, ``--workers`` > 1)
   the same rebuild split between that many processes, with the peak RSS of the main process
   and of its largest helper (sampled every 50 ms);
4. ``ReadModels.history`` / ``ReadModels.eligibility`` latency for 200 random officers.

Rates are wall-clock. The baseline's and the rebuild's own CPU time (``process_time``) are
recorded too: on a shared machine they vary less than wall time, and the PostgreSQL server's
share of the work is in neither. ``--repeat N`` runs the baseline and the rebuild N times each
(alternating) and reports the median of each; every run is kept in the JSON.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from audit_service.application import AuditService
from auditing.bootstrap import init_database
from audit_service.config import Settings
from audit_service.domain import (AnnualRating, Decision, Index, Inspection, MonthlyGrade,
                                  Officer, Proceeding, Unit)
from audit_service.validation import decision_ref_key
from scripts.procmem import own_peak_rss_mb, peak_rss_mb

DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"
RATINGS = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
RATING_WEIGHTS = (20, 60, 17, 3)
CODES = ("qd522-late", "qd522-absent", "dossier-overdue", "qd522-manner-citizens")
YEARS = range(2019, 2026)  # 7 annual ratings + 84 monthly grades per officer
CORRECTED_GRADES = 0.02  # share of officers with one monthly grade corrected later
CORRECTED_RATINGS = 0.01  # ... and with one annual rating corrected later
OFFICERS_PER_WARD = 50
WARDS_PER_DISTRICT = 10
SAVE_BATCH = 1000
QUERY_OFFICERS = 200
ELIGIBILITY_ON = date(2026, 6, 1)
FIXED_TODAY = date(2026, 11, 20)

ADMIN = {"actor_id": "admin-1", "actor_role": "admin"}
BOARD = {"actor_id": "board-1", "actor_role": "board"}
INSPECTOR = {"actor_id": "insp-1", "actor_role": "inspector"}


# --------------------------------------------------------------------------- stores
def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def pg_conninfo(url: str) -> str:
    return Settings.from_env({"AUDIT_DATABASE_URL": url}).database.conninfo()


def fresh_store(url: str, events: int) -> tuple[str, str | None]:
    """A store URL for one run, and the PostgreSQL schema to drop afterwards (if any)."""
    if is_sqlite(url):
        path = Path(url[len("sqlite:///"):])
        path = path.with_name(f"{path.stem}-{events}{path.suffix or '.sqlite3'}")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}", None
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}schema={schema}", schema


def drop_store(url: str, run_url: str, schema: str | None) -> None:
    if schema is None:
        return
    import psycopg

    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def build_app(run_url: str) -> AuditService:
    return AuditService(Settings.from_env({"AUDIT_DATABASE_URL": run_url}),
                        today=lambda: FIXED_TODAY)


def postgres_version(url: str) -> str | None:
    if is_sqlite(url):
        return None
    import psycopg

    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


# --------------------------------------------------------------------------- generation
def ref(number: str, signed_on: date, issuer: str, symbol: str = "QĐ-UBND") -> dict:
    return {"number": number, "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


def claim(kind: str, key: str, owner_id, actor: dict) -> Index:
    return Index(kind=kind, key=key, owner_id=owner_id, **actor)


class Saver:
    """Collects aggregates and saves them ~SAVE_BATCH events at a time."""

    def __init__(self, app: AuditService):
        self.app = app
        self.pending: list = []
        self.pending_events = 0
        self.saved = 0

    def add(self, *aggregates) -> None:
        for agg in aggregates:
            self.pending.append(agg)
            self.pending_events += len(agg.pending_events)
        if self.pending_events >= SAVE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.save(*self.pending)
            self.saved += self.pending_events
            self.pending, self.pending_events = [], 0


def generate(app: AuditService, target_events: int, seed: int = 20261120) -> tuple[int, list[str]]:
    """Build a valid synthetic log of about ``target_events`` events; returns (events, officer ids)."""
    rnd = random.Random(seed)
    reference = app.reference
    saver = Saver(app)
    officers_wanted = max(1, round(target_events / 100))
    city = Unit(code="01", name="Thành phố Hà Nội", level="city", parent_id=None,
                established_on=None, **ADMIN)
    saver.add(city, claim("unit-code", "01", city.id, ADMIN))
    officer_ids: list[str] = []
    district = ward = None
    ward_people: list[Officer] = []
    n_ward = n_decision = 0
    late = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=7)))
    to_correct: list = []  # grades and ratings corrected once their ward is complete

    def finish_ward() -> None:
        """Inspections with findings, proceedings + decisions, and corrections of grades and
        ratings, for the ward just filled."""
        nonlocal n_decision
        if ward is None or not ward_people:
            return
        saver.flush()  # the corrected records' own first events are saved (and counted) first
        for record in to_correct:
            if isinstance(record, MonthlyGrade):
                score = record.score - 5 if record.score > 60 else record.score + 5
                record.correct(score=score, grade=reference.monthly_grade_for(score),
                               reason="Chấm lại", **BOARD)
            else:
                record.correct(rating=next(r for r in RATINGS if r != record.rating),
                               reason="Xét lại", **BOARD)
        saver.add(*to_correct)
        to_correct.clear()
        for year in (2024, 2025):
            insp = Inspection(unit_id=ward.id, team=["insp-1"], basis_ref=None,
                              announced=bool(rnd.random() < 0.5),
                              started_on=date(year, rnd.randint(1, 9), 3), **INSPECTOR)
            for k in range(rnd.randint(8, 16)):
                who = rnd.choice(ward_people + [None])
                observed = datetime(insp.started_on.year, insp.started_on.month, 4 + k % 20,
                                    9, 0, tzinfo=late.tzinfo)
                fid = uuid.uuid4()
                insp.record_finding(finding_id=fid, officer_id=who.id if who else None,
                                    conduct_code=rnd.choice(CODES),
                                    description=f"Phát hiện {k}", observed_at=observed,
                                    evidence_sha256=[], **INSPECTOR)
                if k % 7 == 6:
                    insp.withdraw_finding(fid, reason="Nhầm", **INSPECTOR)
            if year == 2024:
                insp.close(closed_on=date(2024, 12, 20), conclusion_ref=None, **INSPECTOR)
            saver.add(insp)
        for person in rnd.sample(ward_people, max(1, len(ward_people) // 10)):
            opened = date(2024, 8, 1)
            proc = Proceeding(officer_id=person.id, opened_on=opened, violations=[{
                "finding_id": None, "inspection_id": None, "source": "other",
                "conduct_code": "qd522-late", "description": "Đi muộn nhiều lần",
                "occurred_on": date(2024, 7, 1), "detected_on": date(2024, 7, 1),
                "exemption": None}], **BOARD)
            if rnd.random() < 0.15:
                proc.dismiss(reason="Không đủ căn cứ", dismissed_on=date(2024, 8, 20), **BOARD)
                saver.add(proc)
                continue
            n_decision += 1
            form = rnd.choice(("khien_trach", "canh_cao"))
            signed = date(2024, 9, 1)
            r = ref(str(n_decision), signed, issuer=ward.name)
            entry = reference.discipline_form(form, person.category, signed)
            decision = Decision(proceeding_id=proc.id, officer_id=person.id,
                                category=person.category, form=form, regime=entry.regime,
                                decision_ref=r, effective_from=signed,
                                corruption_related=False, discipline_system="state",
                                **BOARD)
            proc.decide(decision_id=decision.id, decided_on=signed, **BOARD)
            aggs = [proc, decision, claim("decision-ref", decision_ref_key(r), decision.id, BOARD)]
            if rnd.random() < 0.1:
                r2 = ref(str(50000 + n_decision), date(2024, 10, 1), issuer=ward.name)
                decision.annul(reason="Sai thủ tục", decision_ref=r2,
                               annulled_on=date(2024, 10, 1), **BOARD)
                aggs.append(claim("decision-ref", decision_ref_key(r2), decision.id, BOARD))
            saver.add(*aggs)

    for n in range(officers_wanted):
        if n % OFFICERS_PER_WARD == 0:
            finish_ward()
            if n_ward % WARDS_PER_DISTRICT == 0:
                code = f"D-{n_ward // WARDS_PER_DISTRICT:03d}"
                district = Unit(code=code, name=f"Quận {code}", level="district",
                                parent_id=city.id, established_on=None, **ADMIN)
                saver.add(district, claim("unit-code", code, district.id, ADMIN))
            code = f"W-{n_ward:04d}"
            ward = Unit(code=code, name=f"UBND phường {code}", level="ward",
                        parent_id=district.id, established_on=None, **ADMIN)
            ward.rate(year=2024, rating=rnd.choice(("strong", "average", "weak")), source=None,
                      **ADMIN)
            saver.add(ward, claim("unit-code", code, ward.id, ADMIN))
            ward_people = []
            n_ward += 1
        pcode = f"BM-{n:07d}"
        officer = Officer(personnel_code=pcode, full_name=f"Nguyễn Văn Bench {n}",
                          category="cong_chuc", unit_id=ward.id, position="Chuyên viên",
                          national_id=None, national_id_hash=None,
                          joined_on=date(2005 + n % 12, 1 + n % 12, 1 + n % 28), **ADMIN)
        aggs: list = [officer, claim("personnel-code", pcode, officer.id, ADMIN)]
        if rnd.random() < 0.05:
            n_decision += 1
            r = ref(str(n_decision), date(2021, 2, 20), issuer=ward.name)
            officer.appoint(position="Phó Chủ tịch UBND phường", term_start=date(2021, 3, 1),
                            term_years=5, decision_ref=r, **BOARD)
            aggs.append(claim("decision-ref", decision_ref_key(r), officer.id, BOARD))
        ratings, grades = [], []
        for year in YEARS:
            ratings.append(AnnualRating(officer_id=officer.id, year=year,
                                        rating=rnd.choices(RATINGS, RATING_WEIGHTS)[0], **BOARD))
            for month in range(1, 13):
                score = rnd.randint(55, 100)
                grades.append(MonthlyGrade(officer_id=officer.id, period=f"{year}-{month:02d}",
                                           score=score, grade=reference.monthly_grade_for(score),
                                           framework="3814-QĐ/TU", **BOARD))
        aggs += ratings + grades
        if rnd.random() < CORRECTED_GRADES:
            to_correct.append(rnd.choice(grades))
        if rnd.random() < CORRECTED_RATINGS:
            to_correct.append(rnd.choice(ratings))
        saver.add(*aggs)
        ward_people.append(officer)
        officer_ids.append(str(officer.id))
    finish_ward()
    saver.flush()
    return saver.saved, officer_ids


# --------------------------------------------------------------------------- measurements
def read_and_decode(app: AuditService, applied_only: bool = False) -> int:
    """The library alone: select every notification in pages of 1,000 and decode it; or,
    ``applied_only``, decode only the notifications some projection applies, which are the
    only ones a rebuild decodes (it routes by topic before decoding: index claims and
    idempotency records, for example, are read but never decoded). Returns how many
    notifications were decoded."""
    from eventsourcing.utils import resolve_topic

    from projections.readmodels import PROJECTIONS

    projections = [cls(app.reference) for cls in PROJECTIONS]
    applied: dict[str, bool] = {}  # topic -> does some projection apply it (as the rebuild)
    recorder, mapper = app.recorder, app.mapper
    position, count = 0, 0
    while True:
        page = recorder.select_notifications(position, limit=1000, inclusive_of_start=False)
        if not page:
            return count
        for n in page:
            if applied_only:
                wanted = applied.get(n.topic)
                if wanted is None:
                    kind = resolve_topic(n.topic).__qualname__
                    wanted = applied[n.topic] = any(p.handles(kind) for p in projections)
                if not wanted:
                    continue
            mapper.to_domain_event(n)
            count += 1
        position = page[-1].id


class HelperPeaks:
    """Samples the peak RSS of this process's children (a split rebuild's helpers) until
    stopped; a child's last sample before it exits is its peak, give or take 50 ms."""

    def __init__(self) -> None:
        import threading

        self.peaks: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _children(self) -> list[int]:
        pids = []
        for task in Path("/proc/self/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

    def _run(self) -> None:
        while not self.done.wait(0.05):
            for pid in self._children():
                peak = peak_rss_mb(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))

    def stop(self) -> float:
        """The largest helper's peak (0 if there was none)."""
        self.done.set()
        self.thread.join()
        return max(self.peaks.values(), default=0.0)


def _rebuild_child(run_url: str, batch_size: int, workers: int, queue) -> None:
    from projections.projector import Projector

    app = build_app(run_url)
    projector = Projector(app, batch_size=batch_size)
    sampler = HelperPeaks()
    started, cpu = time.perf_counter(), time.process_time()
    position = projector.rebuild(workers=workers)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    helper_peak = sampler.stop()
    own_peak = own_peak_rss_mb()
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    app.close()
    projector.db.close()
    queue.put({"position": position, "seconds": elapsed, "cpu_seconds": cpu,
               "helpers_cpu_seconds": helpers.ru_utime + helpers.ru_stime,
               "max_rss_mb": own_peak, "helper_max_rss_mb": helper_peak,
               "workers": workers})


def rebuild_in_child(run_url: str, batch_size: int, workers: int = 1) -> dict:
    """Run the rebuild in a spawned process so its peak RSS is the rebuild's own."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_rebuild_child, args=(run_url, batch_size, workers, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"rebuild process exited with {proc.exitcode}")
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def query_latency(app: AuditService, officer_ids: list[str], seed: int = 1) -> dict:
    from projections.db import ReadModelDB
    from projections.queries import ReadModels

    db = ReadModelDB(app.settings.database)
    models = ReadModels(db, app.reference)
    sample = random.Random(seed).sample(officer_ids, min(QUERY_OFFICERS, len(officer_ids)))
    for oid in sample[:20]:  # warm-up: connection, caches, plans
        models.history(oid)
        models.eligibility(oid, on=ELIGIBILITY_ON)
    out = {}
    for name, call in (("history", lambda o: models.history(o)),
                       ("eligibility", lambda o: models.eligibility(o, on=ELIGIBILITY_ON))):
        times = []
        entries = 0
        for oid in sample:
            t = time.perf_counter()
            result = call(oid)
            times.append((time.perf_counter() - t) * 1000)
            if name == "history":
                entries += len(result["entries"])
        out[name] = {"p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99),
                     "mean_ms": statistics.fmean(times), "n": len(times)}
        if name == "history":
            out[name]["mean_entries"] = entries / len(sample)
    db.close()
    return out


def timed_baseline(app: AuditService, applied_only: bool = False) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    decoded = read_and_decode(app, applied_only)
    return {"events": decoded, "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu}


def run_size(url: str, events: int, batch_size: int, keep: bool, repeat: int = 1,
             workers: int = 2) -> dict:
    run_url, schema = fresh_store(url, events)
    t_all = time.perf_counter()
    try:
        settings = Settings.from_env({"AUDIT_DATABASE_URL": run_url})
        init_database(settings)
        app = build_app(run_url)
        t = time.perf_counter()
        saved, officer_ids = generate(app, events)
        gen_s = time.perf_counter() - t
        head = app.recorder.max_notification_id() or 0
        print(f"[{events:,}] generated {saved:,} events ({len(officer_ids):,} officers) in"
              f" {gen_s:.1f} s = {saved / gen_s:,.0f} events/s", flush=True)

        bases, applied_bases, rebuilds, splits = [], [], [], []
        split = workers > 1 and not is_sqlite(url)
        for _ in range(repeat):
            base = timed_baseline(app)
            bases.append(base)
            print(f"[{events:,}] baseline read+decode {base['events']:,} in"
                  f" {base['seconds']:.1f} s = {base['events'] / base['seconds']:,.0f} events/s"
                  f" (CPU {base['cpu_seconds'] / base['events'] * 1e6:.1f} us/event)", flush=True)
            applied = timed_baseline(app, applied_only=True)
            applied_bases.append(applied)
            print(f"[{events:,}] baseline read all, decode the {applied['events']:,} the"
                  f" rebuild applies, in {applied['seconds']:.1f} s = {head / applied['seconds']:,.0f}"
                  f" log events/s", flush=True)
            rb = rebuild_in_child(run_url, batch_size)
            assert rb["position"] == head, (rb["position"], head)
            rebuilds.append(rb)
            print(f"[{events:,}] rebuild {head:,} in {rb['seconds']:.1f} s ="
                  f" {head / rb['seconds']:,.0f} events/s (CPU"
                  f" {rb['cpu_seconds'] / head * 1e6:.1f} us/event); peak RSS"
                  f" {rb['max_rss_mb']:.0f} MB", flush=True)
            if split:
                sp = rebuild_in_child(run_url, batch_size, workers)
                assert sp["position"] == head, (sp["position"], head)
                splits.append(sp)
                print(f"[{events:,}] rebuild with {workers} processes {head:,} in"
                      f" {sp['seconds']:.1f} s = {head / sp['seconds']:,.0f} events/s; peak RSS"
                      f" {sp['max_rss_mb']:.0f} MB + helper {sp['helper_max_rss_mb']:.0f} MB",
                      flush=True)
        decoded = bases[0]["events"]
        base_s = statistics.median(b["seconds"] for b in bases)
        base_cpu = statistics.median(b["cpu_seconds"] for b in bases)
        applied_s = statistics.median(b["seconds"] for b in applied_bases)
        applied_cpu = statistics.median(b["cpu_seconds"] for b in applied_bases)
        rb_s = statistics.median(r["seconds"] for r in rebuilds)
        rb_cpu = statistics.median(r["cpu_seconds"] for r in rebuilds)
        rb_rss = max(r["max_rss_mb"] for r in rebuilds)

        split_result = None
        if splits:
            sp_s = statistics.median(r["seconds"] for r in splits)
            split_result = {
                "workers": workers, "seconds": sp_s, "events_per_s": head / sp_s,
                "over_baseline": (head / sp_s) / (decoded / base_s),
                "over_applied_baseline": applied_s / sp_s,
                "peak_rss_mb": max(r["max_rss_mb"] for r in splits),
                "helper_peak_rss_mb": max(r["helper_max_rss_mb"] for r in splits),
                "cpu_us_per_event": statistics.median(
                    r["cpu_seconds"] + r["helpers_cpu_seconds"] for r in splits) / head * 1e6,
                "runs": splits}
        q = query_latency(app, officer_ids)
        app.close()
        total_s = time.perf_counter() - t_all
        result = {
            "events_requested": events, "events": head, "officers": len(officer_ids),
            "generate": {"seconds": gen_s, "events_per_s": saved / gen_s},
            "baseline_read_decode": {"seconds": base_s, "events_per_s": decoded / base_s,
                                     "cpu_us_per_event": base_cpu / decoded * 1e6,
                                     "runs": bases},
            # the same log read, but only what the rebuild applies decoded; its rate is in
            # log events per second, so that it compares with the rebuild's
            "baseline_read_decode_applied": {
                "seconds": applied_s, "decoded": applied_bases[0]["events"],
                "events_per_s": head / applied_s, "cpu_us_per_event": applied_cpu / head * 1e6,
                "runs": applied_bases},
            "rebuild": {"seconds": rb_s, "events_per_s": head / rb_s,
                        "cpu_us_per_event": rb_cpu / head * 1e6,
                        "peak_rss_mb": rb_rss, "batch_size": batch_size, "runs": rebuilds},
            "rebuild_over_baseline": (head / rb_s) / (decoded / base_s),
            "rebuild_over_baseline_cpu": (base_cpu / decoded) / (rb_cpu / head),
            "rebuild_over_applied_baseline": applied_s / rb_s,
            "rebuild_split": split_result,
            "queries": q, "total_seconds": total_s,
            "store": "sqlite" if is_sqlite(url) else "postgresql",
        }
        print(f"[{events:,}] history p50 {q['history']['p50_ms']:.2f} ms p99"
              f" {q['history']['p99_ms']:.2f} ms; eligibility p50 {q['eligibility']['p50_ms']:.2f}"
              f" ms p99 {q['eligibility']['p99_ms']:.2f} ms; total {total_s:.0f} s", flush=True)
        return result
    finally:
        if not keep:
            drop_store(url, run_url, schema)


def machine(url: str) -> dict:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    except (ValueError, OSError):
        pass
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_model": cpu_model,
            "memory_gb": mem_gb, "python": sys.version.split()[0],
            "postgresql": postgres_version(url),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def table(results: list[dict]) -> str:
    rows = [("events", "officers", "gen ev/s", "base ev/s", "applied base ev/s",
             "rebuild ev/s", "ratio", "ratio (applied)", "CPU ratio", "rebuild s", "peak MB",
             "split ev/s", "split ratio", "split ratio (applied)", "split MB",
             "hist p50", "hist p99", "elig p50", "elig p99")]
    for r in results:
        q = r["queries"]
        sp = r.get("rebuild_split")
        rows.append((f"{r['events']:,}", f"{r['officers']:,}",
                     f"{r['generate']['events_per_s']:,.0f}",
                     f"{r['baseline_read_decode']['events_per_s']:,.0f}",
                     f"{r['baseline_read_decode_applied']['events_per_s']:,.0f}",
                     f"{r['rebuild']['events_per_s']:,.0f}", f"{r['rebuild_over_baseline']:.2f}",
                     f"{r['rebuild_over_applied_baseline']:.2f}",
                     f"{r['rebuild_over_baseline_cpu']:.2f}",
                     f"{r['rebuild']['seconds']:.1f}", f"{r['rebuild']['peak_rss_mb']:.0f}",
                     f"{sp['events_per_s']:,.0f}" if sp else "-",
                     f"{sp['over_baseline']:.2f}" if sp else "-",
                     f"{sp['over_applied_baseline']:.2f}" if sp else "-",
                     f"{sp['peak_rss_mb']:.0f}+{sp['helper_peak_rss_mb']:.0f}" if sp else "-",
                     f"{q['history']['p50_ms']:.2f}", f"{q['history']['p99_ms']:.2f}",
                     f"{q['eligibility']['p50_ms']:.2f}", f"{q['eligibility']['p99_ms']:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + ("\n(latencies in ms; ratio = rebuild / baseline read+decode"
                               " events/s; ratio (applied) = the same against a baseline that"
                               " reads the whole log but decodes only the events the rebuild"
                               " applies, as the rebuild does; CPU ratio = the same from each one's own CPU time;"
                               " split = the rebuild split between processes, its MB the main"
                               " process's peak + the largest helper's)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, action="append",
                        help="log size to generate (repeatable); default 100000")
    parser.add_argument("--database-url", default=os.environ.get("AUDIT_BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--batch-size", type=int, default=500,
                        help="projector batch size for the rebuild (default: the projector's 500)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL schema (default: drop it)")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes for the split rebuild also measured on PostgreSQL"
                             " (default 2; 1: only the single-process rebuild)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="baseline and rebuild runs per size; medians are reported")
    args = parser.parse_args(argv)
    sizes = args.events or [100_000]
    info = machine(args.database_url)
    print(f"machine: {info['platform']}, {info['cpu_count']} CPU ({info['cpu_model']}),"
          f" Python {info['python']}, PostgreSQL {info['postgresql']}", flush=True)
    results = []
    for size in sizes:
        results.append(run_size(args.database_url, size, args.batch_size, args.keep,
                                args.repeat, args.workers))
        if args.json:  # written after each size so a later, longer size can't lose it
            args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    print()
    print(table(results))
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"peak RSS {first['events']:,} -> {last['events']:,}:"
              f" {first['rebuild']['peak_rss_mb']:.0f} -> {last['rebuild']['peak_rss_mb']:.0f} MB")
        if first.get("rebuild_split") and last.get("rebuild_split"):
            a, b = first["rebuild_split"], last["rebuild_split"]
            print(f"split rebuild peak RSS (main + helper) {first['events']:,} ->"
                  f" {last['events']:,}: {a['peak_rss_mb']:.0f} + {a['helper_peak_rss_mb']:.0f}"
                  f" -> {b['peak_rss_mb']:.0f} + {b['helper_peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
