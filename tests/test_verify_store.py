"""``verify_store`` itself, in process: what its report says besides the chain checks (the
log head, how long it took, how far it got before a deadline, which keys it trusted, the
note when nothing was ever signed) and the positions where the log and the chain differ in
length (an event not chained yet, a chain entry whose event is gone).

The clock is a stand-in where time matters, so nothing here depends on how fast the
machine is.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from auditing import chain, verify
from auditing.signing import Signer
from auditing.bootstrap import init_database
from audit_service.config import Settings
from auditing.integrity import public_keys
from tests.test_integrity import Store, more_history

NO_KEYS = "no public keys are stored: no checkpoint was ever signed"


def make_store(tmp_path, signer, histories: int = 2, every: int = 10) -> Store:
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    s = Store(env, signer, demo=False, every_events=every)
    for _ in range(histories):
        more_history(s.app)
    s.follower.catch_up()
    s.held = s.follower.checkpoint_now()
    return s


@pytest.fixture
def signed(tmp_path):
    s = make_store(tmp_path, Signer.generate())
    yield s
    s.close()


@pytest.fixture
def unsigned(tmp_path):
    s = make_store(tmp_path, None)
    yield s
    s.close()


class Clock:
    """``time.monotonic`` for the verify module: returns ``now``, which a test moves."""

    def __init__(self, now: float):
        self.now = now

    def monotonic(self) -> float:
        return self.now


def test_a_sound_signed_store_reports_its_head_and_no_note_about_keys(signed):
    report = verify.verify_store(signed.app, signed.db)
    assert report["ok"] and report["complete"] is True
    assert report["log_head"] == signed.head == 20
    assert report["last_position"] == 20 and report["chained"] == 20
    assert report["checkpoints"]["signing"] == "signed"
    assert NO_KEYS not in report["notes"]


def test_unsigned_checkpoints_verify_by_default_with_a_note_that_no_key_is_stored(unsigned):
    report = verify.verify_store(unsigned.app, unsigned.db)
    assert report["ok"], report["faults"]
    assert report["checkpoints"]["signing"] == "unsigned"
    assert NO_KEYS in report["notes"]
    strict = verify.verify_store(unsigned.app, unsigned.db, require_signatures=True)
    assert not strict["ok"] and strict["first_fault"]["reason"] == "no_signed_checkpoint"
    assert "unsigned" in {f["reason"] for f in strict["faults"]}


def test_an_empty_store_verifies_with_head_zero(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    init_database(Settings.from_env(env))
    s = Store(env, None, demo=False)
    try:
        report = verify.verify_store(s.app, s.db)
        assert report["ok"] and report["log_head"] == 0 and report["events"] == 0
    finally:
        s.close()


def test_trusted_keys_replace_the_stored_ones(signed):
    stored = {k["key_id"]: k for k in public_keys(signed.db)}
    assert verify.verify_store(signed.app, signed.db, trusted_keys=stored)["ok"]
    # the auditor trusts no key: every signed checkpoint's key is unknown to them
    report = verify.verify_store(signed.app, signed.db, trusted_keys={})
    assert not report["ok"]
    assert (report["first_fault"]["kind"], report["first_fault"]["reason"]) == \
        (chain.CHECKPOINT, "unknown_key")


def test_events_after_the_chain_head_are_unchained_not_faults(signed):
    more_history(signed.app, officers=1)  # appended after the chain's last entry
    head = signed.head
    assert head > 20
    report = verify.verify_store(signed.app, signed.db)
    assert report["ok"], report["faults"]
    assert report["unchained"] == head - 20 and report["chain_head"]["position"] == 20
    assert report["log_head"] == head


@pytest.mark.parametrize("check_board", [True, False])
def test_a_chain_entry_whose_event_is_gone_is_reported_at_its_position(signed, check_board):
    signed.delete(7)
    report = verify.verify_store(signed.app, signed.db, check_board=check_board)
    assert not report["ok"]
    assert (report["first_fault"]["position"], report["first_fault"]["kind"]) == \
        (7, chain.MISSING)


def test_seconds_is_the_time_taken_in_milliseconds(signed, monkeypatch):
    ticks = iter([100.0, 100.12345])
    monkeypatch.setattr(verify, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    report = verify.verify_store(signed.app, signed.db)
    assert report["seconds"] == 0.123 and isinstance(report["seconds"], float)


def test_a_deadline_stops_at_the_next_check_every_500_positions(tmp_path, monkeypatch):
    """The clock is looked at before positions 1, 501, 1001, ...: a deadline that passes
    while position 11 is checked stops the run before position 501, and the report says
    it is incomplete and went up to 500."""
    s = make_store(tmp_path, None, histories=52, every=100)
    try:
        assert s.head > 510
        clock = Clock(10.0)  # equal to the deadline: not yet past it
        real_merged = verify.merged

        def merged(*streams):
            for item in real_merged(*streams):
                if item[0] > 10:
                    clock.now = 11.0
                yield item

        monkeypatch.setattr(verify, "time", clock)
        monkeypatch.setattr(verify, "merged", merged)
        report = verify.verify_store(s.app, s.db, deadline=10.0)
        assert report["complete"] is False
        assert report["last_position"] == 500 and report["events"] == 500
        assert report["log_head"] == s.head
        assert report["seconds"] == 1.0
        # without a deadline the same store is verified to its head
        monkeypatch.setattr(verify, "merged", real_merged)
        whole = verify.verify_store(s.app, s.db)
        assert whole["complete"] is True and whole["last_position"] == s.head
    finally:
        s.close()
