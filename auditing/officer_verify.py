"""In-place check of the officer chains and the officer map against the log.

``audit-service verify`` recomputes every officer chain from the log (the same computation as
the offline verifier: ``officer_map.ChainsCheck``, with ``projections.concerns`` naming the
officers), checks each map root a checkpoint signs, and compares what the store keeps with
what it recomputed: every row of ``integrity_officer_chain`` (up to the position the officer
chains reached when the check began) and, at the map's last checkpoint, the map's leaves
(``integrity_officers``) and stored inner nodes (``integrity_officer_nodes``). Dossiers are
built from those tables, so an altered row would give a board a wrong proof.

All faults are of kind ``officer_map`` with a ``reason``: ``root_mismatch``,
``chain_row`` (a stored chain row differs, is missing, or is extra), ``map_leaf`` and
``map_node``. Memory: one head per officer, the map, the officer each finding, proceeding,
decision, grade or rating concerned last, and one batch of stored rows.
"""
from __future__ import annotations

from typing import Any, Iterator

from projections.concerns import SubjectMemory

from .chain import content_bytes, position_bytes
from .officer_chains import map_position, officers_position
from .officer_map import ChainsCheck
from .records import plain_state


def iter_officer_rows(db: Any, upto: int, batch_size: int) -> Iterator[tuple[int, list]]:
    """``(position, [(officer, seq, hash), …])`` of the stored officer chains up to ``upto``,
    by position (a batch never splits one position's rows)."""
    after = 0
    while True:
        rows = db.fetchall("SELECT position, officer_id, seq, hash FROM integrity_officer_chain"
                           " WHERE position > ? AND position <= ? ORDER BY position, officer_id,"
                           " seq LIMIT ?", (after, upto, batch_size))
        full = len(rows) == batch_size
        if full and int(rows[0][0]) != int(rows[-1][0]):
            last = int(rows[-1][0])
            rows = [r for r in rows if int(r[0]) != last]  # read that position whole next time
        group: list = []
        current = None
        for position, officer, seq, value in rows:
            position = int(position)
            if position != current and group:
                yield current, group
                group = []
            current = position
            group.append((officer, int(seq), value))
        if group:
            yield current, group
        if not full:
            return
        after = current


class OfficerChainsCheck:
    """Fed every log position in order (``feed``), then ``merge`` into the report."""

    def __init__(self, db: Any, mapper: Any, checkpoints: list[dict], batch_size: int = 2000):
        self.db = db
        self.mapper = mapper
        self.check = ChainsCheck(checkpoints)
        self.memory = SubjectMemory()
        self.upto = officers_position(db)  # the rows the store held when the check began
        self.map_at = min(map_position(db), self.upto)
        self.rows = iter_officer_rows(db, self.upto, batch_size)
        self.next_rows = next(self.rows, None)
        self.notes: list[str] = []

    def feed(self, position: int, notification: Any | None, record: tuple | None) -> None:
        links: list = []
        if notification is not None and record is not None:
            state = record[3]
            mapper = self.mapper
            plain = plain_state(mapper, state) if (mapper.cipher or mapper.compressor) else state
            officers = self.memory.assign(record[2], record[0], plain)
            if officers:
                links = self.check.extend(officers, position_bytes(position)
                                          + content_bytes(*record), plain)
        self._compare_rows(position, links)
        self.check.checkpoint(position)
        if position == self.map_at:
            self._compare_map()

    def _compare_rows(self, position: int, links: list) -> None:
        stored: list = []
        while self.next_rows is not None and self.next_rows[0] <= position:
            at, rows = self.next_rows
            if at < position:  # rows at a position the log and its chain do not have
                self.check.fault(at, f"the officer chains hold {len(rows)} row(s) at position"
                                 f" {at}, where the log has no event", "chain_row")
            else:
                stored = rows
            self.next_rows = next(self.rows, None)
        if position > self.upto:
            return
        expected = sorted((o, seq, value.hex()) for o, seq, value in links)
        if sorted(stored) != expected:
            names = sorted({r[0] for r in stored} | {r[0] for r in expected})
            self.check.fault(position, f"the stored officer chain row(s) at position {position}"
                             f" (officer(s) {', '.join(names)}) differ from the chain the log"
                             " gives", "chain_row")

    def _compare_map(self) -> None:
        """The map's tables against the recomputed map, at the map's last checkpoint."""
        check = self.check
        position = self.map_at
        if map_position(self.db) != position:  # a checkpoint moved the map meanwhile
            self.notes.append("the officer map's tables were not compared: a checkpoint moved"
                              " the map while the check ran")
            return
        leaves = {officer: (int(count), head) for officer, head, count in self.db.fetchall(
            "SELECT officer_id, head, event_count FROM integrity_officers")}
        recomputed = {o: (count, head.hex()) for o, (count, head) in check.heads.items()}
        wrong = sorted(o for o in set(leaves) | set(recomputed)
                       if leaves.get(o) != recomputed.get(o))
        if wrong:
            check.fault(position, f"the officer map's leaves of {len(wrong)} officer(s)"
                        f" ({', '.join(wrong[:3])}{'…' if len(wrong) > 3 else ''}) differ from"
                        " the heads the log gives", "map_leaf")
        if check.map.pending:
            check.map.root()
        nodes = {name: value for name, value in self.db.fetchall(
            "SELECT node, hash FROM integrity_officer_nodes")}
        memory = {f"{depth}:{prefix:x}": value.hex()
                  for (depth, prefix), value in check.map.nodes.items()}
        wrong = sorted(n for n in set(nodes) | set(memory) if nodes.get(n) != memory.get(n))
        if wrong:
            check.fault(position, f"{len(wrong)} stored node(s) of the officer map"
                        f" ({', '.join(wrong[:3])}{'…' if len(wrong) > 3 else ''}) differ from"
                        " the map the log gives", "map_node")

    def merge(self, report: dict, complete: bool) -> None:
        if complete:  # stored rows beyond the log's last position
            while self.next_rows is not None:
                at, rows = self.next_rows
                self.check.fault(at, f"the officer chains hold {len(rows)} row(s) at position"
                                 f" {at}, after the log's last event", "chain_row")
                self.next_rows = next(self.rows, None)
        self.check.merge(report)
        report["notes"].extend(self.notes)
