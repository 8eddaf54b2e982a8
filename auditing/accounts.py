"""Web sign-in: user accounts with a password hash, the throttle on failed sign-ins, and
the key that signs session cookies.

Like API tokens these are operational state, not facts about officials, so they live in
plain tables beside the event store (created by ``init-db``). Passwords are kept only as
werkzeug scrypt hashes. An account has a role and optionally a unit, as a token does, and
acts under its own user id (``user_name``).
"""
from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from werkzeug.security import check_password_hash, generate_password_hash

from projections.db import ReadModelDB

from .access import TOKEN_ROLES, User
from audit_service.errors import NotFound, ValidationFailed

DDL = (
    "CREATE TABLE IF NOT EXISTS web_users (user_name TEXT PRIMARY KEY, password_hash TEXT"
    " NOT NULL, role TEXT NOT NULL, display_name TEXT NOT NULL, unit_id TEXT,"
    " created_at TEXT NOT NULL, disabled_at TEXT)",
    "CREATE TABLE IF NOT EXISTS web_sign_in_failures (user_name TEXT NOT NULL,"
    " address TEXT NOT NULL, failures INTEGER NOT NULL, last_failed_at DOUBLE PRECISION"
    " NOT NULL, PRIMARY KEY (user_name, address))",
    "CREATE TABLE IF NOT EXISTS web_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
FREE_FAILURES = 3        # failed sign-ins before any wait
MAX_WAIT_SECONDS = 900   # the wait doubles per further failure, up to this


def create_tables(db: ReadModelDB) -> list[str]:
    with db.transaction():
        for ddl in DDL:
            db.execute(ddl)
    return ["web users"]


def _now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_user_name(user_name: str) -> str:
    name = (user_name or "").strip().lower()
    if not USER_NAME.match(name):
        raise ValidationFailed("invalid user name", details={
            "user_name": "2 to 64 characters: lower-case letters, digits, '.', '_' or '-'"})
    return name


class Accounts:
    def __init__(self, db: ReadModelDB):
        self.db = db

    def set_password(self, user_name: str, password: str, role: str | None = None,
                     display_name: str | None = None, unit_id: str | None = None) -> User:
        """Create the account (``role`` required then) or change its password."""
        name = check_user_name(user_name)
        if len(password or "") < MIN_PASSWORD or len(password) > 1024:
            raise ValidationFailed("the password is too short", details={
                "password": f"{MIN_PASSWORD} to 1024 characters"})
        if role is not None and role not in TOKEN_ROLES:
            raise ValidationFailed(f"unknown role {role!r}", details={
                "role": f"must be one of {', '.join(TOKEN_ROLES)}"})
        digest = generate_password_hash(password, method="scrypt")
        with self.db.transaction():
            row = self.db.fetchone("SELECT role FROM web_users WHERE user_name = ?", (name,))
            if row is None:
                if role is None:
                    raise ValidationFailed("a new user needs a role", details={
                        "role": f"one of {', '.join(TOKEN_ROLES)}"})
                self.db.execute("INSERT INTO web_users (user_name, password_hash, role,"
                                " display_name, unit_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                (name, digest, role, display_name or name, unit_id, _now_text()))
            else:
                self.db.execute("UPDATE web_users SET password_hash = ?, disabled_at = NULL"
                                " WHERE user_name = ?", (digest, name))
                for column, value in (("role", role), ("display_name", display_name),
                                      ("unit_id", unit_id)):
                    if value is not None:
                        self.db.execute(f"UPDATE web_users SET {column} = ? WHERE user_name = ?",
                                        (value, name))
        found = self.user(name)
        assert found is not None
        return found

    def user(self, user_name: str) -> User | None:
        row = self.db.fetchone("SELECT user_name, role, display_name, unit_id FROM web_users"
                               " WHERE user_name = ? AND disabled_at IS NULL",
                               ((user_name or "").strip().lower(),))
        return User(*row) if row else None

    def verify(self, user_name: str, password: str) -> User | None:
        row = self.db.fetchone("SELECT password_hash FROM web_users WHERE user_name = ?"
                               " AND disabled_at IS NULL", ((user_name or "").strip().lower(),))
        if row is None:
            # the same work as a real check, so timing does not tell which names exist
            check_password_hash(_DUMMY_HASH, password or "")
            return None
        return self.user(user_name) if check_password_hash(row[0], password or "") else None

    def disable(self, user_name: str) -> None:
        with self.db.transaction():
            if self.db.fetchone("SELECT 1 FROM web_users WHERE user_name = ?",
                                (user_name,)) is None:
                raise NotFound(f"no user {user_name}", code="user_not_found")
            self.db.execute("UPDATE web_users SET disabled_at = ? WHERE user_name = ?",
                            (_now_text(), user_name))

    def list(self) -> list[dict]:
        keys = ("user_name", "role", "display_name", "unit_id", "created_at", "disabled_at")
        rows = self.db.fetchall(f"SELECT {', '.join(keys)} FROM web_users ORDER BY user_name")
        return [dict(zip(keys, r)) for r in rows]

    def session_secret(self) -> str:
        """The key that signs session cookies, made once per database: every worker of
        every host serving it signs and reads the same cookies."""
        row = self.db.fetchone("SELECT value FROM web_secrets WHERE name = 'session'")
        if row:
            return row[0]
        with self.db.transaction():
            conflict = ("INSERT OR IGNORE INTO" if self.db.kind == "sqlite" else "INSERT INTO")
            tail = "" if self.db.kind == "sqlite" else " ON CONFLICT (name) DO NOTHING"
            self.db.execute(f"{conflict} web_secrets (name, value) VALUES ('session', ?){tail}",
                            (secrets.token_urlsafe(48),))
        return self.db.fetchone("SELECT value FROM web_secrets WHERE name = 'session'")[0]


_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


@dataclass
class SignInThrottle:
    """Slows down guessing: after ``FREE_FAILURES`` failed sign-ins for one user name from
    one address, each further try must wait 2, 4, 8 … seconds (up to ``MAX_WAIT_SECONDS``)
    after the last failure; a success clears the count."""

    db: ReadModelDB
    clock: Callable[[], float]

    def wait_seconds(self, user_name: str, address: str) -> int:
        row = self.db.fetchone("SELECT failures, last_failed_at FROM web_sign_in_failures"
                               " WHERE user_name = ? AND address = ?",
                               (user_name.strip().lower(), address))
        if row is None or row[0] < FREE_FAILURES:
            return 0
        wait = min(2 ** (row[0] - FREE_FAILURES + 1), MAX_WAIT_SECONDS)
        return max(0, math.ceil(float(row[1]) + wait - self.clock()))

    def failed(self, user_name: str, address: str) -> None:
        key = (user_name.strip().lower()[:200], address)
        with self.db.transaction():
            row = self.db.fetchone("SELECT failures FROM web_sign_in_failures"
                                   " WHERE user_name = ? AND address = ?", key)
            if row is None:
                self.db.execute("INSERT INTO web_sign_in_failures (user_name, address,"
                                " failures, last_failed_at) VALUES (?, ?, 1, ?)",
                                (*key, self.clock()))
            else:
                self.db.execute("UPDATE web_sign_in_failures SET failures = failures + 1,"
                                " last_failed_at = ? WHERE user_name = ? AND address = ?",
                                (self.clock(), *key))

    def succeeded(self, user_name: str, address: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM web_sign_in_failures WHERE user_name = ?"
                            " AND address = ?", (user_name.strip().lower(), address))
