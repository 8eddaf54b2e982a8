"""The export bundle: one NDJSON file that carries everything an auditor needs offline.

Lines, in this order (each a JSON object with a ``type``)::

    {"type": "manifest", "format": "audit-service-export", "format_version": 1, ...}
    {"type": "key", "key_id": ..., "algorithm": "ed25519", "public_key": ..., "valid_from": ...}
    {"type": "rotation", "old_key_id": ..., "new_key_id": ..., "old_public_key": ...,
     "new_public_key": ..., "created_at": ..., "old_signature": ..., "new_signature": ...}
    {"type": "access_checkpoint", "checkpoint_id": ..., "access_id": ..., "head": ...,
     "count": ..., "created_at": ..., "key_id": ..., "signature": ...}
    {"type": "access", "id": ..., "accessed_at": ..., "user_id": ..., "role": ...,
     "officer_id": ..., "what": ..., "as_of": ..., "query": ..., "status": ...,
     "prev_hash": ..., "hash": ...}             # the whole access log, chained
    {"type": "checkpoint", "checkpoint_id": ..., "position": ..., "head": ..., "count": ...,
     "created_at": ..., "key_id": ..., "signature": ...}
    {"type": "event", "position": ..., "originator_id": ..., "originator_version": ...,
     "topic": ..., "recorded_at": ..., "state": <base64 of the stored state>,
     "chain": {"seq": ..., "prev": ..., "digest": ..., "hash": ...} | null}
    {"type": "chain", "position": ..., "chain": {...}}   # a chain entry with no event in the log
    {"type": "end", "lines": ..., "events": ..., "chain_entries": ..., "sha256": ...}

Events (and chain entries) come in position order. ``end.sha256`` is the SHA-256 of every
byte before the end line, so a cut file is told from a cut log. The bundle is written
in batches: memory stays flat whatever the size of the log.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from .access import iter_access
from .chain import CANONICAL_VERSION, GENESIS
from .integrity import (access_checkpoints, chain_before, chain_position, checkpoints,
                        public_keys, rotations)
from .records import record_of

FORMAT = "audit-service-export"
FORMAT_VERSION = 1
CHAIN_COLUMNS = "position, seq, prev_position, digest, hash"


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def iter_notifications(recorder: Any, from_position: int | None, to_position: int | None,
                       batch_size: int) -> Iterator[Any]:
    """The log's notifications with ``from <= position <= to``, read in batches."""
    start, inclusive = from_position, True
    while True:
        batch = recorder.select_notifications(start=start, limit=batch_size, stop=to_position,
                                              inclusive_of_start=inclusive)
        yield from batch
        if len(batch) < batch_size:
            return
        start, inclusive = batch[-1].id, False


def iter_chain(db: Any, from_position: int | None, to_position: int | None,
               batch_size: int) -> Iterator[tuple]:
    """Chain entries ``(position, seq, prev_position, digest, hash)`` in the range."""
    lo = (from_position - 1) if from_position is not None else None
    while True:
        sql = f"SELECT {CHAIN_COLUMNS} FROM integrity_chain WHERE 1 = 1"
        params: list[Any] = []
        if lo is not None:
            sql += " AND position > ?"
            params.append(lo)
        if to_position is not None:
            sql += " AND position <= ?"
            params.append(to_position)
        rows = db.fetchall(sql + " ORDER BY position LIMIT ?", [*params, batch_size])
        for r in rows:
            yield int(r[0]), int(r[1]), int(r[2]), r[3], r[4]
        if len(rows) < batch_size:
            return
        lo = int(rows[-1][0])


def merged(notifications: Iterator[Any], chain: Iterator[tuple]) -> Iterator[tuple]:
    """``(position, notification | None, chain entry | None)`` over both, in position order."""
    n = next(notifications, None)
    c = next(chain, None)
    while n is not None or c is not None:
        if c is None or (n is not None and n.id < c[0]):
            yield n.id, n, None
            n = next(notifications, None)
        elif n is None or c[0] < n.id:
            yield c[0], None, c
            c = next(chain, None)
        else:
            yield n.id, n, c
            n = next(notifications, None)
            c = next(chain, None)


def manifest(app: Any, db: Any, from_position: int | None, to_position: int | None) -> dict:

    chained = chain_position(db)
    if from_position is not None:
        start_position, start_count, start_hash = chain_before(db, from_position)
    else:
        start_position, start_count, start_hash = 0, 0, GENESIS
    settings = getattr(app, "settings", None)
    return {
        "type": "manifest", "format": FORMAT, "format_version": FORMAT_VERSION,
        "canonical_version": CANONICAL_VERSION, "hash": "sha256", "signature": "ed25519",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "service": "audit-service",
        "database": settings.database.kind if settings else None,
        "encrypted": bool(app.mapper.cipher), "compressed": bool(app.mapper.compressor),
        "from_position": from_position, "to_position": to_position,
        "log_head": app.recorder.max_notification_id() or 0, "chain_position": chained,
        "start": {"position": start_position, "count": start_count, "hash": start_hash.hex()},
        "description": "See README, 'For auditors: verifying an export'.",
    }


def export_stream(app: Any, db: Any, *, from_position: int | None = None,
                  to_position: int | None = None, batch_size: int = 1000,
                  progress: Callable[[int], Any] | None = None) -> Iterator[bytes]:
    """The export bundle as a stream of byte chunks (one per batch of events).

    ``to_position`` defaults to the chain's position (events not chained yet cannot be
    verified); ``progress(n)`` is called with the number of events written per chunk.
    """

    if to_position is None:
        to_position = chain_position(db)
    head = manifest(app, db, from_position, to_position)
    digest = hashlib.sha256()
    lines = events = chain_entries = 0

    def emit(chunk: list[bytes]) -> bytes:
        nonlocal lines
        data = b"".join(chunk)
        digest.update(data)
        lines += len(chunk)
        return data

    first = [_dumps(head)]
    first += [_dumps({"type": "key", **k}) for k in public_keys(db)]
    first += [_dumps({"type": "rotation", **r}) for r in rotations(db)]
    first += [_dumps({"type": "checkpoint", **cp}) for cp in
              checkpoints(db, lo=head["start"]["position"], hi=to_position)]
    first += [_dumps({"type": "access_checkpoint", **a}) for a in access_checkpoints(db)]
    yield emit(first)
    chunk: list[bytes] = []
    for record in iter_access(db, batch_size):
        chunk.append(_dumps({"type": "access", **record}))
        if len(chunk) >= batch_size:
            yield emit(chunk)
            chunk = []
    if chunk:
        yield emit(chunk)
    mapper = app.mapper
    chunk: list[bytes] = []
    in_chunk = 0
    b64 = base64.b64encode
    for position, n, c in merged(iter_notifications(app.recorder, from_position, to_position,
                                                    batch_size),
                                 iter_chain(db, from_position, to_position, batch_size)):
        chain = {"seq": c[1], "prev": c[2], "digest": c[3], "hash": c[4]} if c else None
        if n is None:
            chunk.append(_dumps({"type": "chain", "position": position, "chain": chain}))
        else:
            originator_id, version, topic, state, recorded_at = record_of(n, mapper)
            chunk.append(_dumps({
                "type": "event", "position": position, "originator_id": originator_id,
                "originator_version": version, "topic": topic, "recorded_at": recorded_at,
                "state": b64(state).decode("ascii"), "chain": chain}))
            events += 1
            in_chunk += 1
        chain_entries += c is not None
        if len(chunk) >= batch_size:
            yield emit(chunk)
            chunk = []
            if progress:
                progress(in_chunk)
            in_chunk = 0
    if chunk:
        yield emit(chunk)
        if progress:
            progress(in_chunk)
    yield _dumps({"type": "end", "lines": lines, "events": events,
                  "chain_entries": chain_entries, "sha256": digest.hexdigest()})


def write_export(app: Any, db: Any, out: Any, **kwargs: Any) -> int:
    """Write the bundle to a binary file object; returns the bytes written."""
    size = 0
    for chunk in export_stream(app, db, **kwargs):
        out.write(chunk)
        size += len(chunk)
    return size
