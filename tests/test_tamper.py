"""The tamper suite: what an intruder with the database (and, separately, with the database
and the signing key) can do, and which check shows it, at which position.

Each test runs on SQLite and on PostgreSQL, and checks both the live ``audit-service verify``
(over the CLI) and the offline verifier (``scripts/verify_export.py``) on an export. The
auditor holds what the README's promise table says they must keep: the public key (pinned
with ``--trusted-key``) and a mirror of the witness directory (``--trusted-checkpoint DIR``).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditing import chain
from auditing.integrity import (ChainRestartRefused, IntegrityFollower, chain_position,
                                checkpoints)
from auditing.signing import AuditSettings, Signer
from auditing.witness import read_checkpoints
from projections.db import ReadModelDB
from scripts import verify_export
from tests.test_integrity import TAMPERS, Store

EVERY = 100


class Witnessed(Store):
    """A store whose follower also writes every checkpoint to a witness directory, and an
    auditor's mirror of that directory taken once the chain was caught up."""

    def __init__(self, env: dict, signer: Signer, folder: Path):
        self.witness = folder / "witness"
        super().__init__(env, signer, every_events=EVERY)
        self.mirror = folder / "mirror"
        shutil.copytree(self.witness, self.mirror)
        self.key_file = folder / "trusted.pub"
        self.key_file.write_text(signer.public_b64 + "\n")
        self.folder = folder

    def make_follower(self, signer, every_events=EVERY, witness: bool = True, **kw):
        return IntegrityFollower(self.app, ReadModelDB(self.app.settings.database),
                                 settings=AuditSettings(
                                     every_events=every_events, every_seconds=3600,
                                     signer=signer,
                                     witness_dir=str(self.witness) if witness else None), **kw)


@pytest.fixture
def signer():
    return Signer.generate()


@pytest.fixture
def store(store_env, signer, tmp_path):
    s = Witnessed(store_env, signer, tmp_path)
    yield s
    s.close()


# --------------------------------------------------------------------------- the two checks

def live(store: Store, monkeypatch, *args: str, signing_key: Signer | None = None) -> dict:
    """``audit-service verify --json ARGS`` against the store; the report (exit code in it)."""
    from scripts.cli import main

    for k, v in store.env.items():
        monkeypatch.setenv(k, v)
    for name in ("AUDIT_SIGNING_KEY", "AUDIT_SIGNING_KEY_FILE", "AUDIT_TRUSTED_KEYS",
                 "AUDIT_CHECKPOINT_WITNESS_DIR"):
        monkeypatch.delenv(name, raising=False)
    if signing_key is not None:
        monkeypatch.setenv("AUDIT_SIGNING_KEY", signing_key.seed_b64())
    result = CliRunner().invoke(main, ["verify", "--json", *args])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["ok"] == (result.exit_code == 0)
    return report


def offline(store: Store, capsys, *args: str) -> dict:
    """``verify_export.py EXPORT --json --no-replay ARGS`` on a fresh export of the store."""
    path = store.export(store.folder / f"export-{len(list(store.folder.iterdir()))}.ndjson")
    capsys.readouterr()
    code = verify_export.main([str(path), "--json", "--no-replay", *args])
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["ok"] == (code == 0)
    return report


def first(report: dict) -> tuple:
    f = report["first_fault"]
    return (f["position"], f["kind"], f.get("reason")) if f else None


def pinned(store: Store) -> tuple[str, ...]:
    return ("--trusted-key", str(store.key_file))


def mirrored(store: Store) -> tuple[str, ...]:
    return ("--trusted-checkpoint", str(store.mirror))


# --------------------------------------------------------------------------- the intruder

def alter(store: Store, position: int) -> None:
    state = bytearray(store.state(position))
    state[len(state) // 2] ^= 0x01
    store.set_state(position, bytes(state))


def wipe_integrity(store: Store, keys: bool = True) -> None:
    """Delete the chain and its checkpoints (and the stored keys), position back to 0."""
    store.db.execute("DELETE FROM integrity_chain")
    store.db.execute("DELETE FROM integrity_checkpoints")
    if keys:
        store.db.execute("DELETE FROM integrity_keys")
    store.db.execute("UPDATE projection_positions SET position = 0 WHERE name = 'integrity'")


def rechain(store: Store, key: Signer) -> None:
    """The intruder's own chaining code (no witness, no refusal): every table rewritten to
    agree with the log as it now is, every checkpoint signed with ``key``."""
    wipe_integrity(store)
    f = store.make_follower(key, witness=False)
    f.catch_up()
    f.checkpoint_now()
    f.close()


# --------------------------------------------------------------------------- the sound store

def test_the_sound_store_verifies_with_pinned_key_and_mirror(store, monkeypatch, capsys):
    for report in (live(store, monkeypatch, *pinned(store), *mirrored(store),
                        "--require-signatures"),
                   offline(store, capsys, *pinned(store), *mirrored(store),
                           "--require-signatures")):
        assert report["ok"] and report["keys"] == "pinned", report["faults"][:3]
    # the witness holds every checkpoint, and the newest is the one the mirror offers
    held = read_checkpoints(store.mirror)
    assert [cp["position"] for cp in held] == [cp["position"] for cp in checkpoints(store.db)]
    assert max(cp["position"] for cp in held) == store.held["position"] == store.head


# --------------------------------------------------------------------------- attack 1

def test_attack1_resigned_with_the_intruders_key(store, monkeypatch, capsys):
    """Alter an event, recompute the chain, re-sign every checkpoint with a new key and
    replace the stored keys: consistent in itself; the pinned key shows it."""
    alter(store, 17)
    rechain(store, Signer.generate())
    first_cp = checkpoints(store.db)[0]["position"]
    # the old hole: trusting the keys stored in the database being checked
    assert live(store, monkeypatch, "--require-signatures")["ok"]
    assert offline(store, capsys, "--require-signatures")["ok"]
    expected = (first_cp, chain.CHECKPOINT, "unknown_key")
    report = live(store, monkeypatch, *pinned(store))
    assert first(report) == expected, report["faults"][:3]
    assert any(f["kind"] == chain.KEY for f in report["faults"])  # the replaced key record
    assert first(offline(store, capsys, *pinned(store))) == expected
    # the key pinned by environment, and the service's own signing key, do the same
    monkeypatch.setenv("AUDIT_TRUSTED_KEYS", store.signer.public_b64)
    assert first(offline(store, capsys)) == expected
    assert first(live(store, monkeypatch, signing_key=store.signer)) == expected
    # the mirror shows another history at the newest checkpoint the auditor holds
    report = live(store, monkeypatch, *mirrored(store))
    assert (store.held["position"], chain.FORKED, "trusted_mismatch") in \
        [(f["position"], f["kind"], f.get("reason")) for f in report["faults"]]


def test_attack1_with_the_signing_key_only_the_mirror_shows_it(store, monkeypatch, capsys):
    alter(store, 17)
    rechain(store, store.signer)  # the real key: every signature holds
    assert live(store, monkeypatch, *pinned(store), "--require-signatures")["ok"]
    expected = (store.held["position"], chain.FORKED, "trusted_mismatch")
    assert first(live(store, monkeypatch, *pinned(store), *mirrored(store))) == expected
    assert first(offline(store, capsys, *pinned(store), *mirrored(store))) == expected


# --------------------------------------------------------------------------- attack 2

def test_attack2_the_service_refuses_to_launder_the_log(store, monkeypatch, capsys):
    """Alter an event, delete the chain and checkpoints, reset the position, and let the
    service chain again: it refuses, and the checks say what is missing."""
    alter(store, 17)
    wipe_integrity(store, keys=False)
    follower = store.make_follower(store.signer, witness=False)
    with pytest.raises(ChainRestartRefused, match="integrity_keys"):
        follower.run_once()
    assert chain_position(store.db) == 0 and checkpoints(store.db) == []
    # the keys gone too: the witness still holds checkpoints beyond position 0
    store.db.execute("DELETE FROM integrity_keys")
    follower = store.make_follower(store.signer)
    with pytest.raises(ChainRestartRefused, match="witness"):
        follower.run_once()
    follower.close()
    # the project command says so in one line and exits 1
    from scripts.cli import main

    for k, v in store.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AUDIT_CHECKPOINT_WITNESS_DIR", str(store.witness))
    done = CliRunner().invoke(main, ["project", "--until-caught-up"])
    assert done.exit_code == 1 and "refusing to chain" in done.output, done.output
    assert "Traceback" not in done.output
    monkeypatch.delenv("AUDIT_CHECKPOINT_WITNESS_DIR")
    # the project command's loop logs the refusal and chains nothing
    from projections.projector import Projector
    from auditing.integrity import follow_with

    projector = Projector(store.app, ReadModelDB(store.app.settings.database))
    follow_with(projector, store.make_follower(store.signer))
    with pytest.raises(ChainRestartRefused):
        projector.run_once()
    assert chain_position(store.db) == 0
    for report in (live(store, monkeypatch, *mirrored(store)),
                   offline(store, capsys, *mirrored(store))):
        assert first(report) == (1, chain.TRUNCATED, None), report["faults"][:3]
    for report in (live(store, monkeypatch, "--require-signatures"),
                   offline(store, capsys, "--require-signatures")):
        assert first(report) == (1, chain.CHECKPOINT, "no_signed_checkpoint")


def test_attack2_relaundered_with_every_trace_wiped_shows_in_the_mirror(store, monkeypatch,
                                                                        capsys):
    """An intruder who also wipes the keys and runs a follower without the witness gets a
    chain signed with the real key: only the auditor's mirror shows the other history."""
    alter(store, 17)
    wipe_integrity(store)
    f = store.make_follower(store.signer, witness=False)
    f.catch_up()
    f.checkpoint_now()
    f.close()
    assert live(store, monkeypatch, *pinned(store), "--require-signatures")["ok"]
    expected = (store.held["position"], chain.FORKED, "trusted_mismatch")
    assert first(live(store, monkeypatch, *pinned(store), *mirrored(store))) == expected
    assert first(offline(store, capsys, *pinned(store), *mirrored(store))) == expected


def test_chain_recreate_is_explicit_and_every_verification_says_so(store, monkeypatch, capsys):
    from scripts.cli import main

    for k, v in store.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AUDIT_CHECKPOINT_WITNESS_DIR", str(store.witness))
    runner = CliRunner()
    refused = runner.invoke(main, ["chain", "recreate", "--reason", "  "])
    assert refused.exit_code == 2 and "reason" in refused.output
    assert chain_position(store.db) == store.head  # nothing happened
    head_before = store.head
    done = runner.invoke(main, ["chain", "recreate", "--reason", "disk restored from backup"])
    assert done.exit_code == 0, done.output
    assert chain_position(store.db) == 0
    f = store.make_follower(store.signer)  # a re-creation on the record: the follower goes
    f.catch_up()
    f.checkpoint_now()
    f.close()
    assert store.head == head_before + 1  # the re-creation's own event, chained
    for report in (live(store, monkeypatch, *pinned(store), *mirrored(store)),
                   offline(store, capsys, *pinned(store), *mirrored(store))):
        # the log was not changed: the old checkpoints the mirror holds still hold
        assert report["ok"], report["faults"][:3]
        assert any("re-created" in n for n in report["notes"])
    assert [r["reason"] for r in live(store, monkeypatch)["chain_recreations"]] == \
        ["disk restored from backup"]


def test_the_follower_never_chains_from_below_its_last_checkpoint(store):
    store.db.execute("UPDATE projection_positions SET position = ? WHERE name = 'integrity'",
                     (EVERY - 1,))
    store.db.execute(f"DELETE FROM integrity_chain WHERE position >= {EVERY}")
    follower = store.make_follower(store.signer, witness=False)
    with pytest.raises(ChainRestartRefused, match="below its last checkpoint"):
        follower.run_once()
    follower.close()


# --------------------------------------------------------------------------- attack 3

def test_attack3_deleted_checkpoints(store, monkeypatch, capsys):
    store.db.execute("DELETE FROM integrity_checkpoints")
    assert live(store, monkeypatch)["ok"]  # the chain itself is sound
    for report in (live(store, monkeypatch, "--require-signatures"),
                   offline(store, capsys, "--require-signatures")):
        assert first(report) == (1, chain.CHECKPOINT, "no_signed_checkpoint")
    expected = (store.held["position"], chain.CHECKPOINT, "coverage_shrunk")
    assert first(live(store, monkeypatch, *mirrored(store))) == expected
    assert first(offline(store, capsys, *mirrored(store))) == expected


# --------------------------------------------------------------------------- the other kinds

@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__.removeprefix("tamper_"))
def test_kinds_caught_without_and_with_the_signing_key(store, monkeypatch, capsys, tamper):
    """Without the key the chain shows each change at its position (pinned key or not);
    with the key (the chain rewritten and re-signed) the mirror still shows it."""
    held = store.held["position"]
    position, kind = tamper(store)
    report = live(store, monkeypatch, *pinned(store))
    assert first(report)[:2] == (position, kind), report["faults"][:3]
    assert first(offline(store, capsys, *pinned(store)))[:2] == (position, kind)
    rechain(store, store.signer)
    report = live(store, monkeypatch, *pinned(store), *mirrored(store))
    last = store.head
    if position == 0:  # position 0 is never chained: the stray event stays visible
        expected = (0, chain.INSERTED)
    elif last < held:  # the log no longer reaches the held checkpoint
        expected = (last + 1, chain.TRUNCATED)
    else:
        expected = (held, chain.FORKED)
    assert first(report)[:2] == expected, report["faults"][:3]
    assert first(offline(store, capsys, *pinned(store), *mirrored(store)))[:2] == expected


# --------------------------------------------------------------------------- key rotation

def test_a_pinned_old_key_leads_to_the_new_one_through_a_rotation(store, monkeypatch, capsys,
                                                                 tmp_path):
    from scripts.cli import main

    new = Signer.generate()
    new_file = tmp_path / "new.key"
    new_file.write_text(new.seed_b64())
    for k, v in store.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", store.signer.seed_b64())
    monkeypatch.setenv("AUDIT_CHECKPOINT_WITNESS_DIR", str(store.witness))
    done = CliRunner().invoke(main, ["keys", "rotate", "--to", str(new_file)])
    assert done.exit_code == 0, done.output
    from tests.test_integrity import more_history

    more_history(store.app)
    f = store.make_follower(new)
    f.catch_up()
    f.checkpoint_now()
    f.close()
    assert {cp["key_id"] for cp in checkpoints(store.db)} == {store.signer.key_id, new.key_id}
    for report in (live(store, monkeypatch, *pinned(store), "--require-signatures"),
                   offline(store, capsys, *pinned(store), "--require-signatures")):
        assert report["ok"], report["faults"][:3]
    # without the rotation statement, the new key is nobody the auditor trusts
    store.db.execute("DELETE FROM integrity_key_rotations")
    last = checkpoints(store.db)[-1]["position"]
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        assert first(report) == (last, chain.CHECKPOINT, "unknown_key"), report["faults"][:3]


# --------------------------------------------------------------------------- attack 4

def test_attack4_read_models_changed_without_the_log(store, monkeypatch):
    """Delete an officer's decision rows from the read models: the log is untouched, so the
    chain is sound; replaying the log into a scratch store shows the difference."""
    from projections.projector import Projector
    from projections.queries import ReadModels

    projector = Projector(store.app, ReadModelDB(store.app.settings.database))
    projector.catch_up()
    assert live(store, monkeypatch, "--read-models")["read_models"]["status"] == "ok"
    (officer, position), = store.db.fetchall(
        "SELECT officer_id, MIN(position) FROM officer_timeline WHERE event_type LIKE ?"
        " AND officer_id NOT IN (SELECT officer_id FROM officer_timeline WHERE event_type"
        " LIKE ?) GROUP BY officer_id ORDER BY COUNT(*) DESC, officer_id LIMIT 1",
        ("%.Decided", "%.ReappointmentDecided"))
    models = ReadModels(store.db, store.app.reference)
    before = models.history(officer)
    store.db.execute("DELETE FROM officer_timeline WHERE officer_id = ? AND event_type LIKE ?",
                     (officer, "%.Decided"))
    assert models.history(officer) != before
    assert live(store, monkeypatch)["ok"]  # the log and its chain are sound
    report = live(store, monkeypatch, "--read-models")
    rests_on = report["read_models"]["position"]
    assert rests_on == store.head
    assert first(report) == (rests_on, "read_model", None)
    assert report["read_models"]["first_difference"]["table"] == "officer_timeline"
    report = live(store, monkeypatch, "--read-models", "--officer", officer)
    difference = report["read_models"]["first_difference"]
    assert (difference["officer_id"], difference["what"]) == (officer, "history")
    assert first(report)[:2] == (rests_on, "read_model")
    # another officer, untouched, agrees with the log
    other = store.db.fetchone("SELECT officer_id FROM officers WHERE officer_id <> ?"
                              " ORDER BY officer_id LIMIT 1", (officer,))[0]
    assert live(store, monkeypatch, "--read-models", "--officer", other)["ok"]
    projector.db.close()


def test_http_checkpoints_for_mirroring_and_a_bounded_read_model_sample(store, monkeypatch):
    from api import create_app
    from audit_service.config import Settings
    from projections.projector import Projector
    from tests.api_support import ApiHarness
    from tests.conftest import build_app

    Projector(store.app, ReadModelDB(store.app.settings.database)).catch_up()
    monkeypatch.setenv("AUDIT_TRUSTED_KEYS", store.signer.public_b64)
    settings = Settings.from_env(store.env)
    flask_app = create_app(settings, service=build_app(store.env))
    h = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    try:
        r = h.get("auditor", "/audit/checkpoints", after=EVERY, limit=2)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert [cp["position"] for cp in body["checkpoints"]] == [2 * EVERY, 3 * EVERY]
        assert body["next_after"] == 3 * EVERY and body["has_more"] is True
        # what the endpoint serves is what the witness holds
        served = {cp["position"]: cp for cp in body["checkpoints"]}
        held = {cp["position"]: cp for cp in read_checkpoints(store.witness)}
        assert all(held[p] == cp for p, cp in served.items())
        assert h.get("auditor", "/audit/checkpoints", after=-1).status_code == 422
        r = h.get("auditor", "/audit/verify", max_seconds=30, read_models="sample")
        report = r.get_json()
        assert report["ok"] and report["keys"] == "pinned"
        assert report["read_models"]["mode"] == "officers"
        assert len(report["read_models"]["officers"]) == 6  # every officer of the store
        store.db.execute("DELETE FROM officer_timeline WHERE event_type LIKE ?", ("%.Registered",))
        report = h.get("auditor", "/audit/verify", max_seconds=30,
                       read_models="sample").get_json()
        # the replay names the tampered read models (a board decision resting on the deleted
        # rows may be reported first: its quoted hash no longer reproduces from them)
        assert not report["ok"] and "read_model" in {f["kind"] for f in report["faults"]}
        assert h.get("auditor", "/audit/verify", read_models="all").status_code == 422
    finally:
        h.close()


# --------------------------------------------------------------------------- attack 5

def harness(store: Witnessed):
    from api import create_app
    from audit_service.config import Settings
    from tests.api_support import ApiHarness
    from tests.conftest import build_app

    settings = Settings.from_env(store.env)
    flask_app = create_app(settings, service=build_app(store.env))
    return ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)


def access_rows(store: Store) -> list[tuple]:
    return store.db.fetchall("SELECT id, user_id, officer_id, what, status FROM access_log"
                             " ORDER BY id")


def test_attack5_the_access_log_is_chained_signed_exported_and_verified(store, monkeypatch,
                                                                       capsys):
    from projections.projector import Projector

    Projector(store.app, ReadModelDB(store.app.settings.database)).catch_up()
    officer = store.db.fetchone("SELECT officer_id FROM officers ORDER BY officer_id")[0]
    decision = store.db.fetchone("SELECT subject_id FROM officer_timeline WHERE event_type"
                                 " LIKE ? ORDER BY position", ("%.Decided",))
    h = harness(store)
    try:
        assert h.get("board", f"/officers/{officer}/history").status_code == 200
        assert h.get(None, f"/officers/{officer}/history").status_code == 401
        assert h.get("inspector", f"/officers/{officer}/eligibility",
                     on="2026-01-05").status_code == 403
        missing = "00000000-0000-4000-8000-000000000000"
        assert h.get("board", f"/officers/{missing}/history").status_code == 404
        assert h.get("auditor", "/events", limit=1).status_code == 200
        if decision:
            assert h.get("board", f"/decisions/{decision[0]}").status_code in (200, 404)
        assert h.get("auditor", "/audit/export").status_code == 200
        logged = access_rows(store)
        whats = [(r[3], r[4]) for r in logged]
        assert ("history", None) in whats  # the officer read, recorded by its route
        assert (f"/api/v1/officers/{officer}/history", 401) in whats
        assert (f"/api/v1/officers/{officer}/eligibility", 403) in whats
        assert ("history", None) in whats and any(s == 404 for _, s in whats)
        assert ("/api/v1/events", 200) in whats and ("/api/v1/audit/export", 200) in whats
        assert [r[1] for r in logged if r[4] == 401] == ["-"]
        entries = h.get("auditor", "/access-log", limit=100).get_json()["items"]
        assert any(e["status"] == 403 for e in entries)
    finally:
        h.close()
    store.follower.checkpoint_now()  # signs the access log's head with the next checkpoint
    f = store.make_follower(store.signer)
    from tests.test_integrity import more_history

    more_history(store.app, officers=1)
    f.catch_up()
    f.checkpoint_now()
    f.close()
    signed = store.db.fetchall("SELECT access_id FROM integrity_access_checkpoints")
    assert signed and max(int(r[0]) for r in signed) == access_rows(store)[-1][0]
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        assert report["ok"] and report["access_log"]["records"] >= 7, report["access_log"]
    ids = [r[0] for r in access_rows(store)]
    # altered: someone's read made to look like another's
    store.db.execute("UPDATE access_log SET user_id = 'someone-else' WHERE id = ?", (ids[1],))
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        assert not report["ok"]
        f0 = report["access_log"]["first_fault"]
        assert (f0["id"], f0["reason"]) == (ids[1], "altered"), report["access_log"]
    # removed: a record in the middle, then the chain recomputed over what is left; the
    # signed head at the last record shows it
    store.db.execute("DELETE FROM access_log WHERE id = ?", (ids[1],))
    f0 = live(store, monkeypatch, *pinned(store))["access_log"]["first_fault"]
    assert (f0["id"], f0["reason"]) == (ids[2], "unlinked")
    from auditing.chain import access_link
    from auditing.access import iter_access

    prev = None
    for record in list(iter_access(store.db)):
        record["prev_hash"] = prev
        prev = access_link(prev, record)
        store.db.execute("UPDATE access_log SET prev_hash = ?, hash = ? WHERE id = ?",
                         (record["prev_hash"], prev, record["id"]))
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        f0 = report["access_log"]["first_fault"]
        assert f0["reason"] in ("head_mismatch", "count_mismatch"), report["access_log"]
        assert f0["id"] == min(int(r[0]) for r in signed if int(r[0]) > ids[1])
    # truncated: the last records deleted
    store.db.execute("DELETE FROM access_log WHERE id >= ?", (ids[-2],))
    f0 = live(store, monkeypatch, *pinned(store))["access_log"]["faults"]
    assert any(f["reason"] == "truncated" for f in f0)


def test_a_saved_eligibility_answer_is_recomputed_from_the_log_up_to_its_position(store):
    """The answer names the log position it rests on (``last_position``, inside the hash):
    the log replayed up to there gives the same answer, whatever came after."""
    from auditing.readcheck import replay_up_to
    from projections.projector import Projector
    from projections.queries import ReadModels
    from tests.test_integrity import more_history

    projector = Projector(store.app, ReadModelDB(store.app.settings.database))
    projector.catch_up()
    models = ReadModels(store.db, store.app.reference)
    officer = store.db.fetchone("SELECT officer_id FROM officer_timeline WHERE event_type"
                                " LIKE ? ORDER BY position DESC", ("%.Decided",))[0]
    saved = models.eligibility(officer, on="2026-06-01")
    assert saved["last_position"] and saved["last_position"] <= store.head
    more_history(store.app)  # the log moves on
    projector.catch_up()
    with replay_up_to(store.app, saved["last_position"]) as scratch:
        again = scratch.models.eligibility(officer, on="2026-06-01")
    assert again["hash"] == saved["hash"] and again["verdict"] == saved["verdict"]
    projector.db.close()


def test_init_db_chains_an_access_log_made_before_it_was_chained(tmp_path):
    """An older store's access log gains the chain columns; its old records are counted
    before the chain, and what is recorded from then on is chained."""
    from audit_service.config import Settings
    from auditing.access import AccessLog, User, iter_access
    from auditing.bootstrap import init_database
    from auditing.chain import check_access

    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/old.sqlite3"}
    settings = Settings.from_env(env)
    db = ReadModelDB(settings.database)
    db.execute("CREATE TABLE access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, accessed_at TEXT"
               " NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, officer_id TEXT NOT NULL,"
               " what TEXT NOT NULL, as_of TEXT, query TEXT)")
    db.execute("INSERT INTO access_log (accessed_at, user_id, role, officer_id, what) VALUES"
               " ('2026-01-01T00:00:00+00:00', 'board-1', 'board', 'x', 'history')")
    init_database(settings)
    AccessLog(db).record(User("board-1", "board", "B"), "x", "standing")
    report = check_access(iter_access(db), [], {})
    assert report["ok"] and (report["unchained_before"], report["records"]) == (1, 1)
    db.execute("UPDATE access_log SET what = 'eligibility' WHERE id = 2")
    assert check_access(iter_access(db), [], {})["first_fault"]["reason"] == "altered"
    db.close()


# --------------------------------------------------------------------------- officer chains

def officer_fault(report: dict) -> tuple:
    f = next(f for f in report["faults"] if f["kind"] == chain.OFFICER_MAP)
    return f["position"], f["kind"], f["reason"]


def test_both_verifiers_recompute_every_officer_chain_of_a_sound_store(store, monkeypatch,
                                                                      capsys):
    rooted = [cp for cp in checkpoints(store.db) if cp["officers_root"]]
    officers = store.db.fetchone("SELECT COUNT(DISTINCT officer_id) FROM"
                                 " integrity_officer_chain")[0]
    assert rooted and officers
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        assert report["ok"], report["faults"][:3]
        assert report["officer_map"]["checked_roots"] == len(rooted)
        assert report["officer_map"]["officers"] == officers
        assert report["officer_map"]["skipped"] is None


def test_an_altered_officer_chain_row_is_caught_in_place(store, monkeypatch, capsys):
    """The rows a dossier is built from: one hash changed is a fault at its position (the
    export does not carry these rows: the dossier verifier checks a dossier's own)."""
    officer, seq, position = store.db.fetchone(
        "SELECT officer_id, seq, position FROM integrity_officer_chain ORDER BY position"
        " LIMIT 1 OFFSET 40")
    store.db.execute("UPDATE integrity_officer_chain SET hash = ? WHERE officer_id = ? AND"
                     " seq = ?", ("ab" * 32, officer, seq))
    report = live(store, monkeypatch, *pinned(store))
    assert first(report) == (position, chain.OFFICER_MAP, "chain_row"), report["faults"][:3]
    assert offline(store, capsys, *pinned(store))["ok"]
    # a row deleted, and a row added for an officer the event does not concern
    store.db.execute("UPDATE integrity_officer_chain SET hash = ? WHERE officer_id = ? AND"
                     " seq = ?", ("cd" * 32, officer, seq))
    store.db.execute("DELETE FROM integrity_officer_chain WHERE officer_id = ? AND seq = ?",
                     (officer, seq))
    assert first(live(store, monkeypatch)) == (position, chain.OFFICER_MAP, "chain_row")


def test_an_altered_map_leaf_or_node_is_caught_in_place(store, monkeypatch):
    at = max(cp["position"] for cp in checkpoints(store.db) if cp["officers_root"])
    key, count = store.db.fetchone("SELECT officer_key, event_count FROM integrity_officers"
                                   " ORDER BY officer_key LIMIT 1")
    store.db.execute("UPDATE integrity_officers SET event_count = ? WHERE officer_key = ?",
                     (int(count) + 1, key))
    report = live(store, monkeypatch)
    assert first(report) == (at, chain.OFFICER_MAP, "map_leaf"), report["faults"][:3]
    store.db.execute("UPDATE integrity_officers SET event_count = ? WHERE officer_key = ?",
                     (count, key))
    assert live(store, monkeypatch)["ok"]
    node = store.db.fetchone("SELECT node FROM integrity_officer_nodes ORDER BY node DESC")[0]
    store.db.execute("UPDATE integrity_officer_nodes SET hash = ? WHERE node = ?",
                     ("ef" * 32, node))
    assert first(live(store, monkeypatch)) == (at, chain.OFFICER_MAP, "map_node")


def test_a_signed_map_root_the_log_does_not_give_is_caught_by_both(store, monkeypatch, capsys):
    """A service that put an event in the wrong officer's chain signs a root the events do
    not give (made here by signing another root with the real key)."""
    cp = next(cp for cp in checkpoints(store.db) if cp["officers_root"]
              and cp["officers_root"] != "00" * 32)  # the first with an officer in the map
    cp["officers_root"] = "00" * 32
    cp["signature"] = store.signer.sign(cp)
    store.db.execute("UPDATE integrity_checkpoints SET officers_root = ?, signature = ? WHERE"
                     " checkpoint_id = ?", (cp["officers_root"], cp["signature"],
                                            cp["checkpoint_id"]))
    expected = (cp["position"], chain.OFFICER_MAP, "root_mismatch")
    for report in (live(store, monkeypatch, *pinned(store)),
                   offline(store, capsys, *pinned(store))):
        assert first(report) == expected, report["faults"][:3]


def test_the_in_place_officer_check_stops_with_the_log_at_the_deadline(store):
    """Out of time (``verify --max-seconds``), the officer chains are judged only as far as
    the log was read: the roots after it are not checked, and nothing is a fault."""
    from types import SimpleNamespace

    import auditing.verify as verify

    rooted = [cp["position"] for cp in checkpoints(store.db) if cp["officers_root"]]
    assert store.head > 501 and len([p for p in rooted if p <= 500]) < len(rooted)
    clock = SimpleNamespace(now=10.0)
    real_merged = verify.merged

    def merged(*streams):
        for item in real_merged(*streams):
            if item[0] > 10:
                clock.now = 11.0
            yield item

    patch = pytest.MonkeyPatch()
    try:
        patch.setattr(verify, "time", SimpleNamespace(monotonic=lambda: clock.now))
        patch.setattr(verify, "merged", merged)
        report = verify.verify_store(store.app, store.db, deadline=10.0)
    finally:
        patch.undo()
    assert (report["status"], report["last_position"]) == ("incomplete", 500)
    assert report["officer_map"]["checked_roots"] == len([p for p in rooted if p <= 500])
    assert report["faults"] == []


# --------------------------------------------------------------------------- the board's record

CORRECTED = "audit_service.domain.officers:Officer.ReappointmentDecisionCorrected"
DECIDED = "audit_service.domain.officers:Officer.ReappointmentDecided"


def day(text: str) -> dict:
    return {"_type_": "date_iso", "_data_": text}


def the_decision(store: Store) -> tuple[str, dict]:
    """The demo's reappointment decision: its officer and its stored state."""
    from uuid import UUID

    row = store.db.fetchone(f"SELECT originator_id, state FROM {store.table} WHERE topic = ?",
                            (DECIDED,))
    return str(UUID(str(row[0]))), json.loads(bytes(row[1]))


def top_version(store: Store, officer: str) -> int:
    from uuid import UUID

    return store.app.recorder.select_events(UUID(officer), desc=True,
                                            limit=1)[0].originator_version


def forge(store: Store, officer: str, events: list[tuple[str, dict]]) -> list[int]:
    """Officer events written straight to the log, past the service's rules (``(topic,
    state)`` each), then chained and signed by the service's follower; their positions."""
    from uuid import UUID

    from eventsourcing.persistence import StoredEvent

    version = top_version(store, officer)
    head = store.head
    store.app.recorder.insert_events([
        StoredEvent(originator_id=UUID(officer), originator_version=version + i + 1,
                    topic=topic, state=json.dumps(
                        {**state, "timestamp": {"_type_": "datetime_iso",
                                                "_data_": "2026-12-01T00:00:00+00:00"}},
                        ensure_ascii=False).encode())
        for i, (topic, state) in enumerate(events)])
    store.follower.catch_up()
    store.follower.checkpoint_now()
    return list(range(head + 1, store.head + 1))


def decision(original: dict, decided_on: str, **changes) -> tuple[str, dict]:
    """Another reappointment decision like the demo's, quoting no eligibility hash."""
    state = {**original, "decided_on": day(decided_on), "eligibility_hash": None,
             "eligibility_verdict": None, "override_reason": None, "dossier_hash": None,
             **changes}
    state.pop("timestamp")
    return DECIDED, state


def correction(original: dict, corrects_version: int, outcome: str,
               corrected_on: str = "2026-11-20") -> tuple[str, dict]:
    ref = {**original["decision_ref"], "number": f"C{corrects_version}-{outcome[:3]}"}
    return CORRECTED, {
        "corrects_version": corrects_version, "corrects_decision_ref": original["decision_ref"],
        "outcome": outcome, "decided_on": original["decided_on"],
        "corrected_on": day(corrected_on), "reason": "Nhầm kết quả", "decision_ref": ref,
        "term": None, "eligibility_hash": None, "eligibility_verdict": None,
        "override_reason": None, "actor_id": "board-x", "actor_role": "board"}


def bad_correction(report: dict) -> tuple:
    f = report["first_fault"]
    return f["position"], f["kind"], f["detail"]


def version_of(store: Store, position: int) -> int:
    return store.app.recorder.select_notifications(start=position, limit=1)[0].originator_version


@pytest.mark.parametrize("case", ["no_decision", "later_decision", "second", "changes_nothing"])
def test_a_correction_the_service_refuses_is_caught_by_both(store, monkeypatch, capsys, case):
    officer, original = the_decision(store)
    mine = decision(original, "2026-11-10")
    top = top_version(store, officer)
    if case == "no_decision":  # version 1 is the officer's registration
        forged = [correction(mine[1], 1, "not_reappointed")]
        said = "corrects version 1 of officer"
    elif case == "later_decision":  # names the decision recorded after it
        forged = [correction(mine[1], top + 2, "not_reappointed"), mine]
        said = f"corrects version {top + 2} of officer"
    elif case == "second":
        forged = [mine, correction(mine[1], top + 1, "not_reappointed"),
                  correction(mine[1], top + 1, "reappointed")]
        said = "already corrected at position"
    else:
        forged = [mine, correction(mine[1], top + 1, mine[1]["outcome"])]
        said = "changes nothing"
    positions = forge(store, officer, forged)
    bad = positions[-1] if case in ("second", "changes_nothing") else positions[0]
    assert version_of(store, positions[0]) == top + 1
    for report in (offline(store, capsys, *pinned(store)), live(store, monkeypatch,
                                                                  *pinned(store))):
        position, kind, detail = bad_correction(report)
        assert (position, kind) == (bad, chain.BOARD), report["faults"][:3]
        assert said in detail and len(report["faults"]) == 1, report["faults"]
    assert offline(store, capsys)["corrections"]["bad"] == 1


def test_a_valid_correction_and_a_clean_log_verify_ok_with_both(store, monkeypatch, capsys):
    officer, original = the_decision(store)
    mine = decision(original, "2026-11-10")
    top = top_version(store, officer)
    forge(store, officer, [mine, correction(mine[1], top + 1, "not_reappointed")])
    for report in (offline(store, capsys, *pinned(store)), live(store, monkeypatch,
                                                                  *pinned(store))):
        assert report["ok"], report["faults"][:3]
    assert offline(store, capsys)["corrections"] == {"corrections": 1, "bad": 0,
                                                     "problems": [], "skipped": None}


def test_a_quoted_dossier_is_rebuilt_from_the_export_by_the_offline_verifier(store, monkeypatch,
                                                                           capsys):
    """One decision quotes the dossier the service built, another a hash no dossier has:
    the export alone (with the service installed) gives the first and not the second."""
    from datetime import date

    from auditing.dossier import build_dossier
    from auditing.officer_map import dossier_digest

    officer, original = the_decision(store)
    quoted = dossier_digest(build_dossier(store.app, store.db, officer, date(2026, 11, 10)))
    good, wrong = forge(store, officer, [
        decision(original, "2026-11-10", dossier_hash=quoted),
        decision(original, "2026-11-11", dossier_hash="ab" * 32)])
    path = store.export(store.folder / "quoted.ndjson")
    capsys.readouterr()
    code = verify_export.main([str(path), "--json", *pinned(store)])
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    live_report = live(store, monkeypatch, *pinned(store))
    for r in (report, live_report):
        checks = {c["position"]: c["status"] for c in r["dossiers"]["checks"]}
        assert checks == {good: "match", wrong: "mismatch"}, r["dossiers"]
        assert [(f["position"], f["kind"]) for f in r["faults"]] == [(wrong, "dossier_hash")]
    assert code == 1
    # without the service, the offline verifier says it did not rebuild them
    monkeypatch.setattr(verify_export, "replay_available", lambda: "no service here")
    capsys.readouterr()
    code = verify_export.main([str(path), "--json", *pinned(store)])
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert code == 0 and report["dossiers"]["status"] == "not_checked"
    assert [c["position"] for c in report["dossiers"]["checks"]] == [good, wrong]
