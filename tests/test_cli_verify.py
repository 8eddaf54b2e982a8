"""`audit-service verify --max-seconds`: a check that ran out of time never says OK."""
from __future__ import annotations

import json

from click.testing import CliRunner

from scripts.cli import main
from tests.conftest import ADMIN, build_app


def test_verify_that_runs_out_of_time_exits_3_and_says_incomplete(store_env):
    app = build_app(store_env)
    try:
        app.register_unit(ADMIN, code="01", name="Hà Nội", level="city")
        events = app.recorder.max_notification_id()
    finally:
        app.close()
    runner = CliRunner()
    out = runner.invoke(main, ["verify", "--max-seconds", "0.000001"], env=store_env)
    assert out.exit_code == 3, out.output
    assert f"incomplete: checked 0 of {events} events" in out.output
    assert "OK" not in out.output
    as_json = runner.invoke(main, ["verify", "--max-seconds", "0.000001", "--json"],
                            env=store_env)
    assert as_json.exit_code == 3
    report = json.loads(as_json.stdout)
    assert report["status"] == "incomplete" and report["ok"] is False
    done = runner.invoke(main, ["verify"], env=store_env)
    assert done.exit_code == 0 and done.output.startswith("OK:"), done.output
