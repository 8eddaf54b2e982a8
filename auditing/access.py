"""API users and what they read: bearer tokens (only their hashes) and the access log.

Tokens are operational state, not facts about officials, so they live in plain tables
beside the event store; the access log is append-only and answers an auditor's question
"who looked at this officer's record, and when". Each access record is chained like the
events (``prev_hash``, ``hash``: see ``chain.access_link``), its head is signed with every
checkpoint, and it goes into the export, so a record removed or changed later shows.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from audit_service.errors import NotFound, ValidationFailed
from audit_service.validation import field_text_problem
from projections.db import ReadModelDB

from .chain import ACCESS_FIELDS, access_link

TOKEN_ROLES = ("inspector", "board", "auditor", "admin")
TOKEN_PREFIX = "ast_"

DDL = (
    "CREATE TABLE IF NOT EXISTS api_tokens (user_id TEXT PRIMARY KEY, token_sha256 TEXT"
    " NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL, unit_id TEXT,"
    " created_at TEXT NOT NULL, revoked_at TEXT)",
    "CREATE TABLE IF NOT EXISTS access_log (id {serial}, accessed_at TEXT NOT NULL,"
    " user_id TEXT NOT NULL, role TEXT NOT NULL, officer_id TEXT NOT NULL, what TEXT NOT NULL,"
    " as_of TEXT, query TEXT)",
    "CREATE INDEX IF NOT EXISTS access_log_officer ON access_log (officer_id, id)",
)
# columns added to access logs made before the log was chained
CHAIN_COLUMNS = {"status": "INTEGER", "prev_hash": "TEXT", "hash": "TEXT"}
ACCESS_LOCK_KEY = 0x41434345  # "ACCE": serialises access-log writers on PostgreSQL


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_tables(db: ReadModelDB) -> list[str]:
    serial = ("INTEGER PRIMARY KEY AUTOINCREMENT" if db.kind == "sqlite"
              else "BIGSERIAL PRIMARY KEY")
    with db.transaction():
        for ddl in DDL:
            db.execute(ddl.format(serial=serial))
        have = db.columns("access_log")
        for column, kind in CHAIN_COLUMNS.items():
            if column not in have:
                db.execute(f"ALTER TABLE access_log ADD COLUMN {column} {kind}")
    return ["api tokens", "access log"]


def access_head(db: ReadModelDB) -> tuple[int, str, int] | None:
    """(id, hash, number of chained records) of the last chained access record."""
    row = db.fetchone("SELECT id, hash FROM access_log WHERE hash IS NOT NULL"
                      " ORDER BY id DESC LIMIT 1")
    if not row:
        return None
    count = db.fetchone("SELECT COUNT(*) FROM access_log WHERE hash IS NOT NULL")[0]
    return int(row[0]), row[1], int(count)


def iter_access(db: ReadModelDB, batch_size: int = 2000):
    """Every access record (with ``prev_hash`` and ``hash``) in id order, in batches."""
    columns = (*ACCESS_FIELDS, "prev_hash", "hash")
    after = -1
    while True:
        rows = db.fetchall(f"SELECT {', '.join(columns)} FROM access_log WHERE id > ?"
                           " ORDER BY id LIMIT ?", (after, batch_size))
        for r in rows:
            record = dict(zip(columns, r))
            record["id"] = int(record["id"])
            yield record
        if len(rows) < batch_size:
            return
        after = int(rows[-1][0])


@dataclass(frozen=True)
class User:
    user_id: str
    role: str
    name: str
    unit_id: str | None = None


class TokenStore:
    def __init__(self, db: ReadModelDB):
        self.db = db

    def create(self, role: str, name: str, unit_id: str | None = None) -> tuple[User, str]:
        """A new user and its token; the token is returned once and never stored."""
        if role not in TOKEN_ROLES:
            raise ValidationFailed(f"unknown role {role!r}", details={
                "role": f"must be one of {', '.join(TOKEN_ROLES)}"})
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("a name is required", details={"name": "1 to 200 characters"})
        problem = field_text_problem("name", name)
        if problem:
            raise ValidationFailed("invalid input: name", details={"name": problem})
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        user = User(f"{role}-{secrets.token_hex(4)}", role, name,
                    str(unit_id) if unit_id else None)
        with self.db.transaction():
            self.db.execute("INSERT INTO api_tokens (user_id, token_sha256, role, name, unit_id,"
                            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (user.user_id, token_hash(token), role, name, unit_id, _now()))
        return user, token

    def authenticate(self, token: str) -> User | None:
        return self.by_hash(token_hash(token))

    def by_hash(self, token_sha256: str) -> User | None:
        """The user of a token known by its hash (a web session keeps only the hash)."""
        row = self.db.fetchone("SELECT user_id, role, name, unit_id FROM api_tokens"
                               " WHERE token_sha256 = ? AND revoked_at IS NULL",
                               (token_sha256,))
        return User(*row) if row else None

    def list(self) -> list[dict[str, Any]]:
        rows = self.db.fetchall("SELECT user_id, role, name, unit_id, created_at, revoked_at"
                                " FROM api_tokens ORDER BY created_at, user_id")
        keys = ("user_id", "role", "name", "unit_id", "created_at", "revoked_at")
        return [dict(zip(keys, r)) for r in rows]

    def revoke(self, user_id: str) -> None:
        with self.db.transaction():
            found = self.db.fetchone("SELECT revoked_at FROM api_tokens WHERE user_id = ?",
                                     (user_id,))
            if found is None:
                raise NotFound(f"no token for user {user_id}", code="token_not_found")
            if found[0] is None:
                self.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ?",
                                (_now(), user_id))


# Reads the access log keeps besides the officer reads recorded before answering
# (``audited_read`` in the entry points): any read refused (no valid token, a role not
# allowed, nothing there), and reads of decisions, proceedings, the raw events, exports and
# rotation checks; for the pages, refused page reads and the decision and proceeding pages.
LOGGED_READ = re.compile(r"^/api/v1/(decisions/|proceedings/|events$|audit/export$"
                         r"|officers/[^/]+/rotation-check$)")
LOGGED_PAGE = re.compile(r"^/(decisions|proceedings)/[0-9a-fA-F-]{36}$")
DENIED = (401, 403, 404)
OFFICER_IN_PATH = re.compile(r"^(?:/api/v1)?/officers/([0-9a-fA-F-]{36})(/|$)")
UNLOGGED_PAGES = ("/static/", "/login", "/logout", "/language/", "/healthz", "/readyz",
                  "/metrics", "/openapi.json")


def logged_read(method: str, path: str, status: int, recorded: bool,
                routed: bool = True) -> bool:
    """Whether a finished request is an access the log must hold (``recorded``: the view
    already logged it, before answering): an API or page read refused, or a read of a kind
    always logged. ``routed``: the path names a page (a browser's stray requests, such as
    /favicon.ico, are not reads)."""
    if method != "GET" or recorded:
        return False
    if path.startswith("/api/v1/"):
        return status in DENIED or bool(LOGGED_READ.match(path))
    if path.startswith(UNLOGGED_PAGES) or not routed:
        return False
    return status in DENIED or bool(LOGGED_PAGE.match(path))


def officer_in(path: str) -> str | None:
    found = OFFICER_IN_PATH.match(path)
    return found.group(1).lower() if found else None


class AccessLog:
    def __init__(self, db: ReadModelDB):
        self.db = db

    def record(self, user: User | None, officer_id: str | None, what: str,
               as_of: str | None = None, query: str | None = None,
               status: int | None = None) -> None:
        """Append a chained record (``user`` None: no valid token; ``status``: the HTTP
        status when the read was refused)."""
        db = self.db
        with db.transaction():
            if db.kind == "postgresql":  # one writer at a time extends the chain
                db.execute("SELECT pg_advisory_xact_lock(?)", (ACCESS_LOCK_KEY,))
            last = db.fetchone("SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1")
            record = {"id": int(last[0]) + 1 if last else 1, "accessed_at": _now(),
                      "user_id": user.user_id if user else "-",
                      "role": user.role if user else "-",
                      "officer_id": str(officer_id) if officer_id else "", "what": what,
                      "as_of": as_of, "query": query, "status": status}
            prev = last[1] if last else None
            record["prev_hash"], record["hash"] = prev, access_link(prev, record)
            columns = (*ACCESS_FIELDS, "prev_hash", "hash")
            db.execute(f"INSERT INTO access_log ({', '.join(columns)}) VALUES"
                       f" ({', '.join('?' * len(columns))})", tuple(record[c] for c in columns))

    def entries(self, officer_id: str | None = None, user_id: str | None = None,
                after: int | None = None, limit: int = 100) -> dict[str, Any]:
        sql = ("SELECT id, accessed_at, user_id, role, officer_id, what, as_of, query, status"
               " FROM access_log WHERE 1 = 1")
        params: list[Any] = []
        for column, value in (("officer_id", officer_id), ("user_id", user_id)):
            if value:
                sql += f" AND {column} = ?"
                params.append(str(value))
        if after:
            sql += " AND id > ?"
            params.append(int(after))
        rows = self.db.fetchall(sql + " ORDER BY id LIMIT ?", [*params, limit + 1])
        keys = ("id", "accessed_at", "user_id", "role", "officer_id", "what", "as_of", "query",
                "status")
        items = [dict(zip(keys, r)) for r in rows[:limit]]
        return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}
