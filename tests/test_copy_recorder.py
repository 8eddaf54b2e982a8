"""On PostgreSQL, large batches (a bulk import) are written with COPY under the library's
table lock: each event gets the notification id reported for it, a duplicate refuses the
whole batch, and concurrent single appends interleave without a gap or a mix-up."""
from __future__ import annotations

import threading
import uuid

import pytest

from audit_service.application import AuditService
from auditing.bootstrap import init_database
from audit_service.config import Settings
from audit_service.domain import MonthlyGrade
from audit_service.recorders import COPY_THRESHOLD, CopyingApplicationRecorder
from eventsourcing.persistence import IntegrityError
from tests.conftest import FIXED_TODAY

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(pg_env):
    init_database(Settings.from_env(pg_env))
    app = AuditService(Settings.from_env(pg_env), today=lambda: FIXED_TODAY)
    yield app
    app.close()


def _grades(n: int, officer: uuid.UUID | None = None, start: int = 0) -> list[MonthlyGrade]:
    officer = officer or uuid.uuid4()
    return [MonthlyGrade(officer_id=officer, period=f"{2000 + (start + i) // 12}-"
                         f"{(start + i) % 12 + 1:02d}", score=80.0, grade="HTTNV",
                         framework="3814-QĐ/TU", actor_id="t", actor_role="system")
            for i in range(n)]


def _stored_positions(app: AuditService) -> dict[tuple[uuid.UUID, int], int]:
    return {(n.originator_id, n.originator_version): n.id
            for n in app.recorder.select_notifications(start=1, limit=100_000)}


def test_a_large_batch_is_copied_and_each_event_gets_its_own_position(pg_app):
    assert isinstance(pg_app.recorder, CopyingApplicationRecorder)
    small = _grades(3)
    first = pg_app.save(*small)  # below the threshold: the library's INSERT
    grades = _grades(COPY_THRESHOLD * 3)
    recordings = pg_app.save(*grades)
    positions = [r.notification.id for r in recordings]
    assert positions == list(range(positions[0], positions[0] + len(grades)))
    assert positions[0] > max(r.notification.id for r in first)
    stored = _stored_positions(pg_app)
    assert [stored[(g.id, 1)] for g in grades] == positions
    loaded = pg_app.repository.get(grades[17].id)
    assert (loaded.period, loaded.score) == (grades[17].period, 80.0)


def test_a_duplicate_refuses_the_whole_copied_batch(pg_app):
    first = _grades(1)
    pg_app.save(*first)
    head = pg_app.recorder.max_notification_id()
    batch = _grades(COPY_THRESHOLD)
    clash = _grades(1)[0]
    clash_event = clash.collect_events()[0]
    object.__setattr__(clash_event, "originator_id", first[0].id)
    with pytest.raises(IntegrityError):
        pg_app.events.put([*(e for g in batch for e in g.collect_events()), clash_event])
    assert pg_app.recorder.max_notification_id() == head
    assert all(not list(pg_app.events.get(g.id)) for g in batch)


def test_single_appends_during_copies_interleave_cleanly(pg_app):
    errors: list[BaseException] = []
    singles: list[tuple[uuid.UUID, int]] = []

    def single_writer() -> None:
        try:
            for g in _grades(40):
                singles.append((g.id, pg_app.save(g)[0].notification.id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=single_writer)
    thread.start()
    copied = []
    for _ in range(6):
        grades = _grades(COPY_THRESHOLD * 2)
        copied.append((grades, [r.notification.id for r in pg_app.save(*grades)]))
    thread.join()
    assert not errors
    stored = _stored_positions(pg_app)
    for grades, positions in copied:
        assert [stored[(g.id, 1)] for g in grades] == positions
        assert positions == list(range(positions[0], positions[0] + len(grades)))
    assert all(stored[(gid, 1)] == pos for gid, pos in singles)
    ids = sorted(stored.values())
    assert len(ids) == len(set(ids)) == 6 * COPY_THRESHOLD * 2 + 40


def test_positions_with_gaps_between_them_are_read_one_by_one(pg_app):
    """The ids of a copied batch are normally one run (read as its span); should the
    sequence leave gaps, each id is read back instead, still matched to its event."""
    recorder = pg_app.recorder
    table = f"{recorder.datastore.schema}.{recorder.events_table_name}"
    with recorder.datastore.get_connection() as conn:
        conn.execute(f"ALTER SEQUENCE {table}_notification_id_seq INCREMENT BY 3")
        conn.commit()
    grades = _grades(COPY_THRESHOLD * 2)
    positions = [r.notification.id for r in pg_app.save(*grades)]
    assert positions == list(range(positions[0], positions[0] + 3 * len(grades), 3))
    stored = _stored_positions(pg_app)
    assert [stored[(g.id, 1)] for g in grades] == positions
