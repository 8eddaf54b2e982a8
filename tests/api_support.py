"""A test client for the HTTP API on a real store: one token per role, helpers for
posting as a role, projecting, and counting stored events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api import create_app
from auditing.access import TokenStore
from audit_service.application import AuditService
from audit_service.config import Settings
from projections.db import ReadModelDB
from projections.projector import Projector
from tests.conftest import build_app

ROLES = ("inspector", "board", "auditor", "admin")


def ref(number: str, signed_on: str, issuer: str = "UBND quận Tây Hồ",
        symbol: str = "QĐ-UBND") -> dict:
    return {"number": number, "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


@dataclass
class ApiHarness:
    flask_app: Any
    service: AuditService
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = self.flask_app.test_client()
        self.db = ReadModelDB(self.settings.database)
        store = TokenStore(self.db)
        for role in ROLES:
            user, token = store.create(role, f"{role} tester")
            self.tokens[role], self.users[role] = token, user.user_id

    def headers(self, role: str | None, **extra: str) -> dict:
        h = dict(extra)
        if role:
            h["Authorization"] = f"Bearer {self.tokens[role]}"
        return h

    def post(self, role: str | None, path: str, body: Any = None, **headers: str):
        return self.client.post(f"/api/v1{path}", json=body if body is not None else {},
                                headers=self.headers(role, **headers))

    def get(self, role: str | None, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", query_string=params, headers=self.headers(role))

    def ok(self, role: str, path: str, body: Any, status: int = 201) -> dict:
        r = self.post(role, path, body)
        assert r.status_code == status, (path, r.status_code, r.get_json())
        return r.get_json()

    def project(self) -> None:
        """Bring every follower of the log up to date (read models and, when present, the
        integrity chain)."""
        Projector(self.service).catch_up()
        try:
            from auditing.integrity import IntegrityFollower
        except ImportError:
            return
        follower = IntegrityFollower(self.service)
        try:
            follower.catch_up()
            follower.checkpoint_now()
        finally:
            follower.close()

    def event_count(self) -> int:
        """Stored events (not the highest position: PostgreSQL positions may have gaps where
        an insert was refused and rolled back)."""
        return len(self.service.recorder.select_notifications(start=1, limit=10_000_000))

    def close(self) -> None:
        self.db.close()
        self.flask_app.extensions["audit_service"].close()


def harness_for(env: dict, read_wait_seconds: float | None = None) -> ApiHarness:
    """The API on the store ``env`` names, its service wired as a worker's is."""
    settings = Settings.from_env(env)
    flask_app = create_app(settings, service=build_app(env))
    if read_wait_seconds is not None:
        flask_app.extensions["audit_service"].read_wait_seconds = read_wait_seconds
    return ApiHarness(flask_app, flask_app.extensions["audit_service"].service, settings)


def build_city(h: ApiHarness) -> dict:
    """City → district → two wards, three officers (one a leader), through the API."""
    city = h.ok("admin", "/units", {"code": "01", "name": "Thành phố Hà Nội", "level": "city"})["id"]
    district = h.ok("admin", "/units", {"code": "D-TH", "name": "Quận Tây Hồ", "level": "district",
                                        "parent_id": city})["id"]
    ward = h.ok("admin", "/units", {"code": "W-QA", "name": "Phường Quảng An", "level": "ward",
                                    "parent_id": district})["id"]
    ward2 = h.ok("admin", "/units", {"code": "W-NT", "name": "Phường Nhật Tân", "level": "ward",
                                     "parent_id": district})["id"]
    officer = h.ok("admin", "/officers", {
        "personnel_code": "HN-000001", "full_name": "Nguyễn Văn An", "category": "cong_chuc",
        "unit_id": ward, "position": "Chuyên viên", "joined_on": "2010-01-04"})["id"]
    leader = h.ok("admin", "/officers", {
        "personnel_code": "HN-000002", "full_name": "Trần Thị Bình", "category": "cong_chuc",
        "unit_id": ward, "position": "Phó Chủ tịch UBND phường"})["id"]
    h.ok("board", f"/officers/{leader}/appointments", {
        "position": "Phó Chủ tịch UBND phường", "term_start": "2021-03-01",
        "decision_ref": ref("5", "2021-02-20")})
    return {"city": city, "district": district, "ward": ward, "ward2": ward2,
            "officer": officer, "leader": leader}
