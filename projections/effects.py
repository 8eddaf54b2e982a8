"""How long a discipline decision's effects run: the one rule the officer's standing, the
board's worklists and the ``casework`` read model share.

A decision's regime (its forms and effect periods) is picked by its signing date, else its
effective date (rules.toml, discipline-effect, ``regime_date``); its effects are those the
reference data catalogues for its form, regime date and discipline system, each running
whole months from the effective date.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from .timeline import add_months


def regime_date(signed_on: date | None, effective_from: date | None) -> date | None:
    """The one date that picks a decision's regime: its signing date, else its effective date."""
    return signed_on or effective_from


def effect_periods(reference: Any, form: str | None, effective_from: date,
                   signed_on: date | None = None, discipline_system: str | None = "state",
                   start: date | None = None) -> list[tuple[Any, date, date]]:
    """(effect, first day, first day free of it) of every effect of a decision; ``start``:
    the day its periods run from when that is not its effective date (a Party decision for
    the same act under Decree 71/2023: ``eligibility.effect_start``)."""
    if not form:
        return []
    effects = reference.effects_for(form, regime_date(signed_on, effective_from),
                                    discipline_system)
    first = start or effective_from
    return [(e, first, add_months(first, e.months)) for e in effects]


def effect_until(reference: Any, form: str | None, effective_from: date,
                 signed_on: date | None = None, discipline_system: str | None = "state"
                 ) -> date | None:
    """The first day free of every effect of a decision (None: it has none)."""
    ends = [end for _, _, end in effect_periods(reference, form, effective_from, signed_on,
                                                 discipline_system)]
    return max(ends) if ends else None
