"""The README's eligibility section is generated from the reference data and must match."""
from __future__ import annotations

from audit_service.reference import load_reference
from scripts.rules_doc import README, current_section, render


def test_readme_rules_section_matches_the_reference_data():
    ref = load_reference()
    section = current_section(README.read_text(encoding="utf-8"))
    assert section == render(ref), "run: python -m scripts.rules_doc --write"
    for rule_id in ref.rules:
        assert f"`{rule_id}`" in section
    for e in ref.effect_periods:
        assert f"`{e.id}`" in section and e.source.split(",")[0] in section
    assert "appointment_scope_open — open:" in section
