"""The projector: follows the notification log and keeps the read models current.

Each batch is applied in one transaction that also advances every projection's tracked
position, so a crash leaves either the whole batch or none of it: exactly once, and a
restart resumes where the last commit ended. Works by polling on SQLite and PostgreSQL.
On PostgreSQL only one projector per database is active (an advisory lock); others wait
and take over when it dies.

No single event can stop a projection: when a batch fails for any reason but the database's
state (``is_systemic``: unreachable, busy, a table missing), its events are applied again
one by one, and an event that fails for a projection is quarantined (``quarantine``) in the
transaction that moves that projection past it. A rebuild sets such events aside the same
way. The followers of the log (the integrity chain) run in each turn whatever the read
models do.
"""
from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from eventsourcing.utils import resolve_topic

from audit_service.application import AuditService

from . import quarantine
from .db import CopyStreams, ReadModelDB, WriteBatch
from .readmodels import PROJECTIONS, Projection, iso_ts

log = logging.getLogger("audit_service.projector")

TRACKING_DDL = ("CREATE TABLE IF NOT EXISTS projection_positions (name TEXT PRIMARY KEY,"
                " position {big} NOT NULL, updated_at TEXT NOT NULL)")
PROJECTOR_LOCK_KEY = 0x50524F4A  # "PROJ": with the schema's key, one active projector per store


def lock_keys(database: Any) -> tuple[int, int]:
    """The advisory-lock key pair of a store: deployments in separate schemas of one
    database each get their own active projector."""
    import zlib

    return PROJECTOR_LOCK_KEY, zlib.crc32((database.schema or "public").encode()) & 0x7FFFFFFF
SHADOW = "__rebuild"
SHARE_MODULUS = 64  # a split rebuild deals out aggregates by their id's last byte modulo this
FLUSH_ROWS = 5_000  # a rebuild flushes its buffered rows when this many are waiting


def create_tables(db: ReadModelDB) -> list[str]:
    """Create the tracking table and every projection's tables (idempotent)."""
    big = "INTEGER" if db.kind == "sqlite" else "BIGINT"
    with db.transaction():
        db.execute(TRACKING_DDL.format(big=big))
        quarantine.create_table(db)
        for cls in PROJECTIONS:
            projection = cls(reference=None)
            _upgrade(db, projection)
            projection.create(db)
            db.execute("INSERT INTO projection_positions (name, position, updated_at)"
                       " SELECT ?, 0, ? WHERE NOT EXISTS"
                       " (SELECT 1 FROM projection_positions WHERE name = ?)",
                       (cls.name, iso_ts(_now()), cls.name))
    return [f"projection {cls.name}" for cls in PROJECTIONS] + ["projection quarantine"]


def _upgrade(db: ReadModelDB, projection: Projection) -> None:
    """A projection whose tables predate columns it now keeps (``added_columns``) is emptied
    and applied again from the start of the log: the new columns are worked out from the
    events, never left empty."""
    for table, added in projection.added_columns.items():
        have = db.columns(table)
        if have and not set(added) <= have:
            projection.drop(db)
            db.execute("UPDATE projection_positions SET position = 0 WHERE name = ?",
                       (projection.name,))
            return


def topic_kind(topic: str) -> str:
    """The event type (``Aggregate.Event``) a topic names, without needing its class: an
    event this code cannot resolve (a later version's, say) is routed by its topic's text,
    so a projection that takes every event of its aggregate gets it (and quarantines it),
    and one that does not is not concerned."""
    try:
        return resolve_topic(topic).__qualname__
    except Exception:  # noqa: BLE001 - unknown module or class: route by the text
        return topic.partition(":")[2] or topic


def is_systemic(exc: BaseException) -> bool:
    """Whether a failure comes from the database's state, the schema or the process rather
    than from the event: unreachable, busy, a lock or statement timeout, a serialisation
    conflict, a table or column missing (values are always bound parameters, so SQL errors
    of that kind are never an event's doing), memory exhausted. Such a batch is tried again
    later and never quarantined; otherwise one missing table would set every event aside."""
    import sqlite3

    if isinstance(exc, (ConnectionError, TimeoutError, MemoryError, sqlite3.OperationalError,
                        sqlite3.ProgrammingError)):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support not installed
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError,
                            psycopg.ProgrammingError, psycopg.InternalError))


def catch_up(follower: Any) -> int:
    """Run a follower of the log (``run_once()`` applying at most ``batch_size``
    notifications) until a batch is not full; returns how many it applied in all."""
    total = 0
    while True:
        n = follower.run_once()
        total += n
        if n < follower.batch_size:
            return total


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


@dataclass
class Status:
    name: str
    position: int
    head: int
    updated_at: str
    quarantined: list[dict] | None = None  # events set aside, in log order (``quarantine``)

    @property
    def behind(self) -> int:
        return max(0, self.head - self.position)


class Projector:
    def __init__(self, app: AuditService, db: ReadModelDB | None = None,
                 projections: list[Projection] | None = None, batch_size: int = 500):
        self.app = app
        self.db = db or ReadModelDB(app.settings.database)
        self.projections = projections or [cls(app.reference) for cls in PROJECTIONS]
        for p in self.projections:
            p.first_events = self.first_event
        self.batch_size = batch_size
        self.stop_event = threading.Event()
        # other followers of the log (the integrity chain) advanced in each turn, each in
        # its own transaction with its own tracked position
        self.followers: list[Any] = []
        self.rebuild_quarantined: list[dict] = []  # what the last rebuild set aside

    def first_event(self, originator_id: uuid.UUID) -> Any:
        """The first event of an aggregate, from the event store (None if it has none)."""
        stored = self.app.recorder.select_events(originator_id, limit=1)
        return self.app.mapper.to_domain_event(stored[0]) if stored else None

    # -- positions -------------------------------------------------------------
    def positions(self) -> dict[str, int]:
        rows = self.db.fetchall("SELECT name, position FROM projection_positions")
        return {name: int(pos) for name, pos in rows}

    def status(self) -> list[Status]:
        head = self.app.recorder.max_notification_id() or 0
        rows = self.db.fetchall("SELECT name, position, updated_at FROM projection_positions"
                                " ORDER BY name")
        aside: dict[str, list[dict]] = {}
        for row in quarantine.unresolved(self.db):
            aside.setdefault(row["projection"], []).append(quarantine.public(row))
        return [Status(name, int(pos), head, updated, aside.get(name, []))
                for name, pos, updated in rows]

    # -- applying --------------------------------------------------------------
    def _apply_batch(self, notifications: list, projections: list[Projection],
                     positions: dict[str, int], out: WriteBatch,
                     set_aside: Callable[[Projection, Any, Any, Exception], Any] | None = None
                     ) -> None:
        """Apply decoded events to the projections' write batch (nothing is sent here).

        Who applies a notification is decided from its topic, position and originator before
        it is decoded, so events no projection here applies (or outside a rebuild's share)
        cost no decoding. With ``set_aside`` (a rebuild), each event is applied to each
        projection on its own: if decoding or applying it fails, or a row it writes could
        not be stored, its writes are taken back and ``set_aside(projection, notification,
        event or None, error)`` is called; without, any failure fails the batch."""
        to_domain_event = self.app.mapper.to_domain_event
        routes: dict[str, list[tuple[Projection, int, Any]]] = {}  # topic -> who applies it
        for n in notifications:
            chosen = routes.get(n.topic)
            if chosen is None:
                kind = topic_kind(n.topic)
                chosen = routes[n.topic] = [(p, positions[p.name], p.share) for p in projections
                                            if p.handles(kind)]
            event = None
            position = n.id
            for p, done, share in chosen:
                if position <= done or (share is not None and share_of(n.originator_id)
                                        not in share):
                    continue
                if set_aside is None:
                    if event is None:
                        event = to_domain_event(n)
                        recorded_at = iso_ts(event.timestamp)
                    p.apply(out, position, recorded_at, event)
                    continue
                out.start_event()
                try:
                    if event is None:
                        event = to_domain_event(n)
                        recorded_at = iso_ts(event.timestamp)
                    p.apply(out, position, recorded_at, event)
                except Exception as exc:  # noqa: BLE001 - any failure of this event sets it aside
                    if is_systemic(exc):
                        raise
                    out.undo_event()
                    set_aside(p, n, event, exc)
                finally:
                    out.end_event()

    def run_once(self) -> int:
        """Apply the next batch, if any, then let each follower take its next batch; returns
        the most notifications any of them covered (a full batch: more to do).

        Each runs whatever the others did: a failure of the read models (the database
        refusing their writes, say) never keeps the integrity chain from advancing. The
        first failure is raised after all have had their turn."""
        failures: list[Exception] = []
        applied = 0
        try:
            applied = self._apply_next()
        except Exception as exc:  # noqa: BLE001 - raised once the followers had their turn
            failures.append(exc)
        for follower in self.followers:
            follower.batch_size = self.batch_size
            try:
                applied = max(applied, follower.run_once())
            except Exception as exc:  # noqa: BLE001 - as above
                failures.append(exc)
        if failures:
            raise failures[0]
        return applied

    def _apply_next(self) -> int:
        """The next batch in one transaction; if it fails for anything but the database's
        state (``is_systemic``), its events one by one (``_apply_singly``)."""
        try:
            return self._apply_next_batch()
        except Exception as exc:  # noqa: BLE001 - see is_systemic
            if is_systemic(exc):
                raise
            log.warning("a batch failed (%s: %s); applying its events one by one",
                        type(exc).__name__, quarantine.safe_text(str(exc), 300))
            return self._apply_singly()

    def _apply_singly(self) -> int:
        """Apply the next batch's events one at a time, each in its own transaction."""
        for p in self.projections:
            p.begin(complete=False)  # the failed batch may have left values in the lookups
        start = min(self.positions()[p.name] for p in self.projections)
        notifications = self.app.recorder.select_notifications(
            start=start, limit=self.batch_size, inclusive_of_start=False)
        for n in notifications:
            self._apply_alone(n)
        return len(notifications)

    def _apply_alone(self, n: Any) -> None:
        """One event, applied to each projection in a savepoint of one transaction; a
        projection it fails for quarantines it. Every projection's position moves past it."""
        with self.db.transaction():
            positions = self._locked_positions()
            kind = topic_kind(n.topic)
            now = iso_ts(_now())
            event = None
            for p in self.projections:
                if positions[p.name] >= n.id:
                    continue
                if p.handles(kind):
                    try:
                        with self.db.savepoint():
                            if event is None:
                                event = self.app.mapper.to_domain_event(n)
                            out = WriteBatch(self.db)
                            p.apply(out, n.id, iso_ts(event.timestamp), event)
                            out.flush()
                    except Exception as exc:  # noqa: BLE001 - the event's failure, not ours
                        if is_systemic(exc):
                            raise
                        p.begin(complete=False)  # forget what the failed apply looked up
                        quarantine.record(self.db, p.name, n, event, exc, now)
                        log.error("projection %s quarantined the event at position %s (%s):"
                                  " %s: %s", p.name, n.id, n.topic, type(exc).__name__,
                                  quarantine.safe_text(str(exc), 300))
                self.db.execute("UPDATE projection_positions SET position = ?, updated_at = ?"
                                " WHERE name = ?", (n.id, now, p.name))

    def _apply_next_batch(self) -> int:
        with self.db.transaction():
            positions = self._locked_positions()
            start = min(positions[p.name] for p in self.projections)
            notifications = self.app.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False)
            if not notifications:
                return 0
            for p in self.projections:
                p.begin(complete=False)  # other writers may have changed the tables since
            out = WriteBatch(self.db)
            self._apply_batch(notifications, self.projections, positions, out)
            out.flush()
            last = notifications[-1].id
            now = iso_ts(_now())
            for p in self.projections:
                self.db.execute("UPDATE projection_positions SET position = ?, updated_at = ?"
                                " WHERE name = ?", (last, now, p.name))
        return len(notifications)

    # -- quarantined events ------------------------------------------------------
    def retry(self, projection: str | None = None, position: int | None = None) -> list[dict]:
        """Apply quarantined events again (after a fix), in log order, each in its own
        transaction: one that applies is marked resolved (``applied``, with the time; the row
        is kept as history), one that fails again stays quarantined with its new error.
        Returns what happened to each: ``{projection, position, outcome, error}``.

        The event is applied at its own position, after the events that followed it; a
        projection whose later rows depended on it is exact again after a rebuild."""
        names = {p.name: p for p in self.projections}
        if projection is not None and projection not in names:
            raise ValueError(f"unknown projection: {projection}")
        results = []
        for row in quarantine.unresolved(self.db, projection, position):
            p = names.get(row["projection"])
            if p is None:
                continue
            results.append(self._retry_one(p, row))
        return results

    def _retry_one(self, p: Projection, row: dict) -> dict:
        position = row["position"]
        result = {"projection": p.name, "position": position, "outcome": "applied",
                  "error": None}
        with self.db.transaction():
            self._locked_positions()  # one writer at a time with the live projector
            now = iso_ts(_now())
            found = self.app.recorder.select_notifications(
                start=position, limit=1, inclusive_of_start=True)
            try:
                if not found or found[0].id != position:
                    raise LookupError(f"the log has no event at position {position}")
                with self.db.savepoint():
                    p.begin(complete=False)
                    event = self.app.mapper.to_domain_event(found[0])
                    out = WriteBatch(self.db)
                    p.apply(out, position, iso_ts(event.timestamp), event)
                    out.flush()
            except Exception as exc:  # noqa: BLE001 - reported, and the event stays aside
                if is_systemic(exc):
                    raise
                p.begin(complete=False)
                quarantine.mark_attempt(self.db, row, exc, now)
                error_type, error = quarantine.describe(exc)
                result.update(outcome="failed", error=f"{error_type}: {error}")
                return result
            quarantine.resolve(self.db, row, now, "applied")
        return result

    def _locked_positions(self) -> dict[str, int]:
        """Read tracked positions inside the batch's transaction, locking them on PostgreSQL."""
        lock = "" if self.db.kind == "sqlite" else " FOR UPDATE"
        rows = self.db.fetchall(f"SELECT name, position FROM projection_positions{lock}")
        return {name: int(pos) for name, pos in rows}

    def catch_up(self) -> int:
        """Apply everything currently in the log; returns the number of notifications."""
        return catch_up(self)

    def run(self, poll_interval: float = 0.1, on_error_wait: float = 1.0,
            single_active: bool = True) -> None:
        """Follow the log until ``stop()``; survives a database outage by retrying."""
        with self._active_lock(single_active):
            while not self.stop_event.is_set():
                try:
                    if self.run_once() < self.batch_size:
                        self.stop_event.wait(poll_interval)
                except Exception:  # noqa: BLE001 - keep following the log after an outage
                    log.exception("projector batch failed; retrying")
                    self.db.reset()
                    for follower in self.followers:
                        follower.db.reset()
                    self.stop_event.wait(on_error_wait)

    def stop(self) -> None:
        self.stop_event.set()

    @contextmanager
    def _active_lock(self, enabled: bool) -> Iterator[None]:
        """On PostgreSQL, hold an advisory lock for as long as this projector is active."""
        if not enabled or self.db.kind != "postgresql":
            yield
            return
        holder = ReadModelDB(self.app.settings.database)
        try:
            while not self.stop_event.is_set():
                got = holder.fetchone("SELECT pg_try_advisory_lock(?, ?)",
                                      lock_keys(self.app.settings.database))[0]
                if got:
                    break
                log.info("another projector is active; waiting")
                self.stop_event.wait(1.0)
            yield
        finally:
            holder.close()  # closing the session releases the lock

    # -- rebuilding ------------------------------------------------------------
    def rebuild(self, names: list[str] | None = None,
                progress: Callable[[int, int], Any] | None = None, workers: int = 1) -> int:
        """Replay the whole log into shadow tables, then swap them in atomically.

        Readers keep seeing the old tables until the swap; memory stays flat because the
        log is read in batches and what the projections look up is bounded (``Lookup``).
        The shadow tables get their indexes (and on PostgreSQL the keys of append-only
        tables) after the bulk of the rows is in, before the swap.

        ``workers`` > 1 (PostgreSQL only): the projections that split by originator (the
        officer timeline) are loaded by that many processes, each applying the events of its
        share of the aggregates; this process applies its share and everything else. Every
        process loads the log up to the same position, and the events after it are applied
        here, inside the swap's transaction. Returns the position the rebuild reached.
        """
        chosen = [cls for cls in PROJECTIONS if names is None or cls.name in names]
        unknown = set(names or []) - {cls.name for cls in PROJECTIONS}
        if unknown:
            raise ValueError(f"unknown projection(s): {', '.join(sorted(unknown))}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        shadows = [cls(self.app.reference, suffix=SHADOW) for cls in chosen]
        for s in shadows:
            s.first_events = self.first_event
        token = uuid.uuid4().hex[:8]
        with self.db.transaction():
            quarantine.create_table(self.db, quarantine.SHADOW_TABLE)
            self.db.execute(f"DELETE FROM {quarantine.SHADOW_TABLE} WHERE projection IN"
                            f" ({', '.join('?' * len(chosen))})", [c.name for c in chosen])
            for s in shadows:
                s.drop(self.db)
                s.create(self.db, token=token, deferred=True)
                s.begin(complete=True)  # empty tables, written only through these objects
        head = self.app.recorder.max_notification_id() or 0
        try:
            self._load_split(shadows, token, head, workers, progress)
            position = head
            with self.db.transaction():
                self._shadow_commit()
                for s in shadows:
                    s.create_indexes(self.db)
            if self.db.kind == "postgresql":
                # fresh tables have no statistics until autovacuum (if it runs at all) gets
                # to them; without them the planner guesses, and a guess over millions of
                # rows can turn a read by officer into a parallel scan of the whole table
                with self.db.transaction():
                    for s in shadows:
                        for shadow_name in s.t.values():
                            self.db.execute(f"ANALYZE {shadow_name}")
            with self.db.transaction():
                self._locked_positions()  # the live projector waits for the swap (PostgreSQL)
                zero = {s.name: 0 for s in shadows}
                while True:
                    notifications = self.app.recorder.select_notifications(
                        start=position, limit=self.batch_size, inclusive_of_start=False)
                    if not notifications:
                        break
                    out = WriteBatch(self.db)
                    self._apply_batch(notifications, shadows, zero, out,
                                      self._set_aside_in_rebuild(out))
                    out.flush()
                    position = notifications[-1].id
                now = iso_ts(_now())
                self.rebuild_quarantined = quarantine.take_rebuilt(
                    self.db, [cls.name for cls in chosen], now)
                for cls, shadow in zip(chosen, shadows):
                    for table, shadow_name in shadow.t.items():
                        self.db.execute(f"DROP TABLE IF EXISTS {table}")
                        self.db.execute(f"ALTER TABLE {shadow_name} RENAME TO {table}")
                    self.db.execute("UPDATE projection_positions SET position = ?,"
                                    " updated_at = ? WHERE name = ?", (position, now, cls.name))
        finally:
            for s in shadows:
                s.end()
        if progress:
            progress(position, max(head, position))
        return position

    def _load_split(self, shadows: list[Projection], token: str, head: int, workers: int,
                    progress: Callable[[int, int], Any] | None) -> None:
        """Load the log up to ``head`` into the shadow tables, with ``workers`` processes when
        that is possible (PostgreSQL, a projection that splits); ready for the tail after."""
        zero = {s.name: 0 for s in shadows}
        split = [s for s in shadows if s.splits_by_originator]
        parts = 1
        if self.db.kind == "postgresql" and split and head:
            parts = min(workers, SHARE_MODULUS)
        if parts == 1:
            self._load_shadows(shadows, zero, head, progress)
            return
        helpers = RebuildHelpers(parts - 1)  # starting up while the shares are worked out
        try:
            others = [s for s in shadows if not s.splits_by_originator]
            counts = self._topic_counts(head)
            kinds = {topic: topic_kind(topic) for topic in counts}
            topics = sorted(t for t in counts if any(p.handles(kinds[t]) for p in others))
            split_events = sum(n for t, n in counts.items()
                               if any(p.handles(kinds[t]) for p in split))
            other_events = sum(counts[t] for t in topics)
            shares = split_shares(parts, main_share_weight(parts, other_events, split_events))
            for s in split:
                s.share = shares[0]
            helpers.assign(self, [s.name for s in split], token, head, shares[1:])
            reader = ShareReader(self.db, self.events_table(), shares[0], topics)

            def watch(position: int, end: int) -> None:
                helpers.check()  # a helper that failed fails the rebuild now, not at the end
                if progress:
                    progress(position, end)

            self._load_shadows(shadows, zero, head, watch, reader)
            helpers.join()
        finally:
            helpers.stop()
        for s in split:  # the tail: whole projections, looking up what the helpers wrote too
            s.share = None
            s.begin(complete=False)

    def events_table(self) -> str:
        """The library's events table on PostgreSQL, qualified by its schema."""
        recorder = self.app.recorder
        return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'

    def _topic_counts(self, head: int) -> dict[str, int]:
        """How many events of each topic the log holds up to ``head``."""
        rows = self.db.fetchall(f"SELECT topic, COUNT(*) FROM {self.events_table()}"
                                " WHERE notification_id <= ? GROUP BY topic", (head,))
        return {topic: int(n) for topic, n in rows}

    def _load_shadows(self, shadows: list[Projection], zero: dict[str, int], head: int,
                      progress: Callable[[int, int], Any] | None,
                      reader: "ShareReader | None" = None) -> None:
        """Apply the log up to ``head`` (or, with ``reader``, its share) to the shadow tables.

        On PostgreSQL, rows of append-only tables are streamed with one long ``COPY`` per
        table (``CopyStreams``), committed when the load ends; the other tables' rows (and on
        SQLite all rows) are flushed once ``FLUSH_ROWS`` are waiting. Nothing reads the shadow
        tables meanwhile but the projections' own lookups, which sync first.
        """
        streams = None
        if self.db.kind == "postgresql":
            streams = CopyStreams(self.db.database,
                                  [t for s in shadows for t in s.append_only_tables()])
        out = WriteBatch(self.db, streams)
        set_aside = self._set_aside_in_rebuild(out)
        position = 0
        try:
            while position < head:
                if reader is None:
                    notifications = self.app.recorder.select_notifications(
                        start=position, limit=self.batch_size, stop=head,
                        inclusive_of_start=False)
                else:
                    notifications = reader.select(position, head, self.batch_size)
                if not notifications:
                    break
                self._apply_batch(notifications, shadows, zero, out, set_aside)
                out.flush_streams()
                if out.pending >= FLUSH_ROWS:
                    with self.db.transaction():
                        self._shadow_commit()
                        out.flush()
                position = notifications[-1].id
                if progress:
                    progress(position, head)
            with self.db.transaction():
                self._shadow_commit()
                out.flush()
        except BaseException as exc:
            if streams is not None:
                streams.close(error=exc)
            raise
        if streams is not None:
            streams.close()

    def _set_aside_in_rebuild(self, out: WriteBatch) -> Callable:
        """How a rebuild sets aside an event a shadow projection cannot apply: a row in the
        rebuild's quarantine table (``take_rebuilt`` moves them at the swap), then the
        projection's lookups forget what they held and read its tables from then on, as
        the live projector's do after a quarantine (what the failed apply looked up is
        not kept)."""
        def set_aside(p: Projection, n: Any, event: Any, exc: Exception) -> None:
            quarantine.record(self.db, p.name, n, event, exc, iso_ts(_now()),
                              table=quarantine.SHADOW_TABLE)
            log.error("rebuild of %s set aside the event at position %s (%s): %s: %s",
                      p.name, n.id, n.topic, type(exc).__name__,
                      quarantine.safe_text(str(exc), 300))
            with self.db.savepoint():  # one transaction, inside the swap's if there
                out.sync()
            share = p.share
            p.begin(complete=False)
            p.share = share

        return set_aside

    def _shadow_commit(self) -> None:
        """Shadow tables are rebuilt from scratch if anything is lost, so their loading
        transactions need not wait for the disk (PostgreSQL); the swap still does, and it
        makes everything before it durable too."""
        if self.db.kind == "postgresql":
            self.db.execute("SET LOCAL synchronous_commit TO OFF")



class RebuildHelpers:
    """The other processes of a split rebuild: each loads one share of the split projections'
    shadow tables, up to ``head``.

    Each is a fresh interpreter (``python -m projections.rebuild_share``; forking would share
    this process's database connections), started first so that its imports overlap this
    process's work, then given its task (``assign``): this application's settings, pickled
    on its stdin. ``join()`` waits for them and raises with their error output if any
    failed; ``stop()`` ends any still running (after an error here)."""

    def __init__(self, count: int):
        import os
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        self.processes: list[tuple[Any, Any]] = []  # (process, its stderr file)
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        try:
            for _ in range(count):
                stderr = tempfile.TemporaryFile()
                try:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "projections.rebuild_share"],
                        stdin=subprocess.PIPE, stderr=stderr, env=env)
                except BaseException:
                    stderr.close()
                    raise
                self.processes.append((process, stderr))
        except BaseException:
            self.stop()
            raise

    def assign(self, projector: Projector, names: list[str], token: str, head: int,
               shares: list[frozenset[int]]) -> None:
        """Send each helper its share (as many shares as helpers). A helper that has already
        died is reported by ``check``/``join``, with its error output."""
        import os
        import pickle

        app = projector.app
        for (process, _), share in zip(self.processes, shares, strict=True):
            task = {"settings": app.settings, "env": dict(app.env),
                    "database": projector.db.database, "names": names, "token": token,
                    "head": head, "share": share, "batch_size": projector.batch_size,
                    "parent": os.getpid()}
            try:
                process.stdin.write(pickle.dumps(task))
                process.stdin.close()
            except BrokenPipeError:
                pass

    def _failure(self, process: Any, stderr: Any) -> str:
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").strip().splitlines()
        return (f"rebuild helper exited with {process.returncode}"
                + (f": {lines[-1]}" if lines else ""))

    def check(self) -> None:
        """Raise if a helper has exited with an error (without waiting for the others)."""
        for process, stderr in self.processes:
            if process.poll() not in (None, 0):
                raise RuntimeError(self._failure(process, stderr))

    def join(self) -> None:
        failed = [self._failure(process, stderr) for process, stderr in self.processes
                  if process.wait() != 0]
        if failed:
            raise RuntimeError("; ".join(failed))

    def stop(self) -> None:
        """End every helper still running and let go of their pipes and files."""
        processes, self.processes = self.processes, []
        for process, stderr in processes:
            try:
                if process.poll() is None:
                    process.terminate()
                try:
                    process.stdin.close()
                except OSError:
                    pass
                process.wait()
            finally:
                stderr.close()


def share_of(originator_id: uuid.UUID) -> int:
    """Which share of a split rebuild an aggregate's events belong to (see ``ShareReader``)."""
    return (originator_id.int & 0xFF) % SHARE_MODULUS


def main_share_weight(parts: int, other_events: int, split_events: int) -> float:
    """How much of an equal share of the split projections the main process of a ``parts``-way
    rebuild should take, given that it alone also applies the other projections.

    Counting an event's work as the same whichever projection applies it, the main process
    does ``x * S + O`` and each helper ``(1 - x) * S / (parts - 1)``, for ``S`` the split
    events and ``O`` the others'; they finish together when ``x * parts = 1 - (O / S) *
    (parts - 1)``. (On the benchmark log, with O / S about 0.1 and 2 processes, that is 0.9,
    which is also what trying 0.7 to 1.3 found best.)"""
    if parts <= 1 or split_events <= 0:
        return 1.0
    return max(0.0, 1.0 - other_events / split_events * (parts - 1))


def split_shares(parts: int, main_weight: float = 1.0) -> list[frozenset[int]]:
    """Deal the residues of ``share_of`` out to ``parts`` processes, the first (the main
    process) getting ``main_weight`` of an equal part (at least one residue)."""
    parts = min(parts, SHARE_MODULUS)
    if parts == 1:
        return [frozenset(range(SHARE_MODULUS))]
    first = min(SHARE_MODULUS - parts + 1,
                max(1, round(SHARE_MODULUS * main_weight / parts)))
    rest = list(range(first, SHARE_MODULUS))
    shares = [frozenset(range(first))]
    for k in range(parts - 1):
        shares.append(frozenset(rest[k::parts - 1]))
    return [share for share in shares if share]


class ShareReader:
    """Reads one share of the log for a split rebuild (PostgreSQL): the notifications whose
    originator's share is in ``share``, plus every notification with one of ``topics``.

    The filter runs in the server, so a process neither receives nor skips the other shares'
    events. It reads the library's events table directly (its columns are the notifications'
    fields) because the recorder can filter by topic but not by originator."""

    def __init__(self, db: ReadModelDB, table: str, share: frozenset[int], topics: list[str]):
        """``table``: the library's events table, qualified (``Projector.events_table``)."""
        from eventsourcing.persistence import Notification

        self.db = db
        self.notification = Notification
        self.params = (sorted(share), list(topics))
        self.sql = (f"SELECT notification_id, originator_id, originator_version, topic, state"
                    f" FROM {table} WHERE notification_id > %s AND notification_id <= %s AND"
                    f" ((get_byte(uuid_send(originator_id), 15) %% {SHARE_MODULUS}) = ANY(%s)"
                    f" OR topic = ANY(%s)) ORDER BY notification_id LIMIT %s")

    def select(self, start: int, stop: int, limit: int) -> list:
        make = self.notification
        with self.db.conn.cursor() as cur:
            cur.execute(self.sql, (start, stop, *self.params, limit), prepare=True)
            return [make(id=i, originator_id=o, originator_version=v, topic=t, state=bytes(s))
                    for i, o, v, t, s in cur.fetchall()]
