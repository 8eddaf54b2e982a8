"""The board dossier: one officer's record with the proof that it is all of the record.

A dossier (one JSON file) holds, for one officer, as of the newest checkpoint that commits
to the officer map:

- ``checkpoint``: that checkpoint, signed (format 2: it signs ``officers_root``), with the
  store's public keys and rotation statements (a verifier trusts only the keys it pins);
- ``events``: every event the officer's chain holds up to the checkpoint, with the stored
  bytes (``state``, base64), the readable state when the store encrypts or compresses
  (``plain``), and the officer chain's hash after each one (``officer_hash``);
- ``officer``: the map leaf (``key``, ``head``, ``count``) and ``proof`` (its non-default
  siblings, ``officer_map``);
- ``eligibility``: the four reappointment answers (leadership post or not, same or higher
  post) on ``on``, computed from exactly these events (replayed alone into a fresh store).

The dossier's hash (``officer_map.dossier_digest``) covers what it states: not when it was
written (``created_at``) nor the key records it carries, so the same dossier built again
from the log has the same hash.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from typing import Any, Iterable
from uuid import UUID

from audit_service.errors import NotFound, ValidationFailed

from .chain import GENESIS, add_faults, content_bytes, position_bytes
from .integrity import CHECKPOINT_SELECT, CHECKPOINT_COLUMNS, public_keys, rotations
from .officer_chains import officer_entries, officer_proof
from .officer_map import (MemoryMap, dossier_digest, key_of, leaf_hash, officer_link, proof_json,
                          prove, root_from_proof)
from .records import plain_state, record_of
from .replay import ReplayStore

FORMAT = "audit-service-dossier"
FORMAT_VERSION = 1
QUESTIONS = tuple((lead, post) for lead in (True, False) for post in ("same", "higher"))


def dossier_bytes(bundle: dict) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8") + b"\n"


def dossier_hash(data: bytes) -> str:
    """The hash of a dossier file (``officer_map.dossier_digest`` of its content)."""
    return dossier_digest(json.loads(data))


def rooted_checkpoint(db: Any) -> dict | None:
    """The newest checkpoint that commits to the officer map (signed ones first)."""
    rows = db.fetchall(CHECKPOINT_SELECT + " WHERE officers_root IS NOT NULL ORDER BY position"
                       " DESC, (signature IS NULL), checkpoint_id DESC LIMIT 1")
    if not rows:
        return None
    cp = dict(zip(CHECKPOINT_COLUMNS, rows[0]))
    cp.update(checkpoint_id=int(cp["checkpoint_id"]), position=int(cp["position"]),
              count=int(cp["count"]))
    return cp


def _event_line(n: Any, mapper: Any, officer_hash: str) -> dict:
    originator_id, version, topic, state, recorded_at = record_of(n, mapper)
    line = {"position": n.id, "originator_id": originator_id, "originator_version": version,
            "topic": topic, "recorded_at": recorded_at,
            "state": base64.b64encode(state).decode("ascii"), "officer_hash": officer_hash}
    if mapper.cipher or mapper.compressor:
        plain = plain_state(mapper, state)
        line["plain"] = base64.b64encode(plain).decode("ascii") if plain is not None else None
    return line


def event_plain(line: dict) -> bytes | None:
    """The readable state of a dossier event (its stored state in a plain store)."""
    if "plain" in line:
        return base64.b64decode(line["plain"]) if line["plain"] is not None else None
    return base64.b64decode(line["state"])


def chain_of(events: Iterable[dict]) -> list[bytes]:
    """The officer chain's hash after each event, recomputed from the events alone."""
    out, prev = [], GENESIS
    for e in events:
        content = content_bytes(e["originator_id"], e["originator_version"], e["topic"],
                                base64.b64decode(e["state"]), e["recorded_at"])
        prev = officer_link(prev, position_bytes(e["position"]) + content, event_plain(e))
        out.append(prev)
    return out


def eligibility_from_events(events: list[dict], officer_id: str, on: str) -> list[dict]:
    """The four reappointment answers on ``on`` from exactly ``events`` (replayed alone)."""
    with ReplayStore() as store:
        for e in events:
            plain = event_plain(e)
            store.add(e["position"], e["originator_id"], e["originator_version"], e["topic"],
                      plain if plain is not None else b"")
        models = store.build()
        answers = []
        for leadership, post in QUESTIONS:
            try:
                answers.append(models.eligibility(officer_id, on=on, leadership=leadership,
                                                  post=post))
            except NotFound as exc:
                answers.append({"officer_id": officer_id, "leadership": leadership,
                                "post": post, "refused": exc.code})
        return json.loads(json.dumps(answers, default=str))


def _events(app: Any, officer: str, entries: list[tuple[int, int, str]]) -> list[dict]:
    events = []
    recorder, mapper = app.recorder, app.mapper
    for _seq, position, officer_hash in entries:
        found = recorder.select_notifications(start=position, limit=1, stop=position)
        if not found:
            raise RuntimeError(f"the log has no event at {position}, which the chain of"
                               f" officer {officer} holds: run verify")
        events.append(_event_line(found[0], mapper, officer_hash))
    return events


def _bundle(app: Any, db: Any, officer: str, day: str, cp: dict,
            entries: list[tuple[int, int, str]], proof: dict) -> dict:
    events = _events(app, officer, entries)
    return {
        "type": "dossier", "format": FORMAT, "format_version": FORMAT_VERSION,
        "officer_id": officer, "on": day,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "checkpoint": dict(cp),
        "keys": public_keys(db), "rotations": rotations(db),
        "officer": {"key": proof["key"], "head": proof["head"], "count": proof["count"]},
        "proof": proof_json(proof["proof"]),
        "events": events,
        "eligibility": eligibility_from_events(events, officer, day),
        "description": "See README, 'A board dossier: what it proves'.",
    }


def _holds(proof: dict, cp: dict, entries: list) -> bool:
    head = bytes.fromhex(proof["head"])
    key = bytes.fromhex(proof["key"])
    leaf = leaf_hash(key, head, proof["count"]) if proof["count"] else None
    root = root_from_proof(key, leaf, proof["proof"])
    return root is not None and root.hex() == cp["officers_root"] and \
        proof["count"] == len(entries) and (not entries or entries[-1][2] == proof["head"])


def _officer_text(officer_id: Any) -> str:
    try:
        return str(UUID(str(officer_id)))
    except ValueError:
        raise ValidationFailed(f"{officer_id!r} is not an officer id",
                               code="bad_officer_id") from None


def build_dossier(app: Any, db: Any, officer_id: Any, on: date | None = None) -> dict:
    """The dossier of ``officer_id`` as of the newest checkpoint committing to the map."""
    officer = _officer_text(officer_id)
    day = (on or app.today()).isoformat()
    for _attempt in range(5):
        cp = rooted_checkpoint(db)
        if cp is None:
            raise NotFound("no checkpoint commits to the officer map yet (the integrity"
                           " follower makes one: audit-service project, or checkpoint now)",
                           code="no_officer_checkpoint")
        entries = officer_entries(db, officer, cp["position"])
        proof = officer_proof(db, officer)
        if _holds(proof, cp, entries):
            break  # else a checkpoint moved the map between the reads: read again
    else:
        raise RuntimeError("the officer map kept moving while the dossier was read")
    return _bundle(app, db, officer, day, cp, entries, proof)


# --------------------------------------------------------------------------- quoted dossiers

DOSSIER_FAULT = "dossier_hash"  # a reappointment quotes a dossier the log does not give
CANDIDATES = 5  # checkpoints tried, newest first, before a decision that quotes a dossier


def dossier_at(app: Any, db: Any, officer: str, day: str, cp: dict) -> dict:
    """The dossier as it was built on checkpoint ``cp`` (the map rebuilt in memory as it
    stood there, unless the tables still stand there)."""
    entries = officer_entries(db, officer, cp["position"])
    proof = officer_proof(db, officer)
    if not _holds(proof, cp, entries):
        memory = MemoryMap()
        for other, seq, head in db.fetchall(
                "SELECT c.officer_id, c.seq, c.hash FROM integrity_officer_chain c JOIN"
                " (SELECT officer_id, MAX(seq) AS seq FROM integrity_officer_chain WHERE"
                " position <= ? GROUP BY officer_id) last ON last.officer_id = c.officer_id"
                " AND last.seq = c.seq", (cp["position"],)):
            memory.set(other, bytes.fromhex(head), int(seq))
        memory.root()
        key = key_of(officer)
        leaf = memory.leaves.get(int.from_bytes(key, "big"))
        proof = {"key": key.hex(), "head": entries[-1][2] if entries else GENESIS.hex(),
                 "count": len(entries), "proof": prove(memory, key)}
        if leaf is None and entries:
            raise RuntimeError(f"officer {officer} has chain entries but no map leaf")
    return _bundle(app, db, officer, day, cp, entries, proof)


def quoted_dossier(event: Any, position: int) -> dict | None:
    """The facts of a reappointment decision that quotes a dossier, or None."""
    quoted = getattr(event, "dossier_hash", None)
    if not quoted:
        return None
    decided = event.decided_on
    return {"position": position, "officer_id": str(event.originator_id),
            "decided_on": decided.isoformat() if hasattr(decided, "isoformat") else str(decided),
            "dossier_hash": quoted}


def check_quoted(app: Any, db: Any, quoted: dict) -> dict:
    """Rebuild the dossier a decision quotes from the log (for its decision date, on each
    of the newest checkpoints before the decision) and compare hashes."""
    result = {**quoted, "status": "mismatch", "checkpoint_id": None}
    rows = db.fetchall(CHECKPOINT_SELECT + " WHERE officers_root IS NOT NULL AND position < ?"
                       " ORDER BY position DESC, checkpoint_id DESC LIMIT ?",
                       (quoted["position"], CANDIDATES))
    if not rows:
        result.update(status="skipped", reason="no checkpoint before the decision signs the"
                      " officer map")
        return result
    for row in rows:
        cp = dict(zip(CHECKPOINT_COLUMNS, row))
        cp.update(checkpoint_id=int(cp["checkpoint_id"]), position=int(cp["position"]),
                  count=int(cp["count"]))
        bundle = dossier_at(app, db, quoted["officer_id"], quoted["decided_on"], cp)
        if dossier_digest(bundle) == quoted["dossier_hash"]:
            result.update(status="match", checkpoint_id=cp["checkpoint_id"])
            return result
    return result


def merge_quoted(report: dict, checks: list[dict]) -> dict:
    """Add the quoted-dossier checks to a verification report: mismatches are faults."""
    report["dossiers"] = {"decisions": len(checks),
                          "matched": sum(c["status"] == "match" for c in checks),
                          "mismatched": sum(c["status"] == "mismatch" for c in checks),
                          "checks": checks}
    faults = [{"position": c["position"], "kind": DOSSIER_FAULT,
               "detail": f"the reappointment of officer {c['officer_id']} quotes dossier"
                         f" {c['dossier_hash'][:16]}…, which none of the {CANDIDATES} newest"
                         " checkpoints before it gives from the log"}
              for c in checks if c["status"] == "mismatch"]
    add_faults(report, faults)
    return report


def check_quoted_export(path: Any, quoted: list[dict]) -> list[dict]:
    """The dossiers decisions quote, rebuilt from an export (``scripts/verify_export.py``):
    one more pass over its events recomputes the officer chains and the map, and keeps, at
    each checkpoint a quote may rest on (``candidates``: the newest ones before the decision
    that sign the map, newest first), the quoted officers' events, leaves and proofs. Memory:
    the quoted officers' events, one head per officer and the map."""
    from projections.concerns import SubjectMemory

    from .chain import open_export

    wanted: dict[int, set[str]] = {}
    for q in quoted:
        for cp in q["candidates"]:
            wanted.setdefault(int(cp["position"]), set()).add(q["officer_id"])
    officers = {q["officer_id"] for q in quoted}
    memory = SubjectMemory()
    heads: dict[str, tuple[int, bytes]] = {}
    chains = MemoryMap()
    lines: dict[str, list[dict]] = {o: [] for o in officers}
    taken: dict[tuple[int, str], tuple[dict, list[dict]]] = {}
    with open_export(path) as f:
        for raw in f:
            obj = json.loads(raw)
            if obj.get("type") != "event":
                continue
            position = obj["position"]
            state = base64.b64decode(obj["state"])
            record = (obj["originator_id"], obj["originator_version"], obj["topic"], state,
                      obj["recorded_at"])
            concerned = memory.assign(obj["topic"], obj["originator_id"], state)
            if concerned:
                canonical = position_bytes(position) + content_bytes(*record)
            for officer in concerned:
                count, prev = heads.get(officer, (0, GENESIS))
                value = officer_link(prev, canonical, state)
                heads[officer] = (count + 1, value)
                chains.set(officer, value, count + 1)
                if officer in lines:
                    lines[officer].append({
                        "position": position, "originator_id": obj["originator_id"],
                        "originator_version": obj["originator_version"], "topic": obj["topic"],
                        "recorded_at": obj["recorded_at"],
                        "state": base64.b64encode(state).decode("ascii"),
                        "officer_hash": value.hex()})
            if position in wanted:
                chains.root()
                for officer in wanted.pop(position):
                    key = key_of(officer)
                    count, head = heads.get(officer, (0, GENESIS))
                    taken[(position, officer)] = (
                        {"key": key.hex(), "head": head.hex(), "count": count,
                         "proof": prove(chains, key)}, list(lines[officer]))
    checks = []
    for q in quoted:
        candidates = q.pop("candidates")
        result = {**q, "status": "mismatch", "checkpoint_id": None}
        if not candidates:
            result.update(status="skipped", reason="no checkpoint before the decision signs the"
                          " officer map")
        for cp in candidates:
            found = taken.get((int(cp["position"]), q["officer_id"]))
            if found is None:  # the export ends before it: the chain check says why
                continue
            proof, events = found
            bundle = {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "officer_id": q["officer_id"], "on": q["decided_on"], "checkpoint": dict(cp),
                "officer": {"key": proof["key"], "head": proof["head"],
                            "count": proof["count"]},
                "proof": proof_json(proof["proof"]), "events": events,
                "eligibility": eligibility_from_events(events, q["officer_id"],
                                                      q["decided_on"])}
            if dossier_digest(bundle) == q["dossier_hash"]:
                result.update(status="match", checkpoint_id=cp["checkpoint_id"])
                break
        checks.append(result)
    return checks
