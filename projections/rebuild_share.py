"""A rebuild helper process: loads one share of the projections a rebuild splits.

Started by ``projector.RebuildHelpers`` as ``python -m projections.rebuild_share`` with its
task pickled on stdin (the parent's settings and read-model database, the shadow tables'
index token, the position to load up to, which share). It loads the reference data from the
same files as any application. It writes only to the shadow tables, and exits non-zero with
the error on stderr if anything fails; the parent then abandons the rebuild. It also stops
if the parent dies.
"""
from __future__ import annotations

import os
import pickle
import sys

from audit_service.application import AuditService

from .db import ReadModelDB
from .projector import SHADOW, Projector, ShareReader
from .readmodels import PROJECTIONS


class ParentGone(RuntimeError):
    pass


def load_share(task: dict) -> None:
    """Load one share of the named shadow tables up to ``head``."""
    app = AuditService(task["settings"], env=task["env"])
    projector = Projector(app, db=ReadModelDB(task["database"]), batch_size=task["batch_size"])
    parent = task.get("parent")

    def check_parent(position: int, head: int) -> None:
        if parent is not None and os.getppid() != parent:
            raise ParentGone("the rebuild's main process has gone")

    shadows = [cls(app.reference, suffix=SHADOW) for cls in PROJECTIONS
               if cls.name in task["names"]]
    try:
        for s in shadows:
            s.adopt_deferred(task["token"])
            s.begin(complete=True)
            s.share = task["share"]
            s.first_events = projector.first_event
        reader = ShareReader(projector.db, projector.events_table(), task["share"], [])
        projector._load_shadows(shadows, {s.name: 0 for s in shadows}, task["head"],
                                check_parent, reader)
    finally:
        for s in shadows:
            s.end()
        projector.db.close()
        app.close()


def main() -> int:
    task = pickle.loads(sys.stdin.buffer.read())
    load_share(task)
    return 0


if __name__ == "__main__":
    sys.exit(main())
