"""The officer chains and the officer map in the database, kept by the integrity follower.

The follower extends each concerned officer's chain in the same transaction as the log chain
(``OfficerChainer``), and at each checkpoint brings the map up to the checkpoint's position
(``update_map``), re-hashing only the officers whose chains grew since the previous one. The
hashing and the proofs are ``officer_map``'s; which officers an event concerns is
``projections.concerns``'s.

Tables:

- ``integrity_officer_chain``: ``officer_id``, ``seq`` (1, 2, … in the officer's chain),
  ``position`` (the event's log position), ``hash`` (hex);
- ``integrity_subjects``: ``subject_id`` -> ``officer_id``: the officer a finding, proceeding,
  decision, grade or rating concerned last (``concerns.concerned``'s memory);
- ``integrity_officers``: the map's leaves: ``officer_key`` (hex SHA-256 of the id),
  ``officer_id``, ``head``, ``count``, ``position`` (the map's position when last changed);
- ``integrity_officer_nodes``: the inner nodes of two leaves or more, ``node`` =
  ``depth:prefix`` (prefix in hex), ``hash``.

The chains follow their own tracked position (``projection_positions``, name
``integrity_officers``) so that a store whose log chain predates them catches up from
position 0; until it has, checkpoints carry no map root.
"""
from __future__ import annotations

from typing import Any

from projections.concerns import concerned, kind_of, reads_state, remembers, state_fields
from projections.db import ReadModelDB

from .chain import GENESIS, position_bytes
from .officer_map import key_of, leaf_hash, officer_link, prove, update_root

NAME = "integrity_officers"
TABLES = {
    "integrity_officer_chain": (
        "CREATE TABLE IF NOT EXISTS integrity_officer_chain (officer_id TEXT NOT NULL,"
        " seq {big} NOT NULL, position {big} NOT NULL, hash TEXT NOT NULL,"
        " PRIMARY KEY (officer_id, seq))"),
    "integrity_subjects": (
        "CREATE TABLE IF NOT EXISTS integrity_subjects (subject_id TEXT PRIMARY KEY,"
        " officer_id TEXT NOT NULL)"),
    "integrity_officers": (
        "CREATE TABLE IF NOT EXISTS integrity_officers (officer_key TEXT PRIMARY KEY,"
        " officer_id TEXT NOT NULL, head TEXT NOT NULL, event_count {big} NOT NULL,"
        " position {big} NOT NULL)"),
    "integrity_officer_nodes": (
        "CREATE TABLE IF NOT EXISTS integrity_officer_nodes (node TEXT PRIMARY KEY,"
        " hash TEXT NOT NULL)"),
}
INDEXES = ["CREATE INDEX IF NOT EXISTS ix_integrity_officer_chain_position"
           " ON integrity_officer_chain (position)"]


def create_tables(db: ReadModelDB) -> None:
    """The officer tables and the checkpoints' ``officers_root`` column (inside the caller's
    transaction; idempotent, so ``init-db`` run again adds them to an existing store)."""
    big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
    for ddl in TABLES.values():
        db.execute(ddl.format(big=big))
    for ddl in INDEXES:
        db.execute(ddl)
    if db.kind == "sqlite":
        columns = {r[1] for r in db.fetchall("PRAGMA table_info(integrity_checkpoints)")}
        if "officers_root" not in columns:
            db.execute("ALTER TABLE integrity_checkpoints ADD COLUMN officers_root TEXT")
    else:
        db.execute("ALTER TABLE integrity_checkpoints ADD COLUMN IF NOT EXISTS"
                   " officers_root TEXT")


def officers_position(db: ReadModelDB) -> int:
    row = db.fetchone("SELECT position FROM projection_positions WHERE name = ?", (NAME,))
    return int(row[0]) if row else 0


def set_officers_position(db: ReadModelDB, position: int, now: str) -> None:
    db.execute("INSERT INTO projection_positions (name, position, updated_at) VALUES (?, ?, ?)"
               " ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
               " updated_at = excluded.updated_at", (NAME, position, now))


def clear(db: ReadModelDB) -> None:
    """Forget every officer chain and the map (the log chain is being re-created)."""
    for table in TABLES:
        db.execute(f"DELETE FROM {table}")
    db.execute("DELETE FROM projection_positions WHERE name = ?", (NAME,))


class OfficerChainer:
    """Extends officer chains for a batch of events (inside the caller's transaction)."""

    def __init__(self, db: ReadModelDB):
        self.db = db
        self.heads: dict[str, tuple[int, bytes]] = {}
        self.subjects: dict[str, str] = {}
        self.new_subjects: dict[str, str] = {}
        self.rows: list[tuple] = []

    def officer_of(self, aggregate: str, subject: str) -> str | None:
        if subject in self.subjects:
            return self.subjects[subject]
        row = self.db.fetchone("SELECT officer_id FROM integrity_subjects WHERE subject_id = ?",
                               (subject,))
        officer = row[0] if row else None
        if officer is not None:
            self.subjects[subject] = officer
        return officer

    def head(self, officer: str) -> tuple[int, bytes]:
        head = self.heads.get(officer)
        if head is None:
            row = self.db.fetchone("SELECT seq, hash FROM integrity_officer_chain WHERE"
                                   " officer_id = ? ORDER BY seq DESC LIMIT 1", (officer,))
            head = (int(row[0]), bytes.fromhex(row[1])) if row else (0, GENESIS)
        return head

    def add(self, position: int, topic: str, originator_id: str, content: bytes,
            plain: bytes | None) -> list[str]:
        """Extend the chains of the officers the event concerns; returns them."""
        kind = kind_of(topic)
        data = state_fields(plain) if plain is not None and reads_state(kind) else {}
        subject, officers = concerned(kind, originator_id, data, self.officer_of)
        if officers and remembers(kind):
            self.subjects[subject] = self.new_subjects[subject] = officers[-1]
        canonical = position_bytes(position) + content
        for officer in officers:
            seq, prev = self.head(officer)
            value = officer_link(prev, canonical, plain)
            self.heads[officer] = (seq + 1, value)
            self.rows.append((officer, seq + 1, position, value.hex()))
        return officers

    def flush(self) -> None:
        db = self.db
        db.executemany("INSERT INTO integrity_officer_chain (officer_id, seq, position, hash)"
                       " VALUES (?, ?, ?, ?)", self.rows)
        db.executemany("INSERT INTO integrity_subjects (subject_id, officer_id) VALUES (?, ?)"
                       " ON CONFLICT (subject_id) DO UPDATE SET officer_id ="
                       " excluded.officer_id", list(self.new_subjects.items()))
        self.rows = []
        self.new_subjects = {}


class TableMap:
    """``officer_map.MapStore`` over the map's tables."""

    def __init__(self, db: ReadModelDB):
        self.db = db
        self.writes: dict[str, str] = {}

    def leaves_in(self, lo: int, hi: int, limit: int) -> list[tuple[int, bytes]]:
        rows = self.db.fetchall(
            "SELECT officer_key, head, event_count FROM integrity_officers WHERE officer_key"
            " >= ? AND officer_key <= ? ORDER BY officer_key LIMIT ?",
            (f"{lo:064x}", f"{hi:064x}", limit))
        out = []
        for key_hex, head, count in rows:
            key = bytes.fromhex(key_hex)
            out.append((int(key_hex, 16), leaf_hash(key, bytes.fromhex(head), int(count))))
        return out

    @staticmethod
    def _name(depth: int, prefix: int) -> str:
        return f"{depth}:{prefix:x}"

    def node(self, depth: int, prefix: int) -> bytes | None:
        name = self._name(depth, prefix)
        if name in self.writes:
            return bytes.fromhex(self.writes[name])
        row = self.db.fetchone("SELECT hash FROM integrity_officer_nodes WHERE node = ?",
                               (name,))
        return bytes.fromhex(row[0]) if row else None

    def put_node(self, depth: int, prefix: int, value: bytes) -> None:
        self.writes[self._name(depth, prefix)] = value.hex()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO integrity_officer_nodes (node, hash) VALUES (?, ?)"
                            " ON CONFLICT (node) DO UPDATE SET hash = excluded.hash",
                            list(self.writes.items()))
        self.writes = {}


def map_position(db: ReadModelDB) -> int:
    """The position the map stands at: its last checkpoint with a root (0: none)."""
    row = db.fetchone("SELECT MAX(position) FROM integrity_checkpoints"
                      " WHERE officers_root IS NOT NULL")
    return int(row[0]) if row and row[0] is not None else 0


def update_map(db: ReadModelDB, position: int) -> str | None:
    """Bring the map to ``position`` (inside the checkpoint's transaction); its root (hex), or
    None while the officer chains have not reached ``position`` (a store catching up)."""
    if officers_position(db) < position:
        return None
    since = map_position(db)
    rows = db.fetchall(
        "SELECT c.officer_id, c.seq, c.hash FROM integrity_officer_chain c JOIN"
        " (SELECT officer_id, MAX(seq) AS seq FROM integrity_officer_chain WHERE position > ?"
        " AND position <= ? GROUP BY officer_id) last ON last.officer_id = c.officer_id"
        " AND last.seq = c.seq", (since, position))
    changed = []
    for officer, seq, head in rows:
        key = key_of(officer)
        changed.append(key)
        db.execute("INSERT INTO integrity_officers (officer_key, officer_id, head, event_count,"
                   " position) VALUES (?, ?, ?, ?, ?) ON CONFLICT (officer_key) DO UPDATE SET"
                   " head = excluded.head, event_count = excluded.event_count,"
                   " position = excluded.position", (key.hex(), officer, head, int(seq), position))
    store = TableMap(db)
    root = update_root(store, changed)
    store.flush()
    return root.hex()


def officer_entries(db: ReadModelDB, officer_id: str, upto: int) -> list[tuple[int, int, str]]:
    """``(seq, position, hash)`` of the officer's chain up to log position ``upto``."""
    rows = db.fetchall("SELECT seq, position, hash FROM integrity_officer_chain WHERE"
                       " officer_id = ? AND position <= ? ORDER BY seq", (officer_id, upto))
    return [(int(s), int(p), h) for s, p, h in rows]


def officer_proof(db: ReadModelDB, officer_id: str) -> dict[str, Any]:
    """The officer's leaf and map proof as the map stands (at its last checkpoint)."""
    key = key_of(officer_id)
    row = db.fetchone("SELECT head, event_count, position FROM integrity_officers"
                      " WHERE officer_key = ?", (key.hex(),))
    return {"key": key.hex(), "head": row[0] if row else GENESIS.hex(),
            "count": int(row[1]) if row else 0, "proof": prove(TableMap(db), key)}
