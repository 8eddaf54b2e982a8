"""The officer page for an officer with 300 timeline entries renders in under 100 ms of
server time (median; docs/benchmarks.md has the published figure)."""
from __future__ import annotations

import pytest

from scripts.bench_officer_page import measure

pytestmark = pytest.mark.slow


def test_officer_page_with_300_entries_renders_under_100_ms():
    result = measure(entries=300, runs=15)
    assert result["timeline_entries"] == 300
    assert result["median_ms"] < 100, result
