"""Event recorders that write large batches (a bulk import) the way the raw driver would:
``COPY`` on PostgreSQL, one ``executemany`` on SQLite.

eventsourcing's recorder inserts a batch as one ``INSERT … SELECT FROM unnest(array of a
composite type) RETURNING notification_id``, after taking the table's EXCLUSIVE lock (so
that notification ids are issued in commit order). Building and unpacking that array costs
more than the rows themselves on large batches (a bulk import). This recorder takes the same
lock, writes the rows with binary ``COPY`` (the id column's sequence numbers them in the
order written), and reads back the ids issued after the highest one seen under the lock:
nobody else can insert meanwhile, so those are exactly this batch's. Unique keys are the
same table constraints, so a duplicate still fails the whole transaction. Small batches
(every API command) and batches with a tracking record go the library's way.
"""
from __future__ import annotations

from typing import Any, Sequence
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

COPY_THRESHOLD = 64  # events; below it the library's INSERT is as quick


class CopyingApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema),
                                      Identifier(self.events_table_name))
        self.copy_statement = SQL(
            "COPY {0} (originator_id, originator_version, topic, state) FROM STDIN"
            " (FORMAT BINARY)").format(table)
        self.events_of_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {0}"
            " WHERE originator_id = ANY(%s)").format(table)
        self.analyze_statement = SQL("ANALYZE {0}").format(table)
        self.ids_after_statement = SQL(
            "SELECT notification_id FROM {0} WHERE notification_id > %s"
            " ORDER BY notification_id").format(table)
        self.span_after_statement = SQL(
            "SELECT count(*) AS n, min(notification_id) AS lo, max(notification_id) AS hi"
            " FROM {0} WHERE notification_id > %s").format(table)
        # the library's lock statements, its NOTIFY and the head, in one round trip (the
        # writer may run in a thread of its own: each round trip waits for the GIL again)
        self.lock_and_head_script = SQL("; ").join(
            [*self.lock_table_statements,
             SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
             self.max_notification_id_statement])

    def analyze(self) -> None:
        """Refresh the planner's statistics of the events table. A bulk import calls it as
        the log grows (autovacuum may be off, or behind a load that outruns it)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.analyze_statement)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, in one query (any order)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.events_of_statement, (list(originator_ids),))
            return [StoredEvent(originator_id=r["originator_id"],
                                originator_version=r["originator_version"], topic=r["topic"],
                                state=bytes(r["state"])) for r in curs.fetchall()]

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if (len(stored_events) < COPY_THRESHOLD or kwargs.get("tracking") is not None
                or self.datastore.enable_db_functions):
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            curs.execute(self.lock_and_head_script)
            while curs.nextset():  # to the last statement's result: the head
                pass
            row = curs.fetchone()
            before = (row["max"] if row else None) or 0
            with curs.copy(self.copy_statement) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for e in stored_events:
                    copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
            # the ids issued under the lock; when they run without a gap (they do, the
            # sequence serving no one else meanwhile) their span says them all
            curs.execute(self.span_after_statement, (before,))
            span = curs.fetchone()
            if span["n"] and span["hi"] - span["lo"] + 1 == span["n"]:
                ids = list(range(span["lo"], span["hi"] + 1))
            else:
                curs.execute(self.ids_after_statement, (before,))
                ids = [r["notification_id"] for r in curs.fetchall()]
        if len(ids) != len(stored_events):  # pragma: no cover - the lock forbids it
            raise ProgrammingError(f"COPY wrote {len(stored_events)} events but {len(ids)}"
                                   " notification ids were found after it")
        return ids


class BatchingSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder inserts a batch one row at a time to read each row's
    id; this one inserts large batches with one ``executemany``. The rows take consecutive
    rowids (one more than the highest, and nobody else can write while the transaction
    holds SQLite's write lock), so the ids are the ``len(batch)`` ending at the highest
    rowid after the insert. Unique keys and the transaction are the library's."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, in few queries (any order)."""
        found = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(originator_ids), 500):
                part = [i.hex for i in originator_ids[start:start + 500]]
                c.execute(f"SELECT originator_id, originator_version, topic, state FROM"
                          f" {self.events_table_name} WHERE originator_id IN"
                          f" ({', '.join('?' for _ in part)})", part)
                found += [StoredEvent(originator_id=UUID(r["originator_id"]),
                                      originator_version=r["originator_version"],
                                      topic=r["topic"], state=r["state"])
                          for r in c.fetchall()]
        return found

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) < COPY_THRESHOLD or kwargs.get("tracking") is not None:
            return super().insert_events(stored_events, **kwargs)
        rows = [(e.originator_id.hex if isinstance(e.originator_id, UUID) else e.originator_id,
                 e.originator_version, e.topic, e.state) for e in stored_events]
        with self.datastore.transaction(commit=True) as c:
            c.executemany(self.insert_events_statement, rows)
            written = c.sqlite_cursor.rowcount
            c.execute(self.select_max_notification_id_statement)
            last = c.fetchone()[0]
        if written != len(rows):  # pragma: no cover - executemany reports every row
            raise ProgrammingError(f"executemany wrote {written} of {len(rows)} events")
        return list(range(last - len(rows) + 1, last + 1))
