"""Schemathesis over the served OpenAPI document, on a fresh SQLite database.

For every operation, generated requests (valid and invalid) are sent with a token of a role
allowed to call it. No response may be a 5xx, and after every request the number of
stored events equals the number of events the 2xx responses reported.
"""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api import create_app
from audit_service.bootstrap import init_database
from audit_service.config import Settings
from tests.api_support import ApiHarness, build_city
from tests.conftest import build_app

pytestmark = pytest.mark.slow
PREFERRED = ("board", "admin", "inspector", "auditor")


@pytest.fixture(scope="module")
def fuzz_state(tmp_path_factory):
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.sqlite3"}
    settings_ = Settings.from_env(env)
    init_database(settings_)
    flask_app = create_app(settings_, service=build_app(env))
    flask_app.extensions["audit_service"].read_wait_seconds = 0.05
    h = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings_)
    build_city(h)
    h.project()
    roles = {}
    for rule in flask_app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        allowed = getattr(flask_app.view_functions[rule.endpoint], "_roles", ())
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            roles[(method, path)] = next((r for r in PREFERRED if r in allowed), None)
    state = {"h": h, "roles": roles, "reported": set(), "baseline": h.event_count(),
             "statuses": []}
    yield state
    h.close()


@pytest.fixture(scope="module")
def web_schema(fuzz_state):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_state["h"].flask_app)


def test_no_server_errors_and_every_event_reported(fuzz_state, web_schema):
    h = fuzz_state["h"]
    operations = [result.ok() for result in web_schema.get_all_operations()]
    assert len(operations) >= 45

    for operation in operations:
        role = fuzz_state["roles"].get((operation.method.upper(), operation.path))
        headers = {"Authorization": f"Bearer {h.tokens[role]}"} if role else {}

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            fuzz_state["statuses"].append(response.status_code)
            if 200 <= response.status_code < 300 and case.method.upper() == "POST":
                fuzz_state["reported"].update(response.json()["positions"])
                h.project()  # keep reads current: a lagging read is a legitimate 503
            assert h.event_count() - fuzz_state["baseline"] == len(fuzz_state["reported"]), \
                operation.label

        exercise()
    statuses = fuzz_state["statuses"]
    assert len(statuses) > 300 and not [s for s in statuses if s >= 500]
    assert any(200 <= s < 300 for s in statuses) and any(s == 422 for s in statuses)
