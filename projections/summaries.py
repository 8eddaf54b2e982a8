"""One-line Vietnamese and English summaries of timeline rows.

``summarize(row, reference) -> (vi, en)`` covers every event type of the officer timeline and
falls back to the event type for anything it does not know. Titles (discipline forms, conduct
codes, rating levels, categories, deferral reasons) come from the reference data where it has
them. Pure: never raises on odd data, never reads anything but its arguments.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Mapping

from audit_service.validation import decision_ref_text

from .timeline import parse_date

__all__ = ["summarize", "summary_key", "form_titles", "decision_ref_text", "rating_titles", "deferral_titles",
           "conduct_titles", "category_titles", "SUMMARIZED_EVENT_TYPES"]

MAX_FREE_TEXT = 160

_OUTCOME_REAPPOINT = {
    "reappointed": ("bổ nhiệm lại", "reappointed"),
    "not_reappointed": ("không bổ nhiệm lại", "not reappointed"),
}
_TRANSFER_KIND = {
    "transfer": ("Điều động", "Transfer"),
    "rotation": ("Luân chuyển", "Rotation"),
}


# --------------------------------------------------------------------------- helpers

def _one_line(value: Any, limit: int = MAX_FREE_TEXT) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _iso(value: Any) -> str:
    try:
        day = parse_date(value)
    except (TypeError, ValueError):
        return str(value)
    return day.isoformat() if day else "?"


def form_titles(reference: Any, form: str | None, category: str | None = None,
                on: date | None = None) -> tuple[str, str]:
    """(vi, en) titles of a discipline form, lower-case, as of ``on`` for ``category`` when the
    reference has that entry, else from any entry for the form, else the code itself."""
    if not form:
        return ("?", "?")
    entry = None
    if category and on and reference is not None:
        try:
            entry = reference.discipline_form(form, category, on)
        except Exception:  # noqa: BLE001 - summaries never fail
            entry = None
    if entry is None and reference is not None:
        candidates = [f for f in getattr(reference, "discipline_forms", ()) if f.form == form]
        if category:
            candidates = [f for f in candidates if f.category == category] or candidates
        if candidates:
            entry = max(candidates, key=lambda f: f.valid_from)
    if entry is None:
        return (form, form.replace("_", " "))
    return (_lower_first(entry.title_vi), _lower_first(entry.title_en))


def rating_titles(reference: Any, code: str | None, year: int | None = None) -> tuple[str, str]:
    if not code:
        return ("?", "?")
    entry = None
    if reference is not None:
        if year is not None:
            entry = reference.annual_level(code, year)
        if entry is None:
            entry = getattr(reference, "annual_levels", {}).get(code)
    if entry is None:
        return (code, code)
    return (f"{entry.title_vi} ({code})", f"{_lower_first(entry.title_en)} ({code})")


def conduct_titles(reference: Any, code: str | None, on: date | None = None) -> tuple[str, str]:
    if not code:
        return ("?", "?")
    entry = None
    if reference is not None:
        if on is not None:
            entry = reference.conduct_code(code, on)
        if entry is None:
            entry = getattr(reference, "conduct_codes", {}).get(code)
    if entry is None:
        return (code, code)
    return (f"{entry.title_vi} ({code})", f"{_lower_first(entry.title_en)} ({code})")


def deferral_titles(reference: Any, code: str | None) -> tuple[str, str]:
    entry = getattr(reference, "deferral_reasons", {}).get(code) if code else None
    if entry is None:
        return (str(code), str(code))
    return (_lower_first(entry.title_vi), _lower_first(entry.title_en))


def category_titles(reference: Any, code: str | None) -> tuple[str, str]:
    entry = getattr(reference, "categories", {}).get(code) if code else None
    if entry is None:
        return (str(code), str(code))
    return (_lower_first(entry.title_vi), _lower_first(entry.title_en))


# --------------------------------------------------------------------------- per event type

Summary = tuple[str, str]


def _officer_registered(d: dict, row: Mapping, ref: Any) -> Summary:
    cat_vi, cat_en = category_titles(ref, d.get("category"))
    joined = f", vào làm từ {_iso(d['joined_on'])}" if d.get("joined_on") else ""
    joined_en = f", joined {_iso(d['joined_on'])}" if d.get("joined_on") else ""
    name, code, pos = _one_line(d.get("full_name")), d.get("personnel_code"), _one_line(
        d.get("position"))
    return (f"Đăng ký hồ sơ {cat_vi} {name} (mã {code}), chức vụ {pos}{joined}",
            f"Officer registered: {name} ({code}), {cat_en}, position {pos}{joined_en}")


def _officer_transferred(d: dict, row: Mapping, ref: Any) -> Summary:
    kind_vi, kind_en = _TRANSFER_KIND.get(d.get("kind"), ("Điều chuyển", "Move"))
    new_pos = _one_line(d.get("new_position"))
    pos_vi = f", chức vụ mới {new_pos}" if new_pos else ""
    pos_en = f", new position {new_pos}" if new_pos else ""
    dref = decision_ref_text(d.get("decision_ref"))
    return (f"{kind_vi} từ đơn vị {d.get('from_unit_id')} sang đơn vị {d.get('to_unit_id')}"
            f" từ {_iso(d.get('effective_on'))}{pos_vi}, quyết định số {dref}",
            f"{kind_en} from unit {d.get('from_unit_id')} to unit {d.get('to_unit_id')}"
            f" effective {_iso(d.get('effective_on'))}{pos_en}, decision {dref}")


def _officer_appointed(d: dict, row: Mapping, ref: Any) -> Summary:
    pos, years, start = _one_line(d.get("position")), d.get("term_years"), _iso(d.get("term_start"))
    dref = decision_ref_text(d.get("decision_ref"))
    return (f"Bổ nhiệm chức vụ {pos}, thời hạn {years} năm từ {start}, quyết định số {dref}",
            f"Appointed {pos} for {years} years from {start}, decision {dref}")


def _officer_reappointment(d: dict, row: Mapping, ref: Any) -> Summary:
    out_vi, out_en = _OUTCOME_REAPPOINT.get(d.get("outcome"), (str(d.get("outcome")),) * 2)
    dref = decision_ref_text(d.get("decision_ref"))
    seen_vi = seen_en = ""
    if d.get("eligibility_verdict"):
        seen_vi = f"; kết quả xét điều kiện: {d['eligibility_verdict']}"
        seen_en = f"; eligibility verdict seen: {d['eligibility_verdict']}"
    if d.get("override_reason"):
        reason = _one_line(d["override_reason"])
        seen_vi += f"; quyết định khác kết quả xét, lý do: {reason}"
        seen_en += f"; decided against the verdict, reason: {reason}"
    return (f"Quyết định {out_vi} ngày {_iso(d.get('decided_on'))} (nhiệm kỳ bắt đầu"
            f" {_iso(d.get('term_start'))}), quyết định số {dref}{seen_vi}",
            f"Reappointment decision: {out_en} on {_iso(d.get('decided_on'))} (term started"
            f" {_iso(d.get('term_start'))}), decision {dref}{seen_en}")


def _officer_reappointment_corrected(d: dict, row: Mapping, ref: Any) -> Summary:
    out_vi, out_en = _OUTCOME_REAPPOINT.get(d.get("outcome"), (str(d.get("outcome")),) * 2)
    old = decision_ref_text(d.get("corrects_decision_ref"))
    dref = decision_ref_text(d.get("decision_ref"))
    reason = _one_line(d.get("reason"))
    seen_vi = seen_en = ""
    if d.get("eligibility_verdict"):
        seen_vi = f"; kết quả xét điều kiện: {d['eligibility_verdict']}"
        seen_en = f"; eligibility verdict seen: {d['eligibility_verdict']}"
    return (f"Đính chính quyết định {old} (ngày {_iso(d.get('decided_on'))}): {out_vi},"
            f" quyết định số {dref}; lý do: {reason}{seen_vi}",
            f"Reappointment decision {old} (of {_iso(d.get('decided_on'))}) corrected to:"
            f" {out_en}, decision {dref}; reason: {reason}{seen_en}")


def _officer_left(d: dict, row: Mapping, ref: Any) -> Summary:
    reason = _one_line(d.get("reason"))
    return (f"Thôi công tác từ {_iso(d.get('left_on'))}: {reason}",
            f"Left service on {_iso(d.get('left_on'))}: {reason}")


def _finding_recorded(d: dict, row: Mapping, ref: Any) -> Summary:
    day = parse_date(row.get("occurred_on")) or _safe_date(d.get("observed_at"))
    c_vi, c_en = conduct_titles(ref, d.get("conduct_code"), day)
    desc = _one_line(d.get("description"), 100)
    return (f"Đoàn kiểm tra công vụ ghi nhận vi phạm: {c_vi}, ngày {_iso(day)}: {desc}",
            f"Inspection finding: {c_en}, observed {_iso(day)}: {desc}")


def _finding_corrected(d: dict, row: Mapping, ref: Any) -> Summary:
    day = parse_date(row.get("occurred_on")) or _safe_date(d.get("observed_at"))
    c_vi, c_en = conduct_titles(ref, d.get("conduct_code"), day)
    reason = _one_line(d.get("reason"), 100)
    return (f"Đính chính phát hiện kiểm tra: {c_vi}, ngày {_iso(day)}; lý do: {reason}",
            f"Inspection finding corrected: {c_en}, observed {_iso(day)}; reason: {reason}")


def _finding_withdrawn(d: dict, row: Mapping, ref: Any) -> Summary:
    reason = _one_line(d.get("reason"))
    return (f"Rút lại phát hiện kiểm tra; lý do: {reason}",
            f"Inspection finding withdrawn; reason: {reason}")


def _proceeding_opened(d: dict, row: Mapping, ref: Any) -> Summary:
    violations = [v for v in d.get("violations") or [] if isinstance(v, Mapping)]
    codes = ", ".join(str(v.get("conduct_code")) for v in violations) or "?"
    return (f"Mở việc xem xét kỷ luật ngày {_iso(d.get('opened_on'))}:"
            f" {len(violations)} vi phạm ({codes})",
            f"Discipline proceeding opened on {_iso(d.get('opened_on'))}:"
            f" {len(violations)} violation(s) ({codes})")


def _proceeding_deferred(d: dict, row: Mapping, ref: Any) -> Summary:
    r_vi, r_en = deferral_titles(ref, d.get("reason"))
    return (f"Tạm hoãn xem xét kỷ luật từ {_iso(d.get('deferred_on'))} đến {_iso(d.get('until'))}"
            f" ({r_vi})",
            f"Discipline proceeding deferred from {_iso(d.get('deferred_on'))} until"
            f" {_iso(d.get('until'))} ({r_en})")


def _proceeding_dismissed(d: dict, row: Mapping, ref: Any) -> Summary:
    reason = _one_line(d.get("reason"))
    return (f"Không xử lý kỷ luật, kết thúc việc xem xét ngày {_iso(d.get('dismissed_on'))};"
            f" lý do: {reason}",
            f"Discipline proceeding dismissed on {_iso(d.get('dismissed_on'))}; reason: {reason}")


def _proceeding_decided(d: dict, row: Mapping, ref: Any) -> Summary:
    if d.get("discipline_system") == "party":
        return (f"Quyết định kỷ luật Đảng ngày {_iso(d.get('decided_on'))} trong việc xem xét"
                " kỷ luật này",
                f"Party discipline decision on {_iso(d.get('decided_on'))} in this proceeding")
    return (f"Kết thúc xem xét kỷ luật bằng quyết định kỷ luật ngày {_iso(d.get('decided_on'))}",
            f"Discipline proceeding decided on {_iso(d.get('decided_on'))}")


def _decision_issued(d: dict, row: Mapping, ref: Any) -> Summary:
    dref = d.get("decision_ref") or {}
    on = _safe_date(dref.get("signed_on")) or _safe_date(d.get("effective_from"))
    f_vi, f_en = form_titles(ref, d.get("form"), d.get("category"), on)
    corrupt_vi = " (liên quan đến tham nhũng)" if d.get("corruption_related") else ""
    corrupt_en = " (corruption-related)" if d.get("corruption_related") else ""
    text = decision_ref_text(dref)
    eff = _iso(d.get("effective_from"))
    return (f"Quyết định kỷ luật {f_vi} số {text}, hiệu lực từ {eff}{corrupt_vi}",
            f"Discipline decision: {f_en}, {text}, effective {eff}{corrupt_en}")


def _appeal_lodged(d: dict, row: Mapping, ref: Any) -> Summary:
    grounds = _one_line(d.get("grounds"), 100)
    return (f"Khiếu nại quyết định kỷ luật ngày {_iso(d.get('lodged_on'))}: {grounds}",
            f"Appeal lodged against the discipline decision on {_iso(d.get('lodged_on'))}:"
            f" {grounds}")


def _appeal_resolved(d: dict, row: Mapping, ref: Any) -> Summary:
    day = _iso(d.get("resolved_on"))
    dref = decision_ref_text(d.get("decision_ref"))
    by_vi, by_en = (f", quyết định số {dref}", f", decision {dref}") if dref else ("", "")
    outcome = d.get("outcome")
    if outcome == "upheld":
        return (f"Giải quyết khiếu nại ngày {day}: giữ nguyên quyết định kỷ luật{by_vi}",
                f"Appeal resolved on {day}: discipline decision upheld{by_en}")
    if outcome == "overturned":
        return (f"Giải quyết khiếu nại ngày {day}: hủy quyết định kỷ luật{by_vi}",
                f"Appeal resolved on {day}: discipline decision overturned{by_en}")
    if outcome == "form_changed":
        old_vi, old_en = form_titles(ref, d.get("previous_form"))
        new_vi, new_en = form_titles(ref, d.get("new_form"))
        return (f"Giải quyết khiếu nại ngày {day}: đổi hình thức kỷ luật từ {old_vi} sang"
                f" {new_vi}{by_vi}",
                f"Appeal resolved on {day}: discipline form changed from {old_en} to"
                f" {new_en}{by_en}")
    return (f"Giải quyết khiếu nại ngày {day}: {outcome}", f"Appeal resolved on {day}: {outcome}")


def _decision_annulled(d: dict, row: Mapping, ref: Any) -> Summary:
    dref = decision_ref_text(d.get("decision_ref"))
    reason = _one_line(d.get("reason"), 100)
    return (f"Hủy bỏ quyết định kỷ luật ngày {_iso(d.get('annulled_on'))} theo quyết định số"
            f" {dref}; lý do: {reason}",
            f"Discipline decision annulled on {_iso(d.get('annulled_on'))} by decision {dref};"
            f" reason: {reason}")


def _rating_recorded(d: dict, row: Mapping, ref: Any) -> Summary:
    year = _safe_int(d.get("year"))
    r_vi, r_en = rating_titles(ref, d.get("rating"), year)
    return (f"Xếp loại chất lượng năm {year}: {r_vi}", f"Annual rating for {year}: {r_en}")


def _rating_corrected(d: dict, row: Mapping, ref: Any) -> Summary:
    day = _safe_date(row.get("occurred_on"))
    year = day.year if day else None
    new_vi, new_en = rating_titles(ref, d.get("rating"), year)
    old_vi, old_en = rating_titles(ref, d.get("previous_rating"), year)
    reason = _one_line(d.get("reason"), 100)
    y_vi, y_en = (f" năm {year}", f" for {year}") if year else ("", "")
    return (f"Đính chính xếp loại chất lượng{y_vi}: từ {old_vi} thành {new_vi}; lý do: {reason}",
            f"Annual rating{y_en} corrected from {old_en} to {new_en}; reason: {reason}")


def _grade_recorded(d: dict, row: Mapping, ref: Any) -> Summary:
    fw = f", {d['framework']}" if d.get("framework") else ""
    return (f"Xếp loại tháng {d.get('period')}: loại {d.get('grade')} ({_num(d.get('score'))}"
            f" điểm{fw})",
            f"Monthly grade for {d.get('period')}: {d.get('grade')} ({_num(d.get('score'))}"
            f" points{fw})")


def _grade_corrected(d: dict, row: Mapping, ref: Any) -> Summary:
    day = _safe_date(row.get("occurred_on"))
    period = f" {day.year:04d}-{day.month:02d}" if day else ""
    reason = _one_line(d.get("reason"), 100)
    return (f"Đính chính xếp loại tháng{period}: loại {d.get('grade')}"
            f" ({_num(d.get('score'))} điểm); lý do: {reason}",
            f"Monthly grade{period} corrected to {d.get('grade')} ({_num(d.get('score'))}"
            f" points); reason: {reason}")


def _safe_date(value: Any) -> date | None:
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        return None


def _safe_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_HANDLERS: dict[str, Callable[[dict, Mapping, Any], Summary]] = {
    "Officer.Registered": _officer_registered,
    "Officer.Transferred": _officer_transferred,
    "Officer.Appointed": _officer_appointed,
    "Officer.ReappointmentDecided": _officer_reappointment,
    "Officer.ReappointmentDecisionCorrected": _officer_reappointment_corrected,
    "Officer.LeftService": _officer_left,
    "Inspection.FindingRecorded": _finding_recorded,
    "Inspection.FindingCorrected": _finding_corrected,
    "Inspection.FindingWithdrawn": _finding_withdrawn,
    "Proceeding.Opened": _proceeding_opened,
    "Proceeding.Deferred": _proceeding_deferred,
    "Proceeding.Dismissed": _proceeding_dismissed,
    "Proceeding.Decided": _proceeding_decided,
    "Decision.Issued": _decision_issued,
    "Decision.AppealLodged": _appeal_lodged,
    "Decision.AppealResolved": _appeal_resolved,
    "Decision.Annulled": _decision_annulled,
    "AnnualRating.Recorded": _rating_recorded,
    "AnnualRating.Corrected": _rating_corrected,
    "MonthlyGrade.Recorded": _grade_recorded,
    "MonthlyGrade.Corrected": _grade_corrected,
}

SUMMARIZED_EVENT_TYPES = tuple(_HANDLERS)

# Event types whose summary reads nothing but these data fields (and the reference data).
_SUMMARY_INPUTS: dict[str, tuple[str, ...]] = {
    "MonthlyGrade.Recorded": ("period", "grade", "score", "framework"),
    "AnnualRating.Recorded": ("year", "rating"),
}


def summary_key(event_type: str, data: Mapping[str, Any]) -> tuple | None:
    """A key for caching summaries: rows with equal keys get equal summaries from one
    reference. None when the summary may depend on more (the row is summarized afresh).
    Values are keyed with their types, since 1 == 1.0 == True but they print differently."""
    fields = _SUMMARY_INPUTS.get(event_type)
    if fields is None:
        return None
    key: list = [event_type]
    for name in fields:
        value = data.get(name)
        key.append(value.__class__)
        key.append(value)
    return tuple(key)


def summarize(row: Mapping[str, Any], reference: Any) -> tuple[str, str]:
    """(Vietnamese, English) one-line summary of a timeline row."""
    event_type = str(row.get("event_type") or "?")
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return (event_type, event_type)
    data = row.get("data") or {}
    try:
        vi, en = handler(dict(data), row, reference)
    except Exception:  # noqa: BLE001 - a malformed row still gets a line
        return (event_type, event_type)
    return (_one_line(vi, 400), _one_line(en, 400))
