"""Schemathesis over the served OpenAPI document, on a fresh SQLite database.

For every operation, generated requests (valid and invalid) are sent with a token of a role
allowed to call it. No response may be a 5xx, and after every request the number of
stored events equals the number of events the 2xx responses reported.

Schemathesis' own strings and numbers rarely hold what breaks a store, so half the cases
are poisoned on top: one body value, query parameter or the whole body is replaced with
text holding a control character, lone surrogate or non-character, an extreme number,
an integer of 5,000 digits, a date at the edge of the calendar, or JSON nested 5,000
deep. A poisoned request must be refused (4xx) and append nothing. Dates and date-times
that schemathesis generates itself include the calendar's edges too.
"""
from __future__ import annotations

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import unregister_string_format

from api import create_app
from auditing.bootstrap import init_database
from audit_service.config import Settings
from tests.api_support import ApiHarness, build_city
from tests.conftest import build_app

pytestmark = pytest.mark.slow
PREFERRED = ("board", "admin", "inspector", "auditor")

# Characters no text field may hold; tab, newline and CR are left out (multi-line fields
# take them).
BAD_CHARS = st.one_of(
    st.characters(categories=("Cc",), exclude_characters="\t\n\r"),   # C0, DEL, C1
    st.sampled_from(["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]))
SURROGATES = st.characters(categories=("Cs",))
AROUND = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs")), max_size=4)


def poison_text(chars):
    return st.tuples(AROUND, chars, AROUND).map("".join)


EXTREME_INTS = st.one_of(st.integers(min_value=2**63, max_value=10**30),
                         st.integers(min_value=-(10**30), max_value=-1))
EXTREME_NUMBERS = st.one_of(EXTREME_INTS, st.sampled_from([1e308, -1e308, 1e-300]))
EDGE_DATES = ["0001-01-01", "1945-09-01", "2200-01-01", "9999-12-31"]
EDGE_INSTANTS = ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00",
                 "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:00",
                 "2200-01-01T00:00:00Z"]
# schemathesis' own dates and date-times: mostly ordinary, sometimes at the edges
DATES = st.one_of(st.dates().map(str), st.sampled_from(EDGE_DATES))
INSTANTS = st.one_of(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                     st.sampled_from(EDGE_INSTANTS))
BIG_INT = "9" * 5000
DEEP = 5000


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _leaves(v, (*path, n))
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield path, value


def _set(value, path, new):
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def poison(case, operation, data) -> str | None:
    """Replace one value of the case with something no field may take; returns what was
    done (None: the case is left as generated)."""
    body = case.body if isinstance(case.body, (dict, list)) else None
    params = [p.definition for p in operation.query]
    kinds = ["none"] * 3 + (["query"] if params else []) + (["deep"] if body is not None else [])
    leaves = list(_leaves(body)) if body is not None else []
    if leaves:
        kinds += ["body", "body", "big_int"]
    kind = data.draw(st.sampled_from(kinds), label="poison")
    if kind == "none":
        return None
    if kind == "query":
        param = data.draw(st.sampled_from(params), label="parameter")
        schema = param.get("schema", {})
        value = data.draw(
            st.one_of(EXTREME_INTS.map(str), st.just("1e26")) if schema.get("type") == "integer"
            else st.sampled_from(EDGE_INSTANTS) if schema.get("format") == "date-time"
            else st.sampled_from(EDGE_DATES) if schema.get("format") == "date"
            else poison_text(BAD_CHARS), label="value")
        case.query = {**(case.query or {}), param["name"]: value}
        return f"query {param['name']}={value!r}"
    path, old = data.draw(st.sampled_from(leaves), label="leaf") if leaves else ((), None)
    if kind == "body":
        new = data.draw(poison_text(st.one_of(BAD_CHARS, SURROGATES)) if isinstance(old, str)
                        else EXTREME_NUMBERS, label="value")
        _set(body, path, new)
        text = json.dumps(body)  # ASCII: a lone surrogate travels as \ud800
        what = f"body {path}={new!r}"
    elif kind == "big_int":
        _set(body, path, "<BIG>")
        text = json.dumps(body).replace('"<BIG>"', BIG_INT)
        what = f"body {path}=<5000 digits>"
    else:
        text = "[" * DEEP + json.dumps(body) + "]" * DEEP
        what = "body nested 5000 deep"
    case.body = text.encode()
    return what


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
             "statuses": [], "poisoned": []}
    yield state
    h.close()


@pytest.fixture(scope="module")
def web_schema(fuzz_state):
    schemathesis.openapi.format("date", DATES)
    schemathesis.openapi.format("date-time", INSTANTS)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_state["h"].flask_app)
    finally:
        unregister_string_format("date")
        unregister_string_format("date-time")


def test_no_server_errors_and_every_event_reported(fuzz_state, web_schema):
    h = fuzz_state["h"]
    operations = [result.ok() for result in web_schema.get_all_operations()]
    assert len(operations) >= 45

    for operation in operations:
        role = fuzz_state["roles"].get((operation.method.upper(), operation.path))
        headers = {"Authorization": f"Bearer {h.tokens[role]}"} if role else {}

        @given(case=operation.as_strategy(), data=st.data())
        @settings(max_examples=16, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case, data):
            poisoned = poison(case, operation, data)
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            fuzz_state["statuses"].append(response.status_code)
            if poisoned:
                assert 400 <= response.status_code < 500, (operation.label, poisoned,
                                                           response.status_code)
                fuzz_state["poisoned"].append((poisoned, response.status_code,
                                               (response.json() or {}).get("code")))
            if 200 <= response.status_code < 300 and case.method.upper() == "POST":
                fuzz_state["reported"].update(response.json()["positions"])
                h.project()  # keep reads current: a lagging read is a legitimate 503
            assert h.event_count() - fuzz_state["baseline"] == len(fuzz_state["reported"]), \
                operation.label

        exercise()
    statuses = fuzz_state["statuses"]
    assert len(statuses) > 300 and not [s for s in statuses if s >= 500]
    assert any(200 <= s < 300 for s in statuses) and any(s == 422 for s in statuses)
    poisoned = fuzz_state["poisoned"]
    codes = {code for _, _, code in poisoned}
    assert len(poisoned) > 100 and {"validation_failed", "json_too_deep"} <= codes
    assert sum(status == 422 for _, status, _ in poisoned) > 0.8 * len(poisoned)
