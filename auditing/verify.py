"""In-place verification: the live log against the chain, the checkpoints and the board's hashes.

``verify_store(app, db)`` reads the log and the chain in batches (memory stays flat), checks
every position with ``chain.ChainChecker``, checks every checkpoint's signature and head,
recomputes every officer chain and each signed officer map root (``officer_verify``),
recomputes the eligibility hash of every reappointment decision that quotes one, and
rebuilds every board dossier a decision quotes (``dossier.check_quoted``). With a
``deadline`` (a ``time.monotonic()`` value) it stops when time is up and says how far it got
(``complete: false``, ``last_position``), so an HTTP request can run it bounded in time.
Such a report is never ``ok``: its ``status`` is ``incomplete`` (``failed`` if a fault was
found before the deadline), and ``log_events`` says how many events it should have checked.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from audit_service.bootstrap import EVENT_POSITION, EVENTS_TABLE
from projections.queries import ReadModels

from .board import LINK_TOPICS, Corrections, check_decision, decision_of, merge_board
from .dossier import check_quoted, merge_quoted, quoted_dossier
from .access import iter_access
from .chain import ChainChecker, check_access, merge_access, trust_closure
from .export import iter_chain, iter_notifications, merged
from .integrity import access_checkpoints, chain_position, checkpoints, public_keys, rotations
from .lifecycle import recreations
from .officer_verify import OfficerChainsCheck
from .records import record_of
from .witness import newest


def verify_store(app: Any, db: Any, deadline: float | None = None, *,
                 trusted_checkpoint: Mapping[str, Any] | list | None = None,
                 trusted_keys: Mapping[str, Mapping[str, Any]] | None = None,
                 require_signatures: bool = False, check_board: bool = True,
                 batch_size: int = 2000) -> dict:
    """A report dict (see ``chain.ChainChecker.finish``) plus ``board``, ``keys``,
    ``chain_recreations`` and ``access_log`` (``chain.check_access``).

    ``trusted_keys`` (key id -> ``{"public_key", "valid_from"}``): the keys the auditor pins;
    they, and the keys the stored rotation statements lead them to, are the only ones whose
    signatures count, and a stored key record outside them is a fault. Without them the keys
    stored in the database are used (and the report says so). ``trusted_checkpoint`` is a
    checkpoint the auditor already holds.
    """
    started = time.monotonic()
    stored = public_keys(db)
    if trusted_keys is not None:
        keys = trust_closure(trusted_keys, rotations(db))
    else:
        keys = {k["key_id"]: k for k in stored}
    head = app.recorder.max_notification_id() or 0
    if isinstance(trusted_checkpoint, list):  # a mirror: the newest one it holds
        trusted_checkpoint = newest(trusted_checkpoint,
                                    keys if trusted_keys is not None else None)
    cps = checkpoints(db)
    officers = OfficerChainsCheck(db, app.mapper, cps, batch_size)
    checker = ChainChecker(checkpoints=cps, keys=keys,
                           chain_head=chain_position(db), trusted=trusted_checkpoint,
                           require_signatures=require_signatures,
                           stored_keys=stored if trusted_keys is not None else None)
    mapper = app.mapper
    decisions = []
    corrections = Corrections()
    dossiers = []
    complete = True
    seen = 0
    for position, n, c in merged(iter_notifications(app.recorder, None, None, batch_size),
                                 iter_chain(db, None, None, batch_size)):
        if deadline is not None and seen % 500 == 0 and time.monotonic() > deadline:
            complete = False
            break
        seen += 1
        event = record_of(n, mapper) if n is not None else None
        checker.feed(position, event, c[1:] if c else None)
        officers.feed(position, n, event)
        if check_board and n is not None and n.topic in LINK_TOPICS:
            try:
                domain_event = mapper.to_domain_event(n)
            except Exception:  # noqa: BLE001 - an unreadable event is already a chain fault
                continue
            corrections.feed(domain_event, position, n.topic.rsplit(":", 1)[-1])
            decision = decision_of(domain_event, position)
            if decision:
                decisions.append(decision)
            quoted = quoted_dossier(domain_event, position)
            if quoted:
                dossiers.append(quoted)
    report = checker.finish(complete=complete, log_head=head)
    officers.merge(report, complete)
    report["log_head"] = head
    report["seconds"] = round(time.monotonic() - started, 3)
    if not keys and not trusted_keys:
        report["notes"].append("no public keys are stored: no checkpoint was ever signed")
    report["keys"] = "pinned" if trusted_keys is not None else "database"
    if trusted_keys is None:
        report["notes"].append("public keys were taken from the database being verified; pin"
                               " them (--trusted-key, AUDIT_TRUSTED_KEYS) to verify authorship")
    report["chain_recreations"] = recreations(app)
    for r in report["chain_recreations"]:
        report["notes"].append(f"the chain was re-created by {r['actor_id']} at position"
                               f" {r['position']} ({r['recorded_at']}): {r['reason']}; the"
                               f" chain before it ended at {r['previous_position']}")
    if check_board:
        models = ReadModels(db, app.reference)
        merge_board(report, corrections.annotate(
            [check_decision(models, d) for d in decisions]))
        if complete:
            merge_quoted(report, [check_quoted(app, db, d) for d in dossiers])
    if not complete:
        kind = db.kind
        report["log_events"] = int(db.fetchone(
            f"SELECT COUNT(*) FROM {EVENTS_TABLE[kind]} WHERE {EVENT_POSITION[kind]} <= ?",
            (head,))[0])
    report["status"] = "failed" if not report["ok"] else "ok" if complete else "incomplete"
    report["ok"] = report["status"] == "ok"  # an unfinished check proves nothing sound
    if complete:  # the access log after the events: a check out of time leaves it out
        merge_access(report, check_access(iter_access(db), access_checkpoints(db), keys))
    else:
        report["notes"].append("the access log was not checked (out of time)")
    return report
