"""Limitation periods by date (thời hiệu): the pure rule on the reference periods.

Sources (limitation_periods.toml): 24 months flat before 2020-07-01 (review claim); 2 / 5
years from 2020-07-01 (Law 52/2019); 5 / 10 years from 2022-11-15 (National Assembly
resolution of 2022, 76/2022/QH15 per the review). Transitional reading chosen: a period that
ran out while its regime was in force stays run out; one still running is extended."""
from __future__ import annotations

from datetime import date

import pytest

from audit_service.limitation import clock_start, expired_under_regimes
from audit_service.reference import load_reference

REF = load_reference()
EXEMPT = set(REF.limitation_exemptions)


def v(occurred: str, detected: str | None = None, **extra) -> dict:
    out = {"occurred_on": date.fromisoformat(occurred),
           "detected_on": date.fromisoformat(detected or occurred), "exemption": None}
    out.update({k: (date.fromisoformat(x) if isinstance(x, str) and k.endswith("_on") else x)
                for k, x in extra.items()})
    return out


def barred(violations, form, decided, category="cong_chuc"):
    return expired_under_regimes(violations, REF.limitation_periods_for(category), form,
                                 date.fromisoformat(decided), EXEMPT, True)


def test_periods_by_date():
    def years(day, form):
        return REF.limitation_for("cong_chuc", date.fromisoformat(day)).years_for(form)
    assert (years("2019-06-01", "khien_trach"), years("2019-06-01", "canh_cao")) == (2, 2)
    assert (years("2021-06-01", "khien_trach"), years("2021-06-01", "canh_cao")) == (2, 5)
    assert (years("2022-11-14", "khien_trach"), years("2022-11-15", "khien_trach")) == (2, 5)
    assert (years("2023-01-01", "canh_cao"), years("2023-11-14", "canh_cao")) == (10, 10)
    assert REF.limitation_for("cong_chuc", date(2019, 6, 1)).exemptions_apply is False
    assert REF.limitation_for("cong_chuc", date(2021, 6, 1)).exemptions_apply is True


def test_before_2020_twenty_four_months_flat_for_every_form():
    (e,) = barred([v("2016-01-10", "2018-03-01")], "canh_cao", "2018-03-01")
    assert e.expired_on == date(2018, 1, 10) and e.rule == "cc-pre-2020"
    assert barred([v("2016-03-10", "2018-03-01")], "canh_cao", "2018-03-01") == []


def test_before_2020_no_exemptions():
    (e,) = barred([v("2015-01-10", "2018-03-01", exemption="fake_diploma")], "buoc_thoi_viec",
                  "2018-03-01")
    assert e.rule == "cc-pre-2020"
    assert barred([v("2019-01-10", "2021-03-01", exemption="fake_diploma")],
                  "buoc_thoi_viec", "2030-03-01") == []


def test_law52_two_and_five_years():
    assert [e.rule for e in barred([v("2020-08-01")], "khien_trach", "2022-08-02")] == \
        ["cc-law52-2019"]
    assert barred([v("2020-08-01")], "canh_cao", "2022-08-02") == []


def test_resolution_76_extends_a_period_still_running_on_2022_11_15():
    # 2021-03-01 reprimand-level: 2 years would end 2023-03-01, after 2022-11-15 -> 5 years
    assert barred([v("2021-03-01")], "khien_trach", "2024-06-01") == []
    (e,) = barred([v("2021-03-01")], "khien_trach", "2026-03-02")
    assert e.years == 5 and e.expired_on == date(2026, 3, 1)


def test_a_period_run_out_before_2022_11_15_is_not_revived():
    (e,) = barred([v("2020-08-01")], "khien_trach", "2023-06-01")
    assert e.rule == "cc-law52-2019" and e.expired_on == date(2022, 8, 1)


def test_clock_runs_from_the_end_or_from_discovery_while_ongoing():
    plain = v("2015-01-10", "2022-12-01")
    ended = v("2015-01-10", "2022-12-01", ended_on="2021-06-01")
    ongoing = v("2015-01-10", "2022-12-01", ongoing=True)
    assert clock_start(plain) == date(2015, 1, 10)
    assert clock_start(ended) == date(2021, 6, 1)
    assert clock_start(ongoing) == date(2022, 12, 1)
    assert barred([plain], "canh_cao", "2023-01-05")  # ran out in 2017
    assert barred([ended], "canh_cao", "2023-01-05") == []
    assert barred([ongoing], "canh_cao", "2023-01-05") == []


@pytest.mark.parametrize("category", ["cong_chuc", "can_bo", "vien_chuc"])
def test_every_category_has_the_same_dated_steps(category):
    steps = [(p.valid_from.isoformat(), p.minor_years, p.other_years)
             for p in REF.limitation_periods_for(category)]
    assert ("2020-07-01", 2, 5) in steps and ("2022-11-15", 5, 10) in steps
    assert steps[0][1:] == (2, 2)
