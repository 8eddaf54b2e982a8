"""What every aggregate shares: who acted, and a deterministic id scheme for keyed aggregates.

Every event carries ``actor_id`` and ``actor_role`` (who) and the library's ``timestamp``
(when it was recorded, UTC, set by the system). Each event also names its own world date
(``occurred_on``, ``effective_from``, …); the two times are never the same field.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zlib
from collections.abc import Iterator, MutableMapping
from typing import Any

from eventsourcing.domain import Aggregate, Snapshot

# Fixed forever: ids of keyed aggregates (indexes, evaluations) are derived from it.
NAMESPACE = uuid.UUID("6f1c1d2e-8a53-4c0e-9d55-0b7d3c2a9e41")


_NAMESPACE_BYTES = NAMESPACE.bytes
_V5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits
_V5_SET = (5 << 76) | (0x8000 << 48)


def name_id(name: str) -> uuid.UUID:
    """``uuid.uuid5(NAMESPACE, name)``, computed without its per-call overhead (a bulk
    import derives two or three ids per record)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()
    return uuid.UUID(int=(int.from_bytes(digest[:16], "big") & _V5_CLEAR) | _V5_SET)


def index_id(kind: str, key: str) -> uuid.UUID:
    """The id of the aggregate that owns a unique key, e.g. ('personnel-code', 'HN-0001')."""
    return name_id(f"{kind}:{key}")


class PackedMapping(MutableMapping):
    """Items of an aggregate by UUID, read from its snapshot only when one is looked up.

    Adding an item neither decodes nor copies the others, so the command that adds the
    1,000th item costs what the one adding the 10th does. A snapshot holds the items as one
    JSON text (``pack``), compressed (``freeze``) so that loading reads a few bytes per item;
    items added or replaced since are appended to that text without decoding it (a later entry for the same id replaces the earlier one, as ``json.loads``
    reads it). So replace an item rather than change it in place where you can.
    Subclasses say how one item is packed into JSON values and back.
    """

    @staticmethod
    def pack_entry(value: Any) -> Any:
        return value

    @staticmethod
    def unpack_entry(value: Any) -> Any:
        return value

    def __init__(self, packed: str | None = None):
        self._packed = packed
        self._items: dict[uuid.UUID, Any] = {}

    ZIPPED = "z:"  # a frozen text: base64 of the zlib-compressed JSON (a JSON text is "{…}")

    def freeze(self) -> str:
        """The packed text, compressed for the snapshot table (loading reads less)."""
        return self.ZIPPED + base64.b64encode(zlib.compress(self.pack().encode(), 1)).decode()

    def _plain(self) -> str | None:
        if self._packed is not None and self._packed.startswith(self.ZIPPED):
            self._packed = zlib.decompress(base64.b64decode(self._packed[2:])).decode()
        return self._packed

    def _load(self) -> dict[uuid.UUID, Any]:
        if self._plain() is not None:
            loaded = {uuid.UUID(k): self.unpack_entry(v)
                      for k, v in json.loads(self._packed).items()}
            loaded.update(self._items)
            self._items, self._packed = loaded, None
        return self._items

    def _dumps(self, items: dict) -> str:
        return json.dumps({str(k): self.pack_entry(v) for k, v in items.items()},
                          ensure_ascii=False, separators=(",", ":"))

    def pack(self) -> str:
        """The items as one JSON text; items added since the snapshot are spliced on."""
        if self._plain() is None:
            return self._dumps(self._items)
        if not self._items:
            return self._packed
        tail = self._dumps(self._items)
        return tail if self._packed == "{}" else self._packed[:-1] + "," + tail[1:]

    def __contains__(self, key: object) -> bool:
        return key in self._items or key in self._load()

    def get(self, key: uuid.UUID, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __getitem__(self, key: uuid.UUID) -> Any:
        if key in self._items:
            return self._items[key]
        return self._load()[key]

    def __setitem__(self, key: uuid.UUID, value: Any) -> None:
        self._items[key] = value

    def __delitem__(self, key: uuid.UUID) -> None:
        del self._load()[key]

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._load()!r})"


class AuditSnapshot(Snapshot):
    """A snapshot whose state the aggregate class may pack for JSON and unpack on load.

    The library stores ``vars(aggregate)`` as it is; state keyed by UUIDs or years is not
    JSON, so each aggregate class says how to pack and unpack it (``pack_state`` and
    ``unpack_state``). Snapshots live in their own table, outside the notification log:
    they are a cache of what the events say, and may be deleted at any time.
    """

    @classmethod
    def take(cls, aggregate: Any) -> "AuditSnapshot":
        snapshot = super().take(aggregate)
        type(aggregate).pack_state(snapshot.state)
        return snapshot

    def mutate(self, _: None) -> Any:
        aggregate = super().mutate(None)
        type(aggregate).unpack_state(aggregate.__dict__)
        return aggregate


class AuditAggregate(Aggregate):
    """Base aggregate: event classes carry an explicit version for upcasting."""

    Snapshot = AuditSnapshot

    @classmethod
    def pack_state(cls, state: dict) -> None:
        """Make a snapshot's state (a shallow copy of the aggregate's) JSON-ready, in place."""

    @classmethod
    def unpack_state(cls, state: dict) -> None:
        """Undo ``pack_state`` on a loaded aggregate's ``__dict__``."""

    class Event(Aggregate.Event):
        class_version = 1

    class Created(Event, Aggregate.Created):
        class_version = 1
