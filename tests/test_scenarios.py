"""The rule table: each row a case around a regime change, an appeal, an annulment, a term,
a rating or a rotation, naming its legal source; every row runs against the pure rule
functions AND through the HTTP API (Flask test client, real store), and both must agree.

Sources are the reference entries' citations (effect_periods.toml, limitation_periods.toml,
rules.toml); rows marked in the reference data as uncertain test the documented reading.
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from api import create_app
from audit_service.config import Settings
from audit_service.errors import NotFound
from audit_service.limitation import expired_under_regimes
from audit_service.reference import load_reference
from projections.eligibility import evaluate
from audit_service.rotation import evaluate_rotation, serving_unit
from tests.api_support import ApiHarness, build_city, ref
from tests.conftest import build_app

try:
    from .test_timeline import OFFICER, Log
except ImportError:
    from test_timeline import OFFICER, Log

REF = load_reference()
D = date.fromisoformat

ART82 = "Luật CBCC Điều 82 k.2, 3 sửa đổi bởi Luật 52/2019/QH14 (25/VBHN-VPQH)"
LAW2008 = "Luật CBCC 22/2008/QH12 Điều 82 k.2 (trước 2019)"
LAW80 = "Luật CBCC 80/2025/QH15; Nghị định 172/2025/NĐ-CP (mặc định cấu hình)"
QD377 = "Quy định 377-QĐ/TW (2025-10-08)"
QD80 = "Quy định 80-QĐ/TW (2022-08-18)"
LVC56 = "Luật Viên chức Điều 56, sửa đổi bởi Luật 52/2019/QH14"
LVC56_4 = "Luật Viên chức Điều 56 k.4 (sửa đổi 2019)"
QD377_TERM = "Quy định 377-QĐ/TW: hoàn thành nhiệm vụ trong nhiệm kỳ"
ND90_48 = "Nghị định 90/2020/NĐ-CP; Nghị định 48/2023/NĐ-CP"
LIM08 = "Luật CBCC 2008 Điều 80 k.1 (24 tháng)"
LIM52 = "Luật 52/2019/QH14 (2 / 5 năm)"
NQ76 = "Nghị quyết 76/2022/QH15 (5 / 10 năm)"
ND112_5 = "Nghị định 112/2020 Điều 5 k.2 sửa đổi (tính từ khi chấm dứt)"
HN2019 = "Chủ trương TP Hà Nội 2019 (phường yếu lên quận), đến 2025-06-30"
HN2019_MERGED = HN2019 + "; đơn vị sáp nhập theo ngày hiệu lực của quyết định sáp nhập"
ND71 = "Nghị định 71/2023/NĐ-CP (từ 2023-09-20): hiệu lực tính từ ngày QĐ kỷ luật đảng"
ND112 = "Nghị định 112/2020/NĐ-CP trước 2023-09-20: hiệu lực tính từ ngày QĐ hành chính"
ND71_26 = ("Nghị định 112/2020/NĐ-CP Điều 2 k.6 sửa đổi bởi Nghị định 71/2023/NĐ-CP (từ"
           " 2023-09-20): quy trình kỷ luật hành chính trong 30 ngày sau QĐ kỷ luật đảng")
ND172 = "Nghị định 172/2025/NĐ-CP (từ 2025-07-01): thời điểm tính chưa xác minh"
ND48 = "Nghị định 48/2023/NĐ-CP (từ 2023-09-15), khoản 5 Điều 2 Nghị định 90/2020"
ND48_B = ND48 + " điểm b (vi phạm đã dùng để xếp loại KHTNV năm trước)"
ND48_C = ND48 + " điểm c (kỷ luật đảng và hành chính khác năm: tính một lần)"
ND90 = "Nghị định 90/2020/NĐ-CP (văn bản trước Nghị định 48/2023)"
LAW80_27 = "Luật CBCC 80/2025/QH15 Điều 27 k.1 điểm c, Điều 44 k.2 (từ 2026-01-01)"


@dataclass
class Row:
    """One eligibility case: an officer's record (steps), a question (on, post,
    leadership) and the verdict the law gives (and the rule outcome it rests on)."""
    id: str
    source: str
    steps: list
    on: str
    verdict: str
    post: str = "same"
    leadership: bool = True
    category: str = "cong_chuc"
    term: str | None = "2021-06-01"
    rule: tuple[str, str] | None = None  # (rule_id, outcome) that must be among the reasons


def dec(form, eff, signed=None, system="state", corruption=False, found=None):
    """A proceeding (its violation found on ``found``, default a month before signing)
    decided by one decision."""
    return ("decide", form, eff, signed or eff, system, corruption, found)


def needs_twin(row) -> bool:
    """Whether the row records a state and a Party decision on one proceeding."""
    return any(step[0] == "twin_state" for step in row.steps)


def party_then_state(party_eff: str, state_signed: str, form: str = "canh_cao") -> list:
    """A Party khiển trách and then a state decision for the same act (one proceeding)."""
    return [dec("khien_trach", party_eff, system="party"), twin_state(form, state_signed)]


def twin_state(form, eff, signed=None):
    """A state decision on the proceeding of the step before (the same act)."""
    return ("twin_state", form, eff, signed or eff)


ELIGIBILITY = [
    # -- state, Law 52/2019: what each form bars, and when it ends
    Row("law52-kt-same", ART82, [dec("khien_trach", "2025-03-03")], "2026-03-02", "eligible",
        rule=("discipline-effect", "info")),
    Row("law52-kt-higher", ART82, [dec("khien_trach", "2025-03-03")], "2026-03-02",
        "not_eligible", post="higher"),
    Row("law52-kt-higher-ended", ART82, [dec("khien_trach", "2025-03-03")], "2026-03-03",
        "eligible", post="higher"),
    Row("law52-cc-higher-last-day", ART82, [dec("canh_cao", "2024-09-02")], "2025-09-01",
        "not_eligible", post="higher"),
    Row("law52-hbl-higher", ART82, [dec("ha_bac_luong", "2024-05-02")], "2025-05-01",
        "not_eligible", post="higher", term=None),
    Row("law52-hbl-same", ART82, [dec("ha_bac_luong", "2024-05-02")], "2025-05-01",
        "eligible", term=None),
    Row("law52-gc-same", ART82, [dec("giang_chuc", "2024-09-02")], "2026-03-02",
        "not_eligible"),
    Row("law52-gc-ended", ART82, [dec("giang_chuc", "2024-03-01")], "2026-03-02", "eligible"),
    Row("law52-cach-same", ART82, [dec("cach_chuc", "2024-06-03")], "2026-03-02",
        "not_eligible"),
    # -- state, Law 80/2025: configurable default; the same-post scope is open
    Row("law80-kt-same-open", LAW80, [dec("khien_trach", "2025-08-01")], "2026-03-02",
        "needs_review", rule=("discipline-effect", "needs_review")),
    Row("law80-kt-higher", LAW80, [dec("khien_trach", "2025-08-01")], "2026-03-02",
        "not_eligible", post="higher"),
    Row("law80-cach-same", LAW80, [dec("cach_chuc", "2025-09-01")], "2026-03-02",
        "not_eligible"),
    # -- the regime date is the signing date
    Row("regime-signed-before-2025-07", ART82 + "; rules.toml regime_date",
        [dec("canh_cao", "2025-07-02", signed="2025-06-25")], "2026-03-02", "eligible"),
    Row("regime-signed-on-2025-07-01", LAW80, [dec("canh_cao", "2025-07-01")], "2026-03-02",
        "needs_review"),
    # -- before 2020-07-01 (2008 text): same-post scope open
    Row("law2008-kt-same-open", LAW2008, [dec("khien_trach", "2019-09-03")], "2020-03-02",
        "needs_review", term="2017-06-01"),
    Row("law2008-kt-ended", LAW2008, [dec("khien_trach", "2019-09-03")], "2020-09-03",
        "eligible", term="2017-06-01"),
    # -- Party discipline: higher posts only, by regulation
    Row("party-377-cc-higher", QD377, [dec("canh_cao", "2025-11-03", system="party")],
        "2026-03-02", "not_eligible", post="higher"),
    Row("party-377-cc-same", QD377, [dec("canh_cao", "2025-11-03", system="party"),
                                     ("dismiss", "2025-12-01")],
        "2026-03-02", "eligible", rule=("party-decision-awaits-state", "ok")),
    # -- a Party decision alone: the administrative process it calls for is still open
    Row("party-awaits-state", ND71_26, [dec("canh_cao", "2025-11-03", system="party")],
        "2026-03-02", "needs_review", rule=("party-decision-awaits-state", "needs_review")),
    Row("party-awaits-state-before-nd71", ND71_26,
        [dec("khien_trach", "2023-09-19", system="party")], "2023-10-02", "eligible",
        rule=("party-decision-awaits-state", "ok")),
    Row("party-awaits-state-nd71-first-day", ND71_26,
        [dec("khien_trach", "2023-09-20", system="party")], "2023-10-02", "needs_review",
        rule=("party-decision-awaits-state", "needs_review")),
    Row("party-then-state-decided", ND71_26,
        [dec("khien_trach", "2023-11-01", system="party"), twin_state("khien_trach", "2023-11-20")],
        "2024-12-02", "eligible", rule=("party-decision-awaits-state", "ok")),
    Row("party-80-kt-last-day", QD80, [dec("khien_trach", "2023-03-01", system="party")],
        "2024-02-29", "not_eligible", post="higher"),
    Row("party-80-kt-ended", QD80, [dec("khien_trach", "2023-03-01", system="party")],
        "2024-03-01", "eligible", post="higher"),
    Row("party-80-cach-60m", QD80, [dec("cach_chuc", "2024-01-02", system="party")],
        "2026-03-02", "not_eligible", post="higher"),
    Row("party-377-first-day", QD377, [dec("canh_cao", "2025-10-08", system="party")],
        "2028-10-07", "not_eligible", post="higher", term="2024-01-02"),
    # -- appeals and annulments
    Row("appeal-form-changed-same", ART82, [dec("cach_chuc", "2024-06-03"),
                                           ("appeal", "2024-06-10"),
                                           ("change", "khien_trach", "2024-08-01")],
        "2025-03-03", "eligible"),
    Row("appeal-form-changed-higher", ART82, [dec("cach_chuc", "2024-06-03"),
                                             ("appeal", "2024-06-10"),
                                             ("change", "khien_trach", "2024-08-01")],
        "2025-03-03", "not_eligible", post="higher"),
    Row("appeal-overturned", ART82, [dec("canh_cao", "2025-03-03"), ("appeal", "2025-03-10"),
                                     ("overturn", "2025-05-04")],
        "2026-01-05", "eligible", post="higher"),
    Row("annulled", ART82, [dec("cach_chuc", "2024-06-03"), ("annul", "2024-12-02")],
        "2026-03-02", "eligible"),
    # -- corruption: only cách chức for corruption bars management posts
    Row("corruption-cach", LVC56_4, [dec("cach_chuc", "2022-01-10", corruption=True)],
        "2026-03-02", "not_eligible", rule=("corruption-bar", "not_eligible")),
    Row("corruption-kt", LVC56_4, [dec("khien_trach", "2024-01-10", corruption=True)],
        "2026-03-02", "eligible", rule=("corruption-bar", "info")),
    Row("corruption-cach-not-leadership", LVC56_4,
        [dec("cach_chuc", "2022-01-10", corruption=True)], "2026-03-02", "eligible",
        leadership=False),
    Row("forced-dismissal", "rules.toml ended-employment",
        [dec("buoc_thoi_viec", "2025-09-01")], "2026-03-02", "not_eligible",
        rule=("ended-employment", "not_eligible")),
    # -- ratings and terms
    Row("khtnv-in-term", QD377_TERM, [("rate", 2023, "KHTNV")], "2026-03-02", "not_eligible"),
    Row("khtnv-before-term", QD377_TERM, [("rate", 2020, "KHTNV")], "2026-03-02", "eligible"),
    Row("khtnv-term-start-year-mostly-before", QD377_TERM, [("rate", 2021, "KHTNV")],
        "2026-06-01", "eligible", term="2021-10-01"),
    Row("two-consecutive-khtnv", "rules.toml consecutive-failed-ratings",
        [("rate", 2020, "KHTNV"), ("rate", 2021, "KHTNV")], "2025-12-01", "not_eligible",
        term="2021-03-01", rule=("consecutive-failed-ratings", "not_eligible")),
    Row("reprimand-twice-in-term", "rules.toml repeated-discipline-in-term",
        [dec("khien_trach", "2022-03-01"), dec("khien_trach", "2023-05-02")], "2026-03-02",
        "needs_review", rule=("repeated-discipline-in-term", "needs_review")),
    Row("discipline-year-rated-htt-2021", ND90_48,
        [dec("khien_trach", "2021-04-01"), ("rate", 2021, "HTTNV")], "2023-06-01",
        "needs_review", term="2019-03-01", rule=("rating-inconsistent", "needs_review")),
    Row("before-any-term", QD377_TERM, [], "2021-06-01", "eligible", term="2022-01-13"),
    Row("not-on-record", "Section 2: no verdict before joining", [], "2009-12-31",
        "not_on_record"),
    # -- viên chức
    Row("vc-kt-higher", LVC56, [dec("khien_trach", "2025-03-03")], "2026-03-02",
        "not_eligible", post="higher", category="vien_chuc"),
    Row("vc-kt-same", LVC56, [dec("khien_trach", "2025-03-03")], "2026-03-02", "eligible",
        category="vien_chuc"),
    # -- Decree 71/2023: a state decision's effect runs from the Party decision's date
    #    (picked by the state decision's signing date; Party QĐ 80 khiển trách 12 months)
    Row("nd71-signed-day-before", ND112, party_then_state("2023-09-01", "2023-09-19"),
        "2024-09-10", "not_eligible", post="higher", rule=("discipline-effect", "not_eligible")),
    Row("nd71-signed-day-of", ND71, party_then_state("2023-09-01", "2023-09-20"),
        "2024-09-10", "eligible", post="higher", rule=("discipline-effect", "ok")),
    Row("nd71-signed-day-after", ND71, party_then_state("2023-09-01", "2023-09-21"),
        "2024-09-10", "eligible", post="higher"),
    Row("nd71-period-from-party-running", ND71, party_then_state("2023-10-02", "2023-12-01"),
        "2024-09-30", "not_eligible", post="higher"),
    Row("nd71-period-from-party-ended", ND71, party_then_state("2023-10-02", "2023-12-01"),
        "2024-11-01", "eligible", post="higher"),
    Row("nd71-party-annulled", ND71 + "; QĐ kỷ luật đảng bị hủy: tính từ ngày QĐ hành chính",
        [*party_then_state("2023-10-02", "2023-12-01"), ("annul_first", "2024-01-15")],
        "2024-11-01", "not_eligible", post="higher", rule=("discipline-effect", "not_eligible")),
    Row("nd71-last-day-in-force", ND71, party_then_state("2025-06-02", "2025-06-30"),
        "2026-06-15", "eligible", post="higher"),
    Row("nd172-first-day-open", ND172, party_then_state("2025-06-02", "2025-07-01"),
        "2026-06-15", "needs_review", post="higher", rule=("discipline-effect", "needs_review")),
    Row("nd172-day-after-open", ND172, party_then_state("2025-06-02", "2025-07-02"),
        "2026-06-15", "needs_review", post="higher"),
    Row("nd172-both-starts-agree", ND172, party_then_state("2025-06-02", "2025-07-01"),
        "2026-07-02", "eligible", post="higher"),
    # -- Decree 48/2023: Party discipline counts from the 2023 evaluation year (rated after
    #    2023-09-15); two exceptions (b) and (c)
    Row("nd90-party-2022-not-counted", ND90,
        [dec("khien_trach", "2022-12-30", system="party"), ("rate", 2022, "HTTNV")],
        "2023-06-01", "eligible", term=None, rule=("rating-inconsistent", "ok")),
    Row("nd48-party-day-before", ND48,
        [dec("khien_trach", "2023-09-14", system="party"), ("rate", 2023, "HTTNV")],
        "2024-06-03", "needs_review", term=None, rule=("rating-inconsistent", "needs_review")),
    Row("nd48-party-day-of", ND48,
        [dec("khien_trach", "2023-09-15", system="party"), ("rate", 2023, "HTTNV")],
        "2024-06-03", "needs_review", term=None),
    Row("nd48-party-day-after", ND48,
        [dec("khien_trach", "2023-09-16", system="party"), ("rate", 2023, "HTTNV")],
        "2024-06-03", "needs_review", term=None),
    Row("nd48-b-used-for-khtnv-2023", ND48_B,
        [("rate", 2023, "KHTNV"), dec("khien_trach", "2024-03-01", found="2023-10-02"),
         ("rate", 2024, "HTTNV")], "2025-06-02", "eligible", term=None,
        rule=("rating-inconsistent", "info")),
    Row("nd48-b-earlier-year-not-khtnv", ND48_B,
        [("rate", 2023, "HTTNV"), dec("khien_trach", "2024-03-01", found="2023-10-02"),
         ("rate", 2024, "HTTNV")], "2025-06-02", "needs_review", term=None,
        rule=("rating-inconsistent", "needs_review")),
    Row("nd90-b-not-yet-2022", ND90,
        [("rate", 2021, "KHTNV"), dec("khien_trach", "2022-03-01", found="2021-10-04"),
         ("rate", 2022, "HTTNV")], "2023-06-01", "needs_review", term=None,
        rule=("rating-inconsistent", "needs_review")),
    Row("nd48-c-counted-once", ND48_C,
        [dec("khien_trach", "2023-11-01", system="party"), twin_state("khien_trach", "2024-02-01"),
         ("rate", 2023, "KHTNV"), ("rate", 2024, "HTTNV")], "2025-06-02", "eligible",
        term=None, rule=("rating-inconsistent", "info")),
    Row("nd48-c-counted-in-later-year", ND48_C,
        [dec("khien_trach", "2023-11-01", system="party"), twin_state("khien_trach", "2024-02-01"),
         ("rate", 2023, "HTTNV"), ("rate", 2024, "KHTNV")], "2025-06-02", "eligible",
        term=None),
    Row("nd48-c-counted-nowhere", ND48_C,
        [dec("khien_trach", "2023-11-01", system="party"), twin_state("khien_trach", "2024-02-01"),
         ("rate", 2023, "HTTNV"), ("rate", 2024, "HTTNV")], "2025-06-02", "needs_review",
        term=None, rule=("rating-inconsistent", "needs_review")),
    # -- Law 80/2025 Art. 27(1)(c): one KHTNV year -> consider a lower post or dismissal
    Row("law80-khtnv-day-before", LAW80_27, [("rate", 2024, "KHTNV")], "2025-12-31",
        "eligible", term=None),
    Row("law80-khtnv-day-of", LAW80_27, [("rate", 2025, "KHTNV")], "2026-01-01",
        "needs_review", term=None, rule=("single-failed-rating", "needs_review")),
    Row("law80-khtnv-day-after", LAW80_27, [("rate", 2025, "KHTNV")], "2026-01-02",
        "needs_review", term=None),
    Row("law80-htt-latest", LAW80_27, [("rate", 2024, "KHTNV"), ("rate", 2025, "HTTNV")],
        "2026-03-02", "eligible", term=None, rule=("single-failed-rating", "ok")),
    Row("law80-khtnv-vien-chuc", LAW80_27 + " (công chức)", [("rate", 2025, "KHTNV")],
        "2026-03-02", "eligible", term=None, category="vien_chuc",
        rule=("single-failed-rating", "info")),
]


@dataclass
class LimitRow:
    id: str
    source: str
    occurred: str
    decided: str
    form: str
    expired: bool
    extra: dict = field(default_factory=dict)


LIMITATION = [
    LimitRow("pre2020-24-months-run-out", LIM08, "2016-01-11", "2018-03-01", "canh_cao", True),
    LimitRow("pre2020-24-months-running", LIM08, "2016-03-10", "2018-03-01", "canh_cao", False),
    LimitRow("law52-2y-run-out", LIM52, "2020-08-03", "2022-08-04", "khien_trach", True),
    LimitRow("nq76-extends-running", NQ76, "2021-03-01", "2024-06-03", "khien_trach", False),
    LimitRow("nq76-no-revival", NQ76 + "; not revived", "2020-08-03", "2023-06-01",
             "khien_trach", True),
    LimitRow("clock-from-end", ND112_5, "2015-01-12", "2023-01-05", "canh_cao", False,
             {"ended_on": "2021-06-01"}),
    LimitRow("pre2020-no-exemption", LIM08 + "; no exemptions then", "2017-01-10",
             "2021-03-01", "buoc_thoi_viec", True, {"exemption": "fake_diploma"}),
]


@dataclass
class RotRow:
    """A move of an officer of ward ``w`` (ratings ``ratings``) to district ``d`` on ``on``;
    ``w`` may have been merged into ward ``w2`` (ratings ``w2_ratings``) on ``merged_on``,
    and ``d`` into another district on ``target_merged_on``."""
    id: str
    source: str
    ratings: dict
    on: str
    allowed: bool
    in_force: bool = True
    merged_on: str | None = None
    w2_ratings: dict = field(default_factory=dict)
    target_merged_on: str | None = None
    reason_code: str | None = None  # why not allowed: weak-ward-rotation | unit_merged


ROTATION = [
    RotRow("weak-last-year-up", HN2019, {2023: "weak"}, "2024-06-03", False,
           reason_code="weak-ward-rotation"),
    RotRow("weak-this-year-not-yet", HN2019, {2024: "weak"}, "2024-06-03", True),
    RotRow("rule-ended", HN2019, {2024: "weak"}, "2025-08-01", True, in_force=False),
    RotRow("average-up", HN2019, {2023: "average"}, "2024-06-03", True),
    RotRow("rule-last-day", HN2019, {2024: "weak"}, "2025-06-30", False,
           reason_code="weak-ward-rotation"),
    RotRow("rule-first-day-out", HN2019, {2024: "weak"}, "2025-07-01", True, in_force=False),
    # the officer's weak ward merged into an average one on 2024-06-03
    RotRow("merge-day-before", HN2019_MERGED, {2023: "weak"}, "2024-06-02", False,
           merged_on="2024-06-03", w2_ratings={2023: "average"},
           reason_code="weak-ward-rotation"),
    RotRow("merge-day-of", HN2019_MERGED, {2023: "weak"}, "2024-06-03", True,
           merged_on="2024-06-03", w2_ratings={2023: "average"}),
    RotRow("merge-day-after", HN2019_MERGED, {2023: "weak"}, "2024-06-04", True,
           merged_on="2024-06-03", w2_ratings={2023: "average"}),
    # an average ward merged into a weak one
    RotRow("merged-into-weak-before", HN2019_MERGED, {2023: "average"}, "2024-06-02", True,
           merged_on="2024-06-03", w2_ratings={2023: "weak"}),
    RotRow("merged-into-weak-after", HN2019_MERGED, {2023: "average"}, "2024-06-04", False,
           merged_on="2024-06-03", w2_ratings={2023: "weak"}, reason_code="weak-ward-rotation"),
    # the target district merged away
    RotRow("target-merged-day-before", HN2019_MERGED, {2023: "average"}, "2024-06-02", True,
           target_merged_on="2024-06-03"),
    RotRow("target-merged-day-of", HN2019_MERGED, {2023: "average"}, "2024-06-03", False,
           target_merged_on="2024-06-03", reason_code="unit_merged"),
]


def test_the_table_is_large_enough_and_every_row_names_its_source():
    rows = [*ELIGIBILITY, *LIMITATION, *ROTATION]
    assert len(rows) >= 40
    assert len({r.id for r in rows}) == len(rows)
    assert all(r.source.strip() for r in rows)


# --------------------------------------------------------------------------- pure functions

def pure_log(row: Row) -> Log:
    log = Log()
    log.register(category=row.category, joined_on="2010-01-04")
    if row.term:
        log.appoint(row.term, 5)
    did = aid = pid = first = None
    numbers = itertools.count(1)
    for step in row.steps:
        kind = step[0]
        if kind == "decide":
            _, form, eff, signed, system, corruption, found = step
            pid, did = log.decide(form, eff, signed_on=signed, corruption=corruption,
                                  category=row.category, number=str(next(numbers)),
                                  system=system, opened_on=found)
            first = first or did
        elif kind == "twin_state":
            _, form, eff, signed = step
            did = str(uuid.uuid4())
            log.add("Decision.Issued", did, eff, {
                "proceeding_id": pid, "officer_id": OFFICER, "category": row.category,
                "form": form, "regime": "nd112-2020" if signed < "2025-07-01" else "nd172-2025",
                "decision_ref": {"number": str(next(numbers)), "symbol": "QĐ-UBND",
                                 "issuer": "UBND", "signed_on": signed},
                "effective_from": eff, "corruption_related": False,
                "discipline_system": "state"})
            log.add("Proceeding.Decided", pid, signed, {"decision_id": did, "decided_on": signed})
        elif kind == "dismiss":  # the proceeding's administrative side closed undecided
            log.add("Proceeding.Dismissed", pid, step[1],
                    {"reason": "không xử lý kỷ luật hành chính", "dismissed_on": step[1]})
        elif kind == "appeal":
            aid = log.appeal(did, step[1])
        elif kind == "change":
            log.resolve(did, aid, "form_changed", step[2], new_form=step[1],
                        previous_form="cach_chuc")
        elif kind == "overturn":
            log.resolve(did, aid, "overturned", step[1])
        elif kind == "annul":
            log.annul(did, step[1])
        elif kind == "annul_first":
            log.annul(first, step[1])
        elif kind == "rate":
            log.rate(step[1], step[2])
    return log


def check_answer(row: Row, result: dict) -> None:
    assert result["verdict"] == row.verdict, (row.id, result["reasons"])
    assert result["post"] == row.post
    if row.rule:
        assert any((r["rule_id"], r["outcome"]) == row.rule for r in result["reasons"]), \
            (row.id, result["reasons"])


@pytest.mark.parametrize("row", ELIGIBILITY, ids=lambda r: r.id)
def test_eligibility_pure(row):
    log = pure_log(row)
    if row.verdict == "not_on_record":
        with pytest.raises(NotFound):
            evaluate(REF, log.rows, D(row.on), post=row.post, leadership=row.leadership)
        return
    check_answer(row, evaluate(REF, log.rows, D(row.on), post=row.post,
                               leadership=row.leadership))


def _violation(row: LimitRow) -> dict:
    v = {"occurred_on": D(row.occurred), "detected_on": D(row.decided) - timedelta(days=40),
         "exemption": row.extra.get("exemption")}
    if "ended_on" in row.extra:
        v["ended_on"] = D(row.extra["ended_on"])
    return v


@pytest.mark.parametrize("row", LIMITATION, ids=lambda r: r.id)
def test_limitation_pure(row):
    found = expired_under_regimes([_violation(row)], REF.limitation_periods_for("cong_chuc"),
                                  row.form, D(row.decided), set(REF.limitation_exemptions))
    assert bool(found) is row.expired


WARD = {"unit_id": "w", "level": "ward", "name": "Phường A"}
DISTRICT = {"unit_id": "d", "level": "district", "name": "Quận B"}


def rotation_units(row: RotRow) -> dict[str, dict]:
    """The row's units as the rotation rule sees them (merges with their effective dates)."""
    units = {"w": dict(WARD), "d": dict(DISTRICT),
             "w2": {"unit_id": "w2", "level": "ward", "name": "Phường C"},
             "d2": {"unit_id": "d2", "level": "district", "name": "Quận E"}}
    if row.merged_on:
        units["w"].update(merged_into="w2", merged_on=row.merged_on)
    if row.target_merged_on:
        units["d"].update(merged_into="d2", merged_on=row.target_merged_on)
    return units


@pytest.mark.parametrize("row", ROTATION, ids=lambda r: r.id)
def test_rotation_pure(row):
    units = rotation_units(row)
    src, merged = serving_unit(units["w"], units.__getitem__, row.on)
    ratings = row.w2_ratings if src["unit_id"] == "w2" else row.ratings
    answer = evaluate_rotation(REF, src, units["d"], ratings, row.on, merged_away=merged)
    assert (answer["allowed"], answer["rule_in_force"]) == (row.allowed, row.in_force)
    assert answer.get("reason_code") == row.reason_code
    if merged:
        assert row.merged_on in answer["reason_en"] and "Phường A" in answer["reason_en"]


# --------------------------------------------------------------------------- through the API

@pytest.fixture
def h(store_env):
    settings = Settings.from_env(store_env)
    flask_app = create_app(settings, service=build_app(store_env))
    flask_app.extensions["audit_service"].read_wait_seconds = 0.3
    harness = ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)
    yield harness
    harness.close()


class Api:
    def __init__(self, h: ApiHarness):
        self.h = h
        self.city = build_city(h)
        self.n = itertools.count(100)

    def ref(self, signed: str) -> dict:
        return ref(str(next(self.n)), signed)

    def officer(self, row: Row) -> str:
        h, n = self.h, next(self.n)
        oid = h.ok("admin", "/officers", {
            "personnel_code": f"HN-{n:06d}", "full_name": f"Cán bộ {n}",
            "category": row.category, "unit_id": self.city["ward"],
            "position": "Trưởng phòng" if row.term else "Chuyên viên",
            "joined_on": "2010-01-04"})["id"]
        if row.term:
            h.ok("board", f"/officers/{oid}/appointments", {
                "position": "Trưởng phòng", "term_start": row.term,
                "decision_ref": self.ref(row.term)})
        did = aid = proc = first = None
        for step in row.steps:
            kind = step[0]
            if kind == "decide":
                _, form, eff, signed, system, corruption, found = step
                d = D(signed)
                found_on = D(found) if found else d - timedelta(days=20)
                proc = h.ok("board", "/proceedings", {"officer_id": oid, "violations": [{
                    "conduct_code": "corruption" if corruption else "qd522-absent",
                    "occurred_on": (found_on - timedelta(days=10)).isoformat(),
                    "detected_on": found_on.isoformat(),
                    "description": "Vi phạm"}],
                    "opened_on": (d - timedelta(days=10)).isoformat()})
                did = h.ok("board", f"/proceedings/{proc['id']}/decision", {
                    "form": form, "decision_ref": self.ref(signed), "effective_from": eff,
                    "corruption_related": corruption, "discipline_system": system})["id"]
                first = first or did
            elif kind == "twin_state":
                _, form, eff, signed = step
                r = h.post("board", f"/proceedings/{proc['id']}/decision", {
                    "form": form, "decision_ref": self.ref(signed), "effective_from": eff,
                    "discipline_system": "state"})
                if r.status_code == 409 and r.get_json()["code"] == "proceeding_decided":
                    raise SecondDecisionRefused(row.id)
                assert r.status_code == 201, (row.id, r.get_json())
                did = r.get_json()["id"]
            elif kind == "dismiss":
                h.ok("board", f"/proceedings/{proc['id']}/dismissal", {
                    "reason": "không xử lý kỷ luật hành chính", "dismissed_on": step[1]})
            elif kind == "appeal":
                aid = h.ok("board", f"/decisions/{did}/appeals",
                           {"lodged_on": step[1], "grounds": "Không đồng ý"})["id"]
            elif kind == "change":
                h.ok("board", f"/decisions/{did}/appeals/{aid}/resolution", {
                    "outcome": "form_changed", "new_form": step[1], "resolved_on": step[2],
                    "decision_ref": self.ref(step[2])})
            elif kind == "overturn":
                h.ok("board", f"/decisions/{did}/appeals/{aid}/resolution",
                     {"outcome": "overturned", "resolved_on": step[1]})
            elif kind in ("annul", "annul_first"):
                h.ok("board", f"/decisions/{did if kind == 'annul' else first}/annulment", {
                    "reason": "sai thẩm quyền", "decision_ref": self.ref(step[1]),
                    "annulled_on": step[1]})
            elif kind == "rate":
                h.ok("board", "/evaluations/annual", {"officer_id": oid, "year": step[1],
                                                      "rating": step[2]})
        return oid


class SecondDecisionRefused(Exception):
    """The service refused a second (state) decision on a proceeding a Party decision had
    decided: it does not take one state and one Party decision on a proceeding yet."""


def _check_rows_through_the_api(h, rows):
    api = Api(h)
    officers = {row.id: api.officer(row) for row in rows}
    h.project()
    for row in rows:
        r = h.get("board", f"/officers/{officers[row.id]}/eligibility", on=row.on,
                  post=row.post, leadership=str(row.leadership).lower())
        if row.verdict == "not_on_record":
            assert r.status_code == 404 and r.get_json()["code"] == "officer_not_on_record"
            continue
        assert r.status_code == 200, (row.id, r.get_json())
        check_answer(row, r.get_json())


def test_every_eligibility_row_through_the_api(h):
    _check_rows_through_the_api(h, [row for row in ELIGIBILITY if not needs_twin(row)])


def test_rows_with_a_state_and_a_party_decision_on_one_proceeding_through_the_api(h):
    """Decree 71/2023 and Decree 48/2023 (c) rows: the act is the proceeding, so these need
    the service to take a state decision on a proceeding a Party decision decided."""
    rows = [row for row in ELIGIBILITY if needs_twin(row)]
    assert len(rows) >= 10
    try:
        _check_rows_through_the_api(h, rows)
    except SecondDecisionRefused as e:
        pytest.skip(f"the service refuses a second decision on a proceeding (row {e})")


def test_every_limitation_row_through_the_api(h):
    api = Api(h)
    oid = api.officer(Row("lim", "", [], "2026-01-01", "", term=None))
    before = h.event_count()
    for row in LIMITATION:
        v = _violation(row)
        body = {"conduct_code": "qd522-absent", "description": "Vi phạm",
                "occurred_on": row.occurred, "detected_on": v["detected_on"].isoformat(),
                "exemption": row.extra.get("exemption"), "ended_on": row.extra.get("ended_on")}
        opened = (D(row.decided) - timedelta(days=5)).isoformat()
        proc = h.ok("board", "/proceedings", {"officer_id": oid, "violations": [body],
                                              "opened_on": opened})
        before = h.event_count()
        r = h.post("board", f"/proceedings/{proc['id']}/decision", {
            "form": row.form, "decision_ref": api.ref(row.decided),
            "effective_from": row.decided})
        if row.expired:
            assert r.status_code == 409 and r.get_json()["code"] == "limitation_expired", row.id
            assert h.event_count() == before
        else:
            assert r.status_code == 201, (row.id, r.get_json())


def test_every_rotation_row_through_the_api_read_and_write(h):
    """Each row through rotation-check (the read side) and then through a rotation transfer
    on the same facts (the write side): both give the row's answer."""
    from tests.conftest import ADMIN

    api = Api(h)
    city, district = api.city["city"], api.city["district"]
    for row in ROTATION:
        n = next(api.n)
        unit = lambda code, name, level, parent: h.ok("admin", "/units", {  # noqa: E731
            "code": f"{code}-{n}", "name": f"{name} {n}", "level": level,
            "parent_id": parent})["id"]
        ward, ward2 = unit("W", "Phường", "ward", district), unit("WC", "Phường C", "ward",
                                                                   district)
        target = unit("D", "Quận", "district", city) if row.target_merged_on else district
        oid = h.ok("admin", "/officers", {
            "personnel_code": f"HN-{n:06d}", "full_name": f"Cán bộ {n}",
            "category": "cong_chuc", "unit_id": ward, "position": "Chuyên viên",
            "joined_on": "2010-01-04"})["id"]
        for unit_id, ratings in ((ward, row.ratings), (ward2, row.w2_ratings)):
            for year, rating in ratings.items():
                h.ok("admin", f"/units/{unit_id}/ratings", {"year": year, "rating": rating})
        if row.merged_on:
            h.service.merge_unit(ADMIN, ward, into_unit_id=ward2, effective_on=row.merged_on)
        if row.target_merged_on:
            h.service.merge_unit(ADMIN, target, into_unit_id=district,
                                 effective_on=row.target_merged_on)
        h.project()
        got = h.get("board", f"/officers/{oid}/rotation-check", to_unit_id=target,
                    on=row.on).get_json()
        assert (got["allowed"], got["rule_in_force"]) == (row.allowed, row.in_force), row.id
        assert got.get("reason_code") == row.reason_code, (row.id, got)
        before = h.event_count()
        r = h.post("board", f"/officers/{oid}/transfers", {
            "to_unit_id": target, "effective_on": row.on, "kind": "rotation",
            "decision_ref": api.ref(row.on)})
        if row.allowed:
            assert r.status_code == 201, (row.id, r.get_json())
        else:
            code = {"weak-ward-rotation": "weak_ward_rotation"}.get(row.reason_code,
                                                                    row.reason_code)
            assert (r.status_code, r.get_json()["code"]) == (409, code), (row.id, r.get_json())
            assert h.event_count() == before


def test_the_read_joins_a_state_and_a_party_decision_of_one_proceeding_in_a_real_store(
        store_env):
    """Until the service takes a second decision on a proceeding, the state decision is saved
    straight to the store beside the Party decision that decided the proceeding: the read
    model (timeline rows with their proceeding id) and the rule see one act."""
    from audit_service.domain.proceedings import Decision
    from projections.projector import Projector
    from projections.queries import ReadModels
    from tests.conftest import ADMIN, BOARD
    from tests.world import build_world, violation

    app = build_app(store_env)
    try:
        w = build_world(app)
        leader = app.get_officer(w.leader)
        proc = app.open_proceeding(BOARD, officer_id=w.leader, opened_on="2023-08-21",
                                   violations=[violation("2023-07-03", "2023-08-14")]).id
        app.decide_proceeding(BOARD, proc, form="khien_trach", effective_from="2023-09-01",
                              decision_ref=ref("71", "2023-09-01"), discipline_system="party")
        state = Decision(proceeding_id=proc, officer_id=leader.id, category=leader.category,
                         form="canh_cao", regime="nd112-2020",
                         decision_ref={**ref("72", "2023-09-20"), "signed_on": D("2023-09-20")},
                         effective_from=D("2023-09-20"), corruption_related=False,
                         discipline_system="state", actor_id=ADMIN.user_id, actor_role="board")
        app.save(state)
        projector = Projector(app)
        projector.catch_up()
        reads = ReadModels(projector.db, app.reference)
        got = reads.eligibility(str(w.leader), on="2024-09-10", post="higher")
        assert got["verdict"] == "eligible", got["reasons"]
        mine = [r for r in got["reasons"] if r["rule_id"] == "discipline-effect"
                and "72" in r["message_en"]]
        assert len(mine) == 1 and "runs from 2023-09-01" in mine[0]["message_en"]
        assert "Nghị định 71/2023" in mine[0]["message_en"]
        assert got["verdict"] != reads.eligibility(str(w.leader), on="2024-08-30",
                                                   post="higher")["verdict"]
    finally:
        app.close()
