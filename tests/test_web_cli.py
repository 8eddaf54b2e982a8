"""`audit-service users`: passwords from stdin, stored only as scrypt hashes; the demo user."""
from __future__ import annotations

import os
import re
import subprocess

from auditing.accounts import Accounts
from audit_service.config import Settings
from projections.db import ReadModelDB
from scripts.load_test import CLI


def _cli(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env={**os.environ, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_set_password_reads_stdin_and_stores_a_scrypt_hash(tmp_path):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3"}
    assert _cli(env, "init-db").returncode == 0
    out = _cli(env, "users", "set-password", "hoi.dong", "--role", "board",
               stdin="mật khẩu rất dài\n")
    assert out.returncode == 0, out.stderr
    db = ReadModelDB(Settings.from_env(env).database)
    try:
        stored = db.fetchone("SELECT password_hash, role FROM web_users WHERE user_name = ?",
                             ("hoi.dong",))
        assert stored[0].startswith("scrypt:") and "mật khẩu" not in stored[0]
        assert stored[1] == "board"
        accounts = Accounts(db)
        assert accounts.verify("hoi.dong", "mật khẩu rất dài").role == "board"
        assert accounts.verify("hoi.dong", "mật khẩu sai") is None
        short = _cli(env, "users", "set-password", "hoi.dong", stdin="ngắn\n")
        assert short.returncode == 1 and "password" in short.stderr
        assert accounts.verify("hoi.dong", "mật khẩu rất dài") is not None  # unchanged
        no_role = _cli(env, "users", "set-password", "moi", stdin="mật khẩu rất dài\n")
        assert no_role.returncode == 1 and "role" in no_role.stderr
        demo = _cli(env, "users", "demo", "--url", "http://127.0.0.1:9999")
        password = re.search(r"with the password (\S+)", demo.stdout).group(1)
        assert "http://127.0.0.1:9999/login" in demo.stdout
        assert accounts.verify("demo.board", password).role == "board"
    finally:
        db.close()
