"""Answers about an officer kept between reads, exact because they are keyed by what they
were computed from.

An officer read (history, standing, eligibility) is a pure function of the officer's
timeline rows (recorded by ``as_of``), the reference data and the question (the day, the
post). The timeline only ever gains rows, so the pair (number of rows, highest position)
names the rows a read would see: when it is unchanged, so is every answer computed from
them, and when any event about the officer is projected it changes and the entry is
replaced. A read asks the database for that pair (one indexed aggregate) and computes only
what no earlier read with the same pair has computed.

Warnings about quarantined events are never cached: they are read once per request.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

#: rows kept in all, over every cached officer (a 300-entry officer holds 300)
DEFAULT_ROWS = int(os.environ.get("AUDIT_READ_CACHE_ROWS", "20000") or 0)

Version = tuple[int, int]  # (rows, highest position)


def version_of(rows: list[dict]) -> Version:
    """The version of the rows themselves (what an entry is keyed by)."""
    return (len(rows), max((r["position"] for r in rows), default=0))


class OfficerAnswers:
    """One officer's rows at one version, and what has been computed from them."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.version = version_of(rows)
        self._memo: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The memoised value of ``compute()`` (computed at most once per key, but two
        threads asking at once may both compute it: the answers are the same)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value


class OfficerCache:
    """Least recently used entries per (officer, as_of bound), at most ``max_rows`` rows."""

    def __init__(self, max_rows: int = DEFAULT_ROWS):
        self.max_rows = max_rows
        self._entries: OrderedDict[tuple, OfficerAnswers] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.quarantine_table = False  # known to exist (``ReadModels._has_quarantine``)

    def answers(self, key: tuple, version: Version,
                load: Callable[[], list[dict]]) -> OfficerAnswers:
        """The entry for ``key`` at ``version``; else one made from ``load()`` (kept under
        the version of the rows loaded, which may be newer than ``version``)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
        entry = OfficerAnswers(load())
        with self._lock:
            self.misses += 1
            old = self._entries.pop(key, None)
            if old is not None:
                self._rows -= len(old.rows)
            if len(entry.rows) <= self.max_rows:
                self._entries[key] = entry
                self._rows += len(entry.rows)
                while self._rows > self.max_rows:
                    _, dropped = self._entries.popitem(last=False)
                    self._rows -= len(dropped.rows)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0
