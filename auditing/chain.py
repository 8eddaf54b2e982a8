"""The tamper-evident chain: canonical bytes of an event, hashing, checkpoints, and checking.

This module imports nothing from the service and nothing outside the standard library
(``cryptography`` only inside ``verify_signature``), so the offline verifier
(``scripts/verify_export.py``) runs it as it is, without the service installed.

Canonical bytes of an event (version 1)
---------------------------------------

Each field is written as its length in bytes (4-byte unsigned big-endian) followed by the
bytes themselves::

    F(x)         = len(x).to_bytes(4, "big") + x
    content(e)   = F(originator_id) + F(version) + F(topic) + F(state) + F(recorded_at)
    canonical(e) = F(position) + content(e)

- ``position``: the event's position in the notification log, as decimal ASCII digits
  (``"17"``; ``"-3"`` if ever negative);
- ``originator_id``: the aggregate id as lowercase hyphenated UUID text (36 characters);
- ``version``: the originator version, decimal ASCII;
- ``topic``: the event's topic (``module:Class.Event``), UTF-8;
- ``state``: the stored state exactly as stored (the ciphertext when the store encrypts,
  else the library's JSON);
- ``recorded_at``: the ``timestamp`` inside the event's state (after decryption and
  decompression), written as UTC in the fixed width ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``
  (32 characters, the form the read models use), or the empty string when the state has no
  readable timestamp.

The chain: ``h_0`` is 32 zero bytes; for the chained events in increasing position order,
``h_n = SHA-256(h_prev + canonical(e_n))`` where ``h_prev`` is the hash of the previous
chained event. Positions may skip numbers (a transaction that rolled back leaves a gap);
each chain entry records the previous position, so a gap is recorded, not assumed.

Each chain entry also stores ``digest = SHA-256(content(e))``, the event's content without
its position. It is not needed for authenticity (the hashes are); it lets a checker tell an
altered event from one moved to another position.

Checkpoints
-----------

A checkpoint states ``{position, head, count, created_at, key_id}``: the chain's hash at
``position`` (hex), how many events the chain holds up to there, when the checkpoint was
made, and the Ed25519 key that signed it (``null`` when unsigned). The signed bytes are::

    json.dumps({"format": "audit-service-checkpoint/1", "position": ..., "head": ...,
                "count": ..., "created_at": ..., "key_id": ...},
               sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

A checkpoint that also commits to the officer map (``auditing/officer_map.py``) carries
``officers_root`` (hex) and signs format ``audit-service-checkpoint/2``: the same object with
``"format": "audit-service-checkpoint/2"`` and ``"officers_root": ...`` added.

A key id is the first 32 hex digits of SHA-256 of the raw 32-byte Ed25519 public key.

Trust
-----

A verifier trusts only the public keys its user pins (``--trusted-key``) and the keys those
lead to through key rotations. A rotation statement names the old and the new key and is
signed by both; the signed bytes are::

    json.dumps({"format": "audit-service-key-rotation/1", "old_key_id": ..., "old_public_key":
                ..., "new_key_id": ..., "new_public_key": ..., "created_at": ...},
               sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

``old_signature`` (by the old key) lets a pinned old key lead to the new one;
``new_signature`` (by the new key) lets a pinned new key vouch for checkpoints its
predecessor signed. A checkpoint by any other key is a fault (reason ``unknown_key``), and
so is a stored key record (kind ``key``) that the pinned keys do not lead to.

The access log
--------------

Each access record is chained: ``hash = SHA-256(prev_hash + access_bytes(record))`` (32 zero
bytes before the first), ``access_bytes`` being its ``ACCESS_FIELDS`` as text, each
length-prefixed like an event's fields. Its heads are signed (``access_checkpoint_payload``,
format ``audit-service-access-checkpoint/1``) with the chain's checkpoints.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

CANONICAL_VERSION = 1
GENESIS = bytes(32)
CHECKPOINT_FORMAT = "audit-service-checkpoint/1"
CHECKPOINT_FORMAT_2 = "audit-service-checkpoint/2"  # with ``officers_root``
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
_TS_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'

#: Kinds of fault a check reports.
ALTERED = "altered"        # the event at this position is not the one chained here
MISSING = "missing"        # the chain has an event here; the log has none
INSERTED = "inserted"      # the log has an event here that the chain never had
REORDERED = "reordered"    # the event chained here sits at another position
TRUNCATED = "truncated"    # the log ends before events the chain or a trusted checkpoint holds
SHIFTED = "shifted"        # follows an insertion or removal that renumbered later rows
FORKED = "forked"          # the chain at a trusted checkpoint's position is another history
CHAIN = "chain"            # the chain entry does not follow from its predecessor
CHECKPOINT = "checkpoint"  # a checkpoint is unsigned where required, forged, or disagrees
BOARD = "board_hash"       # a reappointment quotes an eligibility hash that does not recompute
KEY = "key"                # a stored public key that the pinned keys do not lead to
OFFICER_MAP = "officer_map"  # a signed officer map root the events do not give
FAULT_KINDS = (ALTERED, MISSING, INSERTED, REORDERED, TRUNCATED, SHIFTED, FORKED, CHAIN,
               CHECKPOINT, BOARD, KEY, OFFICER_MAP)
ROTATION_FORMAT = "audit-service-key-rotation/1"

MAX_FAULTS_LISTED = 200
MAX_PENDING = 10_000


# --------------------------------------------------------------------------- canonical bytes

def field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def normalize_timestamp(text: str) -> str:
    """An ISO 8601 instant as fixed-width UTC text; naive values are taken as UTC."""
    if len(text) == 32 and text.endswith("+00:00") and text[19] == "." and text[10] == "T":
        return text
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(TS_FORMAT)


def recorded_at_of(plain_state: bytes) -> str:
    """The ``timestamp`` inside a decrypted, decompressed state; "" if there is none."""
    try:
        if plain_state.startswith(_TS_PREFIX):
            start = len(_TS_PREFIX)
            text = plain_state[start:plain_state.index(b'"', start)].decode("ascii")
        else:
            value = json.loads(plain_state)["timestamp"]
            text = value["_data_"] if isinstance(value, dict) else value
        return normalize_timestamp(str(text))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return ""


def originator_text(originator_id: Any) -> str:
    """The aggregate id as canonical text (UUIDs lowercase, hyphenated)."""
    return str(originator_id).lower()


def content_bytes(originator_id: str, version: int, topic: str, state: bytes,
                  recorded_at: str) -> bytes:
    return b"".join((field(originator_id.encode("utf-8")), field(str(int(version)).encode()),
                     field(topic.encode("utf-8")), field(bytes(state)),
                     field(recorded_at.encode("ascii"))))


def position_bytes(position: int) -> bytes:
    return field(str(int(position)).encode())


def canonical_bytes(position: int, originator_id: str, version: int, topic: str,
                    state: bytes, recorded_at: str) -> bytes:
    return position_bytes(position) + content_bytes(originator_id, version, topic, state,
                                                    recorded_at)


def link(prev_hash: bytes, position: int, content: bytes) -> bytes:
    """``SHA-256(prev_hash + canonical(e))`` given the event's content bytes."""
    h = hashlib.sha256(prev_hash)
    h.update(position_bytes(position))
    h.update(content)
    return h.digest()


def digest(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


def open_export(path: Any) -> Any:
    """An export file opened for reading lines as bytes (gzip-compressed or not)."""
    f = open(path, "rb")
    if f.peek(2)[:2] == b"\x1f\x8b":
        import gzip

        f.close()
        return gzip.open(path, "rb")
    return f


# --------------------------------------------------------------------------- checkpoints

def checkpoint_payload(cp: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers (format 2 when it carries the officer map's
    root, ``officers_root``)."""
    body = {"format": CHECKPOINT_FORMAT, "position": int(cp["position"]), "head": cp["head"],
            "count": int(cp["count"]), "created_at": cp["created_at"], "key_id": cp["key_id"]}
    if cp.get("officers_root"):
        body.update(format=CHECKPOINT_FORMAT_2, officers_root=cp["officers_root"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


def rotation_payload(statement: Mapping[str, Any]) -> bytes:
    """The bytes both signatures of a key rotation statement cover."""
    body = {"format": ROTATION_FORMAT, "created_at": statement["created_at"],
            **{k: statement[k] for k in ("old_key_id", "old_public_key", "new_key_id",
                                         "new_public_key")}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def _signature_holds(public_b64: str, key_id: str, signature: Any, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(public_b64)
        if key_id_of(raw) != key_id:
            return False
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature), payload)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def trust_closure(pinned: Mapping[str, Mapping[str, Any]],
                  rotations: Iterable[Mapping[str, Any]]) -> dict[str, dict]:
    """The pinned keys and every key a valid rotation statement links them to, both ways.

    ``pinned`` maps key id to ``{"public_key", "valid_from"}``; a key reached through a
    rotation is valid from the statement's ``created_at``.
    """
    trusted = {k: dict(v) for k, v in pinned.items()}
    valid = []
    for st in rotations:
        try:
            payload = rotation_payload(st)
        except (KeyError, TypeError):
            continue
        old_ok = _signature_holds(st["old_public_key"], st["old_key_id"],
                                  st.get("old_signature"), payload)
        new_ok = _signature_holds(st["new_public_key"], st["new_key_id"],
                                  st.get("new_signature"), payload)
        if old_ok and new_ok:
            valid.append(st)
    grown = True
    while grown:
        grown = False
        for st in valid:
            old, new = st["old_key_id"], st["new_key_id"]
            if old in trusted and new not in trusted:
                trusted[new] = {"key_id": new, "public_key": st["new_public_key"],
                                "valid_from": st["created_at"], "via": f"rotation from {old}"}
                grown = True
            elif new in trusted and old not in trusted:
                trusted[old] = {"key_id": old, "public_key": st["old_public_key"],
                                "valid_from": None, "via": f"rotation to {new}"}
                grown = True
    return trusted


def verify_signature(cp: Mapping[str, Any], keys: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why a checkpoint's signature does not hold (a short reason), or None if it holds.

    ``keys`` maps key id to ``{"public_key": base64 raw, "valid_from": ISO time}``.
    """
    if not cp.get("signature") or not cp.get("key_id"):
        return "unsigned"
    key = keys.get(cp["key_id"])
    if key is None:
        return "unknown_key"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode(key["public_key"])
        if key_id_of(raw) != cp["key_id"]:
            return "key_id_mismatch"
        Ed25519PublicKey.from_public_bytes(raw).verify(
            base64.b64decode(cp["signature"]), checkpoint_payload(cp))
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return "bad_signature"
    valid_from = key.get("valid_from")
    if valid_from and str(cp["created_at"]) < str(valid_from):
        return "signed_before_key_valid"
    return None


# --------------------------------------------------------------------------- checking

class Fault(dict):
    """One fault: ``position``, ``kind``, ``detail`` (and ``related`` for a moved event)."""

    @property
    def position(self) -> int:
        return self["position"]

    @property
    def kind(self) -> str:
        return self["kind"]


class ChainChecker:
    """Checks a stream of log positions against the chain, in increasing position order.

    Feed every position where the log has an event or the chain has an entry:
    ``feed(position, event, chain)`` with ``event = (originator_id, version, topic, state,
    recorded_at)`` or None, and ``chain = (seq, prev_position, digest_hex, hash_hex)`` or
    None. Then ``finish()`` returns the report.

    Each chain entry is checked against its own predecessor's recorded hash, so a fault is
    found at its position and checking goes on after it; the recorded hashes are in turn
    tied to the signed checkpoints (a checkpoint's head must equal the recorded hash at its
    position), which makes the whole prefix authentic when there is no fault.
    Memory stays bounded: only faults (and a bounded index of them) are kept.
    """

    def __init__(self, *, checkpoints: Iterable[Mapping[str, Any]] = (),
                 keys: Mapping[str, Mapping[str, Any]] | None = None,
                 start_position: int = 0, start_hash: bytes = GENESIS, start_count: int = 0,
                 chain_head: int | None = None, trusted: Mapping[str, Any] | None = None,
                 require_signatures: bool = False,
                 stored_keys: Iterable[Mapping[str, Any]] | None = None):
        """``keys``: the keys whose signatures count. With ``stored_keys`` (the key records
        of the store or export being checked) the keys were pinned by the user: a stored
        record they do not lead to is a fault."""
        self.keys = dict(keys or {})
        self.last_chain_position = start_position
        self.last_hash = start_hash
        self.count = start_count
        self.start_position = start_position
        self.chain_head = chain_head
        self.trusted = dict(trusted) if trusted else None
        self.faults: list[Fault] = []
        self.fault_count = 0
        self.shifted = 0
        self.events = 0
        self.chained = 0
        self.unchained = 0
        self.first_position: int | None = None
        self.last_position: int | None = None
        self.last_event_position: int | None = None
        self.notes: list[str] = []
        self._pending_expected: dict[bytes, Fault] = {}
        self._pending_found: dict[bytes, Fault] = {}
        self._index = 0
        self._missing_claims: dict[int, Fault] = {}
        self._trusted_seen = False
        # Checkpoints: signatures are checked now; heads when the stream reaches them.
        self.checkpoints: dict[int, list[dict]] = {}
        self.signed_checkpoints = 0
        self.unsigned_checkpoints = 0
        self.valid_checkpoints = 0
        self.last_valid: dict | None = None
        self.require_signatures = require_signatures
        for cp in checkpoints:
            cp = dict(cp)
            reason = verify_signature(cp, self.keys)
            cp["_reason"] = reason
            if reason == "unsigned":
                self.unsigned_checkpoints += 1
                if require_signatures:
                    self._fault(int(cp["position"]), CHECKPOINT, "checkpoint is not signed",
                                reason="unsigned")
            else:
                self.signed_checkpoints += 1
                if reason is not None:
                    self._fault(int(cp["position"]), CHECKPOINT,
                                f"checkpoint {cp.get('checkpoint_id', '')} signature does not"
                                f" hold: {reason}", reason=reason)
            self.checkpoints.setdefault(int(cp["position"]), []).append(cp)
        for record in stored_keys or ():  # after the checkpoints: theirs is the first fault
            known = self.keys.get(record.get("key_id"))
            if known is None or known.get("public_key") != record.get("public_key"):
                signed = [p for p, cps in self.checkpoints.items()
                          if any(c.get("key_id") == record.get("key_id") for c in cps)]
                self._fault(min(signed, default=0), KEY, f"the stored public key"
                            f" {record.get('key_id')} is not one of the trusted keys (nor"
                            " reached from them by a rotation)", reason="unknown_key")
        if self.trusted is not None:
            reason = verify_signature(self.trusted, self.keys)
            if reason in ("unsigned", "unknown_key"):
                self.notes.append(f"the trusted checkpoint's signature was not checked ({reason})")
            elif reason is not None:
                self._fault(int(self.trusted["position"]), CHECKPOINT, "the trusted checkpoint's"
                            f" signature does not hold: {reason}", reason=reason)

    # -- faults ----------------------------------------------------------------
    def _fault(self, position: int, kind: str, detail: str, **extra: Any) -> Fault:
        fault = Fault(position=position, kind=kind, detail=detail, **extra)
        self.fault_count += 1
        if len(self.faults) < MAX_FAULTS_LISTED:
            self.faults.append(fault)
        return fault

    def _remember(self, table: dict, key: bytes, fault: Fault) -> None:
        table[key] = fault
        if len(table) > MAX_PENDING:
            table.pop(next(iter(table)))

    def _content_fault(self, position: int, found: bytes, expected: bytes) -> None:
        """The event here is not the one chained here: altered, moved, or shifted."""
        index = self._index
        moved_from = self._pending_expected.pop(found, None)   # what is here was due earlier
        moved_to = self._pending_found.pop(expected, None)     # what is due here was seen earlier
        if moved_from is not None and moved_from is moved_to:
            moved_from["kind"] = REORDERED
            moved_from["related"] = position
            moved_from["detail"] = (f"the event chained at {position} is at"
                                    f" {moved_from['position']}, and the other way round")
            self._fault(position, REORDERED,
                        f"the event chained at {moved_from['position']} is here",
                        related=moved_from["position"])
            return
        fault: Fault
        if moved_from is not None and moved_from["_index"] == index - 1:
            if moved_from["kind"] not in (SHIFTED, INSERTED):
                moved_from["kind"] = INSERTED
                moved_from["detail"] = ("an event that the chain never had sits here; later"
                                        " events moved up by one position")
            fault = self._shift(position, "+1")
        elif moved_to is not None and moved_to["_index"] == index - 1:
            if moved_to["kind"] not in (SHIFTED, MISSING):
                moved_to["kind"] = MISSING
                moved_to["detail"] = ("the event chained here was removed; later events moved"
                                      " down by one position")
            fault = self._shift(position, "-1")
        elif moved_from is not None or moved_to is not None:
            other = moved_from if moved_from is not None else moved_to
            other["kind"] = REORDERED
            other["related"] = position
            fault = self._fault(position, REORDERED,
                                f"event moved between {other['position']} and {position}",
                                related=other["position"])
        else:
            fault = self._fault(position, ALTERED,
                                "the event here differs from the one chained here")
        fault["_index"] = index
        self._remember(self._pending_expected, expected, fault)
        self._remember(self._pending_found, found, fault)

    def _shift(self, position: int, by: str) -> Fault:
        self.shifted += 1
        return Fault(position=position, kind=SHIFTED, detail=f"renumbered by {by}")

    # -- feeding ---------------------------------------------------------------
    def feed(self, position: int, event: tuple | None, chain: tuple | None) -> None:
        self._index += 1
        out_of_order = self.last_position is not None and position <= self.last_position
        if self.first_position is None:
            self.first_position = position
        self.last_position = position
        claimed = self._missing_claims.pop(position, None)
        if claimed is not None:
            claimed["_void"] = True  # said missing from a later entry; here it is after all
        if out_of_order:
            self._fault(position, REORDERED, "out of position order")
        content = None
        if event is not None:
            self.events += 1
            self.last_event_position = position
            originator_id, version, topic, state, recorded_at = event
            content = content_bytes(originator_id, version, topic, state, recorded_at)
        if chain is None:
            if content is None:
                return
            if self.chain_head is not None and position > self.chain_head:
                self.unchained += 1
                return
            self._fault(position, INSERTED, "an event the chain never had")
            return
        seq, prev, digest_hex, hash_hex = chain
        self.chained += 1
        self.count += 1
        structural = out_of_order
        if prev != self.last_chain_position and not out_of_order:
            structural = True
            if prev > self.last_chain_position:
                fault = self._fault(prev, MISSING, f"the chain entry at {position} follows"
                                    f" {prev}, which is not in the log nor in the chain")
                if len(self._missing_claims) < MAX_PENDING:
                    self._missing_claims[prev] = fault
            else:
                self._fault(self.last_chain_position, INSERTED,
                            f"a chain entry the chain does not link to (the entry at"
                            f" {position} follows {prev})")
        if content is None:
            self._fault(position, MISSING, "the chain has an event here; the log has none")
        else:
            found = digest(content)
            if found.hex() != digest_hex:
                if out_of_order:
                    self._fault(position, ALTERED, "the event here differs from the one"
                                " chained here")
                else:
                    self._content_fault(position, found, bytes.fromhex(digest_hex))
            elif not structural and link(self.last_hash, position, content).hex() != hash_hex:
                self._fault(position, CHAIN, "the chain entry's hash does not follow from the"
                            " previous entry (the chain table was changed)")
        try:
            self.last_hash = bytes.fromhex(hash_hex)
        except ValueError:
            self._fault(position, CHAIN, "the chain entry's hash is not hex")
        self.last_chain_position = position
        for cp in self.checkpoints.get(position, ()):
            self._check_checkpoint(cp, hash_hex)
        if self.trusted and int(self.trusted["position"]) == position:
            self._trusted_seen = True
            if hash_hex != self.trusted["head"] or self.count != int(self.trusted["count"]):
                self._fault(position, FORKED, "the chain at the trusted checkpoint's"
                            " position differs from the trusted checkpoint: another history",
                            reason="trusted_mismatch")

    def _trusted_unseen(self, range_end: int | None, log_head: int | None) -> None:
        """The stream never reached the trusted checkpoint's position: why not?"""
        t_pos = int(self.trusted["position"])
        if t_pos <= self.start_position:
            self.notes.append(f"the trusted checkpoint at {t_pos} lies before this range;"
                              " not checked")
            return
        if t_pos <= self.last_chain_position:
            self._fault(t_pos, MISSING, "the trusted checkpoint's position is not in the chain")
            return
        chain_end = self.chain_head if self.chain_head is not None else self.last_chain_position
        if range_end is not None and range_end < t_pos and (log_head or 0) >= t_pos and \
                chain_end >= t_pos:
            self.notes.append(f"the trusted checkpoint at {t_pos} lies beyond this range;"
                              " not checked")
            return
        if max(log_head or 0, self.last_event_position or 0) >= t_pos and chain_end < t_pos:
            self._fault(chain_end + 1, TRUNCATED,
                        f"the chain ends at {chain_end} though the log goes on; the trusted"
                        f" checkpoint holds {self.trusted['count']} chained events up to"
                        f" {t_pos}: the chain was cut")
            return
        after = max(self.last_chain_position, self.last_event_position or 0)
        self._fault(after + 1, TRUNCATED,
                    f"the log ends at {after}; the trusted checkpoint holds"
                    f" {self.trusted['count']} events up to {t_pos} (found {self.count})")

    def _check_checkpoint(self, cp: dict, hash_hex: str) -> None:
        cp["_seen"] = True
        if cp["head"] != hash_hex:
            self._fault(int(cp["position"]), CHECKPOINT, "the checkpoint's head differs from"
                        " the chain at its position", reason="head_mismatch")
        elif int(cp["count"]) != self.count:
            self._fault(int(cp["position"]), CHECKPOINT, f"the checkpoint counts"
                        f" {cp['count']} events, the chain {self.count}",
                        reason="count_mismatch")
        elif cp["_reason"] is None:
            self.valid_checkpoints += 1
            if self.last_valid is None or int(cp["position"]) >= int(self.last_valid["position"]):
                self.last_valid = cp

    def _check_coverage(self, log_head: int | None) -> None:
        """Signed coverage never shrinks below what the auditor holds, and with
        ``require_signatures`` some signed checkpoint must exist at all."""
        covered = int(self.last_valid["position"]) if self.last_valid else 0
        trusted = self.trusted
        if trusted and trusted.get("signature") and self._trusted_seen and \
                covered < int(trusted["position"]):
            self._fault(int(trusted["position"]), CHECKPOINT, "signed coverage shrank: the"
                        f" store's checkpoints are signed up to {covered or 'nothing'}, the"
                        f" trusted checkpoint up to {trusted['position']}",
                        reason="coverage_shrunk")
        if self.require_signatures and not self.signed_checkpoints and \
                (self.chained or self.events or (log_head or 0) > self.start_position):
            self._fault(self.first_position or self.start_position + 1, CHECKPOINT, "no signed checkpoint at all:"
                        " nothing ties this chain to a signing key",
                        reason="no_signed_checkpoint")

    # -- result ----------------------------------------------------------------
    def finish(self, *, complete: bool = True, range_end: int | None = None,
               log_head: int | None = None) -> dict:
        """The report. ``complete``: the whole range was fed (not stopped by a deadline)."""
        if complete:
            last_event = self.last_event_position
            for fault in self.faults:
                if fault["kind"] == MISSING and (last_event is None or fault["position"] > last_event):
                    fault["kind"] = TRUNCATED
                    fault["detail"] = ("the log ends before this position, which the chain"
                                       " holds")
            for position, cps in self.checkpoints.items():
                for cp in cps:
                    if not cp.get("_seen") and (range_end is None or position <= range_end):
                        self._fault(position, CHECKPOINT, "no chain entry at the checkpoint's"
                                    " position", reason="not_in_chain")
            if self.trusted and not self._trusted_seen:
                self._trusted_unseen(range_end, log_head)
            self._check_coverage(log_head)
        void = [f for f in self.faults if f.get("_void")]
        self.fault_count -= len(void)
        faults = sorted((f for f in self.faults if not f.get("_void")),
                        key=lambda f: (f["position"], f["kind"] == SHIFTED))
        for fault in faults:
            fault.pop("_index", None)
            fault.pop("_void", None)
        first = next((f for f in faults if f["kind"] != SHIFTED), None)
        covered = int(self.last_valid["position"]) if self.last_valid else None
        signing = ("signed" if self.signed_checkpoints and not self.unsigned_checkpoints else
                   "partly signed" if self.signed_checkpoints else
                   "unsigned" if self.unsigned_checkpoints else "no checkpoints")
        report = {
            "ok": first is None,
            "complete": complete,
            "events": self.events,
            "chained": self.chained,
            "unchained": self.unchained,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "chain_head": {"position": self.last_chain_position, "hash": self.last_hash.hex(),
                           "count": self.count},
            "checkpoints": {
                "total": self.signed_checkpoints + self.unsigned_checkpoints,
                "signed": self.signed_checkpoints, "unsigned": self.unsigned_checkpoints,
                "valid": self.valid_checkpoints, "signing": signing,
                "last_valid": _public_checkpoint(self.last_valid),
            },
            "signed_up_to": covered,
            "not_covered_by_signature": (self.last_chain_position - covered
                                         if covered is not None else None),
            "first_fault": dict(first) if first else None,
            "faults": [dict(f) for f in faults if f["kind"] != SHIFTED],
            "fault_count": self.fault_count,
            "shifted": self.shifted,
            "notes": list(self.notes),
        }
        if signing == "unsigned":
            report["notes"].append("checkpoints are not signed (no signing key was configured):"
                                    " the chain shows consistency, not authenticity")
        elif signing == "no checkpoints":
            report["notes"].append("no checkpoints: nothing is signed")
        if self.fault_count > MAX_FAULTS_LISTED:
            report["notes"].append(f"only the first {MAX_FAULTS_LISTED} faults are listed")
        return report


# --------------------------------------------------------------------------- the access log

ACCESS_FORMAT = "audit-service-access-checkpoint/1"
ACCESS = "access_log"      # the access log's chain or its signed heads do not hold
ACCESS_FIELDS = ("id", "accessed_at", "user_id", "role", "officer_id", "what", "as_of",
                 "query", "status")


def access_bytes(record: Mapping[str, Any]) -> bytes:
    """Canonical bytes of an access-log record: its fields in ``ACCESS_FIELDS`` order, each
    as text (``None`` as the empty string), length-prefixed like an event's."""
    return b"".join(field(("" if record.get(k) is None else str(record[k])).encode("utf-8"))
                    for k in ACCESS_FIELDS)


def access_link(prev_hex: str | None, record: Mapping[str, Any]) -> str:
    """``SHA-256(previous record's hash + access_bytes(record))`` as hex; the first record
    follows 32 zero bytes."""
    prev = bytes.fromhex(prev_hex) if prev_hex else GENESIS
    return hashlib.sha256(prev + access_bytes(record)).hexdigest()


def access_checkpoint_payload(cp: Mapping[str, Any]) -> bytes:
    body = {"format": ACCESS_FORMAT, "access_id": int(cp["access_id"]), "head": cp["head"],
            "count": int(cp["count"]), "created_at": cp["created_at"], "key_id": cp["key_id"]}
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


class AccessChecker:
    """Checks the access log's chain (records fed in id order, with ``prev_hash`` and
    ``hash``) and its signed heads. Faults carry the record ``id``: ``altered`` (the record
    is not the one hashed), ``unlinked`` (it does not follow the record before it: one was
    removed or slipped in), ``unchained`` (a record without a hash after chained ones), and
    for a signed head ``head_mismatch`` / ``count_mismatch`` / ``truncated`` (no record at
    its id any more) or its signature's reason."""

    def __init__(self, checkpoints: Iterable[Mapping[str, Any]]):
        self.cps = [dict(c) for c in checkpoints]
        self.wanted = {int(c["access_id"]) for c in self.cps}
        self.seen: dict[int, tuple[str, int]] = {}
        self.faults: list[dict] = []
        self.last: str | None = None
        self.count = self.legacy = 0

    def _fault(self, record_id: int, reason: str, detail: str) -> None:
        if len(self.faults) < MAX_FAULTS_LISTED:
            self.faults.append({"id": record_id, "kind": ACCESS, "reason": reason,
                                "detail": detail})

    def feed(self, r: Mapping[str, Any]) -> None:
        rid = int(r["id"])
        if not r.get("hash"):
            if self.count:
                self._fault(rid, "unchained", "a record without a hash after chained records")
            else:
                self.legacy += 1
            return
        self.count += 1
        if (r.get("prev_hash") or None) != self.last:
            self._fault(rid, "unlinked", "the record does not follow the one before it (a"
                        " record was removed or slipped in)")
        elif access_link(r.get("prev_hash"), r) != r["hash"]:
            self._fault(rid, "altered", "the record differs from the one hashed")
        self.last = r["hash"]
        if rid in self.wanted:
            self.seen[rid] = (r["hash"], self.count)

    def finish(self, keys: Mapping[str, Mapping[str, Any]]) -> dict:
        signed = 0
        for cp in self.cps:
            rid = int(cp["access_id"])
            reason = None
            if not cp.get("signature") or not cp.get("key_id"):
                reason = "unsigned"
            elif cp["key_id"] not in keys:
                reason = "unknown_key"
            elif not _signature_holds(keys[cp["key_id"]]["public_key"], cp["key_id"],
                                      cp["signature"], access_checkpoint_payload(cp)):
                reason = "bad_signature"
            if reason not in (None, "unsigned"):
                self._fault(rid, reason, f"the access checkpoint's signature does not hold:"
                            f" {reason}")
                continue
            signed += reason is None
            if rid not in self.seen:
                self._fault(rid, "truncated", "no chained access record at the checkpoint's"
                            " id: records were removed")
            elif self.seen[rid][0] != cp["head"]:
                self._fault(rid, "head_mismatch", "the access log at the checkpoint's id"
                            " differs from what was signed")
            elif self.seen[rid][1] != int(cp["count"]):
                self._fault(rid, "count_mismatch", f"the checkpoint counts {cp['count']}"
                            f" records, the log {self.seen[rid][1]}")
        faults = sorted(self.faults, key=lambda f: f["id"])
        return {"ok": not faults, "records": self.count, "unchained_before": self.legacy,
                "checkpoints": len(self.cps), "signed_checkpoints": signed, "head": self.last,
                "first_fault": faults[0] if faults else None, "faults": faults}


def check_access(records: Iterable[Mapping[str, Any]], checkpoints: Iterable[Mapping[str, Any]],
                 keys: Mapping[str, Mapping[str, Any]]) -> dict:
    checker = AccessChecker(checkpoints)
    for r in records:
        checker.feed(r)
    return checker.finish(keys)


def add_faults(report: dict, faults: list[dict]) -> None:
    """Merge more faults into a verify report, in log order: the report fails, and its first
    fault is kept unless it had none."""
    if not faults:
        return
    report["faults"] = sorted(report["faults"] + faults, key=lambda f: f["position"])
    report["fault_count"] += len(faults)
    report["ok"] = False
    if report["first_fault"] is None:
        report["first_fault"] = faults[0]


def merge_access(report: dict, access: Mapping[str, Any]) -> dict:
    """Add an access-log check to a chain report (its faults are by record id, apart)."""
    report["access_log"] = dict(access)
    if not access["ok"]:
        report["ok"] = False
        if report.get("status") in (None, "ok", "incomplete"):
            report["status"] = "failed"
    return report


def _public_checkpoint(cp: Mapping[str, Any] | None) -> dict | None:
    if cp is None:
        return None
    return {k: v for k, v in cp.items() if not k.startswith("_")}


def describe(report: Mapping[str, Any]) -> list[str]:
    """Human-readable lines for a report (shared by the CLI and the offline verifier)."""
    lines = []
    cps = report["checkpoints"]
    status = report.get("status") or ("ok" if report["ok"] else "failed")
    if status == "incomplete":  # stopped by a deadline with no fault found: never "OK"
        lines.append(f"incomplete: checked {report['events']} of"
                     f" {report.get('log_events', '?')} events; nothing after position"
                     f" {report['last_position'] or 0} was verified")
    lines.append(f"{'FAILED' if status == 'failed' else 'OK' if status == 'ok' else 'checked'}:"
                 f" {report['events']} events checked"
                 f" (positions {report['first_position']}..{report['last_position']}),"
                 f" {report['chained']} chain entries, chain head at"
                 f" {report['chain_head']['position']} ({report['chain_head']['count']} events)")
    if not report.get("complete", True):
        lines.append(f"stopped early (deadline): verified up to position"
                     f" {report['last_position']}")
    lines.append(f"checkpoints: {cps['total']} ({cps['signed']} signed, {cps['unsigned']}"
                 f" unsigned), {cps['valid']} valid and matching the chain")
    if report["signed_up_to"] is not None:
        last = cps["last_valid"]
        lines.append(f"signed up to position {report['signed_up_to']} (checkpoint of"
                     f" {last['created_at']}, key {last['key_id']});"
                     f" {report['not_covered_by_signature']} later positions are not covered"
                     " by a signature")
    if report["unchained"]:
        lines.append(f"{report['unchained']} events after the chain head are not chained yet")
    for note in report["notes"]:
        lines.append(f"note: {note}")
    if report["first_fault"]:
        f = report["first_fault"]
        lines.append(f"first bad position: {f['position']} ({f['kind']}): {f['detail']}")
    for f in report["faults"]:
        extra = f" [{f['reason']}]" if f.get("reason") else ""
        lines.append(f"  fault at {f['position']}: {f['kind']}{extra}: {f['detail']}")
    if report["shifted"]:
        lines.append(f"  ... and {report['shifted']} later positions renumbered by the same"
                     " change")
    access = report.get("access_log")
    if access:
        lines.append(f"access log: {access['records']} chained records,"
                     f" {access['signed_checkpoints']} signed heads, "
                     + ("no fault" if access["ok"] else f"{len(access['faults'])} fault(s)"))
        for f in access["faults"]:
            lines.append(f"  access record {f['id']}: {f['reason']}: {f['detail']}")
    return lines
