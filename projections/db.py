"""Read-model database access for SQLite and PostgreSQL with one SQL dialect.

Queries are written with ``?`` placeholders and portable types; for PostgreSQL the
placeholders become ``%s`` and the connection's search_path is the configured schema.
Read models live in the same database as the event store, so a projection's rows and its
tracked position commit in one transaction.

Projections do not write row by row: they add rows to a ``WriteBatch``, which the projector
flushes once per batch of events, each table with one ``COPY`` (PostgreSQL) or
``executemany`` (SQLite), inside the batch's transaction.
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

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Append whole rows (every column, in table order): ``COPY`` on PostgreSQL."""
        if not rows:
            return
        if self.kind == "sqlite":
            marks = ", ".join("?" * len(rows[0]))
            self.conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            return
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)

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

    @contextmanager
    def savepoint(self) -> Iterator["ReadModelDB"]:
        """A nested part of the current transaction that can fail alone (rolled back to)."""
        conn = self.conn
        if self.kind == "sqlite":
            conn.execute("SAVEPOINT part")
            try:
                yield self
            except BaseException:
                conn.execute("ROLLBACK TO SAVEPOINT part")
                conn.execute("RELEASE SAVEPOINT part")
                raise
            conn.execute("RELEASE SAVEPOINT part")
        else:
            with conn.transaction():
                yield self

    def columns(self, table: str) -> set[str]:
        """The names of a table's columns (empty if it does not exist)."""
        if self.kind == "sqlite":
            return {r[1] for r in self.fetchall(f"PRAGMA table_info({table})")}
        return {r[0] for r in self.fetchall("SELECT column_name FROM information_schema.columns"
                                            " WHERE table_schema = current_schema()"
                                            " AND table_name = ?", (table,))}

    def table_exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            return self.fetchone("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                 (name,)) is not None
        return self.fetchone("SELECT to_regclass(?)", (name,))[0] is not None


class WriteBatch:
    """A batch's row writes, kept in memory per table and sent together by ``flush()``.

    Writes to one table keep their order: consecutive inserts become one ``insert_rows``
    and consecutive uses of one ``UPDATE`` one ``executemany``. Writes to different tables
    are independent of each other (no projection reads its tables back while writing; see
    ``readmodels.Lookup``), so tables are flushed one after another. ``flush()`` runs in the
    caller's transaction: if it fails, the transaction rolls back and nothing is kept.
    """

    def __init__(self, db: ReadModelDB, streams: "CopyStreams | None" = None):
        self.db = db
        self.streams = streams  # a bulk load: inserts into these tables go to their streams
        self._runs: dict[str, list[list]] = {}  # table -> [[None | update sql, rows], ...]
        self.pending = 0
        # while one event is applied on its own (``start_event``): the tables it wrote, in
        # order, so that ``undo_event`` can take its writes back
        self._journal: list[str] | None = None

    # -- one event's writes, checked and undoable (a rebuild sets a failing event aside) --
    def start_event(self) -> None:
        """Journal the writes that follow, and check each row can be stored."""
        self._journal = []

    def end_event(self) -> None:
        self._journal = None

    def undo_event(self) -> None:
        """Take back every write since ``start_event`` (they are all still in memory)."""
        journal, self._journal = self._journal or [], []
        for table in reversed(journal):
            runs = self._runs[table]
            runs[-1][1].pop()
            if not runs[-1][1]:
                runs.pop()
            if not runs:
                del self._runs[table]
            self.pending -= 1

    def _journalled(self, table: str, values: tuple) -> None:
        storable(values, self.db.kind == "postgresql")
        self._journal.append(table)

    def insert(self, table: str, row: tuple) -> None:
        if self._journal is not None:
            self._journalled(table, row)
        runs = self._runs.get(table)
        if runs is None:
            self._runs[table] = [[None, [row]]]
        elif runs[-1][0] is None:
            runs[-1][1].append(row)
        else:
            runs.append([None, [row]])
        self.pending += 1

    def update(self, table: str, sql: str, params: tuple) -> None:
        """An ``UPDATE`` (or other statement) on ``table``, in order with its inserts."""
        if self.streams is not None and table in self.streams.tables:
            raise ValueError(f"{table} is streamed: it takes inserts only")
        if self._journal is not None:
            self._journalled(table, params)
        runs = self._runs.get(table)
        if runs is None:
            self._runs[table] = [[sql, [params]]]
        elif runs[-1][0] == sql:
            runs[-1][1].append(params)
        else:
            runs.append([sql, [params]])
        self.pending += 1

    def flush_streams(self) -> None:
        """Send the rows of streamed tables to their streams; keep the others for ``flush``."""
        streams = self.streams
        if streams is None:
            return
        for table in streams.tables & self._runs.keys():
            for sql, rows in self._runs.pop(table):
                streams.write(table, rows)
                self.pending -= len(rows)

    def sync(self) -> None:
        """Make every row written so far readable on ``db``: flush, and commit the streams."""
        self.flush()
        if self.streams is not None:
            self.streams.sync()

    def flush(self) -> None:
        if not self.pending:
            return
        runs, self._runs, self.pending = self._runs, {}, 0
        streams = self.streams
        for table, table_runs in runs.items():
            for sql, rows in table_runs:
                if sql is not None:
                    self.db.executemany(sql, rows)
                elif streams is not None and table in streams.tables:
                    streams.write(table, rows)
                else:
                    self.db.insert_rows(table, rows)


class UnstorableText(ValueError):
    """A row holds text the database cannot store."""


def storable(values: Sequence[Any], postgresql: bool) -> None:
    """Raise ``UnstorableText`` if a row's text cannot be stored: a NUL character on
    PostgreSQL, an unpaired surrogate anywhere (it has no UTF-8 form).

    Checked before rows reach a bulk stream, where a failing row would end the whole stream."""
    for value in values:
        if type(value) is str:
            if postgresql and "\x00" in value:
                raise UnstorableText("PostgreSQL text fields cannot contain NUL (0x00) bytes")
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise UnstorableText(f"text without a UTF-8 form: {exc.reason}") from None


class CopyStreams:
    """Bulk loading on PostgreSQL: one long ``COPY`` per table, each on a connection of its own.

    Rows written here are streamed to the server as they come, with no round trip per batch.
    Other connections see them only after ``sync()``, which finishes every stream (a commit
    each; writing again starts new streams on the same connections), or ``close()``. For
    tables that are only ever appended to, while nothing else writes them.
    """

    def __init__(self, database: DatabaseConfig, tables: Sequence[str]):
        self.database = database
        self.tables = frozenset(tables)
        self._connections: dict[str, Any] = {}
        self._streams: dict[str, tuple[Any, Any, Any]] = {}  # table -> cursor, copy block, copy

    def write(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        stream = self._streams.get(table)
        if stream is None:
            conn = self._connections.get(table)
            if conn is None:
                conn = self._connections[table] = ReadModelDB(self.database).connect()
            cur = conn.cursor()
            block = cur.copy(f"COPY {table} FROM STDIN")
            stream = self._streams[table] = (cur, block, block.__enter__())
        write = stream[2].write_row
        for row in rows:
            write(row)

    def sync(self, error: BaseException | None = None) -> None:
        """Finish every stream: commit its rows or, with ``error``, abandon them."""
        streams, self._streams = self._streams, {}
        failure = None
        for cur, block, _ in streams.values():
            abandon = error or failure
            try:
                if abandon is None:
                    block.__exit__(None, None, None)
                else:
                    block.__exit__(type(abandon), abandon, abandon.__traceback__)
            except BaseException as exc:  # noqa: BLE001 - abandon the others, then raise
                failure = failure or exc
            finally:
                cur.close()
        if failure is not None and error is None:
            raise failure

    def close(self, error: BaseException | None = None) -> None:
        """``sync(error)``, then close the connections."""
        try:
            self.sync(error)
        finally:
            connections, self._connections = self._connections, {}
            for conn in connections.values():
                conn.close()
