"""The chain checker on logs built in memory: each tamper gives the faults written here by
hand (position and kind), from the rules in auditing/chain.py's docstring.

No store and no service: the checker is fed ``(position, event, chain entry)`` as the
verifiers feed it, so each case runs in milliseconds (this file is the mutation-test
selection for chain.py).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid

import pytest

from auditing import chain
from auditing.chain import (ALTERED, FORKED, CHAIN, CHECKPOINT, INSERTED, MISSING, REORDERED,
                                       TRUNCATED, ChainChecker)
from auditing.signing import Signer

TOPIC = "audit_service.domain:Officer.Registered"
N = 10


def event(i: int, tag: str = "") -> tuple:
    stamp = f"2026-01-01T00:00:{i:02d}.000000+00:00"
    state = json.dumps({"timestamp": {"_type_": "datetime_iso", "_data_": stamp},
                        "n": i, "tag": tag}).encode()
    return (str(uuid.UUID(int=i)), 1, TOPIC, state, stamp)


def F(x: bytes) -> bytes:  # the documented field encoding, written out here
    return len(x).to_bytes(4, "big") + x


def content(e: tuple) -> bytes:
    oid, version, topic, state, recorded = e
    return b"".join((F(oid.encode()), F(str(version).encode()), F(topic.encode()), F(state),
                     F(recorded.encode())))


def build(log: dict[int, tuple]) -> dict[int, tuple]:
    """The chain of a log, from the documented rule h_n = SHA-256(h_prev + canonical(e_n))."""
    h, prev, entries = bytes(32), 0, {}
    for seq, p in enumerate(sorted(log), 1):
        c = content(log[p])
        h = hashlib.sha256(h + F(str(p).encode()) + c).digest()
        entries[p] = (seq, prev, hashlib.sha256(c).hexdigest(), h.hex())
        prev = p
    return entries


def sound(n: int = N) -> tuple[dict, dict]:
    log = {p: event(p) for p in range(1, n + 1)}
    return log, build(log)


def check(log: dict, entries: dict, order: list[int] | None = None, finish: dict | None = None,
          **kw) -> dict:
    checker = ChainChecker(**kw)
    for p in order or sorted(set(log) | set(entries)):
        checker.feed(p, log.get(p), entries.get(p))
    return checker.finish(**(finish or {}))


def faults(report: dict) -> list[tuple]:
    return [(f["position"], f["kind"]) for f in report["faults"]]


# --------------------------------------------------------------------------- canonical bytes

def test_canonical_bytes_and_link_follow_the_documented_format():
    e = event(3)
    assert chain.content_bytes(*e) == content(e)
    assert chain.position_bytes(17) == b"\x00\x00\x00\x0217"
    assert chain.canonical_bytes(17, *e) == b"\x00\x00\x00\x0217" + content(e)
    assert chain.field(b"") == b"\x00\x00\x00\x00"
    assert chain.field(b"x" * 300) == b"\x00\x00\x01\x2c" + b"x" * 300
    assert chain.link(bytes(32), 17, content(e)) == \
        hashlib.sha256(bytes(32) + b"\x00\x00\x00\x0217" + content(e)).digest()
    assert chain.digest(b"abc") == hashlib.sha256(b"abc").digest()
    assert chain.originator_text("82DF4D93-33CC-42E5-9438-C6B83830A6EA") == \
        "82df4d93-33cc-42e5-9438-c6b83830a6ea"


@pytest.mark.parametrize("state, recorded", [
    (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-02T03:04:05+07:00"},"x":1}',
     "2026-01-01T20:04:05.000000+00:00"),
    (b'{"x":1,"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-02T03:04:05.5"}}',
     "2026-01-02T03:04:05.500000+00:00"),  # naive: taken as UTC
    (b'{"timestamp":"2026-01-02T03:04:05.123456+00:00"}', "2026-01-02T03:04:05.123456+00:00"),
    (b'{"x":1}', ""),
    (b'not json', ""),
    (b'{"timestamp":{"_type_":"datetime_iso","_data_":"yesterday"}}', ""),
    (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-02T03:04:05\xff"}}', ""),
])
def test_recorded_at_is_the_states_timestamp_in_fixed_width_utc(state, recorded):
    assert chain.recorded_at_of(state) == recorded


@pytest.mark.parametrize("text, fixed", [
    ("2026-01-02T03:04:05.000001+00:00", "2026-01-02T03:04:05.000001+00:00"),
    ("2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05.000000+00:00"),
    ("2026-01-02T10:04:05.000001+07:00", "2026-01-02T03:04:05.000001+00:00"),
    ("2026-01-02 03:04:05.000001+00:00", "2026-01-02T03:04:05.000001+00:00"),
    ("2026-01-02T03:04:05,000001+00:00", "2026-01-02T03:04:05.000001+00:00"),
])
def test_normalize_timestamp(text, fixed):
    assert chain.normalize_timestamp(text) == fixed


def test_open_export_reads_plain_and_gzip_files(tmp_path):
    plain, packed = tmp_path / "a.ndjson", tmp_path / "b.ndjson.gz"
    plain.write_bytes(b'{"a":1}\n')
    packed.write_bytes(gzip.compress(b'{"a":1}\n'))
    for path in (plain, packed):
        with chain.open_export(path) as f:
            assert f.read() == b'{"a":1}\n'


# --------------------------------------------------------------------------- the log and the chain

def test_a_sound_log_verifies_and_reports_its_head():
    log, entries = sound()
    report = check(log, entries)
    assert report["ok"] and report["complete"] is True and report["faults"] == []
    assert (report["events"], report["chained"], report["unchained"]) == (N, N, 0)
    assert (report["first_position"], report["last_position"]) == (1, N)
    assert report["chain_head"] == {"position": N, "hash": entries[N][3], "count": N}
    assert report["first_fault"] is None and report["fault_count"] == 0
    assert report["checkpoints"]["signing"] == "no checkpoints"
    assert report["notes"] == ["no checkpoints: nothing is signed"]


def test_an_altered_event_is_found_at_its_position_only():
    log, entries = sound()
    log[3] = event(3, tag="changed")
    report = check(log, entries)
    assert faults(report) == [(3, ALTERED)] and not report["ok"]
    assert report["first_fault"]["position"] == 3 and report["fault_count"] == 1


def test_an_altered_event_with_its_digest_rewritten_breaks_the_link():
    log, entries = sound()
    log[3] = event(3, tag="changed")
    seq, prev, _, h = entries[3]
    entries[3] = (seq, prev, hashlib.sha256(content(log[3])).hexdigest(), h)
    assert faults(check(log, entries)) == [(3, CHAIN)]


def test_a_rewritten_hash_breaks_its_own_link_and_the_next():
    log, entries = sound()
    seq, prev, d, _ = entries[3]
    entries[3] = (seq, prev, d, "ab" * 32)
    assert faults(check(log, entries)) == [(3, CHAIN), (4, CHAIN)]


def test_a_hash_that_is_not_hex_is_a_chain_fault():
    log, entries = sound()
    seq, prev, d, _ = entries[N]
    entries[N] = (seq, prev, d, "zz" * 32)
    assert (N, CHAIN) in faults(check(log, entries))


def test_events_past_the_chain_head_are_unchained_not_faults():
    log, entries = sound()
    log[N + 1], log[N + 2] = event(N + 1), event(N + 2)
    report = check(log, entries, chain_head=N)
    assert report["ok"] and report["unchained"] == 2 and report["events"] == N + 2
    # without a chain head every unchained event is one the chain never had
    assert faults(check(log, entries)) == [(N + 1, INSERTED), (N + 2, INSERTED)]


def test_a_removed_event_is_missing_and_a_removed_tail_truncated():
    log, entries = sound()
    del log[3]
    assert faults(check(log, entries)) == [(3, MISSING)]
    log, entries = sound()
    del log[N], log[N - 1]
    report = check(log, entries)
    assert faults(report) == [(N - 1, TRUNCATED), (N, TRUNCATED)]
    # stopped early (a deadline), a missing tail is not called truncated
    assert faults(check(log, entries, finish={"complete": False})) == \
        [(N - 1, MISSING), (N, MISSING)]


def test_an_event_inserted_with_later_ones_renumbered_is_one_insertion():
    log, entries = sound()
    moved = {p: log[p] for p in range(1, 3)}
    moved[3] = event(99, tag="forged")
    moved.update({p + 1: log[p] for p in range(3, N + 1)})
    report = check(moved, entries, chain_head=N)
    assert faults(report) == [(3, INSERTED)]
    assert report["shifted"] == N - 3 and report["unchained"] == 1


def test_an_event_removed_with_later_ones_renumbered_is_one_removal():
    log, entries = sound()
    moved = {p: log[p] for p in range(1, 3)}
    moved.update({p - 1: log[p] for p in range(4, N + 1)})
    report = check(moved, entries)
    assert faults(report) == [(3, MISSING), (N, TRUNCATED)]
    assert report["shifted"] == N - 4


@pytest.mark.parametrize("a, b", [(3, 6), (3, 4)])
def test_two_swapped_events_are_reported_as_reordered_both_ways(a, b):
    log, entries = sound()
    log[a], log[b] = log[b], log[a]
    report = check(log, entries)
    assert faults(report) == [(a, REORDERED), (b, REORDERED)]
    assert [f["related"] for f in report["faults"]] == [b, a]


def test_an_event_moved_two_places_on_is_reordered_and_the_other_altered():
    log, entries = sound()
    log[3], log[5] = log[5], event(3, tag="changed")  # 5's event at 3, 3 altered at 5
    report = check(log, entries)
    assert faults(report) == [(3, REORDERED), (5, REORDERED)]
    assert report["faults"][1]["detail"] == "event moved between 3 and 5"
    assert [f["related"] for f in report["faults"]] == [5, 3]


def test_positions_fed_out_of_order_are_reordered():
    log, entries = sound()
    report = check(log, entries, order=[1, 2, 4, 3, 5, 6, 7, 8, 9, 10])
    assert (3, REORDERED) in faults(report) and not report["ok"]


def test_a_gap_in_positions_is_sound_and_an_event_forged_into_it_is_inserted():
    log = {p: event(p) for p in (1, 2, 5, 6)}
    entries = build(log)
    assert entries[5][1] == 2  # the entry records its predecessor
    assert check(log, entries)["ok"]
    log[3] = event(3, tag="forged")
    assert faults(check(log, entries)) == [(3, INSERTED)]


def test_an_entry_that_skips_its_predecessor_leaves_that_one_unlinked():
    log, entries = sound()
    seq, _, d, h = entries[4]
    entries[4] = (seq, 2, d, h)
    report = check(log, entries)
    assert report["first_fault"]["position"] == 3 and report["first_fault"]["kind"] == INSERTED


def test_an_entry_following_a_position_that_is_nowhere_claims_it_missing():
    log, entries = sound()
    del log[3], entries[3]
    report = check(log, entries)
    assert report["first_fault"]["position"] == 3 and report["first_fault"]["kind"] == MISSING
    assert "not in the log nor in the chain" in report["first_fault"]["detail"]


def test_a_claimed_missing_position_that_turns_up_later_is_not_a_fault():
    log, entries = sound()
    report = check(log, entries, order=[1, 2, 4, 3, 5, 6, 7, 8, 9, 10])
    assert (3, MISSING) not in faults(report)


def test_the_fault_list_is_capped_but_counted():
    log = {p: event(p) for p in range(1, 251)}
    entries = build(log)
    for p in log:
        log[p] = event(p, tag="changed")
    report = check(log, entries)
    assert len(report["faults"]) == chain.MAX_FAULTS_LISTED == 200
    assert report["fault_count"] == 250
    assert "only the first 200 faults are listed" in report["notes"]


# --------------------------------------------------------------------------- checkpoints

@pytest.fixture(scope="module")
def signer():
    return Signer.from_seed(bytes(range(32)))


def checkpoint(entries: dict, position: int, signer: Signer | None, count: int | None = None,
               created_at: str = "2026-01-02T00:00:00.000000+00:00", head: str | None = None,
               at: int | None = None) -> dict:
    """A checkpoint of the chain at ``position`` (signed after ``count``, ``head`` and ``at``,
    the position it states, are applied)."""
    cp = {"checkpoint_id": f"cp-{position}", "position": position if at is None else at,
          "head": head or entries[position][3], "count": position if count is None else count,
          "created_at": created_at, "key_id": signer.key_id if signer else None}
    cp["signature"] = signer.sign(cp) if signer else None
    return cp


def keys_of(signer: Signer, valid_from: str = "2026-01-01T00:00:00.000000+00:00") -> dict:
    return {signer.key_id: {"public_key": signer.public_b64, "valid_from": valid_from}}


def test_a_signed_checkpoint_that_matches_covers_the_chain_up_to_it(signer):
    log, entries = sound()
    cps = [checkpoint(entries, 4, signer), checkpoint(entries, 7, signer)]
    report = check(log, entries, checkpoints=cps, keys=keys_of(signer))
    assert report["ok"]
    assert report["checkpoints"] == {
        "total": 2, "signed": 2, "unsigned": 0, "valid": 2, "signing": "signed",
        "last_valid": {k: v for k, v in cps[1].items()}}
    assert report["signed_up_to"] == 7 and report["not_covered_by_signature"] == N - 7
    assert report["notes"] == []


def test_a_valid_checkpoint_listed_before_an_older_one_still_counts_as_the_last(signer):
    log, entries = sound()
    cps = [checkpoint(entries, 7, signer), checkpoint(entries, 7, signer,
                                                       created_at="2026-01-03T00:00:00.000000+00:00")]
    report = check(log, entries, checkpoints=cps, keys=keys_of(signer))
    assert report["checkpoints"]["last_valid"]["created_at"] == "2026-01-03T00:00:00.000000+00:00"


@pytest.mark.parametrize("change, reason", [
    ({"head": "cd" * 32}, "head_mismatch"),
    ({"count": 5}, "count_mismatch"),
])
def test_a_checkpoint_disagreeing_with_the_chain(signer, change, reason):
    log, entries = sound()
    cp = checkpoint(entries, 4, signer, head=change.get("head"), count=change.get("count"))
    report = check(log, entries, checkpoints=[cp], keys=keys_of(signer))
    assert [(f["position"], f["kind"], f["reason"]) for f in report["faults"]] == \
        [(4, CHECKPOINT, reason)]
    assert report["checkpoints"]["valid"] == 0 and report["signed_up_to"] is None
    assert report["not_covered_by_signature"] is None


@pytest.mark.parametrize("tamper, keys, reason", [
    (lambda cp: cp.update(created_at="2030-01-01T00:00:00.000000+00:00"), "own", "bad_signature"),
    (lambda cp: cp.update(signature="!!not base64!!"), "own", "bad_signature"),
    (lambda cp: None, "none", "unknown_key"),
    (lambda cp: None, "other", "key_id_mismatch"),
    (lambda cp: None, "later", "signed_before_key_valid"),
])
def test_a_checkpoint_whose_signature_does_not_hold(signer, tamper, keys, reason):
    log, entries = sound()
    cp = checkpoint(entries, 4, signer)
    tamper(cp)
    other = Signer.from_seed(bytes(32))
    keyring = {"own": keys_of(signer), "none": {},
               "other": {signer.key_id: {"public_key": other.public_b64, "valid_from": ""}},
               "later": keys_of(signer, valid_from="2026-06-01T00:00:00.000000+00:00")}[keys]
    report = check(log, entries, checkpoints=[cp], keys=keyring)
    assert [(f["position"], f["kind"], f["reason"]) for f in report["faults"]] == \
        [(4, CHECKPOINT, reason)]
    assert report["checkpoints"]["signed"] == 1 and report["checkpoints"]["valid"] == 0


def test_unsigned_checkpoints_are_faults_only_when_signatures_are_required(signer):
    log, entries = sound()
    cps = [checkpoint(entries, 4, None), checkpoint(entries, 7, signer)]
    report = check(log, entries, checkpoints=cps, keys=keys_of(signer))
    assert report["ok"] and report["checkpoints"]["signing"] == "partly signed"
    # valid: matching the chain with a signature that holds
    assert report["checkpoints"]["unsigned"] == 1 and report["checkpoints"]["valid"] == 1
    strict = check(log, entries, checkpoints=cps, keys=keys_of(signer), require_signatures=True)
    assert [(f["position"], f["reason"]) for f in strict["faults"]] == [(4, "unsigned")]
    only = check(log, entries, checkpoints=cps[:1])
    assert only["checkpoints"]["signing"] == "unsigned"
    assert only["notes"] == ["checkpoints are not signed (no signing key was configured):"
                             " the chain shows consistency, not authenticity"]


def test_a_checkpoint_at_a_position_the_chain_does_not_reach(signer):
    log, entries = sound()
    cp = checkpoint(entries, 4, signer, at=N + 5)
    report = check(log, entries, checkpoints=[cp], keys=keys_of(signer))
    assert [(f["position"], f["reason"]) for f in report["faults"]] == [(N + 5, "not_in_chain")]
    # a range that ends before it (a partial export), or a run stopped early, does not judge it
    assert check(log, entries, checkpoints=[cp], keys=keys_of(signer),
                 finish={"range_end": N})["ok"]
    assert check(log, entries, checkpoints=[cp], keys=keys_of(signer),
                 finish={"complete": False})["ok"]


# --------------------------------------------------------------------------- a trusted checkpoint

def test_a_trusted_checkpoint_that_matches(signer):
    log, entries = sound()
    held = checkpoint(entries, 6, signer)
    report = check(log, entries, checkpoints=[held], trusted=held, keys=keys_of(signer))
    assert report["ok"] and report["faults"] == []
    # a store whose own signed checkpoints no longer reach it: the signed coverage shrank
    bare = check(log, entries, trusted=held, keys=keys_of(signer))
    assert [(f["position"], f["reason"]) for f in bare["faults"]] == [(6, "coverage_shrunk")]


def test_a_trusted_checkpoint_from_another_history(signer):
    log, entries = sound()
    own = [checkpoint(entries, 6, signer)]  # the store's own: its coverage did not shrink
    held = checkpoint(entries, 6, signer, head="ef" * 32)
    report = check(log, entries, checkpoints=own, trusted=held, keys=keys_of(signer))
    assert [(f["position"], f["kind"], f["reason"]) for f in report["faults"]] == \
        [(6, FORKED, "trusted_mismatch")]
    held = checkpoint(entries, 6, signer, count=5)
    assert [(f["position"], f["reason"]) for f in
            check(log, entries, checkpoints=own, trusted=held, keys=keys_of(signer))["faults"]] == \
        [(6, "trusted_mismatch")]


def test_a_trusted_checkpoint_beyond_the_log_means_it_was_truncated(signer):
    log, entries = sound()
    longer = {p: event(p) for p in range(1, N + 3)}
    held = checkpoint(build(longer), N + 2, signer)
    report = check(log, entries, trusted=held, keys=keys_of(signer))
    assert faults(report) == [(N + 1, TRUNCATED)]
    assert report["faults"][0]["detail"] == (f"the log ends at {N}; the trusted checkpoint holds"
                                             f" {N + 2} events up to {N + 2} (found {N})")
    # a partial range that ends before it, of a log that goes on: not checked, said so
    # (whose chain goes on too: the store's chain head is past the range)
    partial = check(log, entries, trusted=held, keys=keys_of(signer), chain_head=N + 2,
                    finish={"range_end": N, "log_head": N + 2})
    assert partial["ok"] and partial["notes"][0] == \
        f"the trusted checkpoint at {N + 2} lies beyond this range; not checked"
    # stopped early: nothing is said about it
    assert check(log, entries, trusted=held, keys=keys_of(signer),
                 finish={"complete": False})["ok"]


def test_a_trusted_checkpoint_at_a_position_missing_from_the_chain(signer):
    log, entries = sound()
    held = checkpoint(entries, 6, signer)
    del log[6], entries[6]
    seq, _, d, h = entries[7]
    entries[7] = (seq, 5, d, h)
    report = check(log, entries, trusted=held, keys=keys_of(signer))
    assert (6, MISSING) in faults(report)


def test_a_trusted_checkpoint_before_the_range_is_not_checked(signer):
    log, entries = sound()
    held = checkpoint(entries, 2, signer)
    later = {p: log[p] for p in range(5, N + 1)}
    report = check(later, {p: entries[p] for p in later}, trusted=held, keys=keys_of(signer),
                   start_position=4, start_hash=bytes.fromhex(entries[4][3]), start_count=4)
    assert report["ok"] and report["chain_head"]["count"] == N
    assert report["notes"][0] == "the trusted checkpoint at 2 lies before this range; not checked"


def test_a_trusted_checkpoint_whose_signature_cannot_be_checked_is_noted(signer):
    log, entries = sound()
    unsigned = checkpoint(entries, 6, None)
    report = check(log, entries, trusted=unsigned)
    assert report["ok"] and "the trusted checkpoint's signature was not checked (unsigned)" \
        in report["notes"]
    unknown = check(log, entries, trusted=checkpoint(entries, 6, signer))
    assert "the trusted checkpoint's signature was not checked (unknown_key)" in unknown["notes"]
    forged = checkpoint(entries, 6, signer, created_at="2030-01-01T00:00:00.000000+00:00")
    forged["signature"] = checkpoint(entries, 6, signer)["signature"]
    bad = check(log, entries, checkpoints=[checkpoint(entries, 6, signer)], trusted=forged,
                keys=keys_of(signer))
    assert [(f["position"], f["reason"]) for f in bad["faults"]] == [(6, "bad_signature")]


# --------------------------------------------------------------------------- the report in words

def test_describe_says_what_was_checked_and_the_first_fault(signer):
    log, entries = sound()
    cps = [checkpoint(entries, 7, signer)]
    ok = check(log, entries, checkpoints=cps, keys=keys_of(signer))
    lines = chain.describe(ok)
    assert lines[0] == (f"OK: {N} events checked (positions 1..{N}), {N} chain entries,"
                        f" chain head at {N} ({N} events)")
    assert lines[1] == "checkpoints: 1 (1 signed, 0 unsigned), 1 valid and matching the chain"
    assert lines[2] == (f"signed up to position 7 (checkpoint of {cps[0]['created_at']}, key"
                        f" {signer.key_id}); {N - 7} later positions are not covered by a"
                        " signature")
    log[3] = event(3, tag="changed")
    bad = chain.describe(check(log, entries))
    assert bad[0].startswith("FAILED: ")
    assert "first bad position: 3 (altered): the event here differs from the one chained here" \
        in bad
    assert "  fault at 3: altered: the event here differs from the one chained here" in bad
    assert "note: no checkpoints: nothing is signed" in bad


def test_describe_says_when_it_stopped_early_what_is_unchained_and_what_shifted():
    log, entries = sound()
    log[N + 1] = event(N + 1)
    early = chain.describe(check(log, entries, chain_head=N, finish={"complete": False}))
    assert f"stopped early (deadline): verified up to position {N + 1}" in early
    assert "1 events after the chain head are not chained yet" in early
    moved = {p: log[p] for p in range(1, 3)}
    moved[3] = event(99, tag="forged")
    moved.update({p + 1: log[p] for p in range(3, N + 1)})
    shifted = chain.describe(check(moved, entries, chain_head=N))
    assert f"  ... and {N - 3} later positions renumbered by the same change" in shifted
    assert any(line.startswith("  fault at 3: inserted: ") for line in shifted)


# --------------------------------------------------------------------------- every field of a fault

LINK = "the chain entry's hash does not follow from the previous entry (the chain table was changed)"
DIFFERS = "the event here differs from the one chained here"


def _hash(log, e):
    s, p, d, _ = e[3]
    e[3] = (s, p, d, "ab" * 32)


def _not_hex(log, e):
    s, p, d, _ = e[N]
    e[N] = (s, p, d, "zz" * 32)


def _skip(log, e):
    s, _, d, h = e[4]
    e[4] = (s, 2, d, h)


def _shift_up(log, e):
    moved = {p: log[p] for p in (1, 2)}
    moved[3] = event(99, "forged")
    moved.update({p + 1: log[p] for p in range(3, N + 1)})
    log.clear()
    log.update(moved)


def _shift_down(log, e):
    moved = {p: log[p] for p in (1, 2)}
    moved.update({p - 1: log[p] for p in range(4, N + 1)})
    log.clear()
    log.update(moved)


def _swap(log, e):
    log[3], log[6] = log[6], log[3]


FULL = [
    ("altered", lambda log, e: log.update({3: event(3, "x")}), {},
     [{"position": 3, "kind": ALTERED, "detail": DIFFERS}]),
    ("hash rewritten", _hash, {},
     [{"position": 3, "kind": CHAIN, "detail": LINK}, {"position": 4, "kind": CHAIN, "detail": LINK}]),
    ("hash not hex", _not_hex, {},
     [{"position": N, "kind": CHAIN, "detail": LINK},
      {"position": N, "kind": CHAIN, "detail": "the chain entry's hash is not hex"}]),
    ("an event the chain never had", lambda log, e: log.update({N + 1: event(N + 1)}), {},
     [{"position": N + 1, "kind": INSERTED, "detail": "an event the chain never had"}]),
    ("an unchained event at the chain head itself", lambda log, e: e.pop(N), {"chain_head": N},
     [{"position": N, "kind": INSERTED, "detail": "an event the chain never had"}]),
    ("missing", lambda log, e: log.pop(3), {},
     [{"position": 3, "kind": MISSING, "detail": "the chain has an event here; the log has none"}]),
    ("skips its predecessor", _skip, {},
     [{"position": 3, "kind": INSERTED, "detail": "a chain entry the chain does not link to (the"
                                                   " entry at 4 follows 2)"}]),
    ("follows a position that is nowhere", lambda log, e: (log.pop(3), e.pop(3)), {},
     [{"position": 3, "kind": MISSING, "detail": "the chain entry at 4 follows 3, which is not in"
                                                  " the log nor in the chain"}]),
    ("swapped", _swap, {},
     [{"position": 3, "kind": REORDERED, "related": 6,
       "detail": "the event chained at 6 is at 3, and the other way round"},
      {"position": 6, "kind": REORDERED, "related": 3, "detail": "the event chained at 3 is here"}]),
    ("one inserted, the rest renumbered", _shift_up, {"chain_head": N},
     [{"position": 3, "kind": INSERTED, "detail": "an event that the chain never had sits here;"
                                                   " later events moved up by one position"}]),
    ("one removed, the rest renumbered", _shift_down, {},
     [{"position": 3, "kind": MISSING, "detail": "the event chained here was removed; later"
                                                  " events moved down by one position"},
      {"position": N, "kind": TRUNCATED,
       "detail": "the log ends before this position, which the chain holds"}]),
]


@pytest.mark.parametrize("case,tamper,kw,expected", FULL, ids=[r[0] for r in FULL])
def test_each_tamper_reports_every_field_of_its_faults(case, tamper, kw, expected):
    log, entries = sound()
    tamper(log, entries)
    report = check(log, entries, **kw)
    assert report["faults"] == expected
    assert report["first_fault"] == expected[0] and report["ok"] is False
    assert report["fault_count"] == len(expected)


def test_renumbering_is_counted_not_listed():
    log, entries = sound()
    _shift_up(log, entries)
    up = check(log, entries, chain_head=N)
    assert up["shifted"] == N - 3 and len(up["faults"]) == 1
    log, entries = sound()
    _shift_down(log, entries)
    assert check(log, entries)["shifted"] == N - 4


@pytest.mark.parametrize("order, first", [
    ([1, 2, 4, 3, 5, 6, 7, 8, 9, 10], 3),
    ([1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10], 3),  # the same position twice
])
def test_a_position_fed_again_or_late_is_out_of_order(order, first):
    log, entries = sound()
    report = check(log, entries, order=order)
    assert report["first_fault"] == {"position": first, "kind": REORDERED,
                                     "detail": "out of position order"}


def test_an_altered_event_fed_out_of_order_is_both_reordered_and_altered():
    log, entries = sound()
    log[4] = event(4, "x")
    report = check(log, entries, order=[1, 2, 3, 5, 4, 6, 7, 8, 9, 10])
    assert report["faults"][:2] == [
        {"position": 4, "kind": REORDERED, "detail": "out of position order"},
        {"position": 4, "kind": ALTERED, "detail": DIFFERS}]
    # an out-of-order entry is not link-checked (its predecessor is not the one fed before)
    assert not any(f["kind"] == CHAIN for f in report["faults"])


def test_checkpoint_faults_say_what_is_wrong(signer):
    log, entries = sound()
    bad = checkpoint(entries, 4, signer, created_at="2030-01-01T00:00:00.000000+00:00")
    bad["signature"] = checkpoint(entries, 4, signer)["signature"]
    cases = [
        ([checkpoint(entries, 4, None)], {"require_signatures": True},
         {"position": 4, "kind": CHECKPOINT, "detail": "checkpoint is not signed",
          "reason": "unsigned"}),
        ([bad], {"keys": keys_of(signer)},
         {"position": 4, "kind": CHECKPOINT, "reason": "bad_signature",
          "detail": "checkpoint cp-4 signature does not hold: bad_signature"}),
        ([checkpoint(entries, 4, signer, head="cd" * 32)], {"keys": keys_of(signer)},
         {"position": 4, "kind": CHECKPOINT, "reason": "head_mismatch",
          "detail": "the checkpoint's head differs from the chain at its position"}),
        ([checkpoint(entries, 4, signer, count=5)], {"keys": keys_of(signer)},
         {"position": 4, "kind": CHECKPOINT, "reason": "count_mismatch",
          "detail": "the checkpoint counts 5 events, the chain 4"}),
        ([checkpoint(entries, 4, signer, at=15)], {"keys": keys_of(signer)},
         {"position": 15, "kind": CHECKPOINT, "reason": "not_in_chain",
          "detail": "no chain entry at the checkpoint's position"}),
    ]
    for cps, kw, fault in cases:
        found = check(log, entries, checkpoints=cps, **kw)["faults"]
        if kw.get("require_signatures"):  # and, required, no signed checkpoint at all
            assert found.pop(0) == {"position": 1, "kind": CHECKPOINT,
                                    "reason": "no_signed_checkpoint",
                                    "detail": "no signed checkpoint at all: nothing ties this"
                                              " chain to a signing key"}
        assert found == [fault]
    nameless = {k: v for k, v in bad.items() if k != "checkpoint_id"}
    assert check(log, entries, checkpoints=[nameless], keys=keys_of(signer))["faults"][0][
        "detail"] == "checkpoint  signature does not hold: bad_signature"


def test_trusted_checkpoint_faults_say_what_is_wrong(signer):
    log, entries = sound()
    own = [checkpoint(entries, 6, signer)]
    assert check(log, entries, checkpoints=own,
                 trusted=checkpoint(entries, 6, signer, head="ef" * 32),
                 keys=keys_of(signer))["faults"] == [
        {"position": 6, "kind": FORKED, "reason": "trusted_mismatch",
         "detail": "the chain at the trusted checkpoint's position differs from the trusted"
                   " checkpoint: another history"}]
    forged = checkpoint(entries, 6, signer, created_at="2030-01-01T00:00:00.000000+00:00")
    forged["signature"] = checkpoint(entries, 6, signer)["signature"]
    assert check(log, entries, checkpoints=own, trusted=forged, keys=keys_of(signer))["faults"] == [
        {"position": 6, "kind": CHECKPOINT, "reason": "bad_signature",
         "detail": "the trusted checkpoint's signature does not hold: bad_signature"}]
    held = checkpoint(entries, 6, signer)
    del log[6], entries[6]
    s, _, d, h = entries[7]
    entries[7] = (s, 5, d, h)
    assert check(log, entries, trusted=held, keys=keys_of(signer))["faults"][0] == \
        {"position": 6, "kind": MISSING,
         "detail": "the trusted checkpoint's position is not in the chain"}


def test_a_trusted_checkpoint_past_the_end_is_judged_unless_the_range_stops_before_it(signer):
    log, entries = sound()
    longer = {p: event(p) for p in range(1, N + 4)}
    held = checkpoint(build(longer), N + 2, signer)
    keys = keys_of(signer)
    # the range ends exactly at the trusted position: it should have been there
    at_end = check(log, entries, trusted=held, keys=keys,
                   finish={"range_end": N + 2, "log_head": N + 3})
    assert faults(at_end) == [(N + 1, TRUNCATED)]
    # no range given: the log head alone does not excuse it
    no_range = check(log, entries, trusted=held, keys=keys, finish={"log_head": N + 3})
    assert faults(no_range) == [(N + 1, TRUNCATED)]
    # events past the chain head count as where the log ends
    log[N + 1] = event(N + 1)
    unchained = check(log, entries, trusted=held, keys=keys, chain_head=N)
    assert unchained["faults"][0]["position"] == N + 2
    assert unchained["faults"][0]["detail"].startswith(f"the log ends at {N + 1};")
    # nothing at all: the log ends at 0
    empty = check({}, {}, trusted=held, keys=keys)
    assert empty["faults"] == [{"position": 1, "kind": TRUNCATED, "detail": (
        f"the log ends at 0; the trusted checkpoint holds {N + 2} events up to {N + 2}"
        " (found 0)")}]


def test_a_trusted_checkpoint_at_the_ranges_start_is_not_checked(signer):
    log, entries = sound()
    held = checkpoint(entries, 4, signer)
    later = {p: log[p] for p in range(5, N + 1)}
    report = check(later, {p: entries[p] for p in later}, trusted=held, keys=keys_of(signer),
                   start_position=4, start_hash=bytes.fromhex(entries[4][3]), start_count=4)
    assert report["ok"]
    assert report["notes"][0] == "the trusted checkpoint at 4 lies before this range; not checked"


# --------------------------------------------------------------------------- signatures and bytes

def test_the_signed_bytes_of_a_checkpoint_are_fixed():
    cp = {"position": 7, "head": "ab" * 32, "count": 7, "created_at": "2026-01-02T00:00:00é",
          "key_id": "k1", "signature": "ignored", "checkpoint_id": "ignored"}
    assert chain.checkpoint_payload(cp) == (
        '{"count":7,"created_at":"2026-01-02T00:00:00\\u00e9",'
        '"format":"audit-service-checkpoint/1","head":"' + "ab" * 32 + '","key_id":"k1",'
        '"position":7}').encode()


def test_a_key_id_is_the_first_32_hex_digits_of_the_keys_sha256(signer):
    assert signer.key_id == hashlib.sha256(signer.public_raw).hexdigest()[:32]
    assert chain.key_id_of(b"x") == hashlib.sha256(b"x").hexdigest()[:32]


def test_a_signature_without_a_key_id_is_unsigned_and_one_made_when_the_key_starts_is_valid(
        signer):
    log, entries = sound()
    cp = checkpoint(entries, 4, signer)
    assert chain.verify_signature({**cp, "key_id": None}, keys_of(signer)) == "unsigned"
    assert chain.verify_signature({**cp, "signature": None}, keys_of(signer)) == "unsigned"
    assert chain.verify_signature(cp, keys_of(signer, valid_from=cp["created_at"])) is None


def test_a_timestamp_not_in_the_fixed_width_is_normalised():
    assert chain.normalize_timestamp("2026-01-02T03:04:05.5+00:00") == \
        "2026-01-02T03:04:05.500000+00:00"


def test_naive_times_are_utc_whatever_the_machines_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        assert chain.normalize_timestamp("2026-01-02T03:04:05") == \
            "2026-01-02T03:04:05.000000+00:00"
        assert chain.normalize_timestamp("2026-01-02T10:04:05+07:00") == \
            "2026-01-02T03:04:05.000000+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_describe_marks_a_fault_with_its_reason_and_says_nothing_of_a_complete_run(signer):
    log, entries = sound()
    report = check(log, entries, checkpoints=[checkpoint(entries, 4, signer, head="cd" * 32)],
                   keys=keys_of(signer))
    lines = chain.describe(report)
    assert "  fault at 4: checkpoint [head_mismatch]: the checkpoint's head differs from the" \
           " chain at its position" in lines
    assert not any(line.startswith("stopped early") for line in lines)
    del report["complete"]  # a report without the flag is taken as complete
    assert not any(line.startswith("stopped early") for line in chain.describe(report))


# --------------------------------------------------------------------------- counts and bounds

def test_a_void_missing_claim_is_neither_listed_nor_counted():
    log, entries = sound()
    report = check(log, entries, order=[1, 2, 4, 3, 5, 6, 7, 8, 9, 10])
    assert report["fault_count"] == len(report["faults"]) == 2
    assert not any(f["kind"] == CHAIN for f in report["faults"])  # 3 is not link-checked
    assert all("_void" not in f and "_index" not in f for f in report["faults"])


def test_an_event_copied_over_a_later_one_is_reordered_both_ways():
    log, entries = sound()
    original = log[3]
    log[3], log[6] = event(3, "x"), original
    assert check(log, entries)["faults"] == [
        {"position": 3, "kind": REORDERED, "related": 6, "detail": DIFFERS},
        {"position": 6, "kind": REORDERED, "related": 3, "detail": "event moved between 3 and 6"}]


def test_a_log_with_no_events_left_is_truncated_from_the_start():
    _, entries = sound()
    report = check({}, entries)
    assert faults(report) == [(p, TRUNCATED) for p in range(1, N + 1)]
    assert report["events"] == 0 and report["chained"] == N


def test_checkpoint_totals_count_each_one(signer):
    log, entries = sound()
    cps = [checkpoint(entries, 2, None), checkpoint(entries, 4, None),
           checkpoint(entries, 6, signer)]
    report = check(log, entries, checkpoints=cps, keys=keys_of(signer))
    assert {k: report["checkpoints"][k] for k in ("total", "signed", "unsigned", "valid")} == \
        {"total": 3, "signed": 1, "unsigned": 2, "valid": 1}


def test_a_checkpoint_at_the_ranges_last_position_is_judged(signer):
    log, entries = sound()
    cp = checkpoint(entries, N, signer)
    del log[N], entries[N]
    report = check(log, entries, checkpoints=[cp], keys=keys_of(signer),
                   finish={"range_end": N})
    assert [(f["position"], f["reason"]) for f in report["faults"]] == [(N, "not_in_chain")]


def test_exactly_200_faults_are_all_listed_without_a_note():
    log = {p: event(p) for p in range(1, 201)}
    entries = build(log)
    for p in log:
        log[p] = event(p, tag="changed")
    report = check(log, entries)
    assert len(report["faults"]) == report["fault_count"] == 200
    assert not any(n.startswith("only the first") for n in report["notes"])


def test_more_altered_events_than_the_checker_remembers_are_all_counted():
    n = chain.MAX_PENDING + 2
    log = {p: event(p) for p in range(1, n + 1)}
    entries = build(log)
    for p in log:
        log[p] = event(p, tag="changed")
    report = check(log, entries)
    assert report["fault_count"] == n and len(report["faults"]) == 200
