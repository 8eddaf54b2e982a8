"""What-if measurements: how much faster appends and the import would be with a change the
service does not have yet. Experiments only; nothing here changes the service.

    python -m scripts.bench.whatif service [--seconds 1.5] [--rounds 5]
    python -m scripts.bench.whatif import [--events 40000] [--officers 2000]
    python -m scripts.bench.whatif http [--seconds 4] [--rounds 2]

Variants (each process patched at start-up through a ``sitecustomize`` module):

- ``asis``: the service as it is;
- ``nopreping``: ``POSTGRES_PRE_PING=n`` (no ``SELECT 1`` before each pooled-connection use);
- ``optimistic``: ``nopreping`` and ``AuditService._exists`` answering from the current batch
  only, i.e. no existence SELECT before a write. The store's unique constraints still refuse a
  duplicate, but a replayed Idempotency-Key is then not recognised: this only measures what
  the SELECTs cost, it is not a correct implementation;
- ``gthread`` (http only): gunicorn ``--worker-class gthread --threads 4`` (keep-alive);
- ``all`` (http only): ``optimistic`` and ``gthread``.

Since commit bf34d8d the service has no pre-ping and runs gthread workers by default, so
there ``nopreping`` and ``gthread`` measure the same as ``asis``; ``optimistic`` still removes
the existence SELECTs that remain (the rating pre-checks of import batches, index claims).

Variants run interleaved, in rounds, on one fresh PostgreSQL schema (several for ``import``),
and medians are printed, so drift of a shared machine spreads over all variants alike.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from uuid import UUID

from .measure import BOARD, Slots, api_appends, generate_file, setup_append_store, _timed_loop
from .server import Server, token
from .stores import Store

SITECUSTOMIZE = '''
import os
_w = os.environ.get("AUDIT_BENCH_WHATIF", "")
if _w:
    import audit_service.config as _cfg
    _orig = _cfg.Settings.eventsourcing_env
    def _env(self, *, create_table=False):
        e = _orig(self, create_table=create_table)
        if "nopreping" in _w or "optimistic" in _w:
            e["POSTGRES_PRE_PING"] = "n"
        return e
    _cfg.Settings.eventsourcing_env = _env
    if "optimistic" in _w:
        import audit_service.application as _app
        def _exists(self, aggregate_id):
            b = _app._BATCH.get()
            return b is not None and aggregate_id in b.aggregates
        _app.AuditService._exists = _exists
    import sys
    print(f"whatif: {_w} applied in pid {os.getpid()}", file=sys.stderr, flush=True)
'''
ROOT = Path(__file__).resolve().parents[2]


def patch_here(variant: str) -> None:
    """Apply a variant to this process (what the sitecustomize does in a child)."""
    os.environ["AUDIT_BENCH_WHATIF"] = variant
    import audit_service.application as app_module
    import audit_service.config as cfg

    if not hasattr(cfg.Settings, "_bench_orig_env"):
        cfg.Settings._bench_orig_env = cfg.Settings.eventsourcing_env
        app_module.AuditService._bench_orig_exists = app_module.AuditService._exists

    def env(self, *, create_table=False):
        e = cfg.Settings._bench_orig_env(self, create_table=create_table)
        if variant in ("nopreping", "optimistic"):
            e["POSTGRES_PRE_PING"] = "n"
        return e

    def exists(self, aggregate_id):
        batch = app_module._BATCH.get()
        return batch is not None and aggregate_id in batch.aggregates

    cfg.Settings.eventsourcing_env = env
    app_module.AuditService._exists = (exists if variant == "optimistic"
                                       else app_module.AuditService._bench_orig_exists)


def service(url: str, seconds: float, rounds: int, variants: list[str], workdir: Path) -> None:
    from audit_service.application import AuditService, IdempotencyClaim
    from audit_service.domain import IdempotencyRecord, MonthlyGrade

    store = Store.fresh(url, "whatif", workdir)
    results: dict = {}
    try:
        slots = Slots(setup_append_store(store, 500))
        apps = {}
        for v in variants:
            patch_here(v)
            apps[v] = AuditService(store.settings)
        for _ in range(rounds):
            for v in variants:
                patch_here(v)
                app = apps[v]

                def lib():
                    o, p = slots.take()
                    app.save(MonthlyGrade(officer_id=UUID(o), period=p, score=80.0, grade="B",
                                          framework="3814-QĐ/TU", **BOARD.kw))

                def lib2():
                    o, p = slots.take()
                    g = MonthlyGrade(officer_id=UUID(o), period=p, score=80.0, grade="B",
                                     framework="3814-QĐ/TU", **BOARD.kw)
                    k = uuid.uuid4().hex
                    app.save(g, IdempotencyRecord(user_id=BOARD.user_id, key_sha256=k,
                                                  request_sha256=k, result_id=g.id, extra={},
                                                  appended=[[str(g.id), 1]], **BOARD.kw))

                def svc():
                    o, p = slots.take()
                    body = {"officer_id": o, "period": p, "score": 80}
                    claim = IdempotencyClaim.of(BOARD, uuid.uuid4().hex, json.dumps(body).encode())
                    app.idempotent(claim, lambda: app.record_monthly_grade(BOARD, **body))

                for label, step in (("library save, 1 event", lib),
                                    ("library save, grade + idempotency record", lib2),
                                    ("service command", svc)):
                    step()
                    results.setdefault((v, label), []).append(_timed_loop(seconds, step))
        for app in apps.values():
            app.close()
    finally:
        patch_here("asis")
        store.drop()
    for (v, label), rs in results.items():
        print(f"{v:11s} {label:42s} median {statistics.median(r['per_s'] for r in rs):6.0f}/s"
              f"  p50 {statistics.median(r['p50_ms'] for r in rs):.2f} ms"
              f"  CPU here {statistics.median(r['cpu']['client_cpu_ms_per_append'] for r in rs):.2f} ms"
              f"  rounds {[round(r['per_s']) for r in rs]}", flush=True)


def import_(url: str, events: int, officers: int, variants: list[str], workdir: Path) -> None:
    from audit_service.application import AuditService
    from audit_service.importing import import_records

    path = workdir / "whatif.ndjson"
    generate_file(path, events, officers)
    order = variants + variants[::-1]
    for v in order:
        store = Store.fresh(url, "whatif", workdir)
        try:
            patch_here(v)
            app = AuditService(store.settings)
            started, cpu = time.perf_counter(), time.process_time()
            with open(path, "rb") as f:
                rep = import_records(app, f, batch_size=500)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert not rep.bad and rep.events_appended == app.recorder.max_notification_id()
            app.close()
            print(f"import {v:11s} {rep.records / wall:7,.0f} records/s {rep.events_appended / wall:7,.0f}"
                  f" events/s  ({wall:.1f} s wall, {cpu:.1f} s CPU in this process)", flush=True)
        finally:
            patch_here("asis")
            store.drop()
    path.unlink(missing_ok=True)


HTTP_VARIANTS = {
    "asis": {},
    "nopreping": {"AUDIT_BENCH_WHATIF": "nopreping"},
    "optimistic": {"AUDIT_BENCH_WHATIF": "optimistic"},
    "gthread": {"GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4"},
    "all": {"AUDIT_BENCH_WHATIF": "optimistic",
            "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4"},
}


def http(url: str, seconds: float, rounds: int, variants: list[str], workdir: Path,
         workers: int) -> None:
    site = Path(tempfile.mkdtemp(prefix="whatif-site-"))
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    store = Store.fresh(url, "whatif", workdir)
    results: dict = {}
    try:
        slots = Slots(setup_append_store(store, 1000))
        board = token(store.env, "board")
        for r in range(rounds):
            for v in (variants if r % 2 == 0 else variants[::-1]):
                metrics = workdir / f"metrics-{uuid.uuid4().hex[:6]}"
                metrics.mkdir()
                env = {**store.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics),
                       "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", **HTTP_VARIANTS[v]}
                with Server(env, workers, workdir / "whatif-serve.log") as srv:
                    for n in (1, 4):
                        x = api_appends(srv.base, board, slots, n, seconds,
                                        server_pids=[srv.proc.pid, *srv.workers()])
                        if x["errors"]:
                            raise RuntimeError(f"{v}: errors {x['errors']}")
                        results.setdefault((v, n), []).append(x)
    finally:
        store.drop()
    for (v, n), xs in results.items():
        med = lambda f: statistics.median(f(x) for x in xs)  # noqa: E731
        print(f"{v:11s} {n:2d} client(s): {med(lambda x: x['per_s']):5.0f}/s"
              f"  p50 {med(lambda x: x['p50_ms']):.2f} ms"
              f"  CPU ms/append server {med(lambda x: x['cpu']['server_workers_cpu_ms_per_append']):.2f}"
              f" client {med(lambda x: x['cpu']['client_cpu_ms_per_append']):.2f}"
              f" rest {med(lambda x: x['cpu']['rest_cpu_ms_per_append']):.2f}"
              f"  rounds {[round(x['per_s']) for x in xs]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.whatif",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["service", "import", "http"])
    p.add_argument("--database-url", default="postgresql://root@127.0.0.1:5432/test")
    p.add_argument("--variants", nargs="+")
    p.add_argument("--seconds", type=float)
    p.add_argument("--rounds", type=int)
    p.add_argument("--events", type=int, default=40_000)
    p.add_argument("--officers", type=int, default=2_000)
    p.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    a = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="audit-whatif-"))
    if a.what == "service":
        service(a.database_url, a.seconds or 1.5, a.rounds or 5,
                a.variants or ["asis", "nopreping", "optimistic"], workdir)
    elif a.what == "import":
        import_(a.database_url, a.events, a.officers,
                a.variants or ["asis", "nopreping", "optimistic"], workdir)
    else:
        http(a.database_url, a.seconds or 4.0, a.rounds or 2,
             a.variants or list(HTTP_VARIANTS), workdir, a.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
