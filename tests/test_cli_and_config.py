"""The audit-service command and its configuration, run as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit_service.config import Settings, parse_database_url
from audit_service.errors import ConfigurationError
from scripts.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], env=full_env,
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("url,fragment", [
    ("mysql://x@y/z", "unsupported scheme"),
    ("postgresql://127.0.0.1", "expected postgresql://"),
    ("postgresql://root@127.0.0.1:99999/test", "port"),
    ("sqlite://host/file.db", "no host"),
    ("sqlite:///", "names no file"),
])
def test_malformed_url_is_one_line_and_exit_2(tmp_path, url, fragment):
    result = run_cli("init-db", env={"AUDIT_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line_and_exit_2(tmp_path):
    result = run_cli("init-db", env={"AUDIT_DATABASE_URL": "postgresql://root@127.0.0.1:1/test"},
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot connect to postgresql://root@127.0.0.1:1/test" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_cipher_key_is_refused():
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"AUDIT_CIPHER_KEY": "c2hvcnQ="})
    assert "16, 24 or 32" in info.value.message


def test_default_url_is_relative_sqlite_and_folder_is_created(tmp_path):
    result = run_cli("init-db", env={"AUDIT_DATABASE_URL": ""}, cwd=tmp_path)
    # An empty variable means the default, like an unset one.
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "audit.sqlite3").exists()


def test_password_never_shown():
    db = parse_database_url("postgresql://u:s3cret@db.example:6543/audit")
    assert "s3cret" not in db.display and db.port == 6543 and db.password == "s3cret"


def test_every_command_has_help():
    runner = CliRunner()

    def walk(group, prefix):
        for name, cmd in group.commands.items():
            result = runner.invoke(main, [*prefix, name, "--help"])
            assert result.exit_code == 0, (prefix, name, result.output)
            assert "Usage:" in result.output and (cmd.help or "").split("\n")[0][:20] in result.output
            if hasattr(cmd, "commands"):
                walk(cmd, [*prefix, name])

    walk(main, [])


def _concurrent_init(env, cwd):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    procs = [subprocess.Popen([sys.executable, "-m", "scripts.cli", "init-db"], env=full_env,
                              cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    return [(p.wait(timeout=120), p.stderr.read()) for p in procs]


def test_init_db_concurrent_and_idempotent_sqlite(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/db/a.sqlite3"}
    outcomes = _concurrent_init(env, tmp_path)
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert run_cli("init-db", env=env).returncode == 0


@pytest.mark.postgres
def test_init_db_concurrent_and_idempotent_postgres(tmp_path, pg_reason):
    from tests.conftest import PG_URL, REQUIRE_PG, drop_pg_schema, make_pg_schema

    if pg_reason:
        if REQUIRE_PG:
            pytest.fail(pg_reason)
        pytest.skip(pg_reason)
    schema = make_pg_schema()
    try:
        env = {"AUDIT_DATABASE_URL": f"{PG_URL}?schema={schema}"}
        outcomes = _concurrent_init(env, tmp_path)
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        again = run_cli("init-db", env=env)
        assert again.returncode == 0 and "initialised" in again.stdout
    finally:
        drop_pg_schema(schema)


def test_cipher_key_command_makes_a_valid_key():
    result = CliRunner().invoke(main, ["keys", "cipher"])
    key = result.output.strip()
    assert Settings.from_env({"AUDIT_CIPHER_KEY": key}).cipher_key == key
