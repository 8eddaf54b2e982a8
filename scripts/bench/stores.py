"""Fresh stores for a run (a PostgreSQL schema or a SQLite file) and the raw-driver baselines.

The raw baselines write rows shaped like the library's stored events (originator id,
version, topic, state) into a scratch table of the same store, with nothing of the
library or the service in the way: what the database and the driver alone can do on this
machine, measured in the same run as the figures they are compared with.
"""
from __future__ import annotations

import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from auditing.bootstrap import init_database
from audit_service.config import Settings

SCRATCH = "bench_scratch_events"
SCRATCH_DDL_PG = (f"CREATE TABLE {SCRATCH} (id bigserial PRIMARY KEY, originator_id uuid NOT NULL,"
                  " originator_version integer NOT NULL, topic text NOT NULL, state bytea NOT NULL,"
                  " UNIQUE (originator_id, originator_version))")
SCRATCH_DDL_SQLITE = (f"CREATE TABLE {SCRATCH} (id INTEGER PRIMARY KEY, originator_id TEXT NOT NULL,"
                      " originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL,"
                      " UNIQUE (originator_id, originator_version))")
TOPIC = "audit_service.domain.evaluations:MonthlyGrade.Recorded"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def conninfo(url: str) -> str:
    return Settings.from_env({"AUDIT_DATABASE_URL": url}).database.conninfo()


@dataclass
class Store:
    """One fresh store: its URL for the service (``?schema=`` on PostgreSQL) and how to drop it."""

    base_url: str
    url: str
    schema: str | None = None
    path: Path | None = None

    @property
    def kind(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"

    @property
    def env(self) -> dict[str, str]:
        return {"AUDIT_DATABASE_URL": self.url}

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @classmethod
    def fresh(cls, base_url: str, label: str, workdir: Path) -> "Store":
        """A new, initialised store (``init_database``): a new schema or a new SQLite file."""
        if is_sqlite(base_url):
            path = workdir / f"bench-{label}-{uuid.uuid4().hex[:6]}.sqlite3"
            store = cls(base_url, f"sqlite:///{path}", path=path)
        else:
            import psycopg

            schema = "bench_" + uuid.uuid4().hex[:10]
            with psycopg.connect(conninfo(base_url), autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in base_url else "?"
            store = cls(base_url, f"{base_url}{sep}schema={schema}", schema=schema)
        init_database(store.settings)
        return store

    def drop(self) -> None:
        if self.schema:
            import psycopg

            with psycopg.connect(conninfo(self.base_url), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        elif self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)

    # ------------------------------------------------------------------ raw connections
    def _pg(self, autocommit: bool):
        import psycopg

        conn = psycopg.connect(conninfo(self.base_url), autocommit=autocommit)
        conn.execute(f"SET search_path TO {self.schema}")
        if not autocommit:
            conn.commit()
        return conn

    def _sqlite(self) -> sqlite3.Connection:
        # The same settings the library's SQLite recorder uses for a file: WAL, autocommit.
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def make_scratch(self) -> None:
        if self.kind == "sqlite":
            with self._sqlite() as conn:
                conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
                conn.execute(SCRATCH_DDL_SQLITE)
            return
        with self._pg(autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            conn.execute(SCRATCH_DDL_PG)

    def average_state_bytes(self) -> int:
        """Mean size of the stored events' state, so the raw rows weigh the same."""
        if self.kind == "sqlite":
            with self._sqlite() as conn:
                row = conn.execute("SELECT AVG(LENGTH(state)) FROM stored_events").fetchone()
        else:
            with self._pg(autocommit=True) as conn:
                row = conn.execute("SELECT AVG(LENGTH(state)) FROM auditservice_events").fetchone()
        return int(row[0] or 200)

    # ------------------------------------------------------------------ baselines
    def raw_single_commits(self, seconds: float, state_bytes: int = 200) -> dict:
        """One INSERT per transaction (autocommit), sequential, for ``seconds``: commits/s."""
        self.make_scratch()
        state = os.urandom(state_bytes)
        count = 0
        if self.kind == "sqlite":
            conn = self._sqlite()
            sql = f"INSERT INTO {SCRATCH} (originator_id, originator_version, topic, state) VALUES (?, 1, ?, ?)"
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                conn.execute(sql, (uuid.uuid4().hex, TOPIC, state))
                count += 1
            elapsed = time.perf_counter() - started
            conn.close()
        else:
            conn = self._pg(autocommit=True)
            sql = f"INSERT INTO {SCRATCH} (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                conn.execute(sql, (uuid.uuid4(), TOPIC, state), prepare=True)
                count += 1
            elapsed = time.perf_counter() - started
            conn.close()
        return {"commits": count, "seconds": elapsed, "per_s": count / elapsed}

    def raw_batched(self, rows: int, batch: int, state_bytes: int, method: str = "executemany") -> dict:
        """``rows`` rows in transactions of ``batch`` rows, by executemany or COPY: rows/s."""
        self.make_scratch()
        state = os.urandom(state_bytes)
        done = 0
        if self.kind == "sqlite":
            conn = self._sqlite()
            sql = f"INSERT INTO {SCRATCH} (originator_id, originator_version, topic, state) VALUES (?, 1, ?, ?)"
            started = time.perf_counter()
            while done < rows:
                n = min(batch, rows - done)
                conn.execute("BEGIN")
                conn.executemany(sql, [(uuid.uuid4().hex, TOPIC, state) for _ in range(n)])
                conn.execute("COMMIT")
                done += n
            elapsed = time.perf_counter() - started
            conn.close()
            method = "executemany"
        else:
            conn = self._pg(autocommit=False)
            cols = "(originator_id, originator_version, topic, state)"
            started = time.perf_counter()
            with conn.cursor() as cur:
                while done < rows:
                    n = min(batch, rows - done)
                    if method == "copy":
                        with cur.copy(f"COPY {SCRATCH} {cols} FROM STDIN") as copy:
                            for _ in range(n):
                                copy.write_row((uuid.uuid4(), 1, TOPIC, state))
                    else:
                        cur.executemany(f"INSERT INTO {SCRATCH} {cols} VALUES (%s, 1, %s, %s)",
                                        [(uuid.uuid4(), TOPIC, state) for _ in range(n)])
                    conn.commit()
                    done += n
            elapsed = time.perf_counter() - started
            conn.close()
        return {"rows": done, "batch": batch, "method": method, "seconds": elapsed,
                "per_s": done / elapsed}


def postgres_info(base_url: str) -> dict | None:
    if is_sqlite(base_url):
        return None
    import psycopg

    with psycopg.connect(conninfo(base_url), autocommit=True) as conn:
        out = {}
        for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers",
                     "max_connections"):
            out[name] = conn.execute(f"SHOW {name}").fetchone()[0]
        return out
