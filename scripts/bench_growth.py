"""Does a command cost more as its aggregate grows?  ``python -m scripts.bench_growth``

For each aggregate that grows (an inspection's findings, an officer's transfers and
appointments, a decision's appeals) the script builds two of them on a fresh store, one
with ``--small`` items (default 10) and one with ``--large`` (default 1,000), then runs
``--commands`` more commands on each, alternating between the two so that both see the same
machine load, and prints the rate of each and their ratio (large over small; the target is
at least 0.8). Commands go through ``AuditService``, with all validation, in one process.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from audit_service.application import Actor, AuditService

from .bench.stores import Store

ADMIN = Actor("bench-admin", "admin")
BOARD = Actor("bench-board", "board")
INSPECTOR = Actor("bench-insp", "inspector")
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"


def ref(number: str, signed_on: str = "2021-02-20") -> dict:
    return {"number": number, "symbol": "QĐ-UBND", "issuer": "UBND phường Quảng An",
            "signed_on": signed_on}


class Growing:
    """Aggregates of one kind, each with a step that adds one item to it."""

    def __init__(self, app: AuditService, name: str, make: Callable[[int], object],
                 step: Callable[[object, int], None]):
        self.app, self.name, self.make, self.step = app, name, make, step


def kinds(app: AuditService) -> list[Growing]:
    ward_a = app.register_unit(ADMIN, code="B-A", name="Phường A", level="ward").id
    ward_b = app.register_unit(ADMIN, code="B-B", name="Phường B", level="ward").id
    counter = iter(range(10**9))

    def officer(n: int) -> object:
        return app.register_officer(ADMIN, personnel_code=f"B-{next(counter):06d}",
                                    full_name="Nguyễn Văn An", category="cong_chuc",
                                    unit_id=ward_a, position="Chuyên viên",
                                    joined_on="2010-01-04").id

    def inspection(n: int) -> object:
        return app.open_inspection(INSPECTOR, unit_id=ward_a, started_on="2024-03-01",
                                   announced=False, team=[]).id

    subject = officer(0)

    def finding(inspection_id: object, i: int) -> None:
        app.record_finding(INSPECTOR, inspection_id, officer_id=subject, conduct_code="qd522-late",
                           description=f"Đến muộn 45 phút (lần {i})",
                           observed_at="2024-03-01T08:45:00+07:00")

    moves: dict = {}

    def transfer(officer_id: object, i: int) -> None:
        moves[officer_id] = moves.get(officer_id, 0) + 1
        app.transfer_officer(ADMIN, officer_id,
                             to_unit_id=ward_b if moves[officer_id] % 2 else ward_a,
                             effective_on="2022-01-01", decision_ref=ref(f"T{next(counter)}"))

    def appoint(officer_id: object, i: int) -> None:
        app.appoint_officer(BOARD, officer_id, position="Phó Chủ tịch UBND phường",
                            term_start="2021-03-01", decision_ref=ref(f"A{next(counter)}"))

    def decision(n: int) -> object:
        who = officer(n)
        p = app.open_proceeding(BOARD, officer_id=who, opened_on="2024-03-10", violations=[
            {"conduct_code": "qd522-late", "description": "Đi muộn nhiều lần",
             "occurred_on": "2024-03-01", "detected_on": "2024-03-01"}])
        return app.decide_proceeding(BOARD, p.id, form="khien_trach",
                                     decision_ref=ref(f"D{next(counter)}", "2024-04-01"),
                                     effective_from="2024-04-01").id

    def appeal(decision_id: object, i: int) -> None:
        a = app.lodge_appeal(BOARD, decision_id, lodged_on="2024-04-05", grounds="Nặng quá")
        app.resolve_appeal(BOARD, decision_id, a.id, outcome="upheld", resolved_on="2024-05-01")

    return [Growing(app, "inspection: record a finding", inspection, finding),
            Growing(app, "officer: transfer", officer, transfer),
            Growing(app, "officer: appoint", officer, appoint),
            Growing(app, "decision: lodge + resolve an appeal", decision, appeal)]


def measure(kind: Growing, small: int, large: int, commands: int) -> dict:
    """Rates (items/s) of ``commands`` more items on an aggregate of each size, interleaved."""
    subjects = {}
    for size in (small, large):
        subjects[size] = kind.make(size)
        for i in range(size - 1):  # the next one timed is item number ``size``
            kind.step(subjects[size], i)
    spent = {small: 0.0, large: 0.0}
    for i in range(commands):
        for size in (small, large):
            t0 = time.perf_counter()
            kind.step(subjects[size], size + i)
            spent[size] += time.perf_counter() - t0
    rates = {size: commands / spent[size] for size in spent}
    return {"kind": kind.name, "small": small, "large": large, "commands": commands,
            "rate_small": rates[small], "rate_large": rates[large],
            "ratio": rates[large] / rates[small]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench_growth", description=__doc__)
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help=f"PostgreSQL server (default {DEFAULT_URL}) or sqlite:///DIR/x.sqlite3")
    p.add_argument("--small", type=int, default=10)
    p.add_argument("--large", type=int, default=1000)
    p.add_argument("--commands", type=int, default=50, help="timed commands at each size")
    p.add_argument("--only", help="run only kinds whose name contains this text")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.fresh(args.database_url, "growth", Path(tmp))
        app = AuditService(store.settings)
        try:
            results = []
            for kind in kinds(app):
                if args.only and args.only not in kind.name:
                    continue
                r = measure(kind, args.small, args.large, args.commands)
                results.append(r)
                print(f"{r['kind']:<38} item {r['small']:>5}: {r['rate_small']:7.1f}/s"
                      f"   item {r['large']:>5}: {r['rate_large']:7.1f}/s"
                      f"   ratio {r['ratio']:.2f}", flush=True)
        finally:
            app.close()
            store.drop()
    if args.json:
        args.json.write_text(json.dumps({"store": store.kind, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
