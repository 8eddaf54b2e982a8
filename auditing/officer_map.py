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

A compact binary Merkle tree over ``key = SHA-256(officer id as text)`` (256 bits, most
significant first; bit ``d`` chooses the child at depth ``d + 1``)::

    leaf(key, head, count) = SHA-256(0x00 + key + head + count as 8 bytes big-endian)
    node(left, right)      = SHA-256(0x01 + left + right)

The hash of the subtree of all keys starting with some ``d`` bits is 32 zero bytes when no
officer's key starts so, the officer's ``leaf`` when exactly one does (a lone leaf hangs
where its path parts from every other), and ``node(left child, right child)`` otherwise. The
0x00 / 0x01 prefixes keep a leaf from passing for a node.

A proof for a key: ``depth`` (where the key's path ends: at its own lone leaf, at another
officer's lone leaf, or at an empty subtree), ``siblings`` (the non-zero sibling hashes on
the path above, ``{depth: hex}``; a depth not listed is 32 zero bytes) and, for an officer
with no leaf whose path ends at another officer's lone leaf, ``other`` (that leaf's key and
hash, a key sharing the first ``depth`` bits). The verifier hashes from ``depth`` up to the
root: O(log n) work for n officers.

Storage keeps the leaves and the inner nodes of two leaves or more, so a checkpoint re-hashes
only the paths of the officers whose chains grew since the previous one: O(log n) stored
nodes per changed officer.
"""
from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from typing import Iterable, Protocol

DEPTH = 256
ZERO = bytes(32)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


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


class MapStore(Protocol):
    """Where the map's leaves and stored inner nodes live (a table, or memory)."""

    def leaves_in(self, lo: int, hi: int, limit: int) -> list[tuple[int, bytes]]: ...
    def node(self, depth: int, prefix: int) -> bytes | None: ...
    def put_node(self, depth: int, prefix: int, value: bytes) -> None: ...


def _small(store: MapStore, depth: int, prefix: int) -> bytes | None:
    """The hash of a subtree holding no leaf or one (None when it holds two or more)."""
    leaves = store.leaves_in(*span(depth, prefix), 2)
    if not leaves:
        return ZERO
    if len(leaves) == 1:
        return leaves[0][1]
    return None


def _subtree(store: MapStore, depth: int, prefix: int) -> bytes:
    """The hash of an unchanged subtree."""
    value = _small(store, depth, prefix)
    if value is None:
        value = store.node(depth, prefix)
    if value is None:  # not kept: recompute
        value = _update(store, depth, prefix, [span(depth, prefix)[0]], write=False)
    return value


def _update(store: MapStore, depth: int, prefix: int, changed: list[int],
            write: bool = True) -> bytes:
    value = _small(store, depth, prefix)
    if value is not None:
        return value
    lo = span(depth, prefix)[0]
    mid = lo | (1 << (DEPTH - 1 - depth))
    cut = bisect_left(changed, mid)
    left_changed, right_changed = changed[:cut], changed[cut:]
    left = (_update(store, depth + 1, prefix * 2, left_changed, write) if left_changed
            else _subtree(store, depth + 1, prefix * 2))
    right = (_update(store, depth + 1, prefix * 2 + 1, right_changed, write)
             if right_changed else _subtree(store, depth + 1, prefix * 2 + 1))
    value = _node(left, right)
    if write:
        store.put_node(depth, prefix, value)
    return value


def update_root(store: MapStore, changed_keys: Iterable[bytes]) -> bytes:
    """Re-hash the paths of the changed leaves (already written to the store); the root."""
    changed = sorted({int.from_bytes(k, "big") for k in changed_keys})
    if not changed:
        return _subtree(store, 0, 0)
    return _update(store, 0, 0, changed)


def prove(store: MapStore, key: bytes) -> dict:
    """``key``'s proof: ``depth``, ``siblings`` ({depth: hash}) and ``other`` (None, or the
    (key, leaf hash) of the lone leaf that holds the place of an absent key)."""
    key_int = int.from_bytes(key, "big")
    siblings: dict[int, bytes] = {}
    for depth in range(DEPTH + 1):
        leaves = store.leaves_in(*span(depth, key_int >> (DEPTH - depth)), 2)
        if len(leaves) <= 1:
            other = None
            if leaves and leaves[0][0] != key_int:
                other = (leaves[0][0].to_bytes(32, "big"), leaves[0][1])
            return {"depth": depth, "siblings": siblings, "other": other}
        child = key_int >> (DEPTH - depth - 1)
        value = _subtree(store, depth + 1, child ^ 1)
        if value != ZERO:
            siblings[depth + 1] = value
    raise ValueError("two leaves under one full key")  # pragma: no cover - keys are unique


def root_from_proof(key: bytes, leaf: bytes | None, proof: dict) -> bytes | None:
    """The root a proof leads to for ``leaf`` at ``key`` (None: the officer has no leaf);
    None when the proof cannot be one for this key."""
    key_int = int.from_bytes(key, "big")
    depth, other = int(proof["depth"]), proof.get("other")
    if not 0 <= depth <= DEPTH or any(not 1 <= d <= depth for d in proof["siblings"]):
        return None
    if leaf is not None:
        if other is not None:
            return None
        cur = leaf
    elif other is not None:
        other_key, cur = other
        other_int = int.from_bytes(other_key, "big")
        if other_int == key_int or (other_int ^ key_int) >> (DEPTH - depth):
            return None  # not another key in the same place
    else:
        cur = ZERO
    siblings = proof["siblings"]
    for d in range(depth - 1, -1, -1):
        sibling = siblings.get(d + 1, ZERO)
        cur = _node(sibling, cur) if _bit(key_int, d) else _node(cur, sibling)
    return cur


def proof_json(proof: dict) -> dict:
    other = proof.get("other")
    return {"depth": proof["depth"],
            "siblings": {str(d): h.hex() for d, h in sorted(proof["siblings"].items())},
            "other": {"key": other[0].hex(), "leaf": other[1].hex()} if other else None}


def _hash32(text: str) -> bytes:
    value = bytes.fromhex(text)
    if len(value) != 32:
        raise ValueError("a hash is not 32 bytes")
    return value


def proof_from_json(data: dict) -> dict:
    other = data.get("other")
    return {"depth": int(data["depth"]),
            "siblings": {int(d): _hash32(h) for d, h in data["siblings"].items()},
            "other": (_hash32(other["key"]), _hash32(other["leaf"])) if other else None}


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
    """The map in memory (the offline verifier recomputes every root from an export).
    ``set`` only notes the officer's head and count; ``root`` hashes the changed leaves once
    each, however often they changed in between."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.leaves: dict[int, bytes] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.pending: dict[str, tuple[bytes, int]] = {}
        self._key_ints: dict[str, int] = {}

    def set(self, officer_id: str, head: bytes, count: int) -> None:
        self.pending[officer_id] = (head, count)

    def root(self) -> bytes:
        changed = []
        for officer_id, (head, count) in self.pending.items():
            key_int = self._key_ints.get(officer_id)
            if key_int is None:
                key_int = self._key_ints[officer_id] = int.from_bytes(key_of(officer_id), "big")
                self.keys.insert(bisect_left(self.keys, key_int), key_int)
            key = key_int.to_bytes(32, "big")
            self.leaves[key_int] = leaf_hash(key, head, count)
            changed.append(key)
        self.pending = {}
        return update_root(self, changed)

    def leaves_in(self, lo: int, hi: int, limit: int) -> list[tuple[int, bytes]]:
        i = bisect_left(self.keys, lo)
        j = min(bisect_right(self.keys, hi), i + limit)
        return [(k, self.leaves[k]) for k in self.keys[i:j]]

    def node(self, depth: int, prefix: int) -> bytes | None:
        return self.nodes.get((depth, prefix))

    def put_node(self, depth: int, prefix: int, value: bytes) -> None:
        self.nodes[(depth, prefix)] = value


OFFICER_MAP = "officer_map"  # the fault kind (``chain.OFFICER_MAP``)


class ChainsCheck:
    """Recomputes every officer chain from the log, event by event, and the map root at each
    checkpoint that signs one (``officers_root``): a service that put an event in the wrong
    officer's chain, or left it out, signs a root this check does not reach. Shared by the
    offline verifier and ``audit-service verify``; the caller says which officers an event
    concerns (``projections.concerns``). Memory: one head and count per officer, and the map.
    """

    def __init__(self, checkpoints: Iterable[dict]):
        self.roots: dict[int, list[dict]] = {}
        for cp in checkpoints:
            if cp.get("officers_root"):
                self.roots.setdefault(int(cp["position"]), []).append(cp)
        self.heads: dict[str, tuple[int, bytes]] = {}
        self.map = MemoryMap()
        self.checked = 0
        self.faults: list[dict] = []

    def extend(self, officers: list[str], canonical: bytes,
               plain: bytes | None) -> list[tuple[str, int, bytes]]:
        """Extend the chains of ``officers`` by one event; ``(officer, count, hash)`` each."""
        links = []
        for officer in officers:
            count, prev = self.heads.get(officer, (0, ZERO))
            value = officer_link(prev, canonical, plain)
            self.heads[officer] = (count + 1, value)
            self.map.set(officer, value, count + 1)
            links.append((officer, count + 1, value))
        return links

    def checkpoint(self, position: int) -> None:
        """Check the roots signed at ``position`` (call once the event there was fed)."""
        for cp in self.roots.pop(position, ()):
            self.checked += 1
            root = self.map.root().hex()
            if root != cp["officers_root"]:
                self.fault(position, f"the checkpoint signs officer map root"
                           f" {cp['officers_root'][:16]}…; the log's events give {root[:16]}…:"
                           " an event is in the wrong officer's chain, or missing from one",
                           "root_mismatch")

    def fault(self, position: int, detail: str, reason: str) -> None:
        self.faults.append({"position": position, "kind": OFFICER_MAP, "reason": reason,
                            "detail": detail})

    def merge(self, report: dict, skipped: str | None = None) -> None:
        """Add the officer chains' faults to a chain report (``chain.ChainChecker.finish``).
        A fault after a fault of the log itself follows from that one (the events differ
        from what was chained and signed), so it is not listed as a fault of its own."""
        report["officer_map"] = {"checked_roots": self.checked, "officers": len(self.heads),
                                 "skipped": skipped}
        if skipped:
            report["notes"].append(f"officer chains not checked: {skipped}")
        log_fault = min((f["position"] for f in report["faults"]), default=None)
        if log_fault is not None:
            after = [f for f in self.faults if f["position"] >= log_fault]
            self.faults = [f for f in self.faults if f["position"] < log_fault]
            if after:
                report["notes"].append(f"{len(after)} officer chain or map fault(s) from"
                                       f" position {log_fault} on were not judged: the log has"
                                       " a fault there")
        if self.faults:
            report["faults"] = sorted(report["faults"] + self.faults,
                                      key=lambda f: f["position"])
            report["fault_count"] += len(self.faults)
            report["ok"] = False
            report["first_fault"] = next(f for f in report["faults"] if f["kind"] != "shifted")
