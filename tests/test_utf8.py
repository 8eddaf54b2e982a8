"""Vietnamese text goes out as UTF-8, never as \\u escapes: JSON answers, problem+json
errors, the NDJSON streams, and the command line's JSON."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api import create_app
from audit_service.config import Settings
from scripts.cli import main
from tests.api_support import ApiHarness, build_city
from tests.conftest import build_app

NAME = "Phường Hàng Bạc, Hà Nội"
PERSON = "Nguyễn Thị Ạnh"


@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def _utf8(body: bytes, text: str) -> None:
    assert text.encode("utf-8") in body, body[:300]
    assert b"\\u" not in body, body[:300]


def test_http_answers_carry_utf8(h):
    build_city(h)
    created = h.ok("admin", "/units", {"code": "HB", "name": NAME, "level": "city"})
    h.project()
    unit = h.get("admin", f"/units/{created['id']}")
    assert unit.mimetype == "application/json"  # JSON: UTF-8 by definition (RFC 8259)
    _utf8(unit.data, NAME)
    taken = h.post("admin", "/units", {"code": "HB", "name": NAME, "level": "city"})
    assert taken.status_code == 409 and taken.mimetype == "application/problem+json"
    missing = h.get("admin", "/units/không-có")
    assert missing.status_code == 404
    _utf8(missing.data, "không-có")
    events = h.get("auditor", "/events", limit=10000)
    assert events.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    _utf8(events.data, NAME)
    export = h.get("auditor", "/audit/export")
    assert export.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert b"\\u" not in export.data


def test_the_command_line_json_carries_utf8(store_env):
    runner = CliRunner()
    made = runner.invoke(main, ["tokens", "create", "--role", "board", "--name", PERSON,
                                "--json"], env=store_env)
    assert made.exit_code == 0, made.output
    _utf8(made.stdout.encode(), PERSON)
    assert json.loads(made.stdout)["name"] == PERSON
    listed = runner.invoke(main, ["tokens", "list", "--json"], env=store_env)
    _utf8(listed.stdout.encode(), PERSON)
