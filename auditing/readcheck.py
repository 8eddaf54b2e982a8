"""Verified read models: replay the log into a scratch store and compare with the live ones.

The read models are what every answer is read from, and they are plain tables: someone with
the database can delete an officer's decision rows and flip an eligibility verdict without
touching the log. ``check_read_models`` rebuilds them from the log, up to the position the
live ones rest on, with the service's own projector, and compares

- every projected table, row by row (``officers`` not given), or
- for the given (or ``sample`` randomly chosen) officers: history, standing and eligibility,

naming the first difference. The live answers are read at the same log position, so a
projector that is merely behind is not a difference.
"""
from __future__ import annotations

import random
import time
from datetime import date
from typing import Any, Iterable

from audit_service.clock import today_in_vietnam
from projections.queries import ReadModels
from projections.readmodels import PROJECTIONS, snapshot

from .chain import add_faults
from .records import record_of
from .replay import ReplayStore

MAX_DIFFERENCES = 50


def read_model_position(db: Any) -> tuple[int, dict[str, int]]:
    """The log position every read-model projection has reached (the lowest), and each."""
    names = [cls.name for cls in PROJECTIONS]
    rows = db.fetchall("SELECT name, position FROM projection_positions")
    positions = {name: int(pos) for name, pos in rows if name in names}
    return min((positions.get(n, 0) for n in names), default=0), positions


def replay_up_to(app: Any, position: int, batch_size: int = 2000,
                 deadline: float | None = None) -> ReplayStore | None:
    """A scratch store holding the live log up to ``position``, read models built (None if
    the deadline passed first)."""
    store = ReplayStore(cipher_key=app.settings.cipher_key)
    try:
        start, inclusive = None, True
        while True:
            if deadline is not None and time.monotonic() > deadline:
                store.close()
                return None
            batch = app.recorder.select_notifications(start=start, limit=batch_size,
                                                      stop=position, inclusive_of_start=inclusive)
            for n in batch:
                if 0 < n.id <= position:
                    store.add(n.id, *record_of(n, app.mapper)[:4])
            if len(batch) < batch_size:
                break
            start, inclusive = batch[-1].id, False
        store.build()
    except BaseException:
        store.close()
        raise
    return store


def _first_difference(ours: Any, theirs: Any, path: str) -> str | None:
    """Where two JSON-like values first differ (``path``: replayed vs live), or None."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs), key=str):
            if key in ("warnings",):
                continue
            if key not in ours or key not in theirs:
                return f"{path}.{key}: only in the {'replay' if key in ours else 'live answer'}"
            found = _first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items in the replay, {len(theirs)} in the live answer"
        return None
    if ours != theirs:
        return f"{path}: replay {ours!r}, live {theirs!r}"
    return None


def compare_tables(live_db: Any, scratch_db: Any) -> list[dict]:
    """Per table, the first row that differs (sorted rows compared one by one)."""
    ours, theirs = snapshot(scratch_db), snapshot(live_db)
    out = []
    for table in ours:
        a, b = ours[table], theirs.get(table, [])
        if a == b:
            continue
        i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        out.append({"table": table, "row": i,
                    "replayed": list(a[i]) if i < len(a) else None,
                    "live": list(b[i]) if i < len(b) else None,
                    "detail": f"{table}: {len(a)} rows replayed, {len(b)} live; first"
                              f" difference at sorted row {i}"})
    return out


def compare_officers(live: ReadModels, scratch: ReadModels, officers: Iterable[str],
                     on: date) -> list[dict]:
    out = []
    for officer in officers:
        for what, ask in (("history", lambda m: m.history(officer)),
                          ("standing", lambda m: m.standing(officer, on=on)),
                          ("eligibility", lambda m: m.eligibility(officer, on=on))):
            try:
                ours = ask(scratch)
            except Exception as exc:  # noqa: BLE001 - NotFound: compared as an answer
                ours = {"error": type(exc).__name__}
            try:
                theirs = ask(live)
            except Exception as exc:  # noqa: BLE001 - as above
                theirs = {"error": type(exc).__name__}
            found = _first_difference(ours, theirs, what)
            if found:
                out.append({"officer_id": officer, "what": what, "detail": found})
                break
        if len(out) >= MAX_DIFFERENCES:
            break
    return out


def merge_read_models(report: dict, check: dict) -> dict:
    """Add a read-model check to a chain report: a difference is a ``read_model`` fault at
    the position the read models rest on; an unfinished check leaves the report incomplete."""
    report["read_models"] = check
    if check["status"] == "failed":
        first = check["first_difference"]
        fault = {"position": check["position"], "kind": "read_model",
                 "detail": f"the read models differ from the log replayed up to"
                           f" {check['position']}: "
                           + (f"officer {first['officer_id']}: {first['detail']}"
                              if "officer_id" in first else first["detail"])}
        add_faults(report, [fault])
        report["status"] = "failed"
    elif check["status"] == "incomplete" and report["status"] == "ok":
        report["ok"], report["status"] = False, "incomplete"
    report["notes"].extend(check.get("notes", []))
    return report


def check_read_models(app: Any, db: Any, *, officers: list[str] | None = None,
                      sample: int | None = None, on: date | None = None,
                      deadline: float | None = None, seed: int | None = None) -> dict:
    """The report: ``status`` ok / failed / incomplete, ``position``, ``differences``."""
    started = time.monotonic()
    position, positions = read_model_position(db)
    report: dict = {"position": position, "positions": positions, "differences": [],
                    "mode": "officers" if officers or sample else "tables"}
    if len(set(positions.values())) > 1:
        report.update(status="incomplete", ok=False, first_difference=None,
                      notes=["the read models are at different positions; run again when the"
                             " projector has caught up"])
        return report
    store = replay_up_to(app, position, deadline=deadline)
    if store is None:
        report.update(status="incomplete", ok=False, first_difference=None,
                      notes=["stopped by the deadline while replaying the log"])
        return report
    try:
        if report["mode"] == "tables":
            report["differences"] = compare_tables(db, store.db)
        else:
            chosen = list(officers or [])
            if sample:
                everyone = [r[0] for r in db.fetchall("SELECT officer_id FROM officers"
                                                      " ORDER BY officer_id")]
                chosen += random.Random(seed).sample(everyone, min(sample, len(everyone)))
            report["officers"] = chosen
            report["differences"] = compare_officers(
                ReadModels(db, app.reference), store.models, chosen,
                on or today_in_vietnam())
    finally:
        store.close()
    report["first_difference"] = report["differences"][0] if report["differences"] else None
    report["status"] = "failed" if report["differences"] else "ok"
    report["ok"] = report["status"] == "ok"
    report["seconds"] = round(time.monotonic() - started, 3)
    return report
