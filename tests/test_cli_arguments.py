"""Bad command-line values get click's usage error (exit 2, "Error: Invalid value for ..."),
found before any work is done: never a traceback, never a silent run on nonsense."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditing.bootstrap import init_database
from audit_service.config import Settings
from scripts.cli import main

OFFICER = "3f1f6f0e-2d7a-4a3c-9d55-9e1b9a0f0c11"
AS_OF = "2026-01-05T09:00:00+07:00"
HEAD = "ab" * 32


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{folder}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    files = {
        "empty_object": {},
        "a_list": [1, 2],
        "bad_head": {"position": 3, "head": "not-hex", "count": 3},
        "position_text": {"position": "3", "head": HEAD, "count": 3},
    }
    for name, content in files.items():
        (folder / f"{name}.json").write_text(json.dumps(content))
    (folder / "junk.txt").write_bytes(b"\xff\xfe not json")
    return env, folder


BAD = [
    (["replay", "--officer", OFFICER, "--as-of", AS_OF, "--on", "2026-13-01"], "--on"),
    (["replay", "--officer", OFFICER, "--as-of", AS_OF, "--on", "30/11/2026"], "--on"),
    (["replay", "--officer", "nope", "--as-of", AS_OF], "--officer"),
    (["replay", "--officer", OFFICER, "--as-of", "yesterday"], "--as-of"),
    (["replay", "--officer", OFFICER, "--as-of", "9999-12-31T23:59:59-14:00"], "--as-of"),
    (["verify", "--trusted-checkpoint", "{dir}/empty_object.json"], "--trusted-checkpoint"),
    (["verify", "--trusted-checkpoint", "{dir}/a_list.json"], "--trusted-checkpoint"),
    (["verify", "--trusted-checkpoint", "{dir}/bad_head.json"], "--trusted-checkpoint"),
    (["verify", "--trusted-checkpoint", "{dir}/position_text.json"], "--trusted-checkpoint"),
    (["verify", "--trusted-checkpoint", "{dir}/junk.txt"], "--trusted-checkpoint"),
    (["verify", "--trusted-checkpoint", "{dir}/missing.json"], "--trusted-checkpoint"),
    (["verify", "--max-seconds", "-1"], "--max-seconds"),
    (["verify", "--max-seconds", "0"], "--max-seconds"),
    (["export", "--out", "{dir}/no-such-folder/bundle.ndjson"], "--out"),
    (["export", "--out", "{dir}/bundle.ndjson", "--from-position", "-5"], "--from-position"),
    (["export", "--out", "{dir}/bundle.ndjson", "--to-position", "0"], "--to-position"),
    (["checkpoint", "--out", "{dir}/no-such-folder/cp.json"], "--out"),
    (["keys", "generate", "--out", "{dir}/no-such-folder/key"], "--out"),
    (["project", "--until-caught-up", "--batch-size", "0"], "--batch-size"),
    (["project", "--until-caught-up", "--poll-interval", "-1"], "--poll-interval"),
    (["demo-data", "--officers", "-3"], "--officers"),
    (["demo-data", "--officers", "0"], "--officers"),
]


@pytest.mark.parametrize("args,option", BAD, ids=[" ".join(a).replace("{dir}/", "")
                                                 for a, _ in BAD])
def test_a_bad_value_is_a_usage_error(store, args, option):
    env, folder = store
    result = CliRunner().invoke(main, [a.format(dir=folder) for a in args], env=env)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert "Usage: " in result.output
    assert f"Error: Invalid value for '{option}" in result.output, result.output
    assert not (folder / "bundle.ndjson").exists()
