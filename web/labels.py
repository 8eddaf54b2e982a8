"""Words for statuses and outcomes shown as badges, translated once per request (a page
with hundreds of timeline entries asks for them hundreds of times)."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from projections.summaries import SUMMARIZED_EVENT_TYPES

BAD = {"overdue", "annulled", "overturned", "withdrawn", "not_eligible"}
WARN = {"due", "deferred", "corrected", "needs_review", "open"}
GOOD = {"eligible", "ok", "in_force", "closed"}


def _labels() -> dict[str, str]:
    return {"open": _("đang xử lý"), "deferred": _("tạm hoãn"), "dismissed": _("không kỷ luật"),
            "decided": _("đã quyết định"), "in_force": _("có hiệu lực"), "annulled": _("đã hủy"),
            "overturned": _("đã bị bãi bỏ"), "closed": _("đã kết thúc"),
            "active": _("hiện hành"), "corrected": _("đã đính chính"), "withdrawn": _("đã rút"),
            "overdue": _("quá hạn"), "due": _("đến hạn"), "not_yet_due": _("chưa đến hạn"),
            "eligible": _("đủ điều kiện"), "not_eligible": _("không đủ điều kiện"),
            "needs_review": _("cần xem xét"), "ok": _("đạt"), "info": _("thông tin")}


def status_badge(status: str) -> tuple[str, str]:
    """(css tone, label) of a status."""
    labels = g.get("status_labels")
    if labels is None:
        labels = g.status_labels = _labels()
    tone = "bad" if status in BAD else "warn" if status in WARN else \
        "good" if status in GOOD else ""
    return tone, labels.get(status, status)


def record_kinds() -> list[tuple[str, str]]:
    """(record, label) of each kind of record an officer's history holds, for its filter:
    the records of the event types the timeline summarises, in their order there."""
    labels = {"Officer": _("Hồ sơ cán bộ"), "Inspection": _("Kết quả kiểm tra"),
              "Proceeding": _("Vụ việc kỷ luật"), "Decision": _("Quyết định kỷ luật"),
              "AnnualRating": _("Xếp loại hằng năm"), "MonthlyGrade": _("Đánh giá hằng tháng")}
    records = dict.fromkeys(t.split(".", 1)[0] for t in SUMMARIZED_EVENT_TYPES)
    return [(r, labels.get(r, r)) for r in records]
