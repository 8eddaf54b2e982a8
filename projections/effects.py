"""How long a discipline decision's effects run: the one rule the officer's standing, the
eligibility verdict, the board's worklists and the ``casework`` read model share.

A decision's regime (its forms and effect periods) is picked by its signing date, else its
effective date (rules.toml, discipline-effect, ``regime_date``); its effects are those the
reference data catalogues for its form, regime date and discipline system, each running
whole months from its start: its effective date, or, for a state decision with a Party
decision in force for the same act (the same proceeding), what the start rule in force on
its regime date says (``START_RULES``: Decree 71/2023, the Party decision's effective date;
Decree 172/2025, open).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from .timeline import add_months

#: The rules (rules.toml) that say, by the state decision's signing date, from which date its
#: effect runs when a Party decision exists for the same act (the same proceeding).
START_RULES = ("party-decision-start", "party-decision-start-nd172")


def regime_date(signed_on: date | None, effective_from: date | None) -> date | None:
    """The one date that picks a decision's regime: its signing date, else its effective date."""
    return signed_on or effective_from


def start_rules(reference: Any) -> list[Any]:
    """The start rules the reference data has, in ``START_RULES`` order."""
    return [reference.rules[r] for r in START_RULES if r in reference.rules]


def effect_starts(reference: Any, effective_from: date, regime_on: date | None,
                  party_effective: date | None) -> tuple[date, date | None, Any | None]:
    """``(start, alternative, rule)``: the day a state decision's effect periods run from,
    given the effective date of the in-force Party decision for the same act
    (``party_effective``, None: there is none), another start where the regime leaves it
    open (both are then computed), and the start rule applied (None: the decision's own
    date, for want of a Party decision or because it was signed before any start rule).

    Decree 71/2023 (``start_from = "party_effective"``): from the Party decision's date.
    Any other ``start_from`` (Decree 172/2025's "open"): its own date, the Party decision's
    as the alternative."""
    if party_effective is None or regime_on is None:
        return effective_from, None, None
    for rule in start_rules(reference):
        if not rule.valid_on(regime_on):
            continue
        if rule.params.get("start_from") == "party_effective":
            return party_effective, None, rule
        return effective_from, party_effective, rule
    return effective_from, None, None


def effect_periods(reference: Any, form: str | None, effective_from: date,
                   signed_on: date | None = None, discipline_system: str | None = "state",
                   start: date | None = None) -> list[tuple[Any, date, date]]:
    """(effect, first day, first day free of it) of every effect of a decision; ``start``:
    the day its periods run from when that is not its effective date (``effect_starts``)."""
    if not form:
        return []
    effects = reference.effects_for(form, regime_date(signed_on, effective_from),
                                    discipline_system)
    first = start or effective_from
    return [(e, first, add_months(first, e.months)) for e in effects]


def effect_span(reference: Any, form: str | None, effective_from: date,
                signed_on: date | None = None, discipline_system: str | None = "state",
                party_effective: date | None = None) -> tuple[date, date | None]:
    """``(start, until)``: the day a decision's effect periods run from and the first day
    free of every one of them (None: it has none), for a worklist.

    ``party_effective``: the effective date of the in-force Party decision for the same act,
    if any (read for state decisions only). Where the regime leaves the start open (Decree
    172/2025) both starts are computed and the span covers both, the earlier start to the
    later end, so that a list of decisions in force never drops one while its effect may
    still run (the verdict answers needs_review on the days where the two differ)."""
    party = party_effective if discipline_system == "state" else None
    start, alternative, _ = effect_starts(reference, effective_from,
                                          regime_date(signed_on, effective_from), party)
    ends = [end for first in (start, alternative) if first is not None
            for _, _, end in effect_periods(reference, form, effective_from, signed_on,
                                            discipline_system, start=first)]
    return min(start, alternative or start), max(ends) if ends else None

