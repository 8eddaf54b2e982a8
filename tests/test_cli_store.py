"""Every `audit-service` command on a store that `init-db` has not prepared: one line, exit
2, and no database file left behind. The commands are found by walking the click group, so
a new command is covered without being listed here (give it arguments below if it needs
some)."""
from __future__ import annotations

import os

import click
import pytest
from click.testing import CliRunner

from scripts.cli import STORELESS, main

# The least each command needs to get past its own argument checks.
ARGS = {
    "import": ["{tmp}/records.ndjson"],
    "export": ["--out", "{tmp}/bundle.ndjson"],
    "dossier": ["--officer", "3f1f6f0e-2d7a-4a3c-9d55-9e1b9a0f0c11", "--out", "{tmp}/d.json"],
    "replay": ["--officer", "3f1f6f0e-2d7a-4a3c-9d55-9e1b9a0f0c11",
               "--as-of", "2026-01-05T09:00:00+07:00"],
    "project": ["--until-caught-up"],
    "tokens create": ["--role", "admin", "--name", "someone"],
    "tokens revoke": ["u_1"],
    "users set-password": ["someone", "--role", "board"],
    "users disable": ["someone"],
    "keys generate": [],
    "chain recreate": ["--reason", "a test"],
}


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


STORE_COMMANDS = [c for c in commands() if c[0] not in STORELESS or c == ("serve",)]


def test_the_walk_finds_the_commands():
    assert {("tokens", "list"), ("projections", "status"), ("verify",), ("serve",),
            ("demo-data",), ("import",)} <= set(STORE_COMMANDS)
    assert ("init-db",) not in STORE_COMMANDS and ("keys", "cipher") not in STORE_COMMANDS


def _run(path: tuple[str, ...], env: dict, tmp_path, monkeypatch):
    (tmp_path / "records.ndjson").write_text("")

    def no_exec(*_a, **_k):  # serve must stop before it starts gunicorn
        raise AssertionError("serve started gunicorn on an uninitialised store")

    monkeypatch.setattr(os, "execve", no_exec)
    args = [a.format(tmp=tmp_path) for a in ARGS.get(" ".join(path), [])]
    return CliRunner().invoke(main, [*path, *args], env=env)


@pytest.mark.parametrize("path", STORE_COMMANDS, ids=" ".join)
def test_a_command_on_a_fresh_sqlite_path_says_init_db_and_creates_nothing(path, tmp_path,
                                                                            monkeypatch):
    db = tmp_path / "var" / "audit.sqlite3"
    result = _run(path, {"AUDIT_DATABASE_URL": f"sqlite:///{db}"}, tmp_path, monkeypatch)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert lines == [f"audit-service: the store at sqlite:///{db} is not initialised;"
                     " run `audit-service init-db`"], result.output
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize("path", [c for c in commands()  # init-db alone creates the store
                                  if c[0] in STORELESS and c[0] not in ("serve", "init-db")],
                         ids=" ".join)
def test_commands_that_need_no_store_create_none_either(path, tmp_path, monkeypatch):
    db = tmp_path / "var" / "audit.sqlite3"
    _run(path, {"AUDIT_DATABASE_URL": f"sqlite:///{db}"}, tmp_path, monkeypatch)
    assert not db.parent.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("path", STORE_COMMANDS, ids=" ".join)
def test_a_command_on_an_empty_postgres_schema_says_init_db(path, pg_env, tmp_path,
                                                            monkeypatch):
    from audit_service.config import Settings

    display = Settings.from_env(pg_env).database.display
    result = _run(path, pg_env, tmp_path, monkeypatch)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"audit-service: the store at {display} is not initialised; run `audit-service init-db`"]
