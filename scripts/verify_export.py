#!/usr/bin/env python3
"""Verify an audit-service export offline: signatures, the hash chain, and (optionally) replay.

    python verify_export.py EXPORT.ndjson [--trusted-checkpoint FILE|DIR]
                            [--trusted-key FILE|BASE64 ...]
                            [--require-signatures] [--save-checkpoint FILE] [--json]
                            [--no-replay] [--officer ID ...] [--on YYYY-MM-DD]
                            [--compare-url URL --token TOKEN]

The chain, signature, officer-map and correction checks need only Python 3.11+ and the
``cryptography`` package, and this file with ``auditing/chain.py``,
``auditing/officer_map.py``, ``auditing/corrections.py`` and ``projections/concerns.py``
(found in the installed package, next to this file, or in the repository layout). Replay (board hashes, histories, eligibility, comparison
with a running service) needs the audit-service package installed; without it, replay is
skipped and the report says so.

With pinned keys (``--trusted-key`` or ``AUDIT_TRUSTED_KEYS``) only they and the keys their
rotation statements lead to may sign; with ``--trusted-checkpoint`` (a file, or a mirror of
the service's witness directory) the export must extend the newest checkpoint held. The
access log in the export is checked too (``access_log`` in the report).

Exit status: 0 when everything checked is sound, 1 when a fault or difference is found,
2 when the file cannot be read as an export.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

FORMAT = "audit-service-export"
SUPPORTED_VERSIONS = (1,)


def load_module(package: str, name: str):
    """``package.name`` (a standard-library-only module of the service): from the installed
    package, or as a plain file next to this one or in the repository layout."""
    try:
        return importlib.import_module(f"{package}.{name}")
    except ImportError:
        pass
    here = Path(__file__).resolve().parent
    for candidate in (here / f"{name}.py", here.parent / package / f"{name}.py"):
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location(f"audit_{name}", candidate)
            module = importlib.util.module_from_spec(spec)
            sys.modules[f"audit_{name}"] = module
            spec.loader.exec_module(module)
            return module
    raise SystemExit(f"verify_export: cannot find {name}.py ({package}/{name}.py);"
                     " put it next to this script")


def load_chain_module():
    """``auditing.chain``: from the installed package, or as a plain file."""
    return load_module("auditing", "chain")


chain = load_chain_module()
officer_map = load_module("auditing", "officer_map")
concerns = load_module("projections", "concerns")
corrections = load_module("auditing", "corrections")


class ExportError(Exception):
    pass


# --------------------------------------------------------------------------- chain check

RECREATED_TOPIC = "auditing.lifecycle:ChainRecreation.Recreated"


def read_keys_file(path: str) -> dict[str, dict]:
    """Trusted public keys: a file of JSON key records (one per line, or a list) or bare
    base64 keys, or one base64 key given as it is."""
    keys: dict[str, dict] = {}
    if not Path(path).is_file():
        raw = base64.b64decode(path, validate=True)
        if len(raw) != 32:
            raise ValueError(f"{path[:60]!r} is neither a file nor a 32-byte public key")
        key_id = chain.key_id_of(raw)
        return {key_id: {"key_id": key_id, "public_key": path, "valid_from": None}}
    text = Path(path).read_text().strip()
    items: list[Any]
    try:
        parsed = json.loads(text)
        items = parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        items = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            items.append(json.loads(line) if line.startswith("{") else line)
    for item in items:
        record = item if isinstance(item, dict) else {"public_key": item}
        raw = base64.b64decode(record["public_key"])
        key_id = chain.key_id_of(raw)
        keys[key_id] = {"key_id": key_id, "public_key": record["public_key"],
                        "valid_from": record.get("valid_from")}
    return keys


def read_checkpoints(path: str) -> list[dict]:
    """Checkpoints an auditor holds: a JSON file (one, a list, or an API answer with
    ``checkpoints``) or a directory of such files (a mirror of the witness)."""
    p = Path(path)
    out: list[dict] = []

    def collect(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                collect(v)
        elif isinstance(value, dict):
            if isinstance(value.get("checkpoints"), list):
                collect(value["checkpoints"])
            elif value.get("type", "checkpoint") == "checkpoint" and "head" in value:
                out.append({k: v for k, v in value.items() if k != "type"})

    for f in (sorted(p.glob("*.json")) if p.is_dir() else [p]):
        collect(json.loads(f.read_text(encoding="utf-8")))
    return out


def newest_checkpoint(cps: list[dict], keys: dict | None) -> dict | None:
    """The held checkpoint covering most of the log (with pinned keys: signed by them)."""
    best = None
    for cp in cps:
        if keys is not None and chain.verify_signature(cp, keys) is not None:
            continue
        if best is None or (int(cp["position"]), cp["created_at"]) > \
                (int(best["position"]), best["created_at"]):
            best = cp
    return best


def check_export(path: str | Path, *, trusted_checkpoint: dict | list | None = None,
                 trusted_keys: dict[str, dict] | None = None,
                 require_signatures: bool = False) -> dict:
    """Check an export's signatures and chain; the report of ``chain.ChainChecker``.

    Also in the report: ``manifest``, ``decision_positions`` (reappointment decisions, for
    replay) and ``latest_recorded_at``.
    """
    loads = json.loads
    b64decode = base64.b64decode
    digest = hashlib.sha256()
    decisions: list[int] = []
    latest = ""
    with chain.open_export(path) as f:
        first = f.readline()
        try:
            head = loads(first)
        except ValueError:
            raise ExportError("the first line is not JSON: not an audit-service export") from None
        if head.get("type") != "manifest" or head.get("format") != FORMAT:
            raise ExportError("the first line is not an audit-service export manifest")
        if head.get("format_version") not in SUPPORTED_VERSIONS:
            raise ExportError(f"export format version {head.get('format_version')} is not"
                              f" supported (this verifier reads {SUPPORTED_VERSIONS})")
        if head.get("canonical_version") != chain.CANONICAL_VERSION:
            raise ExportError(f"canonical bytes version {head.get('canonical_version')} is not"
                              " supported")
        digest.update(first)
        lines = 1
        keys: dict[str, dict] = {}
        rotations: list[dict] = []
        access_cps: list[dict] = []
        access = None
        recreated: list[int] = []
        cps: list[dict] = []
        checker = None
        officers = None
        links = None
        end = None
        event_count = chain_lines = 0
        start = head["start"]
        for raw in f:
            try:
                obj = loads(raw)
            except ValueError:
                if not raw.endswith(b"\n"):
                    break  # the file was cut in the middle of its last line
                raise ExportError(f"line {lines + 1} is not JSON") from None
            kind = obj["type"]
            if kind == "event":
                if checker is None:
                    checker = _checker(head, keys, rotations, cps, trusted_checkpoint,
                                       trusted_keys, require_signatures)
                if officers is None:
                    officers = OfficerCheck(head, cps)
                c = obj["chain"]
                recorded_at = obj["recorded_at"]
                record = (obj["originator_id"], obj["originator_version"], obj["topic"],
                          b64decode(obj["state"]), recorded_at)
                checker.feed(obj["position"], record,
                             (c["seq"], c["prev"], c["digest"], c["hash"]) if c else None)
                officers.feed(obj["position"], record)
                if links is None:
                    links = BoardLinks(head, cps)
                links.feed(obj["position"], record)
                event_count += 1
                if recorded_at > latest:
                    latest = recorded_at
                if obj["topic"] == "audit_service.domain.officers:Officer.ReappointmentDecided":
                    decisions.append(obj["position"])
                elif obj["topic"] == RECREATED_TOPIC:
                    recreated.append(obj["position"])
            elif kind == "chain":
                if checker is None:
                    checker = _checker(head, keys, rotations, cps, trusted_checkpoint,
                                       trusted_keys, require_signatures)
                c = obj["chain"]
                checker.feed(obj["position"], None, (c["seq"], c["prev"], c["digest"], c["hash"]))
                chain_lines += 1
            elif kind == "end":
                end = obj
                break
            elif checker is not None:
                raise ExportError(f"a {kind!r} line after the events (line {lines + 1})")
            elif kind == "key":
                keys[obj["key_id"]] = obj
            elif kind == "rotation":
                rotations.append(obj)
            elif kind == "access_checkpoint":
                access_cps.append(obj)
            elif kind == "access":
                if access is None:
                    access = chain.AccessChecker(access_cps)
                access.feed(obj)
            elif kind == "checkpoint":
                cps.append(obj)
            else:
                raise ExportError(f"unknown line type {kind!r} (line {lines + 1})")
            digest.update(raw)
            lines += 1
        if checker is None:
            checker = _checker(head, keys, rotations, cps, trusted_checkpoint, trusted_keys,
                               require_signatures)
    file_faults = []
    if end is None:
        file_faults.append("the file ends without its end line: the export is cut short")
    else:
        if end["lines"] != lines:
            file_faults.append(f"the end line counts {end['lines']} lines; the file has {lines}")
        if end["events"] != event_count:
            file_faults.append(f"the end line counts {end['events']} events; the file has"
                               f" {event_count}")
        if end["sha256"] != digest.hexdigest():
            file_faults.append("the file's SHA-256 differs from the one in its end line")
    complete = end is not None
    report = checker.finish(complete=True, range_end=head.get("to_position"),
                            log_head=head.get("log_head"))
    (officers or OfficerCheck(head, cps)).merge(report)
    (links or BoardLinks(head, cps)).merge(report)
    for problem in file_faults:
        after = (report["last_position"] or 0) + 1
        fault = {"position": after, "kind": chain.TRUNCATED if end is None else "file",
                 "detail": problem}
        report["faults"].append(fault)
        report["fault_count"] += 1
        report["ok"] = False
    if file_faults:
        report["faults"].sort(key=lambda f: f["position"])
        report["first_fault"] = report["faults"][0]
    if trusted_keys is None:
        report["notes"].append("public keys were taken from the export itself; pin them with"
                               " --trusted-key to verify authorship independently")
    for position in recreated:
        report["notes"].append(f"the chain was re-created (ChainRecreation.Recreated at position"
                               f" {position}): checkpoints made before it were thrown away")
    report["chain_recreations"] = recreated
    report["keys"] = "pinned" if trusted_keys is not None else "export"
    access = access or chain.AccessChecker(access_cps)
    chain.merge_access(report, access.finish(checker.keys))
    report["file_complete"] = complete
    report["manifest"] = head
    report["start"] = start
    report["decision_positions"] = decisions
    report["latest_recorded_at"] = latest or None
    return report


class OfficerCheck:
    """The officer chains and map roots of an export (``officer_map.ChainsCheck``, the same
    computation as ``audit-service verify``), fed the export's events in order."""

    def __init__(self, head: dict, cps: list[dict]):
        self.skipped = (
            "the export's states are encrypted or compressed: officer chains need the readable"
            " events" if head.get("encrypted") or head.get("compressed") else
            "the export starts after position 0: officer chains start at the log's first event"
            if int((head.get("start") or {}).get("position") or 0) > 0 else None)
        self.memory = concerns.SubjectMemory()
        self.check = officer_map.ChainsCheck(cps)

    def feed(self, position: int, record: tuple) -> None:
        if self.skipped:
            return
        originator, _version, topic, state, _recorded = record
        officers = self.memory.assign(topic, originator, state)
        if officers:
            self.check.extend(officers, chain.position_bytes(position)
                              + chain.content_bytes(*record), state)
        self.check.checkpoint(position)

    def merge(self, report: dict) -> None:
        self.check.merge(report, self.skipped)


class BoardLinks:
    """Reappointment corrections checked from the export's events alone
    (``corrections.CorrectionLinks``, the rules ``audit-service verify`` applies), and the
    decisions that quote a dossier, with the checkpoints it may rest on (rebuilt by replay,
    which needs the service)."""

    def __init__(self, head: dict, cps: list[dict]):
        self.skipped = (
            "the export's states are encrypted or compressed" if head.get("encrypted")
            or head.get("compressed") else
            "the export starts after position 0: a correction may name a decision before it"
            if int((head.get("start") or {}).get("position") or 0) > 0 else None)
        self.links = corrections.CorrectionLinks()
        self.rooted = sorted(({k: v for k, v in cp.items() if k != "type"} for cp in cps
                              if cp.get("officers_root")),
                             key=lambda cp: (int(cp["position"]), int(cp["checkpoint_id"])))
        self.quoted: list[dict] = []

    def feed(self, position: int, record: tuple) -> None:
        originator, version, topic, state, _recorded = record
        kind = concerns.kind_of(topic)
        if self.skipped or kind not in corrections.KINDS:
            return
        facts = corrections.facts_of(state) if kind in (corrections.DECIDED,
                                                         corrections.CORRECTED) else {}
        self.links.add(kind, originator, version, position, facts)
        if kind == corrections.DECIDED and facts.get("dossier_hash"):
            before = [cp for cp in self.rooted if int(cp["position"]) < position]
            self.quoted.append({"position": position, "officer_id": originator,
                                "decided_on": facts.get("decided_on"),
                                "dossier_hash": facts["dossier_hash"],
                                "candidates": before[::-1][:CANDIDATES]})

    def merge(self, report: dict) -> None:
        report["corrections"] = {"corrections": self.links.corrections,
                                 "bad": len(self.links.problems),
                                 "problems": self.links.problems, "skipped": self.skipped}
        if self.skipped:
            report["notes"].append(f"reappointment corrections and quoted dossiers not checked:"
                                   f" {self.skipped}")
        chain.add_faults(report, self.links.faults())
        report["quoted_dossiers"] = self.quoted


CANDIDATES = 5  # checkpoints a quoted dossier may rest on (``auditing.dossier.CANDIDATES``)


def _checker(head: dict, keys: dict, rotations: list, cps: list, trusted: dict | list | None,
             trusted_keys: dict | None, require_signatures: bool):
    start = head["start"]
    if trusted_keys is not None:  # pinned: they and the keys they rotated to, nothing else
        trusted_keys = chain.trust_closure(trusted_keys, rotations)
    if isinstance(trusted, list):
        trusted = newest_checkpoint(trusted, trusted_keys)
    return chain.ChainChecker(
        checkpoints=cps, keys=trusted_keys if trusted_keys is not None else keys,
        stored_keys=list(keys.values()) if trusted_keys is not None else None,
        start_position=start["position"], start_hash=bytes.fromhex(start["hash"]),
        start_count=start["count"], chain_head=head.get("chain_position"), trusted=trusted,
        require_signatures=require_signatures)


# --------------------------------------------------------------------------- replay

def replay_available() -> str | None:
    """None when replay can run here, else the reason it cannot."""
    try:
        import auditing.replay  # noqa: F401, PLC0415
        import projections.queries  # noqa: F401, PLC0415
    except ImportError as exc:
        return f"replay needs the audit-service package installed ({exc})"
    return None


def fetch_json(url: str, token: str | None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        try:
            body = json.load(exc)
        except ValueError:
            body = None
        return exc.code, body


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two JSON values differ; dict keys only one side has are ignored."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(ours) & set(theirs)):
            out += differences(ours[key], theirs[key], f"{path}.{key}" if path else key)
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path}: replay has {len(ours)} items, the service {len(theirs)}"]
        out = []
        for i, (a, b) in enumerate(zip(ours, theirs)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    if ours != theirs:
        return [f"{path}: replay {json.dumps(ours, ensure_ascii=False)},"
                f" service {json.dumps(theirs, ensure_ascii=False)}"]
    return []


def compare_history(ours: dict, theirs: dict, to_position: int | None) -> list[str]:
    out = []
    mine = {e["position"]: e for e in ours["entries"]}
    served = {e.get("position"): e for e in theirs.get("entries", [])
              if to_position is None or (e.get("position") or 0) <= to_position}
    for position in sorted(set(mine) | set(served), key=lambda p: (p is None, p)):
        if position not in served:
            out.append(f"history entry at {position}: in the replay, not served")
        elif position not in mine:
            out.append(f"history entry at {position}: served, not in the replay")
        else:
            for field in ("event_type", "status"):
                if field not in served[position]:
                    out.append(f"history entry at {position}: the service gives no {field}")
            out += [f"history entry at {position}: {d}"
                    for d in differences(mine[position], served[position])]
    return out


HISTORY_PAGE = 5000  # entries asked for per request (the service's largest page)


def fetch_history(base: str, officer: str, as_of: str, token: str | None) -> tuple[int, Any]:
    """The service's whole history of an officer, following its pages (``next_after``);
    a service that does not page answers everything at once."""
    entries: list = []
    query: dict = {"as_of": as_of, "limit": HISTORY_PAGE}
    while True:
        q = urllib.parse.urlencode(query)
        status, body = fetch_json(f"{base}/api/v1/officers/{officer}/history?{q}", token)
        if status != 200 or not isinstance(body, dict):
            return status, body
        entries += body.get("entries") or []
        if body.get("next_after") is None:
            return status, {**body, "entries": entries}
        query["after"] = body["next_after"]


def compare_with_service(store: Any, officers: list[str], base_url: str, token: str | None,
                         as_of: str, on: str, to_position: int | None,
                         echo=print) -> int:
    """Compare replayed answers with the service's; prints each difference, returns the count."""
    models = store.models
    base = base_url.rstrip("/")
    total = 0
    for officer in officers:
        found: list[str] = []
        try:
            models.timeline_rows(officer)
        except Exception as exc:  # noqa: BLE001 - the service's NotFound
            echo(f"officer {officer}: not in the export ({exc})")
            total += 1
            continue
        status, body = fetch_history(base, officer, as_of, token)
        if status != 200:
            found.append(f"history: the service answered HTTP {status}")
        else:
            found += compare_history(models.history(officer, as_of=as_of), body, to_position)
        q = urllib.parse.urlencode({"on": on, "as_of": as_of})
        status, body = fetch_json(f"{base}/api/v1/officers/{officer}/eligibility?{q}", token)
        if status != 200:
            found.append(f"eligibility: the service answered HTTP {status}")
        else:
            ours = models.eligibility(officer, on=on, as_of=as_of)
            found += [f"eligibility: {d}" for d in differences(ours, body)]
            for field in ("verdict", "hash"):
                if field not in body:
                    found.append(f"eligibility: the service gives no {field}")
        for line in found:
            echo(f"officer {officer}: {line}")
        total += len(found)
    return total


def run_replay(args: argparse.Namespace, report: dict, echo=print) -> dict:
    """Board hashes, requested officers, and the comparison with a running service."""
    import os  # noqa: PLC0415

    from auditing.board import check_decision, describe_board, merge_board  # noqa
    from auditing.replay import replay_export  # noqa: PLC0415
    from audit_service.clock import local_date  # noqa: PLC0415
    from datetime import datetime  # noqa: PLC0415

    key = os.environ.get("AUDIT_CIPHER_KEY") or None
    if report["manifest"].get("encrypted") and not key:
        report["notes"].append("the export's events are encrypted: replay needs"
                               " AUDIT_CIPHER_KEY; skipped")
        not_checked(report, "the export's events are encrypted (AUDIT_CIPHER_KEY not set)")
        return report
    result: dict = {}
    with replay_export(args.export, cipher_key=key) as store:
        models = store.build()
        merge_board(report, [check_decision(models, d) for d in store.decisions()])
        report["board"]["bad_corrections"] = report["corrections"]["bad"]
        for line in describe_board(report):
            echo(line)
        as_of = args.as_of or report["latest_recorded_at"]
        on = args.on or (local_date(datetime.fromisoformat(as_of)).isoformat() if as_of else None)
        result.update(as_of=as_of, on=on, officers={})
        for officer in args.officer or ():
            try:
                answer = {"history": models.history(officer, as_of=as_of),
                          "eligibility": models.eligibility(officer, on=on, as_of=as_of)}
            except Exception as exc:  # noqa: BLE001 - the service's NotFound
                echo(f"officer {officer}: not in the export ({exc})")
                continue
            result["officers"][officer] = answer
            if not args.json:
                echo(json.dumps(answer, ensure_ascii=False, indent=2))
        if args.compare_url:
            officers = list(args.officer or store.officer_ids())
            count = compare_with_service(store, officers, args.compare_url, args.token, as_of,
                                         on, report["manifest"].get("to_position"), echo=echo)
            result["compared"] = len(officers)
            result["differences"] = count
            echo(f"compared {len(officers)} officers with {args.compare_url}: {count}"
                 f" difference(s)")
            if count:
                report["ok"] = False
    quoted = report.pop("quoted_dossiers", [])
    if quoted:
        from auditing.dossier import check_quoted_export, merge_quoted  # noqa: PLC0415

        merge_quoted(report, check_quoted_export(args.export, quoted))
        for c in report["dossiers"]["checks"]:
            echo(f"quoted dossier at position {c['position']}: officer {c['officer_id']}:"
                 f" {c['status']}")
    report["replay"] = result
    return report


def not_checked(report: dict, reason: str) -> None:
    """Say that the board's hashes and the quoted dossiers were not recomputed, and why."""
    report["board"] = {"status": "not_checked", "reason": reason,
                       "decisions": len(report["decision_positions"]),
                       "bad_corrections": report["corrections"]["bad"]}
    quoted = report.pop("quoted_dossiers", [])
    report["dossiers"] = {"status": "not_checked", "reason": reason, "decisions": len(quoted),
                          "checks": [{k: v for k, v in q.items() if k != "candidates"}
                                     for q in quoted]}


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify an audit-service export: signatures, hash chain, board hashes.")
    parser.add_argument("export", help="the export file (.ndjson, or gzip-compressed)")
    parser.add_argument("--trusted-checkpoint", metavar="FILE|DIR",
                        help="a checkpoint you already hold (JSON), or a directory of them"
                             " (a mirror of the witness: the newest is used); the export must"
                             " extend it")
    parser.add_argument("--trusted-key", metavar="FILE|BASE64", action="append",
                        help="public keys you trust (a file of base64 or JSON records, or one"
                             " base64 key; also AUDIT_TRUSTED_KEYS); only these, and keys"
                             " they rotated to, may sign checkpoints")
    parser.add_argument("--require-signatures", action="store_true",
                        help="count an unsigned checkpoint as a fault")
    parser.add_argument("--save-checkpoint", metavar="FILE",
                        help="after a clean check, save the last valid signed checkpoint here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-replay", action="store_true",
                        help="check the chain and signatures only (no decoding of events)")
    parser.add_argument("--officer", action="append", metavar="ID",
                        help="print this officer's replayed history and eligibility")
    parser.add_argument("--on", metavar="YYYY-MM-DD",
                        help="date of the eligibility questions (default: the day of --as-of)")
    parser.add_argument("--as-of", metavar="TIME",
                        help="answer as of this recorded time (default: the export's latest)")
    parser.add_argument("--compare-url", metavar="URL",
                        help="compare replayed answers with this running service")
    parser.add_argument("--token", help="bearer token for --compare-url")
    args = parser.parse_args(argv)

    echo = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print
    import os  # noqa: PLC0415

    try:
        trusted = read_checkpoints(args.trusted_checkpoint) if args.trusted_checkpoint else None
        if trusted is not None and not trusted:
            raise ValueError(f"{args.trusted_checkpoint} holds no checkpoint")
        specs = (os.environ.get("AUDIT_TRUSTED_KEYS") or "").replace(",", " ").split()
        specs += args.trusted_key or []
        keys = None
        if specs:
            keys = {}
            for spec in specs:
                keys.update(read_keys_file(spec))
    except (OSError, ValueError, KeyError) as exc:
        print(f"verify_export: {exc}", file=sys.stderr)
        return 2
    if trusted is not None and len(trusted) == 1:
        trusted = trusted[0]
    try:
        report = check_export(args.export, trusted_checkpoint=trusted, trusted_keys=keys,
                              require_signatures=args.require_signatures)
    except (ExportError, OSError, ValueError, KeyError) as exc:
        print(f"verify_export: cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    for line in chain.describe(report):
        echo(line)
    if not args.no_replay:
        reason = replay_available()
        if reason and (args.officer or args.compare_url):
            print(f"verify_export: {reason}", file=sys.stderr)
            return 2
        if reason:
            report["notes"].append(f"board hashes not checked (nor quoted dossiers): {reason}")
            echo(f"note: board hashes not checked (nor quoted dossiers): {reason}")
            not_checked(report, reason)
        else:
            run_replay(args, report, echo=echo)
    else:
        not_checked(report, "--no-replay")
    if args.save_checkpoint:
        last = report["checkpoints"]["last_valid"]
        if report["ok"] and last:
            Path(args.save_checkpoint).write_text(json.dumps(last, indent=2) + "\n")
            echo(f"saved checkpoint at position {last['position']} to {args.save_checkpoint}")
        else:
            echo("no checkpoint saved: the export did not verify, or has no valid checkpoint")
    echo("RESULT: " + ("OK" if report["ok"] else "FAILED"))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
