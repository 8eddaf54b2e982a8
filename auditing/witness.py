"""The witness: signed checkpoints (and key rotations, chain re-creations) outside the database.

The integrity follower writes each checkpoint it makes to ``AUDIT_CHECKPOINT_WITNESS_DIR`` as
a new file that is never rewritten (``O_EXCL``), so the directory only grows; an auditor
mirrors it (or ``GET /api/v1/audit/checkpoints``) and hands the mirror to ``verify
--trusted-checkpoint DIR``. Someone who rewrites the database cannot reach these copies.

``read_checkpoints`` accepts what an auditor may hold: one checkpoint (JSON object), a list
of them, an API answer (``{"checkpoints": [...]}``), or a directory of such files.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .chain import verify_signature

CHECKPOINT_FIELDS = ("checkpoint_id", "position", "head", "count", "created_at", "key_id",
                     "signature", "officers_root")


def _write_new(folder: str | Path, name: str, record: Mapping[str, Any]) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = (json.dumps(dict(record), sort_keys=True, indent=1) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if path.read_bytes() == data:
            return path  # the same record written again (a retried batch): nothing new
        raise
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def _tag(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(record), sort_keys=True).encode()).hexdigest()[:12]


def write_checkpoint(folder: str | Path, cp: Mapping[str, Any]) -> Path:
    record = {k: cp.get(k) for k in CHECKPOINT_FIELDS}
    return _write_new(folder, f"checkpoint-{int(cp['position']):012d}-{_tag(record)}.json",
                      {"type": "checkpoint", **record})


def write_record(folder: str | Path, kind: str, record: Mapping[str, Any]) -> Path:
    """A key rotation statement or a chain re-creation, kept beside the checkpoints."""
    return _write_new(folder, f"{kind}-{record['created_at'][:19].replace(':', '')}"
                              f"-{_tag(record)}.json", {"type": kind, **record})


def _items(value: Any) -> Iterable[dict]:
    if isinstance(value, list):
        for v in value:
            yield from _items(v)
    elif isinstance(value, dict):
        if isinstance(value.get("checkpoints"), list):
            yield from _items(value["checkpoints"])
        else:
            yield value


def read_records(path: str | Path) -> list[dict]:
    """Every record in a file or a directory of files (``*.json``)."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    out = []
    for f in files:
        out.extend(_items(json.loads(f.read_text(encoding="utf-8"))))
    return out


def read_checkpoints(path: str | Path) -> list[dict]:
    out = []
    for r in read_records(path):
        if r.get("type", "checkpoint") == "checkpoint" and "head" in r and "position" in r:
            cp = {k: v for k, v in r.items() if k != "type"}
            cp["position"], cp["count"] = int(cp["position"]), int(cp["count"])
            out.append(cp)
    return out


def newest(cps: Iterable[Mapping[str, Any]],
           keys: Mapping[str, Mapping[str, Any]] | None = None) -> dict | None:
    """The checkpoint covering the most of the log; with ``keys``, only one whose signature
    holds under them (an unsigned or foreign one in a mirror proves nothing)."""
    best = None
    for cp in cps:
        if keys is not None and verify_signature(cp, keys) is not None:
            continue
        if best is None or (int(cp["position"]), cp["created_at"]) > \
                (int(best["position"]), best["created_at"]):
            best = dict(cp)
    return best
