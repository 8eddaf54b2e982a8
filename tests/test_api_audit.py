"""Auditors over HTTP: public keys, the latest checkpoint, the export bundle (checked by the
offline verifier) and in-place verification."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from api import create_app
from audit_service.config import Settings
from tests.api_support import ApiHarness, build_city
from tests.conftest import build_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def h(store_env, monkeypatch):
    monkeypatch.setenv("AUDIT_SIGNING_KEY", base64.b64encode(b"s" * 32).decode())
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def test_export_over_http_verifies_offline(h, tmp_path):
    w = build_city(h)
    h.ok("board", "/evaluations/annual", {"officer_id": w["officer"], "year": 2024,
                                          "rating": "HTNV"})
    h.project()
    keys = h.get("inspector", "/audit/public-key").get_json()
    assert keys["current"]["algorithm"] == "ed25519" and keys["items"]
    latest = h.get("board", "/audit/checkpoints/latest").get_json()
    assert latest["position"] == h.event_count() and latest["signature"]
    r = h.get("auditor", "/audit/export")
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    bundle = tmp_path / "export.ndjson"
    bundle.write_bytes(r.data)
    key_file = tmp_path / "keys.txt"
    key_file.write_text(keys["current"]["public_key"] + "\n")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_export.py"),
                          str(bundle), "--trusted-key", str(key_file), "--require-signatures",
                          "--no-replay", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["last_position"] == h.event_count()
    # one changed byte in the downloaded file is caught
    lines = bundle.read_bytes().splitlines()
    victim = next(i for i, line in enumerate(lines) if b'"type": "event"' in line
                  or b'"type":"event"' in line)
    record = json.loads(lines[victim])
    state_key = next(k for k in record if "state" in k)
    record[state_key] = record[state_key][:-4] + ("AAAA" if record[state_key][-4:] != "AAAA"
                                                  else "BBBB")
    lines[victim] = json.dumps(record).encode()
    bundle.write_bytes(b"\n".join(lines) + b"\n")
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_export.py"),
                          str(bundle), "--trusted-key", str(key_file), "--no-replay", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1


def test_verify_over_http_is_bounded_and_says_how_far_it_got(h):
    build_city(h)
    h.project()
    report = h.get("auditor", "/audit/verify", max_seconds=5).get_json()
    assert report["ok"] and report["complete"] and report["last_position"] == h.event_count()
    assert h.get("board", "/audit/verify").status_code == 403
    assert h.get("auditor", "/audit/verify", max_seconds=0).status_code == 422


def test_verify_over_http_that_runs_out_of_time_says_incomplete_not_ok(h, monkeypatch):
    import time as real_time

    from auditing import verify as verify_module

    build_city(h)

    class Late:  # every deadline has passed by the time the check starts
        @staticmethod
        def monotonic():
            return real_time.monotonic() + 3600

    monkeypatch.setattr(verify_module, "time", Late)
    r = h.get("auditor", "/audit/verify", max_seconds=1)
    report = r.get_json()
    assert r.status_code == 200
    assert report["status"] == "incomplete" and report["ok"] is False
    assert report["complete"] is False and report["log_events"] == h.event_count()
