"""`audit-service tokens create|list|revoke`: tokens shown once, only hashes stored."""
from __future__ import annotations

import json

from click.testing import CliRunner

from auditing.access import TokenStore, token_hash
from audit_service.config import Settings
from projections.db import ReadModelDB
from scripts.cli import main


def test_create_list_revoke(store_env):
    runner = CliRunner()
    out = runner.invoke(main, ["tokens", "create", "--role", "inspector", "--name",
                               "Đoàn kiểm tra số 3", "--json"], env=store_env)
    assert out.exit_code == 0, out.output
    created = json.loads(out.output)
    assert created["role"] == "inspector" and created["token"].startswith("ast_")
    db = ReadModelDB(Settings.from_env(store_env).database)
    try:
        stored = db.fetchall("SELECT token_sha256 FROM api_tokens")
        assert stored == [(token_hash(created["token"]),)]
        assert TokenStore(db).authenticate(created["token"]).user_id == created["user_id"]
        listed = json.loads(runner.invoke(main, ["tokens", "list", "--json"], env=store_env).output)
        assert [(t["user_id"], t["name"], t["revoked_at"]) for t in listed] == [
            (created["user_id"], "Đoàn kiểm tra số 3", None)]
        assert created["token"] not in json.dumps(listed)
        text = runner.invoke(main, ["tokens", "create", "--role", "admin", "--name", "ops"],
                             env=store_env).output
        assert "shown once" in text and "curl" in text and "Authorization: Bearer ast_" in text
        out = runner.invoke(main, ["tokens", "revoke", created["user_id"]], env=store_env)
        assert out.exit_code == 0
        assert TokenStore(db).authenticate(created["token"]) is None
        missing = runner.invoke(main, ["tokens", "revoke", "nobody"], env=store_env)
        assert missing.exit_code == 1 and "token_not_found" in missing.output
        bad = runner.invoke(main, ["tokens", "create", "--role", "root", "--name", "x"],
                            env=store_env)
        assert bad.exit_code == 2
    finally:
        db.close()


def test_serve_refuses_an_uninitialised_database(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    out = CliRunner().invoke(main, ["serve"], env=env)
    assert out.exit_code == 2 and "init-db" in out.output


def test_a_token_tied_to_a_unit_by_code(store_env):
    from tests.conftest import ADMIN, build_app

    app = build_app(store_env)
    unit = app.register_unit(ADMIN, code="D-TH", name="Quận Tây Hồ", level="district").id
    app.close()
    runner = CliRunner()
    out = runner.invoke(main, ["tokens", "create", "--role", "inspector", "--name", "Đoàn 1",
                               "--unit", "d-th", "--json"], env=store_env)
    assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(main, ["tokens", "list", "--json"], env=store_env).output)
    assert listed[0]["unit_id"] == str(unit)
    bad = runner.invoke(main, ["tokens", "create", "--role", "inspector", "--name", "x",
                               "--unit", "NOPE"], env=store_env)
    assert bad.exit_code == 1 and "unit" in bad.output
