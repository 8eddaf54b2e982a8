"""Read-model database access for SQLite and PostgreSQL with one SQL dialect.

Queries are written with ``?`` placeholders and portable types; for PostgreSQL the
placeholders become ``%s`` and the connection's search_path is the configured schema.
Read models live in the same database as the event store, so a projection's rows and its
tracked position commit in one transaction.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from audit_service.config import DatabaseConfig


class ReadModelDB:
    def __init__(self, database: DatabaseConfig):
        self.database = database
        self.kind = database.kind
        self._conn: Any = None

    # -- connections ---------------------------------------------------------
    def connect(self) -> Any:
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.database.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        conn = psycopg.connect(self.database.conninfo(), autocommit=True, connect_timeout=5)
        if self.database.schema:
            conn.execute(f'SET search_path TO "{self.database.schema}"')
        return conn

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def reset(self) -> None:
        """Drop a connection that may be broken (the next use reconnects)."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - a dead connection may fail to close
            self._conn = None

    # -- statements ----------------------------------------------------------
    def q(self, sql: str) -> str:
        return sql if self.kind == "sqlite" else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.q(sql), params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(self.q(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator["ReadModelDB"]:
        """One write transaction; SQLite takes the write lock up front (BEGIN IMMEDIATE)."""
        conn = self.conn
        if self.kind == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield self

    def table_exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            return self.fetchone("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                 (name,)) is not None
        return self.fetchone("SELECT to_regclass(?)", (name,))[0] is not None
