"""The board dossier: officer chains, the officer map, the bundle and its offline verifier.

A clean dossier verifies; each change a forger could make to one is refused with its kind
(``scripts/verify_dossier.py``): an event removed (``missing_event``), one added from another
officer (``extra_event``), two swapped or a byte altered (``altered``), another officer's
proof (``bad_proof``), a checkpoint signed by a key nobody pinned (``unknown_key``), an
eligibility answer the events do not give (``verdict_mismatch``).
"""
from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit_service.config import Settings
from auditing import officer_map
from auditing.bootstrap import init_database
from auditing.dossier import build_dossier, chain_of, dossier_bytes, dossier_hash
from auditing.signing import Signer
from projections.concerns import SubjectMemory
from projections.projector import Projector
from scripts import verify_dossier, verify_export
from tests.test_integrity import Store, more_history
from tests.test_api_audit import h  # noqa: F401 - a fixture (an API on a signing store)
from tests.test_integrity_checks import crypto_only_python  # noqa: F401 - a fixture
from tests.test_web import web_lite  # noqa: F401 - a fixture (the pages on SQLite)

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-06-01"


def trusted(signer: Signer) -> dict:
    return {signer.key_id: {"public_key": signer.public_b64, "valid_from": None}}


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A demo store with signed checkpoints; (store, signer, two officers with most events)."""
    root = tmp_path_factory.mktemp("dossier")
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{root}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    signer = Signer.generate()
    s = Store(env, signer, demo=True, every_events=50)
    busiest = [r[0] for r in s.db.fetchall(
        "SELECT officer_id FROM integrity_officer_chain GROUP BY officer_id"
        " ORDER BY COUNT(*) DESC, officer_id LIMIT 2")]
    yield s, signer, busiest
    s.close()


@pytest.fixture(scope="module")
def bundles(signed):
    s, _signer, (first, second) = signed
    on = __import__("datetime").date.fromisoformat(DAY)
    return build_dossier(s.app, s.db, first, on), build_dossier(s.app, s.db, second, on)


def write(tmp_path: Path, bundle: dict, name: str = "dossier") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_bytes(dossier_bytes(bundle))
    return path


def fault_of(tmp_path, bundle, signer) -> dict | None:
    return verify_dossier.check_dossier(write(tmp_path, bundle), trusted(signer))["fault"]


# --------------------------------------------------------------------------- the chains

def test_officer_chains_hold_exactly_the_timeline_rows_and_the_map_root_is_signed(signed):
    s, signer, _ = signed
    Projector(s.app).catch_up()
    timeline = {(o, int(p)) for o, p in s.db.fetchall(
        "SELECT officer_id, position FROM officer_timeline")}
    chained = {(o, int(p)) for o, p in s.db.fetchall(
        "SELECT officer_id, position FROM integrity_officer_chain")}
    assert chained == timeline and len({o for o, _ in timeline}) > 2
    cp = s.db.fetchone("SELECT position, officers_root, signature FROM integrity_checkpoints"
                       " ORDER BY checkpoint_id DESC LIMIT 1")
    # the root recomputed in memory from every chain row up to the checkpoint
    memory = officer_map.MemoryMap()
    for officer, seq, head in s.db.fetchall(
            "SELECT officer_id, seq, hash FROM integrity_officer_chain c WHERE seq = (SELECT"
            " MAX(seq) FROM integrity_officer_chain d WHERE d.officer_id = c.officer_id AND"
            " d.position <= ?)", (cp[0],)):
        memory.set(officer, bytes.fromhex(head), int(seq))
    assert memory.root().hex() == cp[1] and cp[2]


def test_the_map_proves_every_officer_and_the_absence_of_one_never_seen():
    memory = officer_map.MemoryMap()
    heads = {f"officer-{i}": (bytes([i]) * 32, i + 1) for i in range(50)}
    for officer, (head, count) in heads.items():
        memory.set(officer, head, count)
    root = memory.root()
    for officer, (head, count) in heads.items():
        key = officer_map.key_of(officer)
        proof = officer_map.prove(memory, key)
        assert proof["other"] is None and 1 <= len(proof["siblings"]) <= proof["depth"]
        assert officer_map.root_from_proof(key, officer_map.leaf_hash(key, head, count),
                                           proof) == root
        assert officer_map.root_from_proof(key, officer_map.leaf_hash(key, head, count + 1),
                                           proof) != root
        assert officer_map.root_from_proof(key, None, proof) != root  # not absent
    absent = [officer_map.key_of(f"nobody-{i}") for i in range(40)]
    proofs = [officer_map.prove(memory, key) for key in absent]
    for key, proof in zip(absent, proofs):
        assert officer_map.root_from_proof(key, None, proof) == root
        assert officer_map.root_from_proof(key, officer_map.leaf_hash(key, bytes(32), 1),
                                           proof) != root
    # an absence shown by another officer's lone leaf: that leaf cannot stand for this key
    key, proof = next((k, p) for k, p in zip(absent, proofs) if p["other"] is not None)
    other_key = proof["other"][0]
    assert officer_map.root_from_proof(other_key, None, proof) is None
    assert any(p["other"] is None for p in proofs)  # and one shown by an empty subtree


def test_a_lone_leaf_hangs_where_its_path_parts_from_the_others():
    memory = officer_map.MemoryMap()
    memory.set("only", bytes(32), 1)
    key = officer_map.key_of("only")
    assert memory.root() == officer_map.leaf_hash(key, bytes(32), 1)
    assert officer_map.prove(memory, key) == {"depth": 0, "siblings": {}, "other": None}


def test_updating_some_officers_gives_the_root_of_building_the_map_afresh():
    grown = officer_map.MemoryMap()
    final = {}
    for step in range(5):
        for i in range(step, 40, 3):
            final[f"o{i}"] = (bytes([step, i]) * 16, step + i)
            grown.set(f"o{i}", *final[f"o{i}"])
        grown_root = grown.root()
    fresh = officer_map.MemoryMap()
    for officer, (head, count) in final.items():
        fresh.set(officer, head, count)
    assert fresh.root() == grown_root


def test_a_store_older_than_the_officer_chains_catches_up_from_position_zero(store_env,
                                                                            tmp_path):
    """A store whose checkpoints were signed before officer chains existed: init-db adds the
    tables, the follower chains every officer from position 0, then signs the map again."""
    init_database(Settings.from_env(store_env))
    signer = Signer.generate()
    s = Store(store_env, signer, demo=False, every_events=5)
    try:
        officers = more_history(s.app) + more_history(s.app)
        s.follower.catch_up()
        s.follower.checkpoint_now()
        expected = s.db.fetchall("SELECT officer_id, seq, position, hash FROM"
                                 " integrity_officer_chain ORDER BY officer_id, seq")
        assert {r[0] for r in expected} == set(map(str, officers))
        for table in ("integrity_officer_chain", "integrity_subjects", "integrity_officers",
                      "integrity_officer_nodes"):
            s.db.execute(f"DELETE FROM {table}")
        s.db.execute("DELETE FROM projection_positions WHERE name = 'integrity_officers'")
        s.db.execute("UPDATE integrity_checkpoints SET officers_root = NULL, signature ="
                     " NULL")  # as made before: no root
        follower = s.make_follower(signer, 5, batch_size=3)
        try:
            follower.catch_up()
            cp = follower.checkpoint_now()
        finally:
            follower.close()
        assert s.db.fetchall("SELECT officer_id, seq, position, hash FROM"
                             " integrity_officer_chain ORDER BY officer_id, seq") == expected
        assert cp["officers_root"] and cp["signature"]  # caught up: the map is signed again
        bundle = build_dossier(s.app, s.db, officers[0])
        assert bundle["checkpoint"]["checkpoint_id"] == cp["checkpoint_id"]
        assert len(bundle["events"]) == bundle["officer"]["count"] == 1
        assert verify_dossier.check_dossier(write(tmp_path, bundle), trusted(signer))["ok"]
    finally:
        s.close()


# --------------------------------------------------------------------------- the bundle

def test_a_clean_dossier_verifies_and_its_events_rebuild_the_officer_chain(bundles, signed,
                                                                          tmp_path):
    _s, signer, (first, _) = signed
    bundle = bundles[0]
    assert bundle["officer_id"] == first and bundle["officer"]["count"] == len(bundle["events"])
    assert [e["officer_hash"] for e in bundle["events"]] == \
        [h.hex() for h in chain_of(bundle["events"])]
    memory = SubjectMemory()
    assert all(first in memory.assign(e["topic"], e["originator_id"],
                                      base64.b64decode(e["state"])) for e in bundle["events"])
    assert {a["verdict"] for a in bundle["eligibility"]} <= {"eligible", "not_eligible",
                                                              "needs_review"}
    path = write(tmp_path, bundle)
    report = verify_dossier.check_dossier(path, trusted(signer))
    assert report["ok"] and report["fault"] is None and report["verdict"] == "checked"
    assert report["dossier_hash"] == dossier_hash(path.read_bytes())


def test_one_event_removed_is_a_missing_event(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    removed = bundle["events"].pop(3)
    fault = fault_of(tmp_path, bundle, signed[1])
    assert fault["kind"] == "missing_event" and fault["position"] > removed["position"]
    bundle = copy.deepcopy(bundles[0])
    bundle["events"].pop()  # the last one: every remaining hash still holds
    assert fault_of(tmp_path, bundle, signed[1])["kind"] == "missing_event"


def test_an_event_of_another_officer_added_is_an_extra_event(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    mine = {e["position"] for e in bundle["events"]}
    stranger = next(e for e in bundles[1]["events"] if e["position"] not in mine)
    bundle["events"] = sorted(bundle["events"] + [stranger], key=lambda e: e["position"])
    fault = fault_of(tmp_path, bundle, signed[1])
    assert (fault["kind"], fault["position"]) == ("extra_event", stranger["position"])


def test_two_events_swapped_are_altered_as_reordered(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    events = bundle["events"]
    events[4], events[5] = events[5], events[4]
    fault = fault_of(tmp_path, bundle, signed[1])
    assert (fault["kind"], fault["reason"]) == ("altered", "reordered")


def test_one_byte_altered_in_an_event_is_altered(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    event = bundle["events"][0]  # the officer's registration
    state = bytearray(base64.b64decode(event["state"]))
    at = state.index(b'"full_name"') + len(b'"full_name":"')
    state[at] ^= 0x01
    event["state"] = base64.b64encode(bytes(state)).decode()
    fault = fault_of(tmp_path, bundle, signed[1])
    assert (fault["kind"], fault["position"]) == ("altered", event["position"])


def test_a_proof_for_another_officer_is_a_bad_proof(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    bundle["officer"], bundle["proof"] = bundles[1]["officer"], bundles[1]["proof"]
    assert fault_of(tmp_path, bundle, signed[1])["kind"] == "bad_proof"
    bundle = copy.deepcopy(bundles[0])
    bundle["proof"] = bundles[1]["proof"]  # this officer's leaf, another's siblings
    assert fault_of(tmp_path, bundle, signed[1])["kind"] == "bad_proof"


def test_a_checkpoint_from_another_key_is_an_unknown_key(bundles, signed, tmp_path):
    bundle = copy.deepcopy(bundles[0])
    other = Signer.generate()
    bundle["checkpoint"]["key_id"] = other.key_id
    bundle["checkpoint"]["signature"] = other.sign(bundle["checkpoint"])
    fault = fault_of(tmp_path, bundle, signed[1])
    assert (fault["kind"], fault["reason"]) == ("unknown_key", "unknown_key")
    # the same checkpoint verifies for whoever pinned that other key: only the pin differs
    assert verify_dossier.check_dossier(write(tmp_path, bundle), trusted(other))["ok"]


def test_an_eligibility_answer_the_events_do_not_give_is_a_verdict_mismatch(bundles, signed,
                                                                            tmp_path):
    bundle = copy.deepcopy(bundles[0])
    answer = bundle["eligibility"][1]
    answer["verdict"] = "eligible" if answer["verdict"] != "eligible" else "not_eligible"
    assert fault_of(tmp_path, bundle, signed[1])["kind"] == "verdict_mismatch"


# --------------------------------------------------------------------------- command line

def test_the_cli_writes_a_dossier_that_the_script_verifies(signed, tmp_path, monkeypatch):
    s, signer, (first, _) = signed
    out = tmp_path / "d.json"
    env = {"AUDIT_DATABASE_URL": s.env["AUDIT_DATABASE_URL"],
           "AUDIT_SIGNING_KEY": signer.seed_b64(), "AUDIT_TODAY": DAY}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from click.testing import CliRunner
    from scripts.cli import main

    result = CliRunner().invoke(main, ["dossier", "--officer", first, "--on", DAY,
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    digest = dossier_hash(out.read_bytes())
    assert digest in result.output
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_dossier.py"), str(out),
                          "--trusted-key", signer.public_b64],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert digest in run.stdout and "OK" in run.stdout
    bundle = json.loads(out.read_text())
    bundle["events"].pop(1)
    out.write_bytes(dossier_bytes(bundle))
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_dossier.py"), str(out),
                          "--trusted-key", signer.public_b64, "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and json.loads(run.stdout)["fault"]["kind"] == "missing_event"


# --------------------------------------------------------------------------- full-log verifier

def test_the_export_verifier_recomputes_officer_chains_and_catches_a_wrong_root(signed,
                                                                             tmp_path):
    s, signer, _ = signed
    path = s.export(tmp_path / "export.ndjson")
    report = verify_export.check_export(path, trusted_keys=trusted(signer))
    assert report["ok"], report["faults"][:3]
    assert report["officer_map"]["checked_roots"] >= 1
    assert report["officer_map"]["skipped"] is None
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    cp = next(o for o in reversed(lines) if o["type"] == "checkpoint" and o["officers_root"])
    # a service that put one event in the wrong officer's chain signs another root
    cp["officers_root"] = officer_map.ZERO.hex()
    cp["signature"] = signer.sign(cp)
    forged = tmp_path / "forged.ndjson"
    forged.write_bytes(b"".join(json.dumps(o, ensure_ascii=False, separators=(",", ":"))
                                .encode() + b"\n" for o in lines[:-1]))
    report = verify_export.check_export(forged, trusted_keys=trusted(signer))
    kinds = {f["kind"] for f in report["faults"]}
    assert not report["ok"] and "officer_map" in kinds
    officer_fault = next(f for f in report["faults"] if f["kind"] == "officer_map")
    assert officer_fault["position"] == cp["position"]


# --------------------------------------------------------------------------- over HTTP

def test_the_dossier_over_http_is_for_the_board_and_auditors_logged_and_verifies(h, tmp_path):
    from auditing.access import iter_access
    from tests.api_support import build_city

    w = build_city(h)
    h.ok("board", "/evaluations/annual", {"officer_id": w["leader"], "year": 2024,
                                          "rating": "HTNV"})
    h.project()
    path = f"/officers/{w['leader']}/dossier"
    for role in ("inspector", "admin"):
        r = h.get(role, path, on=DAY)
        assert (r.status_code, r.get_json()["code"]) == (403, "forbidden")
    logged = len(list(iter_access(h.db)))
    r = h.get("board", path, on=DAY)
    assert r.status_code == 200, r.get_json()
    assert r.headers["X-Dossier-Hash"] == dossier_hash(r.data)
    records = list(iter_access(h.db))[logged:]
    assert [(x["officer_id"], x["what"], x["query"]) for x in records] == \
        [(w["leader"], "dossier", f"on={DAY}")]
    bundle = json.loads(r.data)
    assert [e["topic"].rsplit(":", 1)[1] for e in bundle["events"]] == \
        ["Officer.Registered", "Officer.Appointed", "AnnualRating.Recorded"]
    signer = Signer.from_seed(b"s" * 32)
    report = verify_dossier.check_dossier(write(tmp_path, bundle), trusted(signer))
    assert report["ok"] and report["verdict"] == "checked"
    assert h.get("auditor", path, on=DAY).status_code == 200
    bundle["events"].pop(1)
    report = verify_dossier.check_dossier(write(tmp_path, bundle, "cut"), trusted(signer))
    assert report["fault"]["kind"] == "missing_event"


# --------------------------------------------------------------------------- cryptography only

def test_the_verifier_needs_only_cryptography_and_says_the_verdict_was_not_checked(
        crypto_only_python, bundles, signed, tmp_path):
    import os

    script = crypto_only_python.parents[2] / "verify_dossier.py"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    key = signed[1].public_b64

    def run(bundle, *args):
        path = write(tmp_path, bundle, f"d{len(list(tmp_path.iterdir()))}")
        out = subprocess.run([str(crypto_only_python), str(script), str(path), "--json",
                              "--trusted-key", key, *args], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path, env=env)
        return out.returncode, json.loads(out.stdout) if out.stdout.startswith("{") else None

    code, report = run(bundles[0])
    assert code == 0 and report["ok"] and report["verdict"] == "verdict_not_checked"
    code, report = run(bundles[0], "--require-verdict")
    assert code == 1 and report["fault"]["kind"] == "verdict_not_checked"
    forged = copy.deepcopy(bundles[0])
    forged["events"][2], forged["events"][3] = forged["events"][3], forged["events"][2]
    code, report = run(forged)
    assert code == 1 and report["fault"]["kind"] == "altered"


# --------------------------------------------------------------------------- quoted by a decision

def test_a_reappointment_quotes_a_dossier_and_verify_rebuilds_it_from_the_log(store_env):
    from datetime import date

    from audit_service.errors import ValidationFailed
    from auditing.officer_map import dossier_digest
    from auditing.verify import verify_store
    from tests.world import BOARD, build_world, ref

    init_database(Settings.from_env(store_env))
    signer = Signer.generate()
    s = Store(store_env, signer, demo=False, every_events=5)
    try:
        w = build_world(s.app)
        s.follower.catch_up()
        s.follower.checkpoint_now()
        quoted = dossier_digest(build_dossier(s.app, s.db, w.leader, date(2026, 2, 20)))
        with pytest.raises(ValidationFailed) as refused:
            s.app.decide_reappointment(BOARD, w.leader, outcome="not_reappointed",
                                       decided_on="2026-02-20", decision_ref=ref("31",
                                                                                 "2026-02-20"),
                                       dossier_hash="not-a-hash")
        assert "dossier_hash" in refused.value.details
        s.app.decide_reappointment(BOARD, w.leader, outcome="not_reappointed",
                                   decided_on="2026-02-20", decision_ref=ref("31", "2026-02-20"),
                                   dossier_hash=quoted)
        s.app.appoint_officer(BOARD, w.officer, position="Chủ tịch UBND phường",
                              term_start="2022-01-01", decision_ref=ref("40", "2021-12-20"))
        s.app.decide_reappointment(BOARD, w.officer, outcome="not_reappointed",
                                   decided_on="2026-02-21", decision_ref=ref("41", "2026-02-21"),
                                   dossier_hash="ab" * 32)
        more_history(s.app)  # the map moves on: the quoted dossier is rebuilt as it stood
        s.follower.catch_up()
        s.follower.checkpoint_now()
        report = verify_store(s.app, s.db, trusted_keys=trusted(signer))
        checks = {c["officer_id"]: c for c in report["dossiers"]["checks"]}
        assert checks[str(w.leader)]["status"] == "match"
        assert checks[str(w.officer)]["status"] == "mismatch"
        assert [f["kind"] for f in report["faults"]] == ["dossier_hash"]
        assert report["faults"][0]["position"] == checks[str(w.officer)]["position"]
    finally:
        s.close()


def test_a_reappointment_decision_stored_before_dossiers_loads_without_one(store_env):
    """A version-2 Officer.ReappointmentDecided (no dossier_hash) loads with None."""
    from eventsourcing.persistence import StoredEvent

    from tests.conftest import build_app
    from tests.world import build_world

    app = build_app(store_env)
    try:
        w = build_world(app)
        leader = app.get_officer(w.leader)
        d = lambda v: {"_type_": "date_iso", "_data_": v}  # noqa: E731
        v2_state = {
            "outcome": "reappointed", "decided_on": d("2026-02-20"),
            "decision_ref": {"number": "31", "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
                             "signed_on": d("2026-02-20")},
            "eligibility_hash": None, "term_start": d("2021-03-01"),
            "eligibility_verdict": "eligible", "override_reason": None,
            "actor_id": "legacy", "actor_role": "board", "class_version": 2,
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-02-20T01:00:00+00:00"},
            "originator_topic": "audit_service.domain.officers:Officer",
        }
        app.recorder.insert_events([StoredEvent(
            originator_id=leader.id, originator_version=leader.version + 1,
            topic="audit_service.domain.officers:Officer.ReappointmentDecided",
            state=json.dumps(v2_state).encode())])
        assert app.get_officer(w.leader).term["term_start"].isoformat() == "2026-03-01"
        event = app.mapper.to_domain_event(
            app.recorder.select_notifications(start=1, limit=100_000)[-1])
        assert (event.dossier_hash, event.eligibility_verdict) == (None, "eligible")
    finally:
        app.close()


def test_a_dossier_from_an_encrypted_store_carries_the_readable_events_bound_to_the_chain(
        tmp_path, cipher_key):
    from datetime import date

    from tests.world import build_world

    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/enc.sqlite3",
           "AUDIT_CIPHER_KEY": cipher_key}
    init_database(Settings.from_env(env))
    signer = Signer.generate()
    s = Store(env, signer, demo=False, every_events=5)
    try:
        w = build_world(s.app)
        s.follower.catch_up()
        s.follower.checkpoint_now()
        bundle = build_dossier(s.app, s.db, w.officer, date(2026, 6, 1))
    finally:
        s.close()
    first = bundle["events"][0]
    assert first["plain"] and base64.b64decode(first["plain"]) != base64.b64decode(first["state"])
    assert [e["topic"].rsplit(":", 1)[1] for e in bundle["events"]] == \
        ["Officer.Registered", "Inspection.FindingRecorded"]
    report = verify_dossier.check_dossier(write(tmp_path, bundle), trusted(signer))
    assert report["ok"] and report["verdict"] == "checked", report["fault"]
    # the readable state is bound to the chain: changing it is caught without the key
    plain = bytearray(base64.b64decode(first["plain"]))
    at = plain.index(b'"full_name"') + len(b'"full_name":"')
    plain[at] ^= 0x01
    first["plain"] = base64.b64encode(bytes(plain)).decode()
    fault = verify_dossier.check_dossier(write(tmp_path, bundle, "x"), trusted(signer))["fault"]
    assert (fault["kind"], fault["position"]) == ("altered", first["position"])


def test_officer_chains_start_again_with_a_log_chain_wiped_under_them(tmp_path):
    """Someone deletes the log's chain but not the officer chains: the follower (once told
    to chain again) rebuilds the officer chains from position 0 rather than extending them
    twice."""
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/wiped.sqlite3"}
    init_database(Settings.from_env(env))
    s = Store(env, None, demo=False, every_events=5)
    try:
        more_history(s.app)
        s.follower.catch_up()
        before = s.db.fetchall("SELECT officer_id, seq, position, hash FROM"
                               " integrity_officer_chain ORDER BY officer_id, seq")
        for table in ("integrity_chain", "integrity_checkpoints"):
            s.db.execute(f"DELETE FROM {table}")
        s.db.execute("UPDATE projection_positions SET position = 0 WHERE name = 'integrity'")
        follower = s.make_follower(None, 5)
        try:
            follower.catch_up()
        finally:
            follower.close()
        assert s.db.fetchall("SELECT officer_id, seq, position, hash FROM"
                             " integrity_officer_chain ORDER BY officer_id, seq") == before
    finally:
        s.close()


# --------------------------------------------------------------------------- the web PDF

def test_the_web_dossier_pdf_prints_the_dossier_hash_and_its_checkpoint(web_lite):
    import io
    import re

    from pypdf import PdfReader

    from auditing.integrity import IntegrityFollower
    from auditing.officer_map import dossier_digest

    c = web_lite.client("board")
    leader = web_lite.ids["leader"]

    def pdf_text() -> str:
        r = c.get(f"/officers/{leader}/dossier.pdf?on=2026-11-20")
        assert r.status_code == 200
        return re.sub(r"\s+", "", " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages))

    assert "Mãbămhồsơ" not in pdf_text()  # no checkpoint signs the officer map yet
    follower = IntegrityFollower(web_lite.service)
    try:
        follower.catch_up()
        cp = follower.checkpoint_now()
    finally:
        follower.close()
    from datetime import date

    expected = dossier_digest(build_dossier(web_lite.service, web_lite.db, leader,
                                            date(2026, 11, 20)))
    text = pdf_text()
    assert expected in text and f"#{cp['checkpoint_id']}tạivịtrí{cp['position']}" in text
