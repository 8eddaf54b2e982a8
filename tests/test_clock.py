"""One clock: ``AUDIT_TODAY`` fixes the service's 'today' for the service, the API and the CLI."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from api import create_app
from audit_service.config import Settings
from audit_service.errors import ConfigurationError
from scripts.cli import main
from tests.api_support import ApiHarness, build_city, ref

DAY = "2026-02-20"


@pytest.fixture
def h(store_env):
    """The API as ``serve`` builds it: the service from the settings, AUDIT_TODAY included."""
    settings = Settings.from_env({**store_env, "AUDIT_TODAY": DAY})
    flask_app = create_app(settings)
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


def test_the_api_answers_for_audit_today(h):
    assert h.service.today() == date(2026, 2, 20)
    w = build_city(h)
    # dates are checked against AUDIT_TODAY, not the real day
    late = h.post("board", f"/officers/{w['leader']}/reappointment-decisions", {
        "outcome": "reappointed", "decided_on": "2026-02-21",
        "decision_ref": ref("50", "2026-02-21"), "eligibility_hash": "0" * 64})
    assert late.status_code == 422, late.get_json()
    h.project()
    # the default `on` of eligibility, standing and rotation-check is AUDIT_TODAY
    elig = h.get("board", f"/officers/{w['leader']}/eligibility").get_json()
    assert elig["evaluated_on"] == DAY
    assert elig == h.get("board", f"/officers/{w['leader']}/eligibility", on=DAY).get_json()
    standing = h.get("board", f"/officers/{w['leader']}/standing").get_json()
    assert standing["on"] == DAY
    check = h.get("board", f"/officers/{w['officer']}/rotation-check",
                  to_unit_id=w["ward2"]).get_json()
    assert check["on"] == DAY


@pytest.mark.parametrize("value", ["2027-02-29", "2026-13-01", "2026-1-5", "tomorrow",
                                   "20260220", "2026-02-20T00:00"])
def test_a_bad_audit_today_is_refused_in_one_line(value):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"AUDIT_TODAY": value})
    assert "AUDIT_TODAY" in caught.value.message and "\n" not in caught.value.message
    assert caught.value.code == "bad_today"


def test_the_cli_refuses_a_bad_audit_today_before_touching_the_store(tmp_path):
    url = f"sqlite:///{tmp_path}/never.sqlite3"
    done = CliRunner().invoke(main, ["demo-data", "--officers", "5"],
                              env={"AUDIT_DATABASE_URL": url, "AUDIT_TODAY": "2026-02-30"})
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        "audit-service: AUDIT_TODAY '2026-02-30' is not a calendar date YYYY-MM-DD"
        " (e.g. 2028-02-29)"]
    assert not (tmp_path / "never.sqlite3").exists()


def test_an_unset_or_blank_audit_today_means_the_real_day():
    from audit_service.clock import today_in_vietnam

    assert Settings.from_env({}).clock.today() == today_in_vietnam()
    assert Settings.from_env({"AUDIT_TODAY": " "}).clock.fixed_day is None
    fixed = Settings.from_env({"AUDIT_TODAY": "2028-02-29"}).clock
    assert fixed.today() == date(2028, 2, 29) and fixed.now().date() == date(2028, 2, 29)
    assert fixed.now().utcoffset().total_seconds() == 7 * 3600
