"""Shared by the page tests: a small city with cases, one web account per role, and a
signed-in test client."""
from __future__ import annotations

import re
from typing import Any

from auditing.accounts import Accounts
from audit_service.application import Actor, AuditService
from projections.db import ReadModelDB
from projections.projector import Projector

PASSWORD = "mật-khẩu-thử-nghiệm"
ACCOUNTS = {"inspector": "thanh.tra", "board": "hoi.dong", "auditor": "kiem.toan",
            "admin": "quan.tri"}


def ref(number: str, signed_on: str) -> dict:
    return {"number": number, "symbol": "QĐ-UBND", "issuer": "UBND quận Tây Hồ",
            "signed_on": signed_on}


def create_accounts(db: ReadModelDB, unit_id: str | None = None) -> dict[str, str]:
    accounts = Accounts(db)
    for role, name in ACCOUNTS.items():
        accounts.set_password(name, PASSWORD, role=role, display_name=f"{role} thử nghiệm")
    return dict(ACCOUNTS)


def build_city(app: AuditService) -> dict[str, Any]:
    """A district with a ward, officers (one a leader in the notice window), an inspection
    whose team is the inspector account, a finding, a proceeding, a decision, an appeal."""
    admin, board = Actor("admin-setup", "admin"), Actor("board-setup", "board")
    inspector = Actor(ACCOUNTS["inspector"], "inspector")
    city = app.register_unit(admin, code="01", name="Thành phố Hà Nội", level="city").id
    district = app.register_unit(admin, code="D-TH", name="Quận Tây Hồ", level="district",
                                 parent_id=city).id
    ward = app.register_unit(admin, code="W-QA", name="Phường Quảng An", level="ward",
                             parent_id=district).id
    names = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Đỗ Văn Em"]
    officers = [app.register_officer(admin, personnel_code=f"HN-{n:06d}", full_name=name,
                                     category="cong_chuc", unit_id=ward,
                                     position="Chuyên viên").id
                for n, name in enumerate(names, 1)]
    leader = officers[1]
    app.appoint_officer(board, leader, position="Phó Chủ tịch UBND phường",
                        term_start="2022-01-10", term_years=5,
                        decision_ref=ref("5", "2022-01-05"))
    app.record_annual_rating(board, officer_id=leader, year=2025, rating="HTTNV")
    inspection = app.open_inspection(inspector, unit_id=ward, team=[ACCOUNTS["inspector"]],
                                     started_on="2026-11-02").id
    finding = app.record_finding(inspector, inspection, conduct_code="qd522-late",
                                 description="Đi muộn 40 phút",
                                 observed_at="2026-11-02T08:40:00+07:00",
                                 officer_id=officers[0]).id
    proceeding = app.open_proceeding(board, officer_id=officers[2], violations=[{
        "conduct_code": "qd522-late", "occurred_on": "2026-06-01", "detected_on": "2026-06-01",
        "description": "Đi muộn nhiều lần"}], opened_on="2026-07-01").id
    decided = app.open_proceeding(board, officer_id=officers[3], violations=[{
        "conduct_code": "qd522-late", "occurred_on": "2026-03-01", "detected_on": "2026-03-01",
        "description": "Đi muộn"}], opened_on="2026-03-10").id
    decision = app.decide_proceeding(board, decided, form="khien_trach",
                                     decision_ref=ref("12", "2026-04-01"),
                                     effective_from="2026-04-01").id
    app.lodge_appeal(board, decision, lodged_on="2026-04-10", grounds="Không đồng ý")
    Projector(app).catch_up()
    return {"city": str(city), "district": str(district), "ward": str(ward),
            "officers": [str(o) for o in officers], "leader": str(leader),
            "inspection": str(inspection), "finding": str(finding),
            "proceeding": str(proceeding), "decision": str(decision)}


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client, user_name: str, password: str = PASSWORD, **extra):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "user_name": user_name,
                                       "password": password, **extra})
