"""Mutation testing of the modules that decide things, one module at a time, with mutmut.

    python scripts/mutation.py                       # every module (hours of CPU)
    python scripts/mutation.py --module limitation   # one module
    python scripts/mutation.py --list                # the modules and their test selections

Each module runs in its own scratch copy of the tracked files (var/mutation/<name>), with
mutmut told to mutate only that file and to run only that module's fast tests (mutmut then
runs, for each mutant, only the tests that reached the mutated function). The counts are
kept in docs/mutation.json and the table between the markers in docs/mutation.md is written
from it; a module never run is listed as "not yet run".

Score = killed / (mutants - skipped): a timeout counts as killed (the mutant hung the tests),
"no tests" (no selected test reaches the mutated function) counts as surviving.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mutation.md"
RESULTS = ROOT / "docs" / "mutation.json"
START, END = "<!-- mutation-scores:start -->", "<!-- mutation-scores:end -->"
SOURCES = ("audit_service", "projections", "api", "scripts")


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tests: tuple[str, ...]  # pytest arguments: files, node ids, -k expressions
    #: when the file also holds code outside this module's concern, the functions (their
    #: names as mutmut writes them, e.g. "ReadModelsǁunit_statistics") whose mutants count
    functions: tuple[str, ...] = ()


#: In-process tests only: a mutant's trampoline needs mutmut, which a subprocess (gunicorn,
#: the offline verifier's bare virtualenv) does not have. Tests that run on both stores run on
#: SQLite only here (these modules do not depend on the store; the suite runs both).
MODULES = (
    Module("limitation", "audit_service/limitation.py",
           ("tests/test_rule_tables.py", "tests/test_invariants.py", "-k", "limitation")),
    Module("eligibility", "projections/eligibility.py",
           ("tests/test_eligibility.py", "tests/test_eligibility_oracle.py",
            "tests/test_rule_tables.py", "tests/test_scenarios.py", "-k", "not postgres")),
    Module("rotation", "audit_service/rotation.py",
           ("tests/test_rotation.py", "tests/test_rotation_oracle.py", "tests/test_scenarios.py",
            "tests/test_timeline.py", "-k", "rotation and not postgres")),
    Module("statistics", "projections/queries.py",
           ("tests/test_unit_statistics.py", "tests/test_projections.py", "-k",
            "statistics and not postgres"), functions=("ReadModelsǁunit_statistics", "ReadModelsǁsubtree",
                                      "x_count_facts")),
    Module("chain", "auditing/chain.py", ("tests/test_chain.py",)),
    Module("verify", "auditing/verify.py",
           ("tests/test_verify_store.py", "tests/test_integrity_checks.py", "-k", "not offline")),
    Module("offline-verifier", "scripts/verify_export.py", ("tests/test_offline_verifier.py",),
           functions=("x_check_export", "x__checker", "x_read_keys_file", "x_main")),
    Module("idempotency", "api/commands.py", ("tests/test_api_requests.py", "-k", "not postgres")),
    Module("auth", "api/auth.py", ("tests/test_api_requests.py", "tests/test_api_roles.py", "-k",
                                   "not postgres")),
    Module("access", "auditing/access.py",
           ("tests/test_access.py", "tests/test_tokens_cli.py", "-k",
            "test_access or not postgres")),  # the tables' DDL differs by store
    Module("import", "audit_service/importing.py",
           ("tests/test_import_records.py", "tests/test_import.py", "tests/test_import_lane.py",
            "-k", "not postgres")),
    Module("import-lane", "audit_service/import_lane.py",
           ("tests/test_import_lane.py", "tests/test_import.py", "-k", "not postgres")),
)


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [n for n in out.stdout.decode().split("\0") if n]


def scratch_copy(module: Module) -> Path:
    """The tracked tree, copied, with a [mutmut] section for this module in its setup.cfg."""
    dest = ROOT / "var" / "mutation" / module.name
    if dest.exists():
        shutil.rmtree(dest)
    for name in tracked_files():
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    lines = ["", "[mutmut]", "source_paths =", *(f"    {s}" for s in SOURCES),
             "only_mutate =", f"    {module.path}",
             "pytest_add_cli_args =", "    -p", "    no:cacheprovider",
             "pytest_add_cli_args_test_selection =", *(f"    {t}" for t in module.tests), ""]
    with open(dest / "setup.cfg", "a", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return dest


def run_module(module: Module, max_children: int) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # what is copied
    work = scratch_copy(module)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    started = time.time()
    cpu0 = os.times()
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                          str(max_children)], cwd=work, env=env, capture_output=True, text=True)
    (work / "mutmut-run.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"mutmut run failed for {module.name}; see {work}/mutmut-run.log:\n"
                         + (run.stdout + run.stderr)[-3000:])
    cpu1 = os.times()
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=work, env=env,
                   capture_output=True, check=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    listed = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                            cwd=work, env=env, capture_output=True, text=True,
                            check=True).stdout
    status = {line.split(":")[0].strip(): line.rsplit(":", 1)[1].strip()
              for line in listed.splitlines() if ":" in line}
    if module.functions:  # count only the mutants of these functions
        status = {name: st for name, st in status.items()
                  if any(f"{f}__mutmut_" in name for f in module.functions)}
        stats = {"total": len(status)}
        for st in status.values():
            key = st.replace(" ", "_")
            stats[key] = stats.get(key, 0) + 1
    survivors = sorted(name for name, st in status.items() if st in ("survived", "no tests"))
    return {"module": module.path, "tests": list(module.tests), "commit": commit,
            "functions": list(module.functions),
            "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(time.time() - started),
            "cpu_seconds": round((cpu1.children_user + cpu1.children_system)
                                 - (cpu0.children_user + cpu0.children_system)),
            "max_children": max_children, "stats": stats, "survivors": survivors}


def score(stats: dict) -> float | None:
    considered = stats.get("total", 0) - stats.get("skipped", 0)
    if considered <= 0:
        return None
    killed = stats.get("killed", 0) + stats.get("timeout", 0) + \
        stats.get("caught_by_type_check", 0)
    return 100.0 * killed / considered


def table(results: dict) -> str:
    rows = ["| module | file | mutants | killed | survived | no tests | timeout | score |"
            " run at (commit) | CPU s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for m in MODULES:
        r = results.get(m.name)
        if r is None:
            rows.append(f"| {m.name} | `{m.path}` | | | | | | not yet run | | |")
            continue
        s = r["stats"]
        sc = score(s)
        where = f"`{m.path}`" + (f" ({', '.join(f.split('ǁ')[-1].removeprefix('x_') for f in m.functions)})"
                                 if m.functions else "")
        rows.append(f"| {m.name} | {where} | {s.get('total', 0)} | {s.get('killed', 0)} |"
                    f" {s.get('survived', 0)} | {s.get('no_tests', 0)} | {s.get('timeout', 0)} |"
                    f" {'%.1f %%' % sc if sc is not None else 'n/a'} |"
                    f" {r['run_at'][:10]} ({r['commit']}) | {r['cpu_seconds']} |")
    out = ["", *rows, ""]
    for m in MODULES:
        r = results.get(m.name)
        if r and r["survivors"]:
            out.append(f"Surviving mutants of `{m.path}` (see `mutmut show NAME` in"
                       f" var/mutation/{m.name}):")
            out += [f"- `{name}`" for name in r["survivors"]]
            out.append("")
    return "\n".join(out)


def write_doc(results: dict) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + START + "\n" + table(results) + "\n" + END + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=[m.name for m in MODULES],
                        help="run only this module (repeatable); default: all")
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants tested in parallel (default 2)")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    args = parser.parse_args(argv)
    if args.list:
        for m in MODULES:
            print(f"{m.name:18} {m.path:34} {' '.join(m.tests)}")
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for m in MODULES:
        if args.module and m.name not in args.module:
            continue
        print(f"mutation testing {m.path} with {' '.join(m.tests)} ...", flush=True)
        results[m.name] = run_module(m, args.max_children)
        s = results[m.name]["stats"]
        print(f"  {s.get('killed', 0)} of {s.get('total', 0)} killed,"
              f" {len(results[m.name]['survivors'])} surviving", flush=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        write_doc(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
