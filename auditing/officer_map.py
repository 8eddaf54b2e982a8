"""Officer chains and the authenticated map officer -> (head, count): hashing and proofs.

Standard library only, like ``chain.py``: the offline verifiers load this file as it is.

Officer chains
--------------

Every event that concerns an officer (``projections/concerns.py``) extends that officer's
chain: ``o_0`` is 32 zero bytes and ``o_n = SHA-256(o_prev + canonical(e) + F(SHA-256(plain)))``
where ``canonical(e)`` is the event's canonical bytes in the log chain (``chain.py``: its
position, then its content with the state as stored) and ``plain`` the state after
decryption and decompression (the stored state itself in a plain store; empty when it
cannot be read), so the chain binds the readable event a dossier carries to the stored one.
The officer's count is the number of events in its chain.

The map
-------

A sparse Merkle tree of 256 levels over ``key = SHA-256(officer id as text)``::

    leaf(key, head, count) = SHA-256(0x00 + key + head + count as 8 bytes big-endian)
    node(left, right)      = SHA-256(0x01 + left + right)
    D[256] = 32 zero bytes (no officer); D[d] = node(D[d+1], D[d+1])

Bit ``d`` of the key (most significant first) chooses the child at depth ``d + 1``. A
proof lists the siblings on the officer's path that are not the default of their depth, as
``{depth: hex}``; any other sibling is ``D[depth]``. An officer with no event has no leaf:
its proof shows ``D[256]`` at its key (absence).

Storage keeps only the leaves and the inner nodes whose subtree holds two leaves or more
(a subtree with one leaf is that leaf hashed up with defaults), so a checkpoint re-hashes
only the paths of the officers that changed since the last one: O(log n) stored nodes per
changed officer (n officers), plus one walk of up to 256 default levels.
"""
from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from typing import Iterable, Protocol

DEPTH = 256
FORMAT = "audit-service-officer-map/1"
ZERO = bytes(32)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


DEFAULTS: list[bytes] = [ZERO] * (DEPTH + 1)
for _d in range(DEPTH - 1, -1, -1):
    DEFAULTS[_d] = _node(DEFAULTS[_d + 1], DEFAULTS[_d + 1])


def officer_link(prev: bytes, canonical: bytes, plain: bytes | None) -> bytes:
    """The next hash of an officer's chain; ``canonical`` is the event's canonical bytes
    in the log chain (position and content)."""
    inner = hashlib.sha256(plain or b"").digest()
    return hashlib.sha256(prev + canonical + len(inner).to_bytes(4, "big") + inner).digest()


def key_of(officer_id: str) -> bytes:
    return hashlib.sha256(str(officer_id).encode("utf-8")).digest()


def leaf_hash(key: bytes, head: bytes, count: int) -> bytes:
    return hashlib.sha256(b"\x00" + key + head + int(count).to_bytes(8, "big")).digest()


def _bit(key_int: int, depth: int) -> int:
    return (key_int >> (DEPTH - 1 - depth)) & 1


def span(depth: int, prefix: int) -> tuple[int, int]:
    """The lowest and highest key under the node at ``depth`` with ``prefix`` (its bits)."""
    lo = prefix << (DEPTH - depth)
    return lo, lo | ((1 << (DEPTH - depth)) - 1)


def path_hashes(key_int: int, leaf: bytes) -> list[bytes]:
    """A lone leaf's subtree hash at every depth (index = depth). The hot loop of a map
    update (256 hashes per lone leaf met), so ``_node`` and ``_bit`` are written inline."""
    out = [ZERO] * (DEPTH + 1)
    cur = leaf
    out[DEPTH] = cur
    sha256, defaults = hashlib.sha256, DEFAULTS
    bits = format(key_int, "0256b")
    for d in range(DEPTH - 1, -1, -1):
        if bits[d] == "1":
            cur = sha256(b"\x01" + defaults[d + 1] + cur).digest()
        else:
            cur = sha256(b"\x01" + cur + defaults[d + 1]).digest()
        out[d] = cur
    return out


class MapStore(Protocol):
    """Where the map's leaves and stored inner nodes live (a table, or memory)."""

    def leaves_in(self, lo: int, hi: int, limit: int) -> list[tuple[int, bytes]]: ...
    def node(self, depth: int, prefix: int) -> bytes | None: ...
    def put_node(self, depth: int, prefix: int, value: bytes) -> None: ...


class _Lone:
    """``path_hashes`` of the last few lone leaves met (one walk serves every depth)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, bytes], list[bytes]] = {}

    def at(self, key_int: int, leaf: bytes, depth: int) -> bytes:
        hashes = self.cache.get((key_int, leaf))
        if hashes is None:
            if len(self.cache) > 4096:
                self.cache.clear()
            hashes = self.cache[(key_int, leaf)] = path_hashes(key_int, leaf)
        return hashes[depth]


def _small(store: MapStore, lone: _Lone, depth: int, prefix: int) -> bytes | None:
    """The hash of a subtree holding no leaf or one (None when it holds two or more)."""
    lo, hi = span(depth, prefix)
    leaves = store.leaves_in(lo, hi, 2)
    if not leaves:
        return DEFAULTS[depth]
    if len(leaves) == 1:
        return lone.at(leaves[0][0], leaves[0][1], depth)
    return None


def _subtree(store: MapStore, lone: _Lone, depth: int, prefix: int) -> bytes:
    """The hash of an unchanged subtree."""
    value = _small(store, lone, depth, prefix)
    if value is None:
        value = store.node(depth, prefix)
    if value is None:  # not kept: recompute
        value = _update(store, lone, depth, prefix, [span(depth, prefix)[0]], write=False)
    return value


def _update(store: MapStore, lone: _Lone, depth: int, prefix: int, changed: list[int],
            write: bool = True) -> bytes:
    value = _small(store, lone, depth, prefix)
    if value is not None:
        return value
    lo = span(depth, prefix)[0]
    mid = lo | (1 << (DEPTH - 1 - depth))
    cut = bisect_left(changed, mid)
    left_changed, right_changed = changed[:cut], changed[cut:]
    left = (_update(store, lone, depth + 1, prefix * 2, left_changed, write) if left_changed
            else _subtree(store, lone, depth + 1, prefix * 2))
    right = (_update(store, lone, depth + 1, prefix * 2 + 1, right_changed, write)
             if right_changed else _subtree(store, lone, depth + 1, prefix * 2 + 1))
    value = _node(left, right)
    if write:
        store.put_node(depth, prefix, value)
    return value


def update_root(store: MapStore, changed_keys: Iterable[bytes]) -> bytes:
    """Re-hash the paths of the changed leaves (already written to the store); the root."""
    changed = sorted({int.from_bytes(k, "big") for k in changed_keys})
    if not changed:
        return _subtree(store, _Lone(), 0, 0)
    return _update(store, _Lone(), 0, 0, changed)


def prove(store: MapStore, key: bytes) -> dict[int, bytes]:
    """The non-default siblings on ``key``'s path, by depth (the officer's map proof)."""
    key_int = int.from_bytes(key, "big")
    lone = _Lone()
    siblings: dict[int, bytes] = {}
    for depth in range(DEPTH):
        lo, hi = span(depth, key_int >> (DEPTH - depth))
        leaves = store.leaves_in(lo, hi, 2)
        if not leaves or (len(leaves) == 1 and leaves[0][0] == key_int):
            return siblings  # below here every sibling is a default
        if len(leaves) == 1:  # another officer's lone leaf: the paths part where bits differ
            other, leaf = leaves[0]
            split = DEPTH - (other ^ key_int).bit_length()
            siblings[split + 1] = lone.at(other, leaf, split + 1)
            return siblings
        child = key_int >> (DEPTH - depth - 1)
        value = _subtree(store, lone, depth + 1, child ^ 1)
        if value != DEFAULTS[depth + 1]:
            siblings[depth + 1] = value
    return siblings


def root_from_proof(key: bytes, leaf: bytes | None, siblings: dict[int, bytes]) -> bytes:
    """The root a proof leads to, for ``leaf`` at ``key`` (None: no leaf, the default)."""
    key_int = int.from_bytes(key, "big")
    cur = ZERO if leaf is None else leaf
    for d in range(DEPTH - 1, -1, -1):
        sibling = siblings.get(d + 1, DEFAULTS[d + 1])
        cur = _node(sibling, cur) if _bit(key_int, d) else _node(cur, sibling)
    return cur


def proof_json(siblings: dict[int, bytes]) -> dict[str, str]:
    return {str(d): h.hex() for d, h in sorted(siblings.items())}


def proof_from_json(data: dict) -> dict[int, bytes]:
    out = {}
    for d, h in data.items():
        depth = int(d)
        if not 1 <= depth <= DEPTH:
            raise ValueError(f"a sibling at depth {depth}")
        value = bytes.fromhex(h)
        if len(value) != 32:
            raise ValueError("a sibling hash is not 32 bytes")
        out[depth] = value
    return out


DOSSIER_CORE = ("format", "format_version", "officer_id", "on", "checkpoint", "officer", "proof",
                "events", "eligibility")


def dossier_digest(bundle: dict) -> str:
    """A dossier's hash: SHA-256 of the canonical JSON (keys sorted, no spaces, UTF-8) of its
    ``DOSSIER_CORE`` fields: what it states, not when it was written nor the key records
    it carries for convenience, so that the same dossier built again has the same hash."""
    core = {k: bundle.get(k) for k in DOSSIER_CORE}
    return hashlib.sha256(json.dumps(core, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


class MemoryMap:
    """The map in memory (the offline verifier recomputes every root from an export)."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.leaves: dict[int, bytes] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.changed: set[bytes] = set()

    def set(self, officer_id: str, head: bytes, count: int) -> None:
        key = key_of(officer_id)
        key_int = int.from_bytes(key, "big")
        if key_int not in self.leaves:
            self.keys.insert(bisect_left(self.keys, key_int), key_int)
        self.leaves[key_int] = leaf_hash(key, head, count)
        self.changed.add(key)

    def root(self) -> bytes:
        changed, self.changed = self.changed, set()
        return update_root(self, changed)

    def leaves_in(self, lo: int, hi: int, limit: int) -> list[tuple[int, bytes]]:
        i = bisect_left(self.keys, lo)
        j = min(bisect_right(self.keys, hi), i + limit)
        return [(k, self.leaves[k]) for k in self.keys[i:j]]

    def node(self, depth: int, prefix: int) -> bytes | None:
        return self.nodes.get((depth, prefix))

    def put_node(self, depth: int, prefix: int, value: bytes) -> None:
        self.nodes[(depth, prefix)] = value
