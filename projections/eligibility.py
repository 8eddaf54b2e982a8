"""Reappointment eligibility (điều kiện bổ nhiệm lại) as a pure function.

``evaluate(reference, rows, on, as_of=None, leadership=True)`` folds the officer's timeline
rows as recorded at ``as_of`` (all rows if None) and applies the reappointment rules of the
reference data on the world date ``on``. No I/O and no clock: the same rows, date, ``as_of``
and reference data always give the same result, byte for byte, and the same ``hash``.

Rule ids, citations, parameters and periods come from the reference data (``rules.toml``,
``effect_periods.toml``, ``ratings.toml``); a rule not in force on ``on`` is listed in
``rules_not_in_force`` and not applied. Each reason names the log positions it rests on.

Hash: sha256 (hex) of ``json.dumps(result_without_hash, sort_keys=True,
separators=(",", ":"), ensure_ascii=False).encode("utf-8")``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from audit_service.errors import NotFound
from audit_service.workdays import default_calendar

from .effects import effect_starts, start_rules
from .summaries import decision_ref_text, deferral_titles, form_titles, rating_titles
from .timeline import (DecisionState, OfficerState, ProceedingState, add_months, fold,
                       parse_date, parse_instant)

__all__ = ["evaluate", "RULES_CHECKED", "canonical_json", "result_hash", "working_days",
           "notice_deadline"]

NOT_ELIGIBLE = "not_eligible"
NEEDS_REVIEW = "needs_review"
INFO = "info"
OK = "ok"
ELIGIBLE = "eligible"

#: The rules evaluate() applies, in the order their reasons are listed.
RULES_CHECKED = ("term-failed-rating", "consecutive-failed-ratings", "open-proceeding",
                 "party-decision-awaits-state", "discipline-effect", "ended-employment", "corruption-bar",
                 "repeated-discipline-in-term", "rating-inconsistent", "single-failed-rating",
                 "notice-window")

# What a hit means, from a rule's params.outcome (rules.toml) to a reason outcome.
_OUTCOMES = {
    "not_eligible": NOT_ELIGIBLE,
    "not_eligible_leadership": NOT_ELIGIBLE,  # only when the post is a leadership post
    "needs_review": NEEDS_REVIEW,
    "inconsistent": NEEDS_REVIEW,
    "not_allowed": NOT_ELIGIBLE,
    "informational": INFO,
}

_SCOPES = {
    "state": ("kỷ luật hành chính nhà nước", "state (administrative) discipline"),
    "party": ("kỷ luật Đảng", "Party discipline"),
}
_BARS = {
    "promotion_and_higher_appointment": (
        "không nâng ngạch, quy hoạch, đào tạo, bổ nhiệm vào chức vụ cao hơn",
        "no promotion, planning, training or appointment to a higher post"),
    "any_appointment": ("không bổ nhiệm vào bất kỳ chức vụ nào", "no appointment at all"),
    "higher_post": ("không bổ nhiệm, giới thiệu ứng cử vào chức vụ cao hơn",
                    "no appointment or nomination to a higher post"),
    "appointment_scope_open": ("không bổ nhiệm; văn bản không nói rõ có gồm bổ nhiệm lại"
                               " vào chức vụ đang giữ hay không",
                               "no appointment; the text does not say whether reappointment"
                               " to the same post is included"),
}
_POSTS = {"same": ("bổ nhiệm lại vào chức vụ đang giữ", "reappointment to the same post"),
          "higher": ("bổ nhiệm vào chức vụ cao hơn", "appointment to a higher post")}


# --------------------------------------------------------------------------- canonical form

def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def result_hash(result: Mapping[str, Any]) -> str:
    """The hash of an evaluation result: everything but its ``hash`` key."""
    return hashlib.sha256(canonical_json({k: v for k, v in result.items() if k != "hash"})
                          ).hexdigest()


# --------------------------------------------------------------------------- working days

def working_days(after: date, through: date) -> int:
    """Working days in (after, through]: Mon–Fri less Vietnamese public holidays (Tết
    included), plus announced make-up days (audit_service.workdays)."""
    return default_calendar().working_days(after, through)


def notice_deadline(term_end: date, notice_days: int) -> date:
    """The last working day that still leaves ``notice_days`` working days before term end."""
    return default_calendar().notice_deadline(term_end, notice_days)


# --------------------------------------------------------------------------- evaluation

class _Ctx:
    def __init__(self, reference: Any, state: OfficerState, on: date, leadership: bool,
                 post: str):
        self.ref = reference
        self.state = state
        self.on = on
        self.leadership = leadership
        self.post = post
        self.term = state.term_on(on)  # the term in force on the evaluation date

    def decisions(self) -> list[DecisionState]:
        # every decision in the state has at least one row (timeline.fold)
        return sorted(self.state.decisions.values(),
                      key=lambda d: (d.issued_position, d.decision_id))

    def in_force(self) -> list[DecisionState]:
        """In-force decisions that had taken effect by the evaluation date."""
        return [d for d in self.decisions() if d.in_force and d.effective_from is not None
                and d.effective_from <= self.on]

    def form(self, d: DecisionState, form: str | None = None) -> tuple[str, str]:
        return form_titles(self.ref, form or d.form, d.category, d.signed_on or d.effective_from)

    def decision_label(self, d: DecisionState) -> tuple[str, str]:
        f_vi, f_en = self.form(d)
        ref = decision_ref_text(d.decision_ref) or d.decision_id
        return (f"Quyết định kỷ luật {f_vi} số {ref}", f"discipline decision ({f_en}) {ref}")

    @staticmethod
    def regime_date(d: DecisionState) -> date | None:
        """The one date that picks a decision's regime (forms and effect periods alike):
        its signing date (rules.toml, discipline-effect, regime_date)."""
        return d.signed_on or d.effective_from

    def term_years(self) -> list[int]:
        """Evaluation years within the current term up to ``on``: the term's first year
        counts only if most of it lies within the term (otherwise it was spent mostly in
        the previous post)."""
        term = self.term
        if term is None:
            return []
        start = term.term_start
        year_days = (date(start.year + 1, 1, 1) - date(start.year, 1, 1)).days
        in_term = (date(start.year + 1, 1, 1) - start).days
        first = start.year if in_term * 2 > year_days else start.year + 1
        return list(range(first, self.on.year + 1))

    def decision_positions(self, d: DecisionState) -> list[int]:
        """The decision's rows and the Decided row of its proceeding that records it (of
        either system; rows after it, such as a later dismissal, are not the decision's)."""
        p = self.state.proceedings.get(d.proceeding_id) if d.proceeding_id else None
        decided = p.decided_positions.get(d.decision_id) if p is not None else None
        return [*d.positions, *([decided] if decided is not None else [])]


def _reason(rule: Any, outcome: str, vi: str, en: str, positions: Iterable[int] = ()) -> dict:
    return {"rule_id": rule.id, "outcome": outcome, "citation": rule.citation,
            "message_vi": vi, "message_en": en,
            "positions": sorted({int(p) for p in positions if p is not None})}


def _hit(rule: Any, default: str = NOT_ELIGIBLE) -> str:
    return _OUTCOMES.get(str(rule.params.get("outcome", "")), default)


# -- term-failed-rating ---------------------------------------------------------------------

def _is_failed(ctx: _Ctx, code: str | None, year: int, failed_level: str) -> bool:
    if code is None:
        return False
    if code == failed_level:
        return True
    level = ctx.ref.annual_level(code, year)
    return bool(level is not None and level.failed)


def _term_failed_rating(ctx: _Ctx, rule: Any) -> list[dict]:
    term = ctx.term
    if term is None:
        return [_reason(rule, INFO,
                        "Không có nhiệm kỳ lãnh đạo nào trong hồ sơ nên không xét xếp loại trong"
                        " nhiệm kỳ.",
                        "No leadership term on record, so no ratings within a term were checked.")]
    failed_level = str(rule.params.get("failed_level", "KHTNV"))
    start, on = term.term_start, ctx.on
    years = ctx.term_years()
    checked = [ctx.state.ratings[y] for y in years if y in ctx.state.ratings]
    out = []
    for r in checked:
        if not _is_failed(ctx, r.rating, r.year, failed_level):
            continue
        t_vi, t_en = rating_titles(ctx.ref, r.rating, r.year)
        corr_vi = " (sau đính chính)" if r.status == "corrected" else ""
        corr_en = " (as corrected)" if r.status == "corrected" else ""
        out.append(_reason(
            rule, _hit(rule),
            f"Năm {r.year} nằm trong nhiệm kỳ bắt đầu {start.isoformat()} và được xếp loại"
            f" {t_vi}{corr_vi}: không đủ điều kiện bổ nhiệm lại.",
            f"The year {r.year} lies within the term that began {start.isoformat()} and was"
            f" rated {t_en}{corr_en}: not eligible for reappointment.",
            r.positions))
    if out:
        return out
    seen_vi = ", ".join(f"{r.year}: {r.rating}" for r in checked) or "chưa có"
    seen_en = ", ".join(f"{r.year}: {r.rating}" for r in checked) or "none recorded"
    return [_reason(
        rule, OK,
        f"Không có năm nào xếp loại {failed_level} trong nhiệm kỳ từ {start.isoformat()} đến"
        f" {on.isoformat()} (các năm đã xếp loại: {seen_vi}).",
        f"No year rated {failed_level} within the term from {start.isoformat()} to"
        f" {on.isoformat()} (ratings on record: {seen_en}).",
        [p for r in checked for p in r.positions])]


# -- open-proceeding ------------------------------------------------------------------------

def _open_on(p: ProceedingState, on: date) -> bool:
    if p.opened_on is not None and p.opened_on > on:
        return False  # not yet opened on the evaluation date
    if p.status == "decided" and (p.decided_on is None or p.decided_on <= on):
        return False
    if p.status == "dismissed" and (p.dismissed_on is None or p.dismissed_on <= on):
        return False
    return True


def _open_proceeding(ctx: _Ctx, rule: Any) -> list[dict]:
    on = ctx.on
    out = []
    procs = sorted(ctx.state.proceedings.values(),  # each has at least one row (timeline.fold)
                   key=lambda p: (p.positions[0], p.proceeding_id))
    for p in procs:
        if not _open_on(p, on):
            continue
        opened = p.opened_on.isoformat() if p.opened_on else "?"
        deferral = None
        for d in p.deferrals:
            if d["deferred_on"] is None or d["deferred_on"] <= on:
                deferral = d
        positions = [p.opened_position]  # open, so its Opened row was folded
        if deferral is None:
            vi = (f"Đang bị xem xét kỷ luật: việc xem xét mở ngày {opened}, chưa có quyết định;"
                  " chưa xem xét bổ nhiệm lại.")
            en = (f"A discipline proceeding opened on {opened} is still undecided;"
                  " reappointment must wait for review.")
        else:
            positions.append(deferral["position"])
            until = deferral["until"]
            until_s = until.isoformat() if until else "?"
            r_vi, r_en = deferral_titles(ctx.ref, deferral["reason"])
            if deferral["reason"] == "prosecution" and (until is None or until >= on):
                vi = (f"Đang bị khởi tố, tạm giữ, tạm giam: việc xem xét kỷ luật mở ngày {opened}"
                      f" tạm hoãn đến {until_s}; chưa xem xét bổ nhiệm lại.")
                en = (f"Under prosecution or detention: the discipline proceeding opened on"
                      f" {opened} is deferred until {until_s}; reappointment must wait for"
                      " review.")
            elif until is not None and until < on:
                vi = (f"Việc xem xét kỷ luật mở ngày {opened} đã hết thời gian tạm hoãn ({r_vi})"
                      f" ngày {until_s} nhưng chưa có quyết định: vẫn đang xem xét.")
                en = (f"The discipline proceeding opened on {opened} was deferred ({r_en}) until"
                      f" {until_s}; the deferral has ended and it is still undecided.")
            else:
                vi = (f"Việc xem xét kỷ luật mở ngày {opened} tạm hoãn ({r_vi}) đến {until_s},"
                      " nhưng vẫn là việc chưa giải quyết xong: cần xem xét trước khi bổ nhiệm"
                      " lại.")
                en = (f"The discipline proceeding opened on {opened} is deferred ({r_en}) until"
                      f" {until_s}, but it is still open business and must be reviewed before"
                      " reappointment.")
        out.append(_reason(rule, _hit(rule, NEEDS_REVIEW), vi, en, positions))
    if out:
        return out
    return [_reason(rule, OK,
                    f"Không có việc xem xét kỷ luật nào đang mở vào ngày {on.isoformat()}.",
                    f"No discipline proceeding open on {on.isoformat()}.",
                    [p for pr in procs for p in pr.positions])]


# -- party-decision-awaits-state ------------------------------------------------------------

def _party_awaits_state(ctx: _Ctx, rule: Any) -> list[dict]:
    """A proceeding whose Party decision was signed by ``on`` (under the rule's regime) while
    no state decision on it was: the administrative process the Party decision calls for is
    still open business (Decree 112/2020 Art. 2(6) as amended by Decree 71/2023)."""
    on = ctx.on
    out = []
    days = int(rule.params.get("within_days", 30))
    by_proceeding: dict[str, list[DecisionState]] = {}
    for d in ctx.decisions():
        if d.proceeding_id:
            by_proceeding.setdefault(d.proceeding_id, []).append(d)
    for pid, decisions in by_proceeding.items():
        signed = [(ctx.regime_date(d), d) for d in decisions]
        party = [(day, d) for day, d in signed if d.discipline_system == "party"
                 and d.in_force and day is not None and day <= on and rule.valid_on(day)]
        state = [d for day, d in signed if d.discipline_system != "party"
                 and day is not None and day <= on]
        p = ctx.state.proceedings.get(pid)
        dismissed = (p is not None and p.status == "dismissed"
                     and (p.dismissed_on is None or p.dismissed_on <= on))
        if not party or state or dismissed:
            continue
        day, d = party[0]  # one Party decision per proceeding (the service refuses a second)
        label_vi, label_en = ctx.decision_label(d)
        due = day + timedelta(days=days)
        late_vi = (f" Đã quá {days} ngày kể từ ngày {day.isoformat()}." if due < on else "")
        late_en = (f" More than {days} days have passed since {day.isoformat()}."
                   if due < on else "")
        out.append(_reason(
            rule, _hit(rule, NEEDS_REVIEW),
            f"{label_vi} (kỷ luật đảng, ký ngày {day.isoformat()}) chưa có quyết định xử lý kỷ"
            f" luật hành chính tương ứng về cùng hành vi: trong {days} ngày kể từ ngày công bố"
            f" quyết định kỷ luật về đảng phải thực hiện quy trình xử lý kỷ luật hành chính (nếu"
            f" có); cần xem xét.{late_vi}",
            f"The {label_en} (Party discipline, signed {day.isoformat()}) has no administrative"
            f" decision for the same act on record: the administrative discipline process (if"
            f" any) must follow within {days} days of the Party decision's announcement; needs"
            f" review.{late_en}",
            [*ctx.decision_positions(d), p.opened_position if p else None]))
    if out:
        return out
    return [_reason(rule, OK,
                    f"Không có quyết định kỷ luật về đảng nào đang chờ xử lý kỷ luật hành chính"
                    f" vào ngày {on.isoformat()}.",
                    f"No Party discipline decision awaiting its administrative process on"
                    f" {on.isoformat()}.")]


# -- where an administrative decision's effect period starts -------------------------------

def _party_twin(ctx: _Ctx, d: DecisionState) -> DecisionState | None:
    """The in-force Party decision on the state decision ``d``'s proceeding (the same act)."""
    if d.discipline_system != "state" or not d.proceeding_id:
        return None
    return next((x for x in ctx.decisions() if x.decision_id != d.decision_id
                 and x.proceeding_id == d.proceeding_id and x.discipline_system == "party"
                 and x.in_force and x.effective_from is not None), None)


def _effect_start(ctx: _Ctx, d: DecisionState
                  ) -> tuple[date, date | None, str, str, list[int]]:
    """``(start, alternative, why_vi, why_en, positions)``: the date ``d``'s effect periods run
    from, another start where the regime leaves it open (both are then computed), why (empty
    when no Party decision exists for the act), and the Party decision's rows."""
    eff = d.effective_from
    twin = _party_twin(ctx, d)
    if twin is None:
        return eff, None, "", "", []
    signed = ctx.regime_date(d)
    start, alt, rule = effect_starts(ctx.ref, eff, signed, twin.effective_from)
    t_vi, t_en = ctx.decision_label(twin)
    t_vi = t_vi[:1].lower() + t_vi[1:]
    p_eff = twin.effective_from.isoformat()
    rows = twin.positions[:1]
    if rule is not None and alt is None:
        return start, None, (
            f" Thời hạn tính từ ngày {p_eff}, ngày {t_vi} (kỷ luật đảng về cùng hành vi) có"
            f" hiệu lực, không từ ngày {eff.isoformat()}: quyết định ký ngày"
            f" {signed.isoformat()}, theo {rule.citation}."), (
            f" The period runs from {p_eff}, the day the {t_en} (Party discipline for the"
            f" same act) took effect, not from {eff.isoformat()}: the decision was signed"
            f" on {signed.isoformat()}, under {rule.citation}."), rows
    if rule is not None:
        return start, alt, (
            f" Có {t_vi} (kỷ luật đảng về cùng hành vi, hiệu lực {p_eff}); quyết định ký ngày"
            f" {signed.isoformat()} theo {rule.citation}. Câu hỏi còn mở:"
            f" {rule.params.get('open_question', '')}"), (
            f" A {t_en} (Party discipline for the same act, effective {p_eff}) exists; the"
            f" decision was signed on {signed.isoformat()}, under {rule.citation}. Open question:"
            f" {rule.params.get('open_question', '')}"), rows
    rules = start_rules(ctx.ref)
    first = min(rules, key=lambda r: r.valid_from, default=None)
    since = f" {first.valid_from.isoformat()} ({first.citation})" if first else ""
    return eff, None, (
        f" Có {t_vi} (kỷ luật đảng về cùng hành vi, hiệu lực {p_eff}), nhưng quyết định ký ngày"
        f" {signed.isoformat() if signed else '?'}, trước{since}, nên thời hạn tính từ ngày"
        f" quyết định này có hiệu lực."), (
        f" A {t_en} (Party discipline for the same act, effective {p_eff}) exists, but this"
        f" decision was signed on {signed.isoformat() if signed else '?'}, before{since}, so"
        f" the period runs from its own effective date."), rows


def effect_start(reference: Any, state: OfficerState, d: DecisionState, on: date) -> date:
    """The date decision ``d``'s effect periods run from, by the same rule the verdict uses
    (Decree 71/2023: from the Party decision's effective date for the same act); where the
    regime leaves it open (Decree 172/2025), the decision's own effective date, which the
    verdict then reports as an open question."""
    return _effect_start(_Ctx(reference, state, on, True, "same"), d)[0]


# -- discipline-effect ----------------------------------------------------------------------

def _discipline_effect(ctx: _Ctx, rule: Any) -> list[dict]:
    on = ctx.on
    out: list[dict] = []
    for d in ctx.decisions():
        label_vi, label_en = ctx.decision_label(d)
        positions = ctx.decision_positions(d)
        if not d.in_force:
            when = d.status_on.isoformat() if d.status_on else "?"
            if d.status == "annulled":
                vi = (f"{label_vi} đã bị hủy bỏ ngày {when}: không còn tính đến khi xét bổ nhiệm"
                      " lại.")
                en = (f"The {label_en} was annulled on {when}: it no longer counts for"
                      " reappointment.")
            else:
                vi = (f"{label_vi} đã bị hủy khi giải quyết khiếu nại ngày {when}: không còn"
                      " tính đến khi xét bổ nhiệm lại.")
                en = (f"The {label_en} was overturned on appeal on {when}: it no longer counts"
                      " for reappointment.")
            out.append(_reason(rule, INFO, vi, en, positions))
            continue
        eff = d.effective_from
        if eff is None:
            continue
        if eff > on:
            out.append(_reason(
                rule, INFO,
                f"{label_vi} có hiệu lực từ {eff.isoformat()}, sau ngày xét {on.isoformat()};"
                " thời hạn hệ quả bắt đầu từ ngày đó.",
                f"The {label_en} takes effect on {eff.isoformat()}, after the evaluation date"
                f" {on.isoformat()}; its effect periods start then.",
                positions))
            continue
        changed_vi = changed_en = ""
        if d.original_form and d.form != d.original_form:
            o_vi, o_en = ctx.form(d, d.original_form)
            changed_vi = f" (hình thức đổi từ {o_vi} khi giải quyết khiếu nại)"
            changed_en = f" (form changed on appeal from {o_en})"
        pending_vi = " Đang có khiếu nại chưa giải quyết." if d.appeal_pending else ""
        pending_en = " An appeal is pending." if d.appeal_pending else ""
        effects = (list(ctx.ref.effects_for(d.form, ctx.regime_date(d), d.discipline_system))
                   if d.form else [])
        if d.form in _ENDING_FORMS:
            continue  # ended-employment answers for these
        if not effects:
            out.append(_reason(
                rule, NEEDS_REVIEW,
                f"{label_vi}{changed_vi}, hiệu lực từ {eff.isoformat()}: danh mục không có thời"
                " hạn hệ quả cho hình thức này (hình thức chấm dứt việc làm hoặc chức vụ, hoặc"
                f" không còn áp dụng); cần xem xét.{pending_vi}",
                f"The {label_en}{changed_en}, effective {eff.isoformat()}: no effect period is"
                " catalogued for this form (it ends the employment or the post, or no longer"
                f" applies); needs review.{pending_en}",
                positions))
            continue
        start, alt, why_vi, why_en, twin_positions = _effect_start(ctx, d)
        positions = [*positions, *twin_positions]
        if start > on:
            out.append(_reason(
                rule, INFO,
                f"{label_vi}{changed_vi}, hiệu lực từ {eff.isoformat()}: thời hạn hệ quả tính từ"
                f" {start.isoformat()}, sau ngày xét {on.isoformat()}.{why_vi}{pending_vi}",
                f"The {label_en}{changed_en}, effective {eff.isoformat()}: its effect periods"
                f" run from {start.isoformat()}, after the evaluation date {on.isoformat()}."
                f"{why_en}{pending_en}", positions))
            continue
        ended = []
        for e in effects:
            end = add_months(start, e.months)  # first day free of the effect
            last = end - timedelta(days=1)
            s_vi, s_en = _SCOPES.get(e.scope, (e.scope, e.scope))
            b_vi, b_en = _BARS.get(e.bars, (e.bars, e.bars))
            running = start <= on < end
            if alt is not None and running != (alt <= on < add_months(alt, e.months)):
                a_last = add_months(alt, e.months) - timedelta(days=1)
                out.append(_reason(
                    rule, NEEDS_REVIEW,
                    f"{label_vi}{changed_vi}, hiệu lực từ {eff.isoformat()}: thời hạn {e.months}"
                    f" tháng theo {s_vi} ({b_vi}) hết ngày {last.isoformat()} nếu tính từ ngày"
                    f" quyết định này có hiệu lực, hoặc ngày {a_last.isoformat()} nếu tính từ"
                    f" ngày {alt.isoformat()} (quyết định kỷ luật đảng về cùng hành vi); chưa rõ"
                    f" tính từ ngày nào; cần xem xét.{why_vi}{pending_vi}",
                    f"The {label_en}{changed_en}, effective {eff.isoformat()}: its"
                    f" {e.months}-month effect period under {s_en} ({b_en}) ends {last.isoformat()}"
                    f" if counted from its own effective date, or {a_last.isoformat()} if counted"
                    f" from {alt.isoformat()} (the Party decision for the same act); which"
                    f" applies is open; needs review.{why_en}{pending_en}", positions))
                continue
            if running:
                bars = e.bars_post(ctx.post)
                p_vi, p_en = _POSTS[ctx.post]
                period_vi = (f"{label_vi}{changed_vi}, hiệu lực từ {eff.isoformat()}: thời hạn"
                             f" {e.months} tháng theo {s_vi} ({b_vi}), từ {start.isoformat()} đến"
                             f" hết ngày {last.isoformat()} (căn cứ: {e.source})")
                period_en = (f"The {label_en}{changed_en}, effective {eff.isoformat()}:"
                             f" {e.months}-month effect period under {s_en} ({b_en}), from"
                             f" {start.isoformat()} through {last.isoformat()} (source:"
                             f" {e.source})")
                if bars:
                    out.append(_reason(
                        rule, _hit(rule),
                        f"{period_vi}: không {p_vi}.{why_vi}{pending_vi}",
                        f"{period_en}: it bars {p_en}.{why_en}{pending_en}", positions))
                elif bars is None:
                    out.append(_reason(
                        rule, NEEDS_REVIEW,
                        f"{period_vi}: chưa rõ có cấm {p_vi} hay không; cần xem xét. Câu hỏi"
                        f" còn mở: {e.open_question}{why_vi}{pending_vi}",
                        f"{period_en}: whether it bars {p_en} is open; needs review. Open"
                        f" question: {e.open_question}{why_en}{pending_en}", positions))
                else:
                    out.append(_reason(
                        rule, INFO,
                        f"{period_vi}: không cấm {p_vi}.{why_vi}{pending_vi}",
                        f"{period_en}: it does not bar {p_en}.{why_en}{pending_en}", positions))
            else:
                ended.append((e, s_vi, s_en, last))
        if ended and len(ended) == len(effects):
            parts_vi = "; ".join(f"{s_vi} {e.months} tháng, hết ngày {last.isoformat()}"
                                 for e, s_vi, _, last in ended)
            parts_en = "; ".join(f"{s_en} {e.months} months, ended {last.isoformat()}"
                                 for e, _, s_en, last in ended)
            out.append(_reason(
                rule, OK,
                f"{label_vi}{changed_vi}, hiệu lực từ {eff.isoformat()}: các thời hạn hệ quả đã"
                f" hết ({parts_vi}).{why_vi}{pending_vi}",
                f"The {label_en}{changed_en}, effective {eff.isoformat()}: its effect periods"
                f" have ended ({parts_en}).{why_en}{pending_en}",
                positions))
    if not ctx.state.decisions:
        out.append(_reason(rule, OK, "Không có quyết định kỷ luật nào trong hồ sơ.",
                           "No discipline decision on record."))
    return out


# -- corruption-bar -------------------------------------------------------------------------

def _corruption_bar(ctx: _Ctx, rule: Any) -> list[dict]:
    code = rule.params.get("conduct_code")
    barring = set(rule.params.get("forms", ("cach_chuc",)))
    out = []
    for d in ctx.in_force():
        proceeding = ctx.state.proceedings.get(d.proceeding_id or "")
        by_code = bool(code and proceeding and code in proceeding.conduct_codes)
        if not (d.corruption_related or by_code):
            continue
        label_vi, label_en = ctx.decision_label(d)
        positions = ctx.decision_positions(d)
        if by_code and proceeding is not None and proceeding.opened_position is not None:
            positions.append(proceeding.opened_position)
        if d.form not in barring:
            out.append(_reason(
                rule, INFO,
                f"{label_vi} liên quan đến tham nhũng nhưng không phải cách chức: quy định cấm"
                " bổ nhiệm vào vị trí quản lý chỉ áp dụng khi bị cách chức do tham nhũng hoặc"
                " bị kết án về tham nhũng.",
                f"The {label_en} is corruption-related but is not removal from post: the bar on"
                " management posts applies only to removal for corruption or a corruption"
                " conviction.", positions))
            continue
        if ctx.leadership:
            out.append(_reason(
                rule, _hit(rule),
                f"{label_vi}, hiệu lực từ {d.effective_from.isoformat()}, là cách chức do tham"
                " nhũng: không được bổ nhiệm vào vị trí lãnh đạo, quản lý.",
                f"The {label_en}, effective {d.effective_from.isoformat()}, is removal from post"
                " for corruption: it bars leadership and management posts.",
                positions))
        else:
            out.append(_reason(
                rule, INFO,
                f"{label_vi} liên quan đến tham nhũng; vị trí đang xét không phải vị trí lãnh đạo,"
                " quản lý nên quy định này không áp dụng.",
                f"The {label_en} is corruption-related; the post considered is not a leadership"
                " post, so this bar does not apply.",
                positions))
    if out:
        return out
    return [_reason(rule, OK,
                    "Không có quyết định kỷ luật nào về hành vi tham nhũng đang có hiệu lực.",
                    "No corruption-related discipline decision in force.")]


# -- rating-inconsistent --------------------------------------------------------------------

def _at_least(ctx: _Ctx, d: DecisionState, min_form: str | None) -> bool:
    if not min_form or not d.form:
        return True
    on = d.signed_on or d.effective_from
    cat = d.category or ""
    mine = ctx.ref.discipline_form(d.form, cat, on) if on else None
    floor = ctx.ref.discipline_form(min_form, cat, on) if on else None
    if mine is None or floor is None:
        return True  # unknown: every discipline form is khiển trách or above
    return mine.severity >= floor.severity


def _decree48(rule: Any, year: int) -> bool:
    """Whether Decree 48/2023's text governs the rating of evaluation ``year``: a rating is
    made when its year is over, taken as the year's last day (rules.toml, decree48_from)."""
    since = rule.params.get("decree48_from")
    return since is not None and date(year, 12, 31) >= since


def _act_of(d: DecisionState) -> str:
    """The act a decision punishes: its proceeding (a state and a Party decision on one
    proceeding are one act)."""
    return d.proceeding_id or d.decision_id


def _used_before(ctx: _Ctx, d: DecisionState, year: int, forced: str) -> int | None:
    """Decree 48/2023 exception (b): an earlier evaluation year rated KHTNV in which a
    violation of ``d``'s proceeding was detected (or occurred, or ended): presumed to have
    been the basis of that rating (the record does not say which violation a rating used)."""
    p = ctx.state.proceedings.get(d.proceeding_id or "")
    if p is None:
        return None
    seen = sorted({day.year for v in p.violations
                   for day in (v.get("detected_on"), v.get("occurred_on"), v.get("ended_on"))
                   if day is not None and day.year < year})
    for y in seen:
        r = ctx.state.ratings.get(y)
        if r is not None and _is_failed(ctx, r.rating, y, forced):
            return y
    return None


def _rating_inconsistent(ctx: _Ctx, rule: Any) -> list[dict]:
    forced = str(rule.params.get("forced_level", "KHTNV"))
    min_form = rule.params.get("min_form")
    first_year = rule.valid_from.year
    acts: dict[str, list[DecisionState]] = {}
    for d in ctx.in_force():
        year = d.effective_from.year
        if year < first_year or not _at_least(ctx, d, min_form):
            continue
        if d.discipline_system == "party" and not _decree48(rule, year):
            continue  # Decree 90/2020's text counts state discipline only
        acts.setdefault(_act_of(d), []).append(d)
    out: list[dict] = []
    hits = 0  # inconsistencies found (out also holds the exceptions' notes)
    by_year: dict[int, list[DecisionState]] = {}

    def rating(y: int) -> Any:
        return ctx.state.ratings.get(y)

    def failed(y: int) -> bool:
        r = rating(y)
        return r is not None and _is_failed(ctx, r.rating, y, forced)

    def label(d: DecisionState, lang: int) -> str:
        text = ctx.decision_label(d)[lang]
        if lang == 0:
            return text[:1].lower() + text[1:] + f" (hiệu lực từ {d.effective_from.isoformat()})"
        return text + f" (effective {d.effective_from.isoformat()})"

    for decisions in acts.values():
        kept = []
        for d in decisions:
            year = d.effective_from.year
            used = _used_before(ctx, d, year, forced) if _decree48(rule, year) else None
            if used is None:
                kept.append(d)
                continue
            out.append(_reason(
                rule, INFO,
                f"Năm {year}: {label(d, 0)} không tính để xếp loại năm {year} vì vi phạm đã được"
                f" phát hiện năm {used}, năm đã xếp loại {forced} (coi là đã dùng vi phạm này làm"
                " căn cứ; Nghị định 48/2023/NĐ-CP, khoản 5 điểm b Điều 2 Nghị định 90/2020).",
                f"{year}: the {label(d, 1)} does not count for the {year} rating: its violation"
                f" was found in {used}, a year rated {forced} (presumed to have rested on it;"
                " Decree 48/2023, Art. 2(5)(b) of Decree 90/2020).",
                [*d.positions[:1], *rating(used).positions]))
        years = sorted({d.effective_from.year for d in kept})
        if len(years) > 1 and _decree48(rule, years[-1]):
            # exception (c): Party and state decisions for one act in different years
            ds_vi = ", ".join(label(d, 0) for d in kept)
            ds_en = ", ".join(label(d, 1) for d in kept)
            spans = ", ".join(str(y) for y in years)
            rows = [p for d in kept for p in d.positions[:1]]
            rated = [y for y in years if rating(y) is not None]
            hit = next((y for y in years if failed(y)), None)
            if hit is not None:
                out.append(_reason(
                    rule, INFO,
                    f"Cùng một hành vi có {ds_vi}, hiệu lực trong các năm {spans}: chỉ tính một"
                    f" năm; năm {hit} đã xếp loại {forced} (Nghị định 48/2023/NĐ-CP, khoản 5 điểm"
                    " c Điều 2 Nghị định 90/2020).",
                    f"One act has the {ds_en}, effective in {spans}: it counts in one year"
                    f" only, and {hit} is rated {forced} (Decree 48/2023, Art. 2(5)(c) of Decree"
                    " 90/2020).", [*rows, *rating(hit).positions]))
            elif len(rated) == len(years):
                out.append(_reason(
                    rule, _hit(rule, NEEDS_REVIEW),
                    f"Hồ sơ không thống nhất: cùng một hành vi có {ds_vi}, hiệu lực trong các năm"
                    f" {spans}; hành vi chỉ tính một năm nhưng không năm nào xếp loại {forced}"
                    " (Nghị định 48/2023/NĐ-CP, khoản 5 điểm c Điều 2 Nghị định 90/2020). Cần"
                    " xem xét.",
                    f"Inconsistent records: one act has the {ds_en}, effective in {spans}; it"
                    f" counts in one year only, yet none of them is rated {forced} (Decree"
                    " 48/2023, Art. 2(5)(c) of Decree 90/2020). Needs review.",
                    [*rows, *(p for y in rated for p in rating(y).positions)]))
                hits += 1
            continue
        for d in kept:
            by_year.setdefault(d.effective_from.year, []).append(d)
    for year in sorted(by_year):
        r = rating(year)
        if r is None or failed(year):
            continue
        t_vi, t_en = rating_titles(ctx.ref, r.rating, year)
        f_vi, f_en = rating_titles(ctx.ref, forced, year)
        labels_vi = ", ".join(label(d, 0) for d in by_year[year])
        labels_en = ", ".join(label(d, 1) for d in by_year[year])
        positions = [p for d in by_year[year] for p in d.positions[:1]] + r.positions
        out.append(_reason(
            rule, _hit(rule, NEEDS_REVIEW),
            f"Hồ sơ không thống nhất: năm {year} có {labels_vi} nhưng được xếp loại {t_vi};"
            f" năm bị kỷ luật phải xếp loại {f_vi}. Cần xem xét.",
            f"Inconsistent records: {year} has a {labels_en} but was rated {t_en}; a year with"
            f" discipline must be rated {f_en}. Needs review.",
            positions))
        hits += 1
    if hits:  # an inconsistency tuned to "informational" is still one
        return out
    return [*out, _reason(rule, OK,
                          f"Không có năm bị kỷ luật nào được xếp loại khác {forced}.",
                          f"No year with discipline is rated other than {forced}.")]


# -- single-failed-rating -------------------------------------------------------------------

def _single_failed_rating(ctx: _Ctx, rule: Any) -> list[dict]:
    failed_level = str(rule.params.get("failed_level", "KHTNV"))
    categories = list(rule.params.get("categories") or ())
    category = ctx.state.category
    if categories and category not in categories:
        return [_reason(rule, INFO,
                        f"Quy định chỉ áp dụng cho {', '.join(categories)}; cán bộ này thuộc"
                        f" {category}.",
                        f"The rule applies to {', '.join(categories)} only; this officer is"
                        f" {category}.")]
    year = ctx.on.year - 1  # the last evaluation year over by the evaluation date
    r = ctx.state.ratings.get(year)
    if r is None:
        return [_reason(rule, OK, f"Chưa có kết quả xếp loại năm {year}.",
                        f"No rating on record for {year}.")]
    t_vi, t_en = rating_titles(ctx.ref, r.rating, r.year)
    if not _is_failed(ctx, r.rating, r.year, failed_level):
        return [_reason(rule, OK, f"Kết quả xếp loại gần nhất (năm {r.year}): {t_vi}.",
                        f"Latest rating (year {r.year}): {t_en}.", r.positions)]
    question = rule.params.get("open_question", "")
    return [_reason(
        rule, _hit(rule, NEEDS_REVIEW),
        f"Kết quả xếp loại gần nhất (năm {r.year}) là {t_vi}: cơ quan có thẩm quyền phải xem xét"
        f" bố trí vị trí việc làm thấp hơn hoặc cho thôi việc; cần xem xét. Câu hỏi còn mở:"
        f" {question}",
        f"The latest rating (year {r.year}) is {t_en}: the competent authority must consider a"
        f" lower job position or dismissal; needs review. Open question: {question}",
        r.positions)]


# -- notice-window --------------------------------------------------------------------------

def _notice_window(ctx: _Ctx, rule: Any) -> list[dict]:
    term = ctx.term
    on = ctx.on
    if term is None:
        return [_reason(rule, INFO, "Không có nhiệm kỳ lãnh đạo nào trong hồ sơ.",
                        "No leadership term on record.")]
    n = int(rule.params.get("notice_working_days", 90))
    end = term.term_end
    positions = term.positions
    if end < on:
        return [_reason(
            rule, INFO,
            f"Thời hạn bổ nhiệm (từ {term.term_start.isoformat()}) đã hết ngày {end.isoformat()},"
            f" trước ngày xét {on.isoformat()}.",
            f"The appointment term (from {term.term_start.isoformat()}) ended on"
            f" {end.isoformat()}, before the evaluation date {on.isoformat()}.",
            positions)]
    left = working_days(on, end)
    deadline = notice_deadline(end, n)
    if left > n:
        return [_reason(
            rule, INFO,
            f"Thời hạn bổ nhiệm kết thúc ngày {end.isoformat()}, còn {left} ngày làm việc (hơn"
            f" {n} ngày): chưa đến thời điểm thông báo; hạn thông báo là {deadline.isoformat()}.",
            f"The appointment term ends on {end.isoformat()}, {left} working days away (more"
            f" than {n}): the notice window has not opened; notice is due by"
            f" {deadline.isoformat()}.",
            positions)]
    if on > deadline:
        return [_reason(
            rule, INFO,
            f"Thời hạn bổ nhiệm kết thúc ngày {end.isoformat()}, chỉ còn {left} ngày làm việc:"
            f" đã QUÁ HẠN thông báo {deadline.isoformat()} ({n} ngày làm việc trước khi hết"
            " thời hạn).",
            f"The appointment term ends on {end.isoformat()}, only {left} working days away:"
            f" the notice deadline {deadline.isoformat()} ({n} working days before the term"
            " ends) was MISSED.",
            positions)]
    return [_reason(
        rule, OK,
        f"Thời hạn bổ nhiệm kết thúc ngày {end.isoformat()}, còn {left} ngày làm việc: trong"
        f" thời hạn {n} ngày làm việc phải thông báo và quyết định bổ nhiệm lại (hạn thông báo"
        f" {deadline.isoformat()}).",
        f"The appointment term ends on {end.isoformat()}, {left} working days away: within the"
        f" {n}-working-day window for notice and the reappointment decision (notice due by"
        f" {deadline.isoformat()}).",
        positions)]


# -- ended-employment ----------------------------------------------------------------------

_ENDING_FORMS = ("buoc_thoi_viec", "bai_nhiem")


def _ended_employment(ctx: _Ctx, rule: Any) -> list[dict]:
    forms = set(rule.params.get("forms", _ENDING_FORMS))
    out = []
    for d in ctx.in_force():
        if d.form not in forms:
            continue
        label_vi, label_en = ctx.decision_label(d)
        out.append(_reason(
            rule, _hit(rule),
            f"{label_vi}, hiệu lực từ {d.effective_from.isoformat()}, chấm dứt việc làm hoặc"
            " chức vụ: không còn chức vụ để bổ nhiệm lại.",
            f"The {label_en}, effective {d.effective_from.isoformat()}, ends the employment or"
            " the post: there is nothing to reappoint to.", ctx.decision_positions(d)))
    return out or [_reason(rule, OK, "Không có quyết định buộc thôi việc hoặc bãi nhiệm.",
                           "No forced dismissal or bãi nhiệm decision in force.")]


# -- consecutive-failed-ratings ------------------------------------------------------------

def _consecutive_failed(ctx: _Ctx, rule: Any) -> list[dict]:
    years = ctx.term_years()
    if not years:
        return [_reason(rule, INFO, "Không có nhiệm kỳ đang có hiệu lực để xét.",
                        "No term in force to check.")]
    failed_level = str(rule.params.get("failed_level", "KHTNV"))
    out = []
    for y in range(years[0], years[-1] + 1):
        a, b = ctx.state.ratings.get(y - 1), ctx.state.ratings.get(y)
        if (a and b and _is_failed(ctx, a.rating, a.year, failed_level)
                and _is_failed(ctx, b.rating, b.year, failed_level)):
            out.append(_reason(
                rule, _hit(rule),
                f"Hai năm liên tiếp {y - 1} và {y} xếp loại không hoàn thành nhiệm vụ: căn cứ"
                " miễn nhiệm hoặc cho thôi việc.",
                f"Two consecutive years {y - 1} and {y} rated KHTNV: a ground for removal or"
                " dismissal.", [*a.positions, *b.positions]))
    return out or [_reason(rule, OK, "Không có hai năm liên tiếp không hoàn thành nhiệm vụ.",
                           "No two consecutive KHTNV years.")]


# -- repeated-discipline-in-term -----------------------------------------------------------

def _repeated_discipline(ctx: _Ctx, rule: Any) -> list[dict]:
    term = ctx.term
    if term is None:
        return [_reason(rule, INFO, "Không có nhiệm kỳ đang có hiệu lực để xét.",
                        "No term in force to check.")]
    forms = set(rule.params.get("forms", ("khien_trach", "canh_cao")))
    count = int(rule.params.get("count", 2))
    hits = [d for d in ctx.in_force() if d.form in forms
            and term.term_start <= d.effective_from <= ctx.on]
    acts = {_act_of(d) for d in hits}  # a Party and a state decision for one act count once
    if len(acts) < count:
        return [_reason(rule, OK, f"Ít hơn {count} lần bị khiển trách hoặc cảnh cáo trong nhiệm"
                        " kỳ.", f"Fewer than {count} reprimands or warnings within the term.")]
    when = ", ".join(d.effective_from.isoformat() for d in hits)
    return [_reason(
        rule, _hit(rule, NEEDS_REVIEW),
        f"{len(acts)} lần bị khiển trách hoặc cảnh cáo trong nhiệm kỳ từ"
        f" {term.term_start.isoformat()} ({when}): căn cứ miễn nhiệm; cần xem xét.",
        f"{len(acts)} reprimands or warnings within the term from {term.term_start.isoformat()}"
        f" ({when}): a ground for removal; needs review.",
        [p for d in hits for p in ctx.decision_positions(d)])]


_CHECKS: dict[str, Callable[[_Ctx, Any], list[dict]]] = {
    "term-failed-rating": _term_failed_rating,
    "consecutive-failed-ratings": _consecutive_failed,
    "ended-employment": _ended_employment,
    "repeated-discipline-in-term": _repeated_discipline,
    "open-proceeding": _open_proceeding,
    "party-decision-awaits-state": _party_awaits_state,
    "discipline-effect": _discipline_effect,
    "corruption-bar": _corruption_bar,
    "rating-inconsistent": _rating_inconsistent,
    "single-failed-rating": _single_failed_rating,
    "notice-window": _notice_window,
}


def _verdict(reasons: list[dict]) -> str:
    outcomes = {r["outcome"] for r in reasons}
    if NOT_ELIGIBLE in outcomes:
        return NOT_ELIGIBLE
    if NEEDS_REVIEW in outcomes:
        return NEEDS_REVIEW
    return ELIGIBLE


def evaluate(reference: Any, rows: Iterable[Mapping[str, Any]], on: date | str,
             as_of: datetime | str | None = None, *, leadership: bool = True,
             post: str = "same") -> dict:
    """The reappointment-eligibility verdict for the officer whose timeline ``rows`` are given.

    Raises NotFound (code ``officer_not_on_record``) when the officer was not registered as
    of ``as_of`` or had not joined by ``on``: never a verdict for someone not on record.

    ``on``: the world date evaluated; ``as_of``: only rows recorded at or before it count;
    ``leadership``: whether the post is a leadership or management post (corruption bar);
    ``post``: ``same`` (bổ nhiệm lại, the default) or ``higher`` (appointment to a higher
    post): effect periods bar one, the other or both (effect_periods.toml, ``bars``).
    """
    if post not in _POSTS:
        raise ValueError(f"post must be one of {', '.join(_POSTS)}")
    day = parse_date(on)
    if day is None:
        raise ValueError("an evaluation date is required")
    cutoff = parse_instant(as_of)
    state = fold(list(rows), cutoff)
    if state.officer_id is None:  # no registration recorded by as_of
        raise NotFound("the officer is not on record as of the time asked",
                       code="officer_not_on_record",
                       details={"as_of": cutoff.isoformat() if cutoff else None})
    if state.joined_on is not None and day < state.joined_on:
        raise NotFound(f"the officer joined on {state.joined_on.isoformat()}, after"
                       f" {day.isoformat()}", code="officer_not_on_record",
                       details={"joined_on": state.joined_on.isoformat(),
                                "on": day.isoformat()})
    ctx = _Ctx(reference, state, day, leadership, post)
    reasons: list[dict] = []
    checked: list[str] = []
    not_in_force: list[str] = []
    for rule_id in RULES_CHECKED:
        rule = reference.rule(rule_id)
        if not rule.valid_on(day):
            not_in_force.append(rule_id)
            continue
        checked.append(rule_id)
        cited = dataclasses.replace(rule, citation=rule.citation_on(day, state.category))
        reasons.extend(_CHECKS[rule_id](ctx, cited))
    result: dict[str, Any] = {
        "evaluated_on": day.isoformat(),
        "as_of": cutoff.astimezone(timezone.utc).isoformat() if cutoff else None,
        "leadership": bool(leadership),
        "post": post,
        "verdict": _verdict(reasons),
        "reasons": reasons,
        "rules_checked": checked,
        "rules_not_in_force": not_in_force,
        "rules_version": reference.version,
        "term": ctx.term.as_dict() if ctx.term else None,
        "last_position": state.last_position,
    }
    result["hash"] = result_hash(result)
    return result
