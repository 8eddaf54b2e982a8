"""A small, explicit world for tests: a city, a ward, officers, one inspection."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable
from uuid import UUID

from auditing.accounts import Accounts
from audit_service.application import AuditService
from projections.db import ReadModelDB
from tests.conftest import ADMIN, BOARD, INSPECTOR

TEAM = (INSPECTOR.user_id, "insp-2")  # the world's inspection team
SNAPSHOTS_TABLE = {"sqlite": "stored_snapshots", "postgresql": "auditservice_snapshots"}


def edit_snapshot(app: AuditService, aggregate_id: UUID, change: Callable[[dict], None]) -> None:
    """Rewrite the stored snapshot of an aggregate: ``change`` edits its state in place (to
    stand for a snapshot an older version of the service took)."""
    kind = app.settings.database.kind
    table = SNAPSHOTS_TABLE[kind]
    key = aggregate_id.hex if kind == "sqlite" else aggregate_id
    db = ReadModelDB(app.settings.database)
    try:
        (raw,) = db.fetchone(f"SELECT state FROM {table} WHERE originator_id = ?", (key,))
        snapshot = json.loads(bytes(raw))
        change(snapshot["state"])
        with db.transaction():
            db.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ?",
                       (json.dumps(snapshot).encode(), key))
    finally:
        db.close()


def ref(number: str, signed_on: str, issuer: str = "UBND phường Tây Hồ",
        symbol: str = "QĐ-UBND") -> dict:
    return {"number": number, "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


@dataclass
class World:
    city: UUID
    ward: UUID
    ward2: UUID
    officer: UUID
    leader: UUID
    vien_chuc: UUID
    inspection: UUID
    finding: UUID


def inspector_accounts(app: AuditService) -> None:
    """The world's inspectors as web accounts, for a service wired to its users (the API's
    and the web's), which checks an inspection team against them."""
    db = ReadModelDB(app.settings.database)
    try:
        for name in TEAM:
            Accounts(db).set_password(name, "mật-khẩu-thử-nghiệm", role="inspector")
    finally:
        db.close()


def build_world(app: AuditService) -> World:
    if app.user_directory is not None:
        inspector_accounts(app)
    city = app.register_unit(ADMIN, code="01", name="Thành phố Hà Nội", level="city").id
    district = app.register_unit(ADMIN, code="D-TH", name="Quận Tây Hồ", level="district",
                                 parent_id=city).id
    ward = app.register_unit(ADMIN, code="W-QA", name="Phường Quảng An", level="ward",
                             parent_id=district).id
    ward2 = app.register_unit(ADMIN, code="W-NT", name="Phường Nhật Tân", level="ward",
                              parent_id=district).id
    officer = app.register_officer(ADMIN, personnel_code="HN-000001", full_name="Nguyễn Văn An",
                                   category="cong_chuc", unit_id=ward, position="Chuyên viên",
                                   joined_on="2010-01-04").id
    leader = app.register_officer(ADMIN, personnel_code="HN-000002", full_name="Trần Thị Bình",
                                  category="cong_chuc", unit_id=ward,
                                  position="Phó Chủ tịch UBND phường").id
    app.appoint_officer(BOARD, leader, position="Phó Chủ tịch UBND phường",
                        term_start="2021-03-01", decision_ref=ref("5", "2021-02-20"))
    vien_chuc = app.register_officer(ADMIN, personnel_code="HN-000003", full_name="Lê Minh Châu",
                                     category="vien_chuc", unit_id=ward, position="Giáo viên").id
    inspection = app.open_inspection(INSPECTOR, unit_id=ward, team=["insp-2"],
                                     started_on="2024-03-01", announced=False).id
    finding = app.record_finding(INSPECTOR, inspection, officer_id=officer,
                                 conduct_code="qd522-late", description="Đến muộn 45 phút",
                                 observed_at="2024-03-01T08:45:00+07:00").id
    return World(city, ward, ward2, officer, leader, vien_chuc, inspection, finding)


def violation(occurred_on: str, detected_on: str | None = None, **extra) -> dict:
    return {"conduct_code": "qd522-late", "description": "Đi muộn nhiều lần",
            "occurred_on": occurred_on, "detected_on": detected_on or occurred_on, **extra}
