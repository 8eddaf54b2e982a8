"""The benchmark suite of issue 6, in one run: ``python -m scripts.bench``.

On fresh PostgreSQL schemas (``bench_<random>``, dropped at the end unless ``--keep``) or, with
``--database-url sqlite:///DIR/x.sqlite3``, on fresh SQLite files in a temporary directory:

1. generate an NDJSON data set (``--events``, ``--officers``) and load it with
   ``import_records``; baseline: the raw driver inserting as many rows, batched alike;
2. the library's read+decode of that log, then ``Projector.rebuild()`` in its own process;
3. history and eligibility latency over HTTP at each of ``--sizes`` events;
4. ``audit-service checkpoint`` / ``export`` and ``scripts/verify_export.py``, when present
   (after the queries: the chain's first pass is the longest step at 10 M events);
5. single appends through the HTTP API with 1, 4 and 16 clients on a fresh store, against
   the library's sequential ``app.save()`` and raw one-row commits;
6. projection lag under write load (scripts/bench_lag.py);

then prints the verdicts, writes ``--json`` and rewrites its section of docs/benchmarks.md.
``--quick`` is a one-minute smoke run at small sizes (it leaves the docs alone unless
``--doc`` is given).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from . import dataset, measure, report
from .measure import log
from .server import ROOT
from .stores import Store

DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scripts.bench",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, help="events in the main data set (default 1,000,000)")
    p.add_argument("--officers", type=int, help="officers in the main data set (default 100,000)")
    p.add_argument("--sizes", type=int, action="append",
                   help="log sizes for the query test (repeatable; default 100000 and --events)")
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help=f"PostgreSQL server (default {DEFAULT_URL}) or sqlite:///DIR/name.sqlite3")
    p.add_argument("--quick", action="store_true", help="a ~1-minute smoke run at small sizes")
    p.add_argument("--json", type=Path, help="write the results here (after every phase)")
    p.add_argument("--doc", type=Path, default=None,
                   help="the document to update (default docs/benchmarks.md; not with --quick)")
    p.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    p.add_argument("--keep", action="store_true", help="keep the schemas / files")
    p.add_argument("--workers", type=int, default=None,
                   help="gunicorn workers for the HTTP tests (default: the service's, CPUs + 1)")
    p.add_argument("--clients", type=int, action="append",
                   help="concurrent API clients (repeatable; default 1, 4, 16)")
    p.add_argument("--append-seconds", type=float, help="seconds per append level (default 10)")
    p.add_argument("--samples", type=int, help="officers per query test (default 1000)")
    p.add_argument("--import-batch", type=int, default=500, help="records per import transaction")
    p.add_argument("--verify-seconds", type=float,
                   help="time budget of the in-place `verify` (default: to the end)")
    p.add_argument("--lag-rate", type=float, default=200.0, help="writes/s for the lag test")
    p.add_argument("--lag-seconds", type=float, help="seconds of the lag test (default 20)")
    p.add_argument("--only", action="append",
                   choices=["import", "projections", "export", "queries", "appends", "lag"],
                   help="run only these phases (repeatable; queries and later phases need import)")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="write a cProfile of the import and py-spy stacks of the API workers here")
    p.add_argument("--workdir", type=Path, help="where data files and logs go (default: a temp dir)")
    p.add_argument("--render", type=Path, metavar="JSON",
                   help="measure nothing: rewrite the doc section from a saved --json result")
    a = p.parse_args(argv)
    quick = a.quick
    a.events = a.events or (20_000 if quick else 1_000_000)
    a.officers = a.officers or (1_000 if quick else 100_000)
    a.sizes = sorted(set(a.sizes or ([5_000, a.events] if quick else [100_000, a.events])))
    a.clients = a.clients or [1, 4, 16]
    a.append_seconds = a.append_seconds or (2.0 if quick else 10.0)
    a.samples = a.samples or (50 if quick else 1000)
    a.lag_seconds = a.lag_seconds or (5.0 if quick else 20.0)
    if a.workers is None:
        import os

        a.workers = (os.cpu_count() or 1) + 1
    if a.no_doc or (quick and a.doc is None):
        a.doc = None
    elif a.doc is None:
        a.doc = ROOT / "docs" / "benchmarks.md"
    return a


def officers_for(size: int, events: int, officers: int) -> int:
    """Officers for a smaller log with the same events per officer (same history lengths)."""
    return max(dataset.OFFICERS_PER_WARD, round(officers * size / events))


class Run:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        self.args = args
        self.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="audit-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stores: list[Store] = []
        shown = " ".join(shlex.quote(x) for x in argv)
        self.r: dict = {
            "command": f"python -m scripts.bench {shown}".strip(),
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "store": "SQLite" if args.database_url.startswith("sqlite:") else "PostgreSQL",
            "machine": report.machine(args.database_url), "git": report.git_state(),
            "workdir": str(self.workdir), "other_benchmarks_seen": [],
        }
        self.started = time.perf_counter()

    def want(self, name: str) -> bool:
        return not self.args.only or name in self.args.only

    def phase(self, name: str) -> bool:
        """Note any other benchmark running now; whether this phase is to run."""
        others = report.other_benchmarks()
        if others:
            log(f"note: another benchmark is running: {others}")
            self.r["other_benchmarks_seen"] += others
        activity = report.other_benchmarks(r"pytest|load_test|gunicorn")
        if activity:
            self.r.setdefault("other_activity_seen", []).extend(activity)
        import os

        self.r.setdefault("loadavg_by_phase", {})[name] = os.getloadavg()[0]
        return self.want(name)

    def save(self) -> None:
        self.r["total_seconds"] = time.perf_counter() - self.started
        self.r["verdicts"] = report.verdicts(self.r)
        if self.args.json:
            self.args.json.write_text(json.dumps(self.r, indent=2, ensure_ascii=False, default=str))

    def fresh(self, label: str) -> Store:
        store = Store.fresh(self.args.database_url, label, self.workdir)
        self.stores.append(store)
        return store

    def load(self, store: Store, events: int, officers: int, profile: Path | None = None) -> tuple[dict, dict]:
        path = self.workdir / f"data-{events}.ndjson"
        ds = measure.generate_file(path, events, officers)
        log(f"data set: {ds['records']:,} records, {ds['events_expected']:,} events expected,"
            f" {ds['officers']:,} officers, {ds['file_mb']:.0f} MB in {ds['seconds']:.1f} s")
        imp = measure.bulk_import(store, path, self.args.import_batch, profile)
        log(f"import: {imp['records']:,} records, {imp['events_appended']:,} events in"
            f" {imp['seconds']:.1f} s = {imp['records_per_s']:,.0f} records/s,"
            f" {imp['events_per_s']:,.0f} events/s")
        path.unlink(missing_ok=True)
        return ds, imp

    def execute(self) -> None:
        a = self.args
        profile = a.profile
        if profile:
            profile.mkdir(parents=True, exist_ok=True)
        log(f"workdir {self.workdir}; machine {self.r['machine']['nproc']} CPUs,"
            f" PostgreSQL {(self.r['machine']['postgresql'] or {}).get('server_version')}")
        need_main = not a.only or bool(set(a.only) - {"appends", "lag"})
        main = self.fresh("main") if need_main else None
        if need_main:
            self.phase("import")
            ds, imp = self.load(main, a.events, a.officers, profile / "import.prof" if profile else None)
            self.r["dataset"], self.r["import"] = ds, imp
            rows_per_commit = max(1, round(imp["events_appended"] / max(1, imp["batches"])))
            self.r["raw_bulk"] = measure.raw_bulk(main, imp["events_appended"], rows_per_commit)
            log(f"raw bulk: executemany {self.r['raw_bulk']['executemany']['per_s']:,.0f} rows/s"
                + (f", COPY {self.r['raw_bulk']['copy']['per_s']:,.0f} rows/s"
                   if "copy" in self.r["raw_bulk"] else ""))
            self.save()
        events = self.r.get("import", {}).get("log_head", a.events)
        if need_main and (self.phase("projections") or self.want("queries")):
            pj = measure.read_decode_and_rebuild(main)
            self.r["projections"] = pj
            log(f"projections: read+decode {pj['read_decode']['events_per_s']:,.0f} ev/s, rebuild"
                f" ({pj['rebuild']['workers']} processes)"
                f" {pj['rebuild']['events_per_s']:,.0f} ev/s (ratio {pj['ratio']:.3f}), peak RSS"
                f" {pj['rebuild']['peak_rss_mb']:.0f} MB; one process"
                f" {pj['rebuild_single']['events_per_s']:,.0f} ev/s"
                f" (ratio {pj['rebuild_single']['ratio']:.3f})")
            self.save()
        if need_main and self.phase("queries"):
            self.r["queries"] = []
            for size in a.sizes:
                if size > a.events:
                    log(f"queries: size {size:,} is larger than --events; skipped")
                    continue
                if size == a.events:
                    store, officers, pj = main, a.officers, self.r["projections"]
                else:
                    store = self.fresh(f"q{size}")
                    officers = officers_for(size, a.events, a.officers)
                    self.load(store, size, officers)
                    pj = measure.read_decode_and_rebuild(store)
                q = measure.queries(store, officers, a.workers, a.samples, self.workdir)
                head = pj["events"]
                self.r["queries"].append({"events": head, "officers": officers, **q,
                                          "projections": pj})
                log(f"queries at {head:,} events: history p50 {q['history']['p50_ms']:.2f} p99"
                    f" {q['history']['p99_ms']:.2f} ms; eligibility p50"
                    f" {q['eligibility']['p50_ms']:.2f} p99 {q['eligibility']['p99_ms']:.2f} ms")
                if store is not main and not a.keep:
                    store.drop()
                    self.stores.remove(store)
                self.save()
        if need_main and self.phase("export"):
            self.r["export"] = measure.export_and_verify(main, events, self.workdir,
                                                         a.verify_seconds)
            ex = self.r["export"]
            log("export: " + (", ".join(f"{k} {ex[k]['events_per_s']:,.0f} ev/s"
                                        for k in ("chain_checkpoint", "export", "verify"))
                              if ex.get("available") else f"not available ({ex['missing']})"))
            self.save()
        if self.phase("appends"):
            store = self.fresh("appends")
            self.r["appends"] = measure.appends(store, a.append_seconds, a.clients, a.workers,
                                                self.workdir, profile)
            self.save()
        if self.phase("lag"):
            log(f"lag: {a.lag_rate:.0f} writes/s for {a.lag_seconds:.0f} s")
            self.r["lag"] = measure.lag(a.database_url, a.lag_rate, a.lag_seconds, self.workdir)
            log(f"lag: p50 {self.r['lag']['lag_ms_p50']} ms, p99 {self.r['lag']['lag_ms_p99']} ms")
            self.save()
        self.phase("end")

    def close(self) -> None:
        if not self.args.keep:
            for store in self.stores:
                try:
                    store.drop()
                except Exception as exc:  # noqa: BLE001 - report and go on dropping
                    log(f"could not drop {store.schema or store.path}: {exc}")
        else:
            log("kept: " + ", ".join(str(s.schema or s.path) for s in self.stores))


def print_verdicts(rows: list[dict]) -> None:
    print()
    width = max(len(r["measure"]) for r in rows) if rows else 10
    for r in rows:
        value = "–" if r["value"] is None else f"{r['value']:,.2f} {r['unit']}"
        ratio = "" if r["ratio"] is None else f" ratio {r['ratio']:.3f}"
        met = {None: "", True: "MET", False: "MISSED"}[r["met"]]
        print(f"{r['measure']:<{width}}  {value:>22}{ratio:<16} target {r['target']:<18} {met}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        saved["verdicts"] = report.verdicts(saved)
        print_verdicts(saved["verdicts"])
        report.update_doc(args.doc or ROOT / "docs" / "benchmarks.md", saved)
        return 0
    run = Run(args, argv)
    others = report.other_benchmarks()
    if others:
        log(f"warning: another benchmark is running; figures will not be comparable: {others}")
    try:
        run.execute()
    finally:
        run.close()
        run.save()
    print_verdicts(run.r["verdicts"])
    if args.doc:
        report.update_doc(args.doc, run.r)
        log(f"updated {args.doc}")
    if args.json:
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
