"""One test per integrity check: each makes exactly that check fail and asserts the position
and kind reported, in place over the CLI (`audit-service verify`) and over HTTP
(/api/v1/audit/verify), and offline by scripts/verify_export.py run in a virtual
environment that has only `cryptography` installed.

The store is SQLite: the checks live in ``chain.ChainChecker`` and the offline verifier and
do not depend on the store (tests/test_integrity.py runs the tamper matrix on both stores).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from api import create_app
from auditing import chain
from auditing.records import record_of
from auditing.signing import Signer
from auditing.bootstrap import init_database
from audit_service.config import Settings
from auditing.integrity import checkpoints
from tests.api_support import ApiHarness
from tests.conftest import build_app
from projections.projector import Projector
from tests.test_integrity import Store, board_world, more_history

ROOT = Path(__file__).resolve().parents[1]
EVERY = 10  # a checkpoint every 10 events


# --------------------------------------------------------------------------- the stores

@pytest.fixture
def signer():
    return Signer.generate()


@pytest.fixture
def store(tmp_path, signer):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    s = Store(env, signer, demo=False, every_events=EVERY)
    for _ in range(4):
        more_history(s.app)
    s.follower.catch_up()
    s.held = s.follower.checkpoint_now()
    assert s.head == 40 and len(checkpoints(s.db)) >= 4
    yield s
    s.close()


def cli_report(store, monkeypatch, *args: str) -> tuple[int, dict]:
    from scripts.cli import main

    for k, v in store.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AUDIT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("AUDIT_SIGNING_KEY_FILE", raising=False)
    result = CliRunner().invoke(main, ["verify", "--json", *args])
    return result.exit_code, json.loads(result.output[result.output.index("{"):])


def http_report(store) -> dict:
    settings = Settings.from_env(store.env)
    flask_app = create_app(settings, service=build_app(store.env))
    h = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    try:
        r = h.get("auditor", "/audit/verify", max_seconds=30)
        assert r.status_code == 200, r.get_json()
        return r.get_json()
    finally:
        h.close()


def first(report: dict) -> tuple:
    f = report["first_fault"]
    return (f["position"], f["kind"], f.get("reason")) if f else (None, None, None)


def assert_found_everywhere(store, monkeypatch, expected: tuple, *cli_args: str,
                            http: bool = True) -> None:
    code, report = cli_report(store, monkeypatch, *cli_args)
    assert code == 1 and not report["ok"]
    assert first(report) == expected, report["faults"][:4]
    if http:
        report = http_report(store)
        assert not report["ok"] and first(report) == expected, report["faults"][:4]


def test_the_sound_store_verifies_over_the_cli_and_http(store, monkeypatch):
    code, report = cli_report(store, monkeypatch, "--require-signatures")
    assert code == 0 and report["ok"] and report["chained"] == store.head
    assert http_report(store)["ok"]


# --------------------------------------------------------------------------- chain entries

def content_of(store, position: int) -> bytes:
    (n,) = store.app.recorder.select_notifications(start=position, limit=1)
    assert n.id == position
    return chain.content_bytes(*record_of(n, store.app.mapper))


def test_link_check_an_altered_event_with_its_digest_rewritten(store, monkeypatch):
    """The digest alone follows the altered event; only the hash link shows the change."""
    p = 17
    state = bytearray(store.state(p))
    state[len(state) // 2] ^= 0x01
    store.set_state(p, bytes(state))
    store.db.execute("UPDATE integrity_chain SET digest = ? WHERE position = ?",
                     (chain.digest(content_of(store, p)).hex(), p))
    assert_found_everywhere(store, monkeypatch, (p, chain.CHAIN, None))


def test_digest_check_a_rewritten_digest_on_a_sound_event(store, monkeypatch):
    p = 23
    store.db.execute("UPDATE integrity_chain SET digest = ? WHERE position = ?", ("00" * 32, p))
    assert_found_everywhere(store, monkeypatch, (p, chain.ALTERED, None))


def test_hash_check_a_rewritten_hash_on_a_sound_event(store, monkeypatch):
    p = 25  # not at a checkpoint: the link from the entry before it fails first
    store.db.execute("UPDATE integrity_chain SET hash = ? WHERE position = ?", ("ab" * 32, p))
    assert_found_everywhere(store, monkeypatch, (p, chain.CHAIN, None))


def test_predecessor_check_an_entry_that_skips_its_predecessor(store, monkeypatch):
    p = 14
    store.db.execute("UPDATE integrity_chain SET prev_position = ? WHERE position = ?",
                     (p - 2, p))
    # the entry at p-1 is one the chain no longer links to
    assert_found_everywhere(store, monkeypatch, (p - 1, chain.INSERTED, None))


# --------------------------------------------------------------------------- checkpoints

def resign(store, cp: dict, **changes) -> dict:
    """A checkpoint changed and signed again with the service's own key."""
    forged = {**cp, **changes}
    forged["signature"] = store.signer.sign(forged)
    store.db.execute("UPDATE integrity_checkpoints SET position = ?, head = ?, event_count = ?,"
                     " signature = ? WHERE checkpoint_id = ?",
                     (forged["position"], forged["head"], forged["count"], forged["signature"],
                      cp["checkpoint_id"]))
    return forged


def test_checkpoint_head_check(store, monkeypatch):
    cp = checkpoints(store.db)[1]
    resign(store, cp, head="cd" * 32)
    assert_found_everywhere(store, monkeypatch, (cp["position"], chain.CHECKPOINT,
                                                 "head_mismatch"))


def test_checkpoint_count_check(store, monkeypatch):
    cp = checkpoints(store.db)[1]
    resign(store, cp, count=cp["count"] + 1)
    assert_found_everywhere(store, monkeypatch, (cp["position"], chain.CHECKPOINT,
                                                 "count_mismatch"))


def test_checkpoint_position_check(store, monkeypatch):
    cp = checkpoints(store.db)[1]
    resign(store, cp, position=store.head + 5)
    assert_found_everywhere(store, monkeypatch, (store.head + 5, chain.CHECKPOINT,
                                                 "not_in_chain"))


def test_checkpoint_signature_check(store, monkeypatch):
    cp = checkpoints(store.db)[2]
    store.db.execute("UPDATE integrity_checkpoints SET created_at = ? WHERE checkpoint_id = ?",
                     ("2030-01-01T00:00:00.000000+00:00", cp["checkpoint_id"]))
    assert_found_everywhere(store, monkeypatch, (cp["position"], chain.CHECKPOINT,
                                                 "bad_signature"))


def test_key_check_a_checkpoint_whose_key_is_not_stored(store, monkeypatch):
    store.db.execute("DELETE FROM integrity_keys")
    cp = checkpoints(store.db)[0]
    assert_found_everywhere(store, monkeypatch, (cp["position"], chain.CHECKPOINT,
                                                 "unknown_key"))


def test_unsigned_checkpoint_is_a_fault_only_when_signatures_are_required(store, monkeypatch):
    cp = checkpoints(store.db)[1]
    store.db.execute("UPDATE integrity_checkpoints SET signature = NULL, key_id = NULL"
                     " WHERE checkpoint_id = ?", (cp["checkpoint_id"],))
    code, report = cli_report(store, monkeypatch)
    assert code == 0 and report["checkpoints"]["signing"] == "partly signed"
    assert_found_everywhere(store, monkeypatch, (cp["position"], chain.CHECKPOINT, "unsigned"),
                            "--require-signatures", http=False)


def test_trusted_checkpoint_check(store, monkeypatch, tmp_path):
    """A checkpoint the auditor holds, from a history the store no longer has."""
    held = {**store.held, "head": "ef" * 32}
    held["signature"] = store.signer.sign(held)
    path = tmp_path / "held.json"
    path.write_text(json.dumps(held))
    assert_found_everywhere(store, monkeypatch, (held["position"], chain.FORKED,
                                                 "trusted_mismatch"),
                            "--trusted-checkpoint", str(path), http=False)


# --------------------------------------------------------------------------- board hashes

def test_board_hash_check_a_reappointment_quoting_a_stale_hash(tmp_path, signer, monkeypatch):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/board.sqlite3"}
    init_database(Settings.from_env(env))
    s = Store(env, signer, demo=False)
    try:
        projector = Projector(s.app)
        good, bad = board_world(s.app, projector)
        projector.db.close()
        s.follower.catch_up()
        # the decision event's position is the last of the command's positions
        bad_position = max(p for p in bad if s.app.recorder.select_notifications(
            start=p, limit=1)[0].topic.endswith("ReappointmentDecided"))
        assert_found_everywhere(s, monkeypatch, (bad_position, chain.BOARD, None))
        code, report = cli_report(s, monkeypatch)
        assert (report["board"]["matched"], report["board"]["mismatched"]) == (1, 1)
    finally:
        s.close()


# --------------------------------------------------------------------------- offline

@pytest.fixture(scope="session")
def crypto_only_python(tmp_path_factory) -> Path:
    """A virtual environment with only `cryptography` (from pip's cache, else PyPI), and the
    verifier copied out of the source tree beside its chain.py, as an auditor would hold it."""
    root = tmp_path_factory.mktemp("verifier")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", "cryptography"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "audit-service" not in names and "eventsourcing" not in names
    shutil.copy(ROOT / "scripts" / "verify_export.py", root / "verify_export.py")
    for module in ("auditing/chain.py", "auditing/officer_map.py", "auditing/corrections.py",
                   "projections/concerns.py"):
        shutil.copy(ROOT / module, root / Path(module).name)
    shutil.copy(ROOT / "scripts" / "verify_dossier.py", root / "verify_dossier.py")
    return python


def offline(python: Path, bundle: Path, *args: str) -> tuple[int, dict | None, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    script = python.parents[2] / "verify_export.py"
    out = subprocess.run([str(python), str(script), str(bundle), "--json", *args],
                         capture_output=True, text=True, timeout=120, cwd=bundle.parent, env=env)
    report = json.loads(out.stdout) if out.stdout.strip().startswith("{") else None
    return out.returncode, report, out.stderr


class Bundle:
    """An export's lines as JSON objects, to change and write back."""

    def __init__(self, path: Path):
        self.path = path
        self.lines = [json.loads(line) for line in path.read_bytes().splitlines()]

    def index(self, kind: str, position: int | None = None) -> int:
        return next(i for i, o in enumerate(self.lines) if o["type"] == kind
                    and (position is None or o.get("position") == position))

    def write(self, name: str, *, reseal: bool = False) -> Path:
        """Write the lines; ``reseal``: recompute the end line's SHA-256 as a forger would."""
        raw = [json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
               for o in self.lines]
        if reseal and self.lines[-1]["type"] == "end":
            self.lines[-1]["sha256"] = hashlib.sha256(b"".join(raw[:-1])).hexdigest()
            raw[-1] = json.dumps(self.lines[-1], separators=(",", ":")).encode() + b"\n"
        out = self.path.parent / f"{name}.ndjson"
        out.write_bytes(b"".join(raw))
        return out


@pytest.fixture
def bundle(store, tmp_path) -> Bundle:
    return Bundle(store.export(tmp_path / "export.ndjson"))


def test_offline_sound_bundle_verifies_with_cryptography_only(crypto_only_python, bundle,
                                                              store):
    code, report, err = offline(crypto_only_python, bundle.path, "--require-signatures")
    assert code == 0, err
    assert report["ok"] and report["events"] == store.head
    assert "board hashes not checked" in " ".join(report["notes"])  # no service installed
    assert report["board"]["status"] == "not_checked"
    # the corrections' links are checked from the events alone, without the service
    assert report["corrections"]["skipped"] is None and report["corrections"]["bad"] == 0


def test_offline_sha256_check_a_touched_manifest(crypto_only_python, bundle, store):
    bundle.lines[0]["description"] = "nothing to see here"
    code, report, err = offline(crypto_only_python, bundle.write("manifest"))
    assert code == 1, err
    assert [(f["position"], f["kind"]) for f in report["faults"]] == [(store.head + 1, "file")]
    assert "SHA-256" in report["first_fault"]["detail"]


@pytest.mark.parametrize("field", ["lines", "events"])
def test_offline_end_line_counts(crypto_only_python, bundle, store, field):
    bundle.lines[-1][field] += 1
    code, report, err = offline(crypto_only_python, bundle.write(f"end-{field}"))
    assert code == 1, err
    assert [(f["position"], f["kind"]) for f in report["faults"]] == [(store.head + 1, "file")]
    assert f"counts {bundle.lines[-1][field]} {field}" in report["first_fault"]["detail"]


def test_offline_end_line_missing(crypto_only_python, bundle, store):
    bundle.lines.pop()
    code, report, err = offline(crypto_only_python, bundle.write("no-end"))
    assert code == 1, err
    assert first(report)[:2] == (store.head + 1, chain.TRUNCATED)
    assert report["file_complete"] is False


def test_offline_link_check_an_event_and_its_digest_rewritten(crypto_only_python, bundle):
    p = 17
    line = bundle.lines[bundle.index("event", p)]
    state = bytearray(base64.b64decode(line["state"]))
    state[len(state) // 2] ^= 0x01
    line["state"] = base64.b64encode(bytes(state)).decode()
    content = chain.content_bytes(line["originator_id"], line["originator_version"],
                                  line["topic"], bytes(state), line["recorded_at"])
    line["chain"]["digest"] = chain.digest(content).hex()
    code, report, err = offline(crypto_only_python, bundle.write("link", reseal=True))
    assert code == 1, err
    assert first(report)[:2] == (p, chain.CHAIN)
    assert report["fault_count"] == 1


def test_offline_keys_a_bundle_resigned_by_another_key(crypto_only_python, bundle, store,
                                                       tmp_path):
    """A forger swaps the key line and re-signs every checkpoint: consistent in itself, so
    only the key the auditor holds shows it."""
    intruder = Signer.generate()
    key = bundle.lines[bundle.index("key")]
    key.update(key_id=intruder.key_id, public_key=intruder.public_b64)
    for line in bundle.lines:
        if line["type"] == "checkpoint":
            line["key_id"] = intruder.key_id
            line["signature"] = intruder.sign(line)
    forged = bundle.write("resigned", reseal=True)
    code, report, err = offline(crypto_only_python, forged, "--require-signatures")
    assert code == 0, err  # the export's own keys agree with it
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(store.signer.public_b64 + "\n")
    code, report, err = offline(crypto_only_python, forged, "--trusted-key", str(trusted))
    assert code == 1, err
    first_cp = min(line["position"] for line in bundle.lines if line["type"] == "checkpoint")
    assert first(report) == (first_cp, chain.CHECKPOINT, "unknown_key")


@pytest.mark.parametrize("change,message", [
    ("format", "not an audit-service export manifest"),
    ("format_version", "export format version 9 is not supported"),
    ("canonical_version", "canonical bytes version 9 is not supported"),
    ("key_after_events", "a 'key' line after the events"),
])
def test_offline_unreadable_bundles_exit_2(crypto_only_python, bundle, change, message):
    if change == "format":
        bundle.lines[0]["format"] = "something-else"
    elif change == "key_after_events":
        bundle.lines.insert(len(bundle.lines) - 1, dict(bundle.lines[bundle.index("key")]))
    else:
        bundle.lines[0][change] = 9
    code, report, err = offline(crypto_only_python, bundle.write(change))
    assert code == 2 and report is None
    assert message in err
