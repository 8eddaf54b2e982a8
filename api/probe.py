"""The database as ``/readyz`` and ``/metrics`` see it, read within a bound whatever the
database does.

A probe reads the log head and the projections' positions on a connection of its own
(never the request pool's), in a thread of its own: a caller waits at most
``wait_seconds`` and then answers "not ready" while the read goes on. One read is in flight
per worker at a time, however many probes arrive, so an outage ties up no request thread.
A read that hangs on a silent connection is cut off after ``hang_seconds`` (the socket is
shut down under it) and the connection is opened afresh next time; opening one gives up
after ``CONNECT_TIMEOUT`` seconds (PostgreSQL's minimum, 2).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import Future, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit_service.bootstrap import EVENT_POSITION, EVENTS_TABLE
from audit_service.config import DatabaseConfig
from projections.quarantine import TABLE as QUARANTINE_TABLE

CONNECT_TIMEOUT = 2
# The eventsourcing recorders' own statements for the log head.
HEAD_SQL = {kind: f"SELECT MAX({column}) FROM {EVENTS_TABLE[kind]}"
            for kind, column in EVENT_POSITION.items()}


@dataclass(frozen=True)
class Snapshot:
    """What the probe read: the log head and each projection's (position, updated_at)."""

    head: int
    positions: dict[str, tuple[int, str]]
    taken_at: float
    # Events each projection has quarantined and not yet applied (none: left out).
    quarantined: dict[str, int] = field(default_factory=dict)


class ProbeFailed(Exception):
    """The database did not answer the probe (in time); ``reason`` says how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class DatabaseProbe:
    def __init__(self, database: DatabaseConfig, *, wait_seconds: float = 1.0,
                 hang_seconds: float = 3.0, fresh_seconds: float = 0.0):
        self.database = database
        self.wait_seconds = wait_seconds
        self.hang_seconds = hang_seconds
        self.fresh_seconds = fresh_seconds
        self._lock = threading.Lock()
        self._inflight: Future | None = None
        self._started = 0.0
        self._last: Snapshot | None = None
        self._conn: Any = None

    def read(self) -> Snapshot:
        """A fresh snapshot (or one shared with the read in flight, or at most
        ``fresh_seconds`` old); ProbeFailed after ``wait_seconds``."""
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.taken_at < self.fresh_seconds:
                return last
            if self._inflight is None or self._inflight.done():
                self._inflight, self._started = Future(), time.monotonic()
                threading.Thread(target=self._run, args=(self._inflight,),
                                 name="database-probe", daemon=True).start()
            future, started = self._inflight, self._started
        # Every caller waits for the read in flight until ``wait_seconds`` after it began,
        # no longer: probes arriving during an outage give up at once.
        try:
            return future.result(timeout=max(0.0, started + self.wait_seconds - time.monotonic()))
        except FutureTimeout:
            waited = time.monotonic() - started
            raise ProbeFailed(f"the database has not answered for {waited:.1f} s") from None
        except Exception as exc:  # noqa: BLE001 - any failure of the read means "not ready"
            raise ProbeFailed(f"database unreachable: {type(exc).__name__}") from None

    def close(self) -> None:
        self._drop()

    # -- the probe's own thread ------------------------------------------------
    def _run(self, future: Future) -> None:
        try:
            snapshot = self._read()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
            self._drop()
            future.set_exception(exc)
            return
        self._last = snapshot
        future.set_result(snapshot)

    def _read(self) -> Snapshot:
        conn = self._conn or self._connect()
        self._conn = conn
        watchdog = threading.Timer(self.hang_seconds, self._interrupt, (conn,))
        watchdog.daemon = True
        watchdog.start()
        try:
            head = conn.execute(HEAD_SQL[self.database.kind]).fetchone()[0] or 0
            rows = conn.execute("SELECT name, position, updated_at FROM projection_positions"
                                ).fetchall()
            quarantined = self._quarantined(conn)
        finally:
            watchdog.cancel()
        return Snapshot(int(head), {name: (int(pos), updated) for name, pos, updated in rows},
                        time.monotonic(), quarantined)

    def _quarantined(self, conn: Any) -> dict[str, int]:
        """Unresolved quarantined events per projection; a store from before the quarantine
        table (``init-db`` not re-run) has none."""
        if self.database.kind == "sqlite":
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                  (QUARANTINE_TABLE,)).fetchone()
        else:
            exists = conn.execute("SELECT to_regclass(%s)", (QUARANTINE_TABLE,)).fetchone()[0]
        if not exists:
            return {}
        rows = conn.execute(f"SELECT projection, COUNT(*) FROM {QUARANTINE_TABLE}"
                            " WHERE resolved_at IS NULL GROUP BY projection").fetchall()
        return {name: int(n) for name, n in rows}

    def _connect(self) -> Any:
        db = self.database
        if db.kind == "sqlite":
            import sqlite3

            path = db.path or ""
            if path == ":memory:" or path.startswith("file:"):
                return sqlite3.connect(path, uri=True, timeout=self.wait_seconds,
                                       check_same_thread=False, isolation_level=None)
            # mode=rw: a probe never creates the database file.
            return sqlite3.connect(Path(path).absolute().as_uri() + "?mode=rw", uri=True,
                                   timeout=self.wait_seconds, check_same_thread=False,
                                   isolation_level=None)
        import psycopg

        timeout_ms = int(self.hang_seconds * 1000)
        conn = psycopg.connect(db.conninfo(), autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                               options=f"-c statement_timeout={timeout_ms}",
                               application_name="audit-service probe")
        if db.schema:
            conn.execute(f'SET search_path TO "{db.schema}"')
        return conn

    def _interrupt(self, conn: Any) -> None:
        """Cut off a read that hangs: shut the socket down under it (PostgreSQL), or
        interrupt the statement (SQLite)."""
        if self.database.kind == "sqlite":
            conn.interrupt()
            return
        try:
            fd = os.dup(conn.pgconn.socket)
        except Exception:  # noqa: BLE001 - already closed
            return
        s = socket.socket(fileno=fd)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            s.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
