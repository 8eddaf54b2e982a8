#!/usr/bin/env python3
"""Verify a board dossier offline: that it is one officer's whole record as of a signed checkpoint.

    python verify_dossier.py DOSSIER.json --trusted-key FILE|BASE64 [--trusted-key ...]
                             [--json] [--require-verdict]

Needs Python 3.11+ and ``cryptography``, with ``verify_export.py``, ``auditing/chain.py``,
``auditing/officer_map.py`` and ``projections/concerns.py`` (from the installed package,
next to this file, or in the repository layout). Checks, in this order:

1. the checkpoint is signed by a pinned key (or one its rotations lead to): ``unknown_key``;
   a signature that does not hold: ``altered``;
2. the map proof leads from the officer's leaf (its key, head and count) to the checkpoint's
   signed ``officers_root``: ``bad_proof``;
3. every event concerns the officer (``projections/concerns.py``) and lies at or before the
   checkpoint: ``extra_event``; events come in log order, each extending the officer chain
   to the hash it carries: ``altered`` (``reason: reordered`` when out of order); the chain
   ends at the leaf's head after ``count`` events: ``missing_event`` (fewer),
   ``extra_event`` (more), ``altered`` (as many, another head);
4. the eligibility answers recomputed from exactly these events equal the dossier's:
   ``verdict_mismatch``. This needs the audit-service package (the rules and the timeline);
   without it the report says ``verdict_not_checked``, and ``--require-verdict`` makes that
   a failure.

Exit status: 0 when every check holds, 1 at the first fault (printed with its kind), 2 when
the file cannot be read as a dossier.
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any


def _load_verify_export():
    try:
        from scripts import verify_export  # noqa: PLC0415
        return verify_export
    except ImportError:
        pass
    path = Path(__file__).resolve().parent / "verify_export.py"
    spec = importlib.util.spec_from_file_location("verify_export", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_export"] = module
    spec.loader.exec_module(module)
    return module


verify_export = _load_verify_export()
chain = verify_export.chain
officer_map = verify_export.officer_map
concerns = verify_export.concerns

FORMAT = "audit-service-dossier"
SUPPORTED_VERSIONS = (1,)
MISSING_EVENT = "missing_event"
EXTRA_EVENT = "extra_event"
ALTERED = "altered"
BAD_PROOF = "bad_proof"
UNKNOWN_KEY = "unknown_key"
VERDICT_MISMATCH = "verdict_mismatch"
VERDICT_NOT_CHECKED = "verdict_not_checked"


class DossierError(Exception):
    pass


class Fault(Exception):
    def __init__(self, kind: str, detail: str, position: int | None = None,
                 reason: str | None = None):
        super().__init__(detail)
        self.fault = {"kind": kind, "detail": detail, "position": position, "reason": reason}


def read_dossier(path: str | Path) -> tuple[dict, str]:
    data = Path(path).read_bytes()
    try:
        bundle = json.loads(data)
    except ValueError:
        raise DossierError("not JSON: not an audit-service dossier") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise DossierError("not an audit-service dossier")
    if bundle.get("format_version") not in SUPPORTED_VERSIONS:
        raise DossierError(f"dossier format version {bundle.get('format_version')} is not"
                           f" supported (this verifier reads {SUPPORTED_VERSIONS})")
    return bundle, officer_map.dossier_digest(bundle)


def _plain(e: dict) -> bytes | None:
    if "plain" in e:
        return base64.b64decode(e["plain"]) if e["plain"] is not None else None
    return base64.b64decode(e["state"])


def check_signature(bundle: dict, trusted_keys: dict[str, dict]) -> dict:
    cp = bundle["checkpoint"]
    keys = chain.trust_closure(trusted_keys, bundle.get("rotations") or [])
    reason = chain.verify_signature(cp, keys)
    if reason in ("unknown_key", "unsigned"):
        what = ("not signed" if reason == "unsigned" else
                f"signed by key {cp.get('key_id')}, which no pinned key leads to")
        raise Fault(UNKNOWN_KEY, f"the checkpoint is {what}", cp.get("position"), reason)
    if reason is not None:
        raise Fault(ALTERED, f"the checkpoint's signature does not hold ({reason})",
                    cp.get("position"), reason)
    if not cp.get("officers_root"):
        raise Fault(BAD_PROOF, "the checkpoint signs no officer map root", cp.get("position"))
    return cp


def check_proof(bundle: dict, cp: dict) -> tuple[bytes, int]:
    officer = bundle["officer"]
    key = officer_map.key_of(bundle["officer_id"])
    if officer["key"] != key.hex():
        raise Fault(BAD_PROOF, "the proof is for another map key than this officer's")
    head, count = bytes.fromhex(officer["head"]), int(officer["count"])
    leaf = officer_map.leaf_hash(key, head, count) if count else None
    try:
        proof = officer_map.proof_from_json(bundle["proof"])
        root = officer_map.root_from_proof(key, leaf, proof)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise Fault(BAD_PROOF, f"the proof cannot be read ({exc})") from None
    if root is None or root.hex() != cp["officers_root"]:
        raise Fault(BAD_PROOF, "the proof does not lead from the officer's entry (head and"
                    " count) to the checkpoint's officer map root")
    return head, count


def check_events(bundle: dict, cp: dict, head: bytes, count: int) -> None:
    officer = bundle["officer_id"]
    memory = concerns.SubjectMemory()
    prev = chain.GENESIS
    events = bundle["events"]
    positions = [int(e["position"]) for e in events]
    for before, after in zip(positions, positions[1:]):
        if after <= before:
            raise Fault(ALTERED, f"the event at {after} comes after the one at {before}: the"
                        " events are reordered", after, "reordered")
    foreign = None  # the first event the rule does not give to this officer
    for i, e in enumerate(events):
        position = positions[i]
        plain = _plain(e)
        concerns_officer = officer in memory.assign(e["topic"], e["originator_id"], plain)
        if position > int(cp["position"]):
            raise Fault(EXTRA_EVENT, "the event comes after the checkpoint", position)
        content = chain.content_bytes(e["originator_id"], e["originator_version"], e["topic"],
                                      base64.b64decode(e["state"]), e["recorded_at"])
        value = officer_map.officer_link(prev, chain.position_bytes(position) + content, plain)
        if value.hex() != e.get("officer_hash"):
            if len(events) < count:
                raise Fault(MISSING_EVENT, f"the officer chain breaks at {position}: an event"
                            f" before it is missing ({len(events)} events, the map counts"
                            f" {count})", position)
            if foreign is not None or not concerns_officer:
                at = foreign if foreign is not None else position
                raise Fault(EXTRA_EVENT, f"the event at {at} does not concern the officer"
                            f" ({len(events)} events, the map counts {count})", at)
            if len(events) > count:
                raise Fault(EXTRA_EVENT, f"the officer chain breaks at {position}: an event"
                            f" too many ({len(events)} events, the map counts {count})",
                            position)
            raise Fault(ALTERED, "the event is not the one the officer chain holds here",
                        position)
        if not concerns_officer and foreign is None:
            foreign = position
        prev = value
        if i + 1 == len(events) and len(events) == count and value != head:
            raise Fault(ALTERED, "the events do not end at the officer's committed head",
                        position)
    last_position = positions[-1] if positions else 0
    if len(events) < count:
        raise Fault(MISSING_EVENT, f"{count - len(events)} event(s) missing: the map counts"
                    f" {count}, the dossier holds {len(events)}", last_position + 1)
    if len(events) > count:
        raise Fault(EXTRA_EVENT, f"{len(events) - count} event(s) too many: the map counts"
                    f" {count}, the dossier holds {len(events)}", last_position)
    if foreign is not None:
        raise Fault(EXTRA_EVENT, "the officer's chain holds an event that does not concern"
                    " the officer (projections/concerns.py): the service mis-assigned it",
                    foreign)
    if not events and head != chain.GENESIS:
        raise Fault(ALTERED, "no events, but the officer's head is not the empty chain's")


def verdict_recompute():
    """The service's recomputation of the answers, or None without the package."""
    try:
        from auditing.dossier import eligibility_from_events  # noqa: PLC0415
    except ImportError:
        return None
    return eligibility_from_events


def check_verdict(bundle: dict) -> str:
    recompute = verdict_recompute()
    if recompute is None:
        return VERDICT_NOT_CHECKED
    ours = recompute(bundle["events"], bundle["officer_id"], bundle["on"])
    theirs = bundle.get("eligibility") or []
    if len(ours) != len(theirs):
        raise Fault(VERDICT_MISMATCH, f"{len(theirs)} eligibility answers; the events give"
                    f" {len(ours)}")
    for mine, given in zip(ours, theirs):
        if mine != given:
            label = f"leadership={mine.get('leadership')}, post={mine.get('post')}"
            raise Fault(VERDICT_MISMATCH, f"the eligibility answer ({label}) is not the one"
                        f" these events give: {given.get('verdict')} / {given.get('hash')}"
                        f" in the dossier, {mine.get('verdict')} / {mine.get('hash')}"
                        " recomputed")
    return "checked"


def check_dossier(path: str | Path, trusted_keys: dict[str, dict]) -> dict:
    """The report: ``ok``, ``fault`` (``kind``, ``detail``, ``position``) or None, ``verdict``
    (``checked`` or ``verdict_not_checked``), and what the dossier states."""
    bundle, digest = read_dossier(path)
    report: dict[str, Any] = {
        "ok": False, "dossier_hash": digest, "officer_id": bundle.get("officer_id"),
        "on": bundle.get("on"), "events": len(bundle.get("events") or []),
        "checkpoint": {k: bundle.get("checkpoint", {}).get(k) for k in
                       ("position", "count", "created_at", "key_id", "officers_root")},
        "fault": None, "verdict": None}
    try:
        cp = check_signature(bundle, trusted_keys)
        head, count = check_proof(bundle, cp)
        check_events(bundle, cp, head, count)
        report["verdict"] = check_verdict(bundle)
    except Fault as fault:
        report["fault"] = fault.fault
        return report
    except (KeyError, TypeError, ValueError) as exc:
        raise DossierError(f"the dossier is malformed ({type(exc).__name__}: {exc})") from None
    report["ok"] = True
    report["verdicts"] = [{k: a.get(k) for k in ("leadership", "post", "verdict", "hash",
                                                 "refused")}
                          for a in bundle.get("eligibility") or []]
    return report


def describe(report: dict) -> list[str]:
    cp = report["checkpoint"]
    lines = [f"dossier {report['dossier_hash']} of officer {report['officer_id']}"
             f" ({report['events']} events, eligibility on {report['on']})",
             f"checkpoint at position {cp['position']} of {cp['created_at']} (key"
             f" {cp['key_id']}), officer map root {cp['officers_root']}"]
    if report["fault"]:
        f = report["fault"]
        where = f" at position {f['position']}" if f.get("position") is not None else ""
        lines.append(f"FAILED: {f['kind']}{where}: {f['detail']}")
        return lines
    lines.append("OK: signed by a pinned key; the map proof holds; the events are the"
                 " officer's whole chain as of the checkpoint, in order")
    if report["verdict"] == VERDICT_NOT_CHECKED:
        lines.append(f"{VERDICT_NOT_CHECKED}: recomputing the eligibility answers needs the"
                     " audit-service package installed")
    else:
        lines.append("the eligibility answers recompute from these events")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an audit-service board dossier.")
    parser.add_argument("dossier", help="the dossier file (JSON)")
    parser.add_argument("--trusted-key", metavar="FILE|BASE64", action="append",
                        help="public keys you trust (also AUDIT_TRUSTED_KEYS); required")
    parser.add_argument("--require-verdict", action="store_true",
                        help="fail when the eligibility answers cannot be recomputed here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    specs = (os.environ.get("AUDIT_TRUSTED_KEYS") or "").replace(",", " ").split()
    specs += args.trusted_key or []
    if not specs:
        print("verify_dossier: pin the service's public key with --trusted-key",
              file=sys.stderr)
        return 2
    try:
        keys: dict[str, dict] = {}
        for spec in specs:
            keys.update(verify_export.read_keys_file(spec))
        report = check_dossier(args.dossier, keys)
    except (OSError, ValueError, KeyError, DossierError) as exc:
        print(f"verify_dossier: cannot read {args.dossier}: {exc}", file=sys.stderr)
        return 2
    if args.require_verdict and report["ok"] and report["verdict"] == VERDICT_NOT_CHECKED:
        report["ok"] = False
        report["fault"] = {"kind": VERDICT_NOT_CHECKED, "position": None, "reason": None,
                           "detail": "the eligibility answers could not be recomputed"
                                     " (the audit-service package is not installed)"}
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        for line in describe(report):
            print(line)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
