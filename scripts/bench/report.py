"""The suite's verdicts against the targets of issue 6, and its section of docs/benchmarks.md.

The section is ``## Benchmark suite (scripts/bench.py)``; a run rewrites only the part
between the ``bench-suite:generated`` markers, so notes written under it by hand (profiles,
analysis) survive the next run.
"""
from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .server import ROOT
from .stores import postgres_info

SECTION = "## Benchmark suite (scripts/bench.py)"
BEGIN = "<!-- bench-suite:generated:begin -->"  # the PostgreSQL run
END = "<!-- bench-suite:generated:end -->"
SQLITE_BEGIN = "<!-- bench-suite:sqlite:begin -->"  # a run with --database-url sqlite:///…
SQLITE_END = "<!-- bench-suite:sqlite:end -->"


def markers(r: dict) -> tuple[str, str]:
    return (SQLITE_BEGIN, SQLITE_END) if r.get("store") == "SQLite" else (BEGIN, END)


# --------------------------------------------------------------------------- machine
def machine(base_url: str) -> dict:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))}, kernel {platform.release()}"
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    versions = {}
    for dist in ("eventsourcing", "psycopg", "gunicorn", "Flask", "requests"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(mem, 1),
            "os": os_name, "python": sys.version.split()[0], "packages": versions,
            "postgresql": postgres_info(base_url),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "loadavg_at_start": os.getloadavg()}


def git_state() -> dict:
    def run(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return out.stdout.rstrip("\n")

    # documents (docs/, *.md) do not change what is measured
    dirty = [line[3:] for line in run("status", "--porcelain", "--untracked-files=no").splitlines()
             if not (line.endswith(".md") or line[3:].startswith("docs/"))]
    return {"commit": run("rev-parse", "--short", "HEAD"), "modified_files": dirty}


def other_benchmarks(pattern: str = r"bench_|scripts\.bench") -> list[str]:
    """Command lines of benchmark processes (or of ``pattern``) on this machine that are
    not this run's own."""
    me = os.getpid()
    mine = set(_ancestors(me))
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
    found = []
    for line in out.stdout.splitlines():
        pid_text, _, cmd = line.partition(" ")
        pid = int(pid_text)
        if pid in mine or me in _ancestors(pid) or "pgrep" in cmd:
            continue
        found.append(cmd[:200])
    return found


def _ancestors(pid: int) -> list[int]:
    """The process and its parents, up to (not including) init."""
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


# --------------------------------------------------------------------------- verdicts
def _row(name: str, value: float | None, unit: str, baseline: float | None, baseline_name: str,
         target: str, met: bool | None, ratio: float | None = None, note: str = "",
         baseline_unit: str | None = None) -> dict:
    if ratio is None and value is not None and baseline:
        ratio = value / baseline
    return {"measure": name, "value": value, "unit": unit, "baseline": baseline,
            "baseline_unit": baseline_unit or unit, "baseline_name": baseline_name,
            "ratio": ratio, "target": target, "met": met, "note": note}


def _applied_note(pj: dict) -> str:
    """The rebuild decodes only the events a projection applies; the ratio against a
    read+decode of those same events (the whole log read), when measured."""
    if pj.get("ratio_applied") is None:
        return ""
    return (f"{pj['ratio_applied']:.3f}× read+decode of only the"
            f" {pj['read_decode_applied']['decoded']:,} events it applies")


def verdicts(r: dict) -> list[dict]:
    rows: list[dict] = []
    ap = r.get("appends")
    if ap:
        lib = ap["library_save"]["per_s"]
        raw = ap["raw_single_commit"]["per_s"]
        for level in ap["api"]:
            ratio = level["per_s"] / lib
            rows.append(_row(f"API single append, {level['clients']} client(s)", level["per_s"],
                             "appends/s", lib, "library app.save(), sequential", "≥ 0.8×",
                             ratio >= 0.8, ratio,
                             f"{level['per_s'] / raw:.2f}× raw one-row commits ({raw:,.0f}/s)"))
        svc = ap["service_command"]["per_s"]
        rows.append(_row("service command in-process (no HTTP), 1 thread", svc, "appends/s", lib,
                         "library app.save(), sequential", "(diagnostic)", None))
    imp, bulk = r.get("import"), r.get("raw_bulk")
    if imp and bulk:
        base = bulk["executemany"]["per_s"]
        ratio = imp["events_per_s"] / base
        copy = bulk.get("copy")
        rows.append(_row("bulk import (events/s)", imp["events_per_s"], "events/s", base,
                         f"raw executemany, {bulk['executemany']['batch']} rows per commit",
                         "≥ 0.5×", ratio >= 0.5, ratio,
                         f"{imp['records_per_s']:,.0f} records/s"
                         + (f"; {imp['events_per_s'] / copy['per_s']:.3f}× COPY ({copy['per_s']:,.0f} rows/s)"
                            if copy else ""), baseline_unit="rows/s"))
    pj = r.get("projections")
    if pj:
        workers = pj["rebuild"].get("workers", 1)
        rows.append(_row(f"projection rebuild ({workers} process{'es' if workers > 1 else ''})",
                         pj["rebuild"]["events_per_s"], "events/s",
                         pj["read_decode"]["events_per_s"], "library read+decode", "≥ 0.5×",
                         pj["ratio"] >= 0.5, pj["ratio"], _applied_note(pj)))
        single = pj.get("rebuild_single")
        if single and workers > 1:
            rows.append(_row("projection rebuild (1 process)", single["events_per_s"],
                             "events/s", pj["read_decode"]["events_per_s"],
                             "library read+decode", "(reported)", None, single["ratio"],
                             _applied_note({**pj, "ratio_applied": single.get("ratio_applied")})))
    qs = r.get("queries") or []
    for q in qs:
        for name in ("history", "eligibility"):
            p99 = q[name]["p99_ms"]
            rows.append(_row(f"{name} p99 over HTTP, {q['events']:,} events", p99, "ms", None, "",
                             "≤ 10 ms", p99 <= 10, None, f"p50 {q[name]['p50_ms']:.2f} ms"))
    if len(qs) >= 2:
        small, large = qs[0], qs[-1]
        for name in ("history", "eligibility"):
            ratio = large[name]["p99_ms"] / small[name]["p99_ms"]
            rows.append(_row(f"{name} p99 growth {small['events']:,} → {large['events']:,}",
                             large[name]["p99_ms"], "ms", small[name]["p99_ms"],
                             f"p99 at {small['events']:,} events", "≤ 1.5×", ratio <= 1.5, ratio))
    ex = r.get("export")
    if ex is not None:
        if ex.get("available"):
            for name in ("export", "verify"):
                v = ex[name]["events_per_s"]
                ok = ex[name]["exit"] == 0 and (name != "verify" or ex[name].get("ok") is True)
                rows.append(_row(f"{name} ({ex['events']:,} events)", v, "events/s", None, "",
                                 "≥ 50,000 events/s", ok and v >= 50_000, None,
                                 f"exit {ex[name]['exit']}, peak RSS {ex[name]['peak_rss_mb']:.0f} MB"
                                 + ("" if name == "export" else f", verdict ok={ex[name].get('ok')}")))
            live = ex.get("verify_in_place")
            if live and live.get("events_per_s"):
                rows.append(_row(f"in-place verify ({live['events_checked']:,} of"
                                 f" {ex['events']:,} events checked)", live["events_per_s"],
                                 "events/s", None, "", "(reported)", None, None,
                                 f"status {live['status']}, exit {live['exit']}, peak RSS"
                                 f" {live['peak_rss_mb']:.0f} MB"))
        else:
            rows.append(_row("export / verify", None, "events/s", None, "", "≥ 50,000 events/s",
                             None, None, "not available: " + ", ".join(ex["missing"])))
    lg = r.get("lag")
    if lg:
        p99 = lg["lag_ms_p99"] / 1000
        rows.append(_row(f"projection lag p99, {lg['rate_per_s']:.0f} writes/s", p99, "s", None,
                         "", "≤ 1 s", p99 <= 1, None,
                         f"p50 {lg['lag_ms_p50']:.0f} ms, max {lg['lag_ms_max']:.0f} ms"))
    if pj:
        helper = pj["rebuild"].get("helper_peak_rss_mb") or 0
        rows.append(_row("rebuild peak RSS" + (" (main + largest helper)" if helper else ""),
                         pj["rebuild"]["peak_rss_mb"] + helper, "MB", None, "",
                         "(reported)", None))
    if ex and ex.get("available"):
        rows.append(_row("export peak RSS", ex["export"]["peak_rss_mb"], "MB", None, "",
                         "(reported)", None))
    return rows


# --------------------------------------------------------------------------- markdown
def _num(v: float | None, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if unit in ("ms", "s") or abs(v) < 100:
        text = f"{v:,.2f}"
    else:
        text = f"{v:,.0f}"
    return f"{text} {unit}".strip()


def _cpu(c: dict | None) -> str:
    if not c:
        return "– | –"
    return (f"{c['cpus_busy']:.2f} | {c['server_workers_cpu_ms_per_append']:.2f} /"
            f" {c['client_cpu_ms_per_append']:.2f} / {c['rest_cpu_ms_per_append']:.2f}")


def _met(m: bool | None) -> str:
    return "–" if m is None else ("**yes**" if m else "**no**")


def _short(row: dict) -> str:
    """How far a missed ratio target is from being met."""
    if row["met"] is not False or row["ratio"] is None:
        return ""
    want = float(re.sub(r"[^0-9.]", "", row["target"]))
    if row["target"].startswith("≥"):
        return f"{want / row['ratio']:.1f}× short"
    return f"{row['ratio'] / want:.1f}× over"


def markdown(r: dict) -> str:
    m, opts = r["machine"], r["options"]
    pg = m.get("postgresql") or {}
    begin, end = markers(r)
    h = "####" if r.get("store") == "SQLite" else "###"  # SQLite's part sits under its own ###
    lines = [begin, ""]
    if r.get("store") == "SQLite":
        lines += ["### The same suite on SQLite", ""]
    lines += [f"One run of the suite (`scripts/bench/`, run as `python -m scripts.bench`) on"
              f" {r['store']} measured every figure below,"
              " each ratio against a baseline measured in that same run on the same machine."
              f" Run on {m['date'][:10]}, {r.get('total_seconds', 0) / 60:.0f} minutes end to end"
              + (f", at {opts['events']:,} events for {opts['officers']:,} officers (queries at"
                 f" {', '.join(f'{n:,}' for n in opts.get('sizes') or ())} events)."
                 if opts.get("events") else ".")
              + f" Code: commit `{r['git']['commit']}`"
              + (f" plus uncommitted changes in {', '.join(f'`{p}`' for p in r['git']['modified_files'])}"
                 if r["git"]["modified_files"] else "") + ".", ""]
    lines += ["The exact command of this run, which regenerates every figure of this part"
              " (`--json` and `--workdir` only say where files go; `python -m scripts.bench"
              " --quick` is a one-minute smoke run at small sizes):", "",
              "```sh", r["command"], "```", "",
              f"{h} Against the targets", "",
              "| measure | value | baseline | ratio | target | met? | notes |",
              "|---|---:|---:|---:|---|---|---|"]
    for row in r["verdicts"]:
        base = (f"{_num(row['baseline'], row.get('baseline_unit', row['unit']))} ({row['baseline_name']})"
                if row["baseline"] is not None else "–")
        ratio = f"{row['ratio']:.3f}×" if row["ratio"] is not None else "–"
        note = "; ".join(x for x in (_short(row), row["note"]) if x)
        lines.append(f"| {row['measure']} | {_num(row['value'], row['unit'])} | {base} | {ratio}"
                     f" | {row['target']} | {_met(row['met'])} | {note} |")
    lines.append("")
    shared = r.get("other_benchmarks_seen") or []
    lines += ["**The machine was shared** with another benchmark during part of this run"
              f" ({'; '.join(sorted(set(shared)))[:300]}); treat the figures as not comparable."
              if shared else "No other benchmark process was seen on the machine during the run"
              " (checked with `pgrep -af bench_` between phases).", ""]
    busy = sorted(set(r.get("other_activity_seen") or []))
    if busy:
        lines += [f"Other work seen on the machine as phases began (test runs of other engineers"
                  f" sharing the 2 CPUs and the PostgreSQL server): {len(busy)} distinct"
                  f" command lines, e.g. `{busy[0][:120]}`. Figures taken while they ran are"
                  " lower than on an idle machine.", ""]
    lines += ["| machine | |", "|---|---|",
              f"| CPUs (`nproc`) | {m['nproc']} |", f"| CPU model | {m['cpu_model']} |",
              f"| memory | {m['memory_gib']} GiB |", f"| OS | {m['os']} |",
              f"| Python | {m['python']} |",
              f"| packages | {', '.join(f'{k} {v}' for k, v in m['packages'].items())} |"]
    if pg:
        lines.append(f"| PostgreSQL | {pg['server_version']} on the same machine over TCP to"
                     f" 127.0.0.1; synchronous_commit={pg['synchronous_commit']},"
                     f" fsync={pg['fsync']}, shared_buffers={pg['shared_buffers']} |")
    lines.append(f"| load average at start | {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])} |")
    if r.get("loadavg_by_phase"):
        lines.append("| 1-min load average as each phase began (this run's own load included) | "
                     + ", ".join(f"{k} {v:.1f}" for k, v in r["loadavg_by_phase"].items()) + " |")
    ds, imp = r.get("dataset"), r.get("import")
    if ds and imp:
        by_type = ", ".join(f"{k} {v:,}" for k, v in ds["records_by_type"].items())
        lines += ["", f"{h} Data set and import", "",
                  f"{ds['records']:,} NDJSON records ({ds['file_mb']:.0f} MB; {by_type}) for"
                  f" {ds['officers']:,} officers in {ds['wards']:,} wards of {ds['districts']:,}"
                  f" districts, generated in {ds['seconds']:.1f} s. `import_records(app, file,"
                  f" batch_size={imp['batch_size']})` appended {imp['events_appended']:,} events"
                  f" (the idempotency record of each record included) in {imp['seconds']:.1f} s:"
                  f" **{imp['records_per_s']:,.0f} records/s, {imp['events_per_s']:,.0f} events/s**,"
                  f" {imp['batches']:,} transactions."]
        bulk = r.get("raw_bulk")
        if bulk:
            em = bulk["executemany"]
            lines.append(f"Raw driver, same store, same number of rows ({em['rows']:,}, state"
                         f" {bulk['state_bytes']} bytes each, {em['batch']} rows per commit):"
                         f" executemany {em['per_s']:,.0f} rows/s"
                         + (f", COPY {bulk['copy']['per_s']:,.0f} rows/s" if "copy" in bulk else "")
                         + ".")
    ap = r.get("appends")
    if ap:
        lines += ["", f"{h} Single appends", "",
                  f"`POST /api/v1/evaluations/monthly` (board token, a new `Idempotency-Key` each,"
                  f" a new officer × month each) against `audit-service serve --no-projector"
                  f" --workers {ap['workers']}` on a fresh store with {ap['officers']:,} officers;"
                  f" {ap['seconds_per_level']:.0f} s per level after 1 s of warm-up; each client"
                  " a thread with its own `requests.Session`. The baselines write to the same store"
                  " from this process, one thread.", "",
                  "| writer | appends/s | p50 (ms) | p99 (ms) | events per append | errors |"
                  " CPUs busy | CPU ms per append: server / client / rest |",
                  "|---|---:|---:|---:|---:|---|---:|---|"]
        for label, key, ev in (("raw driver: one-row INSERT, autocommit", "raw_single_commit", "1 row"),
                               ("library: `app.save(MonthlyGrade)`", "library_save", "1"),
                               ("library: `app.save(MonthlyGrade, IdempotencyRecord)`",
                                "library_save_with_idempotency_record", "2"),
                               ("service: `idempotent(record_monthly_grade)` in-process",
                                "service_command", "2")):
            x = ap[key]
            lines.append(f"| {label} | {x['per_s']:,.0f} | {_num(x.get('p50_ms'))} |"
                         f" {_num(x.get('p99_ms'))} | {ev} | | {_cpu(x.get('cpu'))} |")
        for x in ap["api"]:
            errors = ", ".join(f"{k}: {v}" for k, v in x["errors"].items()) or "none"
            lines.append(f"| API, {x['clients']} client(s) | {x['per_s']:,.0f} | {_num(x['p50_ms'])}"
                         f" | {_num(x['p99_ms'])} | 2 | {errors} | {_cpu(x.get('cpu'))} |")
        lines += ["", "CPU: from /proc during the measured window. *server* = the gunicorn"
                  " master and workers; *client* = this benchmark process (for the baselines it is"
                  " the writer itself); *rest* = everything else on the machine, mostly the"
                  " PostgreSQL backends (and any other load)."]
    pj = r.get("projections")
    if pj or r.get("queries"):
        lines += ["", f"{h} Projections and queries", ""]
        lines += ["| events | officers | read+decode (ev/s) | rebuild (ev/s) | ratio |"
                  " ratio against decoding only what the rebuild applies | rebuild peak RSS (MB)"
                  " | history p50 / p99 (ms) | eligibility p50 / p99 (ms) | history entries |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for q in r.get("queries") or []:
            p = q.get("projections") or {}
            rd, rb = p.get("read_decode", {}), p.get("rebuild", {})
            lines.append(
                f"| {q['events']:,} | {q['officers']:,} | {_num(rd.get('events_per_s'))} |"
                f" {_num(rb.get('events_per_s'))} | {_num(p.get('ratio'))} |"
                f" {_num(p.get('ratio_applied'))} |"
                f" {_num(rb.get('peak_rss_mb'))} |"
                f" {q['history']['p50_ms']:.2f} / {q['history']['p99_ms']:.2f} |"
                f" {q['eligibility']['p50_ms']:.2f} / {q['eligibility']['p99_ms']:.2f} |"
                f" {q['history'].get('mean_entries', 0):.1f} |")
        lines += ["", f"Queries: one client over HTTP (`GET /api/v1/officers/{{id}}/history` and"
                  f" `…/eligibility?on=2026-06-01`, board token), {opts['samples']} random officers"
                  " each after a warm-up on 20 others, against `serve --no-projector` with the read"
                  " models caught up. Each read also writes its access-log row. Rebuild:"
                  " `Projector.rebuild()` in a spawned process (scripts/bench_projections.py)."
                  " The rebuild reads the whole log but decodes only the events a projection"
                  " applies (not index claims or idempotency records); *ratio* is against the"
                  " library decoding every event, the next column against it decoding only"
                  " those, the whole log read in both."]
    ex = r.get("export")
    if ex is not None:
        lines += ["", f"{h} Export and verify", ""]
        if ex.get("available"):
            lines += ["| step (own process) | seconds | events/s | peak RSS (MB) | exit |",
                      "|---|---:|---:|---:|---:|"]
            for label, key in (("`audit-service checkpoint` (chains every event, signs)", "chain_checkpoint"),
                               ("`audit-service export --out FILE`", "export"),
                               ("`scripts/verify_export.py FILE --no-replay --require-signatures`", "verify")):
                x = ex[key]
                lines.append(f"| {label} | {x['seconds']:.1f} | {x['events_per_s']:,.0f} |"
                             f" {x['peak_rss_mb']:.0f} | {x['exit']} |")
            live = ex.get("verify_in_place")
            if live:
                budget = (f" --max-seconds {live['budget_seconds']:g}"
                          if live.get("budget_seconds") else "")
                lines.append(f"| `audit-service verify{budget}` (in place: log chain, officer chains,"
                             f" map roots, board hashes): {live['events_checked']:,} events checked,"
                             f" {live['status']} | {live['seconds']:.1f} |"
                             f" {_num(live['events_per_s'])} | {live['peak_rss_mb']:.0f} |"
                             f" {live['exit']} |")
            inner = ex["export"].get("reported_events_per_s")
            lines.append(f"\n{ex['events']:,} events; export file {ex['export'].get('file_mb') or 0:.0f} MB;"
                         " times are wall time of the whole process (start-up included)"
                         + (f"; the export's own timer (after start-up and its catch-up) says"
                            f" {ex['export']['reported_seconds']:.1f} s, {inner:,.0f} events/s."
                            if inner else "."))
        else:
            lines.append("Not available when this run started: " + ", ".join(ex["missing"]) + ".")
    lg = r.get("lag")
    if lg:
        lines += ["", f"{h} Projection lag under write load", "",
                  f"scripts/bench_lag.py's `run()`: {lg['writes']:,} monthly grades at"
                  f" {lg['rate_per_s']:.0f}/s through the service while `audit-service project`"
                  f" runs as its own process: lag p50 {lg['lag_ms_p50']:.0f} ms, p99"
                  f" {lg['lag_ms_p99']:.0f} ms, max {lg['lag_ms_max']:.0f} ms."]
    lines += ["", end]
    return "\n".join(lines)


def update_doc(path: Path, r: dict) -> None:
    """Rewrite this store's generated part of the section; a store seen for the first time
    gets its part after the other store's; with no section yet, append it at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    body = markdown(r)
    begin, end = markers(r)
    if begin in text and end in text:  # wherever the section sits, whatever its heading
        start, stop = text.index(begin), text.index(end) + len(end)
        text = text[:start] + body + text[stop:]
    elif END in text or SQLITE_END in text:
        after = max(text.rfind(m) + len(m) for m in (END, SQLITE_END) if m in text)
        text = text[:after] + "\n\n" + body + text[after:]
    else:
        text = text.rstrip("\n") + "\n\n" + SECTION + "\n\n" + body + "\n"
    path.write_text(text, encoding="utf-8")
