"""API users and what they read: bearer tokens (only their hashes) and the access log.

Tokens are operational state, not facts about officials, so they live in plain tables
beside the event store; the access log is append-only and answers an auditor's question
"who looked at this officer's record, and when".
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from audit_service.errors import NotFound, ValidationFailed
from audit_service.validation import field_text_problem
from projections.db import ReadModelDB

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
    return ["api tokens", "access log"]


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
        row = self.db.fetchone("SELECT user_id, role, name, unit_id FROM api_tokens"
                               " WHERE token_sha256 = ? AND revoked_at IS NULL",
                               (token_hash(token),))
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


class AccessLog:
    def __init__(self, db: ReadModelDB):
        self.db = db

    def record(self, user: User, officer_id: str, what: str, as_of: str | None = None,
               query: str | None = None) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO access_log (accessed_at, user_id, role, officer_id, what,"
                            " as_of, query) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (_now(), user.user_id, user.role, str(officer_id), what, as_of, query))

    def entries(self, officer_id: str | None = None, user_id: str | None = None,
                after: int | None = None, limit: int = 100) -> dict[str, Any]:
        sql = ("SELECT id, accessed_at, user_id, role, officer_id, what, as_of, query"
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
        keys = ("id", "accessed_at", "user_id", "role", "officer_id", "what", "as_of", "query")
        items = [dict(zip(keys, r)) for r in rows[:limit]]
        return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}
