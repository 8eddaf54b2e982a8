"""The integrity follower: a hash chain over the notification log, and signed checkpoints.

It follows the log like the read-model projector, with the same exactly-once tracking: each
batch of chain rows commits in one transaction with its position in ``projection_positions``
(name ``integrity``). It reads raw notifications (no decoding; the state is decrypted only to
read its timestamp when the store is encrypted). The canonical bytes and the hash are defined
in ``auditing.chain``.

Tables:

- ``integrity_chain``: one row per chained event: ``position``, ``seq`` (1, 2, 3, … in chain
  order: the number of events chained so far), ``prev_position`` (the previous chained
  position: ``prev_position < position - 1`` records a gap in the log), ``digest`` (hex
  SHA-256 of the event's content without its position) and ``hash`` (hex chain hash).
- ``integrity_checkpoints``: ``checkpoint_id``, ``position``, ``head``, ``event_count``,
  ``created_at``, ``key_id`` and ``signature`` (both NULL when no signing key is configured).
- ``integrity_keys``: every public key that ever signed a checkpoint (``key_id``,
  ``algorithm``, ``public_key`` base64 raw, ``valid_from``).
- ``integrity_key_rotations``: signed statements naming each key's successor (see
  ``chain.trust_closure``), so that a verifier pinned to an old key reaches the new one.

The tracked position's row (``projection_positions``, name ``integrity``) is made by the
follower's first run.

A checkpoint is made after every ``every_events`` chained events, and at the end of a batch
(or an idle poll) when ``every_seconds`` have passed since the last one and events were
chained since. With ``AUDIT_CHECKPOINT_WITNESS_DIR`` each checkpoint is also written there
(``witness``), outside the database.

The chain never starts again by itself: the follower refuses to chain from genesis while
the store shows a chain existed (chain rows, checkpoints, stored keys) or to chain from below
its last checkpoint (in the database or in the witness). Re-creating the chain is explicit
(``recreate_chain``) and recorded in the log as an event that every verification lists.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable

from audit_service.errors import ValidationFailed
from projections.db import ReadModelDB
from projections.projector import TRACKING_DDL, catch_up

from .access import access_head
from . import officer_chains
from .chain import GENESIS, content_bytes, digest, link
from .records import plain_state, record_of
from .lifecycle import ChainRecreation, recreations
from .signing import AuditSettings, Signer
from .witness import read_records, write_checkpoint, write_record

log = logging.getLogger("audit_service.integrity")

NAME = "integrity"
TABLES = {
    "integrity_chain": (
        "CREATE TABLE IF NOT EXISTS integrity_chain (position {big} PRIMARY KEY,"
        " seq {big} NOT NULL, prev_position {big} NOT NULL, digest TEXT NOT NULL,"
        " hash TEXT NOT NULL)"),
    "integrity_checkpoints": (
        "CREATE TABLE IF NOT EXISTS integrity_checkpoints (checkpoint_id {big} PRIMARY KEY,"
        " position {big} NOT NULL, head TEXT NOT NULL, event_count {big} NOT NULL,"
        " created_at TEXT NOT NULL, key_id TEXT, signature TEXT)"),
    "integrity_keys": (
        "CREATE TABLE IF NOT EXISTS integrity_keys (key_id TEXT PRIMARY KEY,"
        " algorithm TEXT NOT NULL, public_key TEXT NOT NULL, valid_from TEXT NOT NULL)"),
    "integrity_key_rotations": (
        "CREATE TABLE IF NOT EXISTS integrity_key_rotations (old_key_id TEXT NOT NULL,"
        " new_key_id TEXT NOT NULL, old_public_key TEXT NOT NULL, new_public_key TEXT NOT NULL,"
        " created_at TEXT NOT NULL, old_signature TEXT NOT NULL, new_signature TEXT NOT NULL,"
        " PRIMARY KEY (old_key_id, new_key_id))"),
}
ACCESS_CHECKPOINT_DDL = (
    "CREATE TABLE IF NOT EXISTS integrity_access_checkpoints (checkpoint_id {big} PRIMARY KEY,"
    " access_id {big} NOT NULL, head TEXT NOT NULL, event_count {big} NOT NULL,"
    " created_at TEXT NOT NULL, key_id TEXT, signature TEXT)")
ACCESS_CHECKPOINT_COLUMNS = ("checkpoint_id", "access_id", "head", "count", "created_at",
                             "key_id", "signature")
ROTATION_COLUMNS = ("old_key_id", "new_key_id", "old_public_key", "new_public_key",
                    "created_at", "old_signature", "new_signature")


class ChainRestartRefused(RuntimeError):
    """The follower will not chain from genesis, or from below a checkpoint, by itself."""
INDEXES = ["CREATE INDEX IF NOT EXISTS ix_integrity_checkpoints_position"
           " ON integrity_checkpoints (position)"]
CHECKPOINT_COLUMNS = ("checkpoint_id", "position", "head", "count", "created_at", "key_id",
                      "signature", "officers_root")
CHECKPOINT_SELECT = ("SELECT checkpoint_id, position, head, event_count, created_at, key_id,"
                     " signature, officers_root FROM integrity_checkpoints")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def create_tables(db: ReadModelDB) -> list[str]:
    """Create the chain, checkpoint and key tables and the tracked position (idempotent)."""
    big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
    with db.transaction():
        db.execute(TRACKING_DDL.format(big=big))
        for ddl in (*TABLES.values(), ACCESS_CHECKPOINT_DDL):
            db.execute(ddl.format(big=big))
        for ddl in INDEXES:
            db.execute(ddl)
        officer_chains.create_tables(db)
    return ["integrity chain", "officer chains"]


def _locked_position(db: ReadModelDB) -> int:
    """The tracked position, locked for this transaction; the row is made on first use.

    (Made here rather than by ``create_tables`` so that the projector's status lists the
    integrity follower only once it runs.)
    """
    lock = "" if db.kind == "sqlite" else " FOR UPDATE"
    sql = f"SELECT position FROM projection_positions WHERE name = ?{lock}"
    row = db.fetchone(sql, (NAME,))
    if row is None:
        db.execute("INSERT INTO projection_positions (name, position, updated_at)"
                   " VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING", (NAME, iso(utc_now())))
        row = db.fetchone(sql, (NAME,))
    return int(row[0])


# --------------------------------------------------------------------------- reading

def chain_position(db: ReadModelDB) -> int:
    row = db.fetchone("SELECT position FROM projection_positions WHERE name = ?", (NAME,))
    return int(row[0]) if row else 0


def checkpoints(db: ReadModelDB, lo: int | None = None, hi: int | None = None) -> list[dict]:
    """Checkpoints (optionally with ``lo <= position <= hi``) in creation order."""
    sql = CHECKPOINT_SELECT + " WHERE 1 = 1"
    params: list[Any] = []
    if lo is not None:
        sql += " AND position >= ?"
        params.append(lo)
    if hi is not None:
        sql += " AND position <= ?"
        params.append(hi)
    rows = db.fetchall(sql + " ORDER BY checkpoint_id", params)
    out = []
    for r in rows:
        cp = dict(zip(CHECKPOINT_COLUMNS, r))
        cp.update(checkpoint_id=int(cp["checkpoint_id"]), position=int(cp["position"]),
                  count=int(cp["count"]))
        out.append(cp)
    return out


def checkpoints_after(db: ReadModelDB, after: int, limit: int) -> list[dict]:
    """Up to ``limit`` checkpoints at a position after ``after``, by position."""
    rows = db.fetchall(CHECKPOINT_SELECT + " WHERE position > ?"
                       " ORDER BY position, checkpoint_id LIMIT ?", (after, limit))
    return [dict(zip(CHECKPOINT_COLUMNS, (int(r[0]), int(r[1]), r[2], int(r[3]), *r[4:])))
            for r in rows]


def latest_checkpoint(db: ReadModelDB, signed_only: bool = False) -> dict | None:
    sql = ("SELECT checkpoint_id FROM integrity_checkpoints"
           + (" WHERE signature IS NOT NULL" if signed_only else "")
           + " ORDER BY checkpoint_id DESC LIMIT 1")
    row = db.fetchone(sql)
    if not row:
        return None
    return next(cp for cp in checkpoints_by_id(db, int(row[0])))


def checkpoints_by_id(db: ReadModelDB, checkpoint_id: int) -> list[dict]:
    rows = db.fetchall(CHECKPOINT_SELECT + " WHERE checkpoint_id = ?", (checkpoint_id,))
    return [dict(zip(CHECKPOINT_COLUMNS, (int(r[0]), int(r[1]), r[2], int(r[3]), *r[4:])))
            for r in rows]


def public_keys(db: ReadModelDB) -> list[dict]:
    """Every public key that signed checkpoints, oldest first."""
    rows = db.fetchall("SELECT key_id, algorithm, public_key, valid_from FROM integrity_keys"
                       " ORDER BY valid_from, key_id")
    return [dict(zip(("key_id", "algorithm", "public_key", "valid_from"), r)) for r in rows]


def access_checkpoints(db: ReadModelDB) -> list[dict]:
    """The signed heads of the access log, in creation order."""
    if not db.table_exists("integrity_access_checkpoints"):
        return []
    rows = db.fetchall("SELECT checkpoint_id, access_id, head, event_count, created_at, key_id,"
                       " signature FROM integrity_access_checkpoints ORDER BY checkpoint_id")
    return [dict(zip(ACCESS_CHECKPOINT_COLUMNS, (int(r[0]), int(r[1]), r[2], int(r[3]),
                                                 *r[4:]))) for r in rows]


def rotations(db: ReadModelDB) -> list[dict]:
    """Every key rotation statement, oldest first (none in a store whose tables predate
    rotations: ``init-db`` adds the table)."""
    if not db.table_exists("integrity_key_rotations"):
        return []
    rows = db.fetchall(f"SELECT {', '.join(ROTATION_COLUMNS)} FROM integrity_key_rotations"
                       " ORDER BY created_at")
    return [dict(zip(ROTATION_COLUMNS, r)) for r in rows]


def store_rotation(db: ReadModelDB, statement: dict, witness_dir: str | None = None) -> None:
    with db.transaction():
        db.execute(f"INSERT INTO integrity_key_rotations ({', '.join(ROTATION_COLUMNS)})"
                   f" VALUES ({', '.join('?' * len(ROTATION_COLUMNS))})"
                   " ON CONFLICT (old_key_id, new_key_id) DO NOTHING",
                   tuple(statement[c] for c in ROTATION_COLUMNS))
        if witness_dir:
            write_record(witness_dir, "rotation", statement)


def chain_entry(db: ReadModelDB, position: int) -> tuple[int, int, str, str] | None:
    """(seq, prev_position, digest, hash) of the chain entry at ``position``."""
    row = db.fetchone("SELECT seq, prev_position, digest, hash FROM integrity_chain"
                      " WHERE position = ?", (position,))
    return (int(row[0]), int(row[1]), row[2], row[3]) if row else None


def chain_before(db: ReadModelDB, position: int) -> tuple[int, int, bytes]:
    """(position, seq, hash) of the last chain entry before ``position`` (genesis if none)."""
    row = db.fetchone("SELECT position, seq, hash FROM integrity_chain WHERE position < ?"
                      " ORDER BY position DESC LIMIT 1", (position,))
    if not row:
        return 0, 0, GENESIS
    return int(row[0]), int(row[1]), bytes.fromhex(row[2])


# --------------------------------------------------------------------------- the follower

class IntegrityFollower:
    """Chains the log and makes checkpoints; ``run_once``/``catch_up``/``run`` like the projector."""

    def __init__(self, app: Any, db: ReadModelDB | None = None,
                 settings: AuditSettings | None = None, batch_size: int = 1000,
                 clock: Callable[[], datetime] = utc_now):
        self.app = app
        self.db = db or ReadModelDB(app.settings.database)
        self.settings = settings if settings is not None else AuditSettings.from_env()
        self.batch_size = batch_size
        self.clock = clock
        self._started = clock()
        self._key_registered: str | None = None
        self._guarded = False

    @property
    def signer(self) -> Signer | None:
        return self.settings.signer

    def position(self) -> int:
        return chain_position(self.db)

    # -- one batch --------------------------------------------------------------
    def run_once(self) -> int:
        """Chain the next batch (and make any checkpoint due); returns how many events."""
        try:
            return self._run_once()
        except Exception:
            self.db.reset()
            raise

    def _run_once(self) -> int:
        db = self.db
        with db.transaction():
            position = _locked_position(db)
            if not self._guarded or position == 0:
                self._refuse_restart(position)
            if position:
                entry = chain_entry(db, position)
                if entry is None:
                    raise RuntimeError(f"integrity_chain has no entry at its tracked position"
                                       f" {position}")
                seq, prev_hash = entry[0], bytes.fromhex(entry[3])
            else:
                seq, prev_hash = 0, GENESIS
            last_cp = self._last_checkpoint()
            officers_at = officer_chains.officers_position(db)
            if officers_at > position:  # the log's chain was wiped under them: start again
                officer_chains.clear(db)
                officers_at = 0
            backfilled = 0
            if officers_at < position:  # a store older than the officer chains catches up
                backfilled = self._backfill_officers(officers_at, position)
            chainer = officer_chains.OfficerChainer(db) if officers_at >= position else None
            notifications = self.app.recorder.select_notifications(
                start=position, limit=self.batch_size, inclusive_of_start=False)
            rows = []
            due_at = []
            mapper = self.app.mapper
            every = self.settings.every_events
            since = seq - last_cp[0]
            for n in notifications:
                record = record_of(n, mapper)
                content = content_bytes(*record)
                prev_hash = link(prev_hash, n.id, content)
                if chainer is not None:
                    chainer.add(n.id, record[2], record[0], content, self._plain(record[3]))
                seq += 1
                rows.append((n.id, seq, position, digest(content).hex(), prev_hash.hex()))
                position = n.id
                since += 1
                if since >= every:
                    due_at.append((position, prev_hash.hex(), seq))
                    since = 0
            db.executemany("INSERT INTO integrity_chain (position, seq, prev_position, digest,"
                           " hash) VALUES (?, ?, ?, ?, ?)", rows)
            now = self.clock()
            if chainer is not None and rows:
                chainer.flush()
                officer_chains.set_officers_position(db, position, iso(now))
            for cp_position, head, count in due_at:
                self._checkpoint(cp_position, head, count, now)
            if not due_at and seq > last_cp[0] and \
                    (now - (last_cp[1] or self._started)).total_seconds() >= \
                    self.settings.every_seconds:
                self._checkpoint(position, prev_hash.hex(), seq, now)
            if rows:
                db.execute("UPDATE projection_positions SET position = ?, updated_at = ?"
                           " WHERE name = ?", (position, iso(now), NAME))
        self._guarded = True
        return max(len(notifications), backfilled)

    def _plain(self, state: bytes) -> bytes | None:
        mapper = self.app.mapper
        return plain_state(mapper, state) if (mapper.cipher or mapper.compressor) else state

    def _backfill_officers(self, officers_at: int, position: int) -> int:
        """Extend the officer chains over a batch of events the log chain already holds
        (inside the caller's transaction)."""
        chainer = officer_chains.OfficerChainer(self.db)
        batch = self.app.recorder.select_notifications(
            start=officers_at, limit=self.batch_size, stop=position, inclusive_of_start=False)
        for n in batch:
            record = record_of(n, self.app.mapper)
            chainer.add(n.id, record[2], record[0], content_bytes(*record),
                        self._plain(record[3]))
        chainer.flush()
        reached = batch[-1].id if len(batch) == self.batch_size else position
        officer_chains.set_officers_position(self.db, reached, iso(self.clock()))
        return len(batch)

    def _refuse_restart(self, position: int) -> None:
        """Raise ChainRestartRefused unless chaining from ``position`` continues the chain
        the store (and the witness) shows, or follows an explicit re-creation."""
        db = self.db
        row = db.fetchone("SELECT MAX(position) FROM integrity_checkpoints")
        if row and row[0] is not None and int(row[0]) > position:
            raise ChainRestartRefused(
                f"the integrity chain's tracked position {position} is below its last"
                f" checkpoint at {row[0]}: the chain is not rebuilt by itself (audit-service"
                " chain recreate --reason ... does it, on the record)")
        if position == 0 and self.app.recorder.max_notification_id():
            if db.fetchone("SELECT 1 FROM integrity_chain LIMIT 1"):
                raise ChainRestartRefused("the integrity chain has entries but its tracked"
                                          " position is 0: refusing to chain over them")
            if db.fetchone("SELECT 1 FROM integrity_keys LIMIT 1") and not recreations(self.app):
                raise ChainRestartRefused(
                    "checkpoints were signed in this store (integrity_keys) but the chain is"
                    " gone: refusing to chain the log again from genesis by itself; if that"
                    " is intended, run: audit-service chain recreate --reason ...")
        witnessed = self._witnessed_position()
        if witnessed is not None and witnessed > position:
            raise ChainRestartRefused(
                f"the witness ({self.settings.witness_dir}) holds a checkpoint at {witnessed},"
                f" beyond the chain's tracked position {position}: refusing to chain again"
                " (audit-service chain recreate --reason ... does it, on the record)")

    def _witnessed_position(self) -> int | None:
        """The highest position the witness holds a checkpoint for, made after its latest
        recorded re-creation of the chain."""
        folder = self.settings.witness_dir
        if not folder:
            return None
        try:
            records = read_records(folder)
        except FileNotFoundError:
            return None
        since = max((r["created_at"] for r in records if r.get("type") == "recreation"),
                    default="")
        positions = [int(r["position"]) for r in records
                     if r.get("type") == "checkpoint" and r["created_at"] > since]
        return max(positions, default=None)

    def _last_checkpoint(self) -> tuple[int, datetime | None]:
        row = self.db.fetchone("SELECT event_count, created_at FROM integrity_checkpoints"
                               " ORDER BY checkpoint_id DESC LIMIT 1")
        if not row:
            return 0, None
        return int(row[0]), datetime.fromisoformat(row[1])

    def _checkpoint(self, position: int, head: str, count: int, now: datetime) -> dict:
        """Insert a checkpoint (inside the caller's transaction), signed when a key is set."""
        db = self.db
        row = db.fetchone("SELECT COALESCE(MAX(checkpoint_id), 0) FROM integrity_checkpoints")
        cp = {"checkpoint_id": int(row[0]) + 1, "position": position, "head": head,
              "count": count, "created_at": iso(now), "key_id": None, "signature": None,
              "officers_root": officer_chains.update_map(db, position)}
        signer = self.signer
        if signer is not None:
            self._register_key(signer, now)
            cp["key_id"] = signer.key_id
            cp["signature"] = signer.sign(cp)
        db.execute("INSERT INTO integrity_checkpoints (checkpoint_id, position, head,"
                   " event_count, created_at, key_id, signature, officers_root)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (cp["checkpoint_id"], position, head, count, cp["created_at"],
                    cp["key_id"], cp["signature"], cp["officers_root"]))
        if self.settings.witness_dir:  # before commit: no checkpoint the witness lacks
            write_checkpoint(self.settings.witness_dir, cp)
        self._access_checkpoint(cp)
        log.info("checkpoint %s at position %s (%s)", cp["checkpoint_id"], position,
                 "signed " + signer.key_id if signer else "unsigned")
        return cp

    def _access_checkpoint(self, cp: dict) -> None:
        """Sign the access log's head with the checkpoint, when it moved since the last."""
        db = self.db
        if not db.table_exists("integrity_access_checkpoints"):
            return
        head = access_head(db)
        if head is None:
            return
        last = db.fetchone("SELECT access_id FROM integrity_access_checkpoints"
                           " ORDER BY checkpoint_id DESC LIMIT 1")
        if last and int(last[0]) == head[0]:
            return
        acp = {"checkpoint_id": cp["checkpoint_id"], "access_id": head[0], "head": head[1],
               "count": head[2], "created_at": cp["created_at"], "key_id": cp["key_id"],
               "signature": None}
        if self.signer is not None:
            acp["signature"] = self.signer.sign_access(acp)
        db.execute("INSERT INTO integrity_access_checkpoints (checkpoint_id, access_id, head,"
                   " event_count, created_at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   tuple(acp[c] for c in ACCESS_CHECKPOINT_COLUMNS))
        if self.settings.witness_dir:
            write_record(self.settings.witness_dir, "access_checkpoint", acp)

    def _register_key(self, signer: Signer, now: datetime) -> None:
        if self._key_registered == signer.key_id:
            return
        self.db.execute("INSERT INTO integrity_keys (key_id, algorithm, public_key, valid_from)"
                        " SELECT ?, 'ed25519', ?, ? WHERE NOT EXISTS"
                        " (SELECT 1 FROM integrity_keys WHERE key_id = ?)",
                        (signer.key_id, signer.public_b64, iso(now), signer.key_id))
        self._key_registered = signer.key_id

    def register_key(self) -> dict | None:
        """Store the configured public key now (it is also stored at its first checkpoint)."""
        if self.signer is None:
            return None
        with self.db.transaction():
            self._register_key(self.signer, self.clock())
        return next(k for k in public_keys(self.db) if k["key_id"] == self.signer.key_id)

    def checkpoint_now(self) -> dict | None:
        """A checkpoint at the current chain head, unless the latest one (by this key) is there."""
        db = self.db
        with db.transaction():
            position = _locked_position(db)
            if position == 0:
                return None
            latest = latest_checkpoint(db)
            key_id = self.signer.key_id if self.signer else None
            if latest and latest["position"] == position and latest["key_id"] == key_id and \
                    (latest["officers_root"] or
                     officer_chains.officers_position(db) < position):
                return latest
            seq, _prev, _digest, head = chain_entry(db, position)
            return self._checkpoint(position, head, seq, self.clock())

    # -- following ----------------------------------------------------------------
    def catch_up(self) -> int:
        return catch_up(self)

    def close(self) -> None:
        self.db.close()


def recreate_chain(app: Any, db: ReadModelDB, reason: str, *, actor_id: str,
                   witness_dir: str | None = None,
                   clock: Callable[[], datetime] = utc_now) -> dict:
    """Throw the chain and its checkpoints away so that the follower chains the log again
    from genesis, after recording why in the log (``ChainRecreation.Recreated``).

    The event comes first: if anything after it fails, the log still says it was asked.
    The old checkpoints stay in the witness, where they keep showing what was there.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("a reason is required to re-create the chain",
                               code="reason_required")
    if len(reason) > 1000:
        raise ValidationFailed("the reason is longer than 1000 characters",
                               code="reason_too_long")
    position = chain_position(db)
    entry = chain_entry(db, position) if position else None
    recreation = ChainRecreation(reason=reason, previous_position=position,
                                 previous_head=entry[3] if entry else None,
                                 previous_count=entry[0] if entry else 0, actor_id=actor_id,
                                 actor_role="admin")
    recordings = app.save(recreation)
    event_position = recordings[-1].notification.id
    record = {"position": event_position, "reason": reason, "previous_position": position,
              "previous_head": entry[3] if entry else None, "created_at": iso(clock())}
    with db.transaction():
        _locked_position(db)
        db.execute("DELETE FROM integrity_chain")
        db.execute("DELETE FROM integrity_checkpoints")
        officer_chains.clear(db)
        db.execute("UPDATE projection_positions SET position = 0, updated_at = ? WHERE name = ?",
                   (record["created_at"], NAME))
        if witness_dir:
            write_record(witness_dir, "recreation", record)
    log.warning("integrity chain re-created (event at %s): %s", event_position, reason)
    return record


def follow_with(projector: Any, follower: IntegrityFollower | None = None) -> IntegrityFollower:
    """Make each turn of ``projector`` also advance the integrity chain (own transaction).

    Used by ``audit-service project``: the loop, its signals and its catch-up stay the
    projector's; each turn also chains what is new and makes checkpoints that are due.
    """
    follower = follower or IntegrityFollower(projector.app, batch_size=projector.batch_size)
    projector.followers.append(follower)
    return follower
