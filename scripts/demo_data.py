"""A deterministic, realistic demo city for the audit service (``audit-service demo-data``).

:func:`generate` loads Hanoi-like data through the service's public command methods only, so
every rule the service enforces is checked on every record. All choices come from one
``random.Random(seed)``; the service's "today" (``app.today()``) bounds every date. Given the
same seed and the same today, two runs send the same commands in the same order and return the
same counts (the service assigns the UUIDs, which therefore differ between runs). Each command
carries an Idempotency-Key derived from the seed, the size, today and its sequence number, so an
interrupted load re-run with the same arguments completes the same city, nothing twice.

What is loaded:

* units: the city (``01``), its Department of Home Affairs, four old districts (Ba Đình,
  Hoàn Kiếm, Tây Hồ, Cầu Giấy) with five wards each; unit ratings 2019-2025 (two wards are
  weak every year); districts merged into the city on 2025-07-01 (two-tier local government);
* officers with Vietnamese names, categories, positions and joining dates; about 15 % leaders
  with five-year terms starting 2018-2022, reappointment decisions for ended terms (both
  outcomes); transfers and rotations (including rotations from a weak ward up to a district,
  which the weak-ward-rotation rule should flag); the 2025 move of district staff to wards and
  some retirements;
* inspections by teams of inspectors (``insp-01`` ... ``insp-06``) 2018 to today, announced
  and unannounced, with findings (some about the unit only), corrections and withdrawals;
* disciplinary proceedings from findings and complaints: decisions (forms valid for the
  officer's category on the decision date), deferrals, dismissals, appeals, annulments, two
  corruption cases;
* annual ratings 2019-2025 for everyone in service (KHTNV in years with discipline) and monthly
  grades for the last six complete months, with a few corrections;
* leaders whose term ends soon in each state the eligibility check distinguishes: clean,
  KHTNV in the term, discipline effect in force, open proceeding.

Document numbers (``số``) count up per issuer, symbol and year, so every decision reference is
unique by (issuer, symbol, number, year) as the service requires.

Ward and district codes follow the GSO list (Quyết định 124/2004/QĐ-TTg) as remembered; they
are illustrative and should be checked before being relied on.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from uuid import UUID

from tqdm import tqdm

from audit_service.application import Actor, AuditService, CommandResult, IdempotencyClaim
from audit_service.clock import VIETNAM
from audit_service.domain import IdempotencyRecord
from audit_service.limitation import add_years

__all__ = ["generate", "demo_state", "DemoState", "ADMIN", "BOARD", "INSPECTORS"]

ADMIN = Actor("demo-admin", "admin")
BOARD = Actor("demo-board", "board")
INSPECTORS = tuple(f"insp-{n:02d}" for n in range(1, 7))

REFORM_DAY = date(2025, 7, 1)  # districts abolished: two-tier local government in Hanoi
EARLIEST_TODAY = date(2026, 1, 1)
FIRST_RATING_YEAR = 2019
LAST_RATING_YEAR = 2025
CITY_ISSUER = "UBND thành phố Hà Nội"
DEPT_ISSUER = "Sở Nội vụ thành phố Hà Nội"
HOLIDAYS = ((1, 1), (4, 30), (5, 1), (9, 2))  # fixed-date public holidays
#: the first day of the lunar new year (Mùng 1 Tết); the office closes the day before and the
#: three days after. Years not listed have no Tết break here (the demo is still valid).
TET = {2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25),
       2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
       2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
       2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
       2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11)}


def is_working_day(day: date) -> bool:
    """Not a weekend, a fixed public holiday or the Tết break."""
    if day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        return False
    tet = TET.get(day.year)
    return tet is None or not -1 <= (day - tet).days <= 3

# --------------------------------------------------------------------------- names

SURNAMES = (("Nguyễn", 31), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 1),
            ("Phan", 3), ("Vũ", 5), ("Võ", 1), ("Đặng", 3), ("Bùi", 3), ("Đỗ", 4), ("Hồ", 1),
            ("Ngô", 2), ("Dương", 2), ("Lý", 1))
MIDDLE_MALE = (("Văn", 30), ("Đức", 12), ("Minh", 10), ("Quang", 8), ("Thanh", 6), ("Hữu", 6),
               ("Mạnh", 4), ("Xuân", 4), ("Tiến", 3), ("Ngọc", 2), ("Công", 3), ("Trung", 3))
MIDDLE_FEMALE = (("Thị", 40), ("Thu", 10), ("Hồng", 8), ("Ngọc", 8), ("Thanh", 6), ("Minh", 5),
                 ("Phương", 4), ("Thùy", 5), ("Kim", 3), ("Bích", 3))
GIVEN_MALE = ("Anh", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Quân", "Sơn",
              "Tuấn", "Hiếu", "Thắng", "Trung", "Khánh", "Đạt", "Hoàng", "Phong", "Tùng", "Việt",
              "Huy", "Thành", "Kiên", "Lâm", "Hưng")
GIVEN_FEMALE = ("Anh", "Hà", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Trang",
                "Vân", "Hằng", "Huyền", "Yến", "Ngân", "Thủy", "Dung", "Hạnh", "Nhung", "Oanh",
                "Loan", "Hoa")

# --------------------------------------------------------------------------- units

DISTRICTS = (
    ("001", "Ba Đình", (("00001", "Phúc Xá"), ("00004", "Trúc Bạch"), ("00006", "Vĩnh Phúc"),
                        ("00007", "Cống Vị"), ("00008", "Liễu Giai"))),
    ("002", "Hoàn Kiếm", (("00037", "Phúc Tân"), ("00040", "Đồng Xuân"), ("00043", "Hàng Mã"),
                          ("00046", "Hàng Buồm"), ("00049", "Hàng Đào"))),
    ("003", "Tây Hồ", (("00091", "Phú Thượng"), ("00094", "Nhật Tân"), ("00097", "Tứ Liên"),
                       ("00100", "Quảng An"), ("00103", "Xuân La"))),
    ("005", "Cầu Giấy", (("00157", "Nghĩa Đô"), ("00160", "Nghĩa Tân"), ("00163", "Mai Dịch"),
                         ("00166", "Dịch Vọng"), ("00172", "Yên Hòa"))),
)
#: The instrument that rearranged Hanoi's units in 2025 (to verify against the original).
REFORM_REF = {"number": "1656", "symbol": "NQ-UBTVQH15", "issuer": "Ủy ban Thường vụ Quốc hội",
              "signed_on": date(2025, 6, 16)}

# --------------------------------------------------------------------------- positions

WARD_CONG_CHUC = ("Công chức Văn phòng – Thống kê", "Công chức Tư pháp – Hộ tịch",
                  "Công chức Địa chính – Xây dựng – Đô thị và Môi trường",
                  "Công chức Tài chính – Kế toán", "Công chức Văn hóa – Xã hội",
                  "Chuyên viên Bộ phận Tiếp nhận và Trả kết quả", "Chuyên viên")
WARD_CAN_BO = ("Bí thư Đảng ủy phường", "Chủ tịch Ủy ban MTTQ Việt Nam phường",
               "Chủ tịch Hội Liên hiệp Phụ nữ phường", "Bí thư Đoàn TNCS Hồ Chí Minh phường",
               "Chủ tịch Hội Cựu chiến binh phường")
WARD_VIEN_CHUC = ("Viên chức Trạm Y tế phường", "Viên chức Trung tâm Văn hóa – Thể thao phường")
WARD_NEW_DEPTS = ("Phòng Kinh tế, Hạ tầng và Đô thị", "Phòng Văn hóa – Xã hội",
                  "Văn phòng HĐND và UBND")
DISTRICT_CONG_CHUC = ("Chuyên viên Phòng Nội vụ", "Chuyên viên Phòng Tư pháp",
                      "Chuyên viên Phòng Tài nguyên và Môi trường",
                      "Chuyên viên Phòng Quản lý đô thị",
                      "Chuyên viên Văn phòng HĐND và UBND quận",
                      "Chuyên viên Phòng Tài chính – Kế hoạch", "Thanh tra viên Thanh tra quận")
DISTRICT_VIEN_CHUC = ("Viên chức Ban Quản lý dự án đầu tư xây dựng quận",
                      "Viên chức Trung tâm Văn hóa – Thông tin và Thể thao quận")
DEPT_CONG_CHUC = ("Chuyên viên Phòng Công chức, viên chức", "Chuyên viên Phòng Cải cách hành chính",
                  "Thanh tra viên Thanh tra Sở", "Chuyên viên Văn phòng Sở",
                  "Chuyên viên Phòng Xây dựng chính quyền và công tác thanh niên")
DEPT_VIEN_CHUC = ("Viên chức Trung tâm Lưu trữ lịch sử",)
LEADER_POSTS = {
    "ward": ("Chủ tịch UBND phường {}", "Phó Chủ tịch UBND phường {}",
             "Phó Chủ tịch UBND phường {}"),
    "district": ("Trưởng phòng Nội vụ quận {}", "Chánh Văn phòng HĐND và UBND quận {}",
                 "Phó Trưởng phòng Tư pháp quận {}", "Phó Trưởng phòng Quản lý đô thị quận {}"),
    "department": ("Phó Giám đốc Sở Nội vụ", "Trưởng phòng Cải cách hành chính",
                   "Chánh Thanh tra Sở Nội vụ", "Phó Trưởng phòng Công chức, viên chức"),
}

# --------------------------------------------------------------------------- findings

PROCEDURES = ("chứng thực bản sao từ bản chính", "đăng ký khai sinh", "đăng ký kết hôn",
              "xác nhận tình trạng hôn nhân", "đăng ký khai tử", "chứng thực chữ ký",
              "cấp bản sao trích lục hộ tịch", "xác nhận hồ sơ đề nghị cấp giấy phép xây dựng")
#: conduct code -> (weight for findings about an officer, base severity 1-4)
OFFICER_CODES = {
    "qd522-late": (20, 1), "qd522-absent": (10, 2), "qd522-working-hours": (8, 1),
    "qd522-dress-badge": (10, 1), "qd522-manner-citizens": (10, 2),
    "qd522-manner-colleagues": (3, 1), "qd522-work-discipline": (8, 1),
    "qd522-gifts-harassment": (3, 3), "qd522-public-assets": (2, 2), "dossier-overdue": (15, 2),
    "dossier-wrong-procedure": (6, 2), "official-duty-failure": (5, 2),
    "complaint-citizen": (4, 2),
}
UNIT_CODES = {"dossier-overdue": 5, "qd522-work-discipline": 3, "official-duty-failure": 2,
              "qd522-public-assets": 1}
COMPLAINT_CODES = {"complaint-citizen": 6, "qd522-manner-citizens": 3,
                   "qd522-gifts-harassment": 2, "dossier-wrong-procedure": 2,
                   "dossier-overdue": 2}
#: probability that a finding about an officer ends in a proceeding (else "kiểm điểm")
PROCEEDING_CHANCE = {1: 0.12, 2: 0.3, 3: 0.8, 4: 1.0}


def _describe(rng: random.Random, code: str, unit_only: bool = False) -> str:
    proc = rng.choice(PROCEDURES)
    if unit_only:
        return {
            "dossier-overdue": f"Đơn vị có {rng.randint(4, 30)} hồ sơ {proc} giải quyết quá hạn"
                               " trong kỳ kiểm tra, chưa có văn bản xin lỗi công dân.",
            "qd522-work-discipline": "Bộ phận Tiếp nhận và Trả kết quả không niêm yết công khai"
                                     " đầy đủ thủ tục hành chính; sổ theo dõi không cập nhật.",
            "official-duty-failure": "Chưa ban hành kế hoạch triển khai Quy tắc ứng xử của cán bộ,"
                                     " công chức, viên chức trong năm.",
            "qd522-public-assets": "Thiết bị điện, điều hòa hoạt động ngoài giờ làm việc,"
                                   " sử dụng tài sản công lãng phí.",
        }[code]
    if code == "qd522-late":
        late = rng.randint(10, 55)
        return (f"Có mặt tại cơ quan lúc 8:{late:02d}, muộn {late} phút so với giờ làm việc,"
                " không báo cáo lãnh đạo.")
    if code == "qd522-absent":
        start = rng.randint(8, 14)
        end = start + rng.randint(1, 2)
        return (f"Không có mặt tại vị trí làm việc từ {start}:00 đến {end}:30,"
                " không có lý do chính đáng.")
    if code == "qd522-working-hours":
        return rng.choice(("Sử dụng thời giờ làm việc để làm việc riêng trên máy tính cơ quan.",
                           f"Rời cơ quan lúc 16:{rng.randint(5, 45):02d}, trước giờ kết thúc"
                           " làm việc, không được lãnh đạo đồng ý."))
    if code == "qd522-dress-badge":
        return rng.choice(("Không đeo thẻ công chức trong giờ làm việc tại Bộ phận một cửa.",
                           "Trang phục không đúng quy định khi tiếp công dân."))
    if code == "qd522-manner-citizens":
        return f"Có thái độ thiếu tôn trọng, lớn tiếng với công dân đến làm thủ tục {proc}."
    if code == "qd522-manner-colleagues":
        return "Có lời lẽ thiếu chuẩn mực với đồng nghiệp trong cuộc họp giao ban."
    if code == "qd522-work-discipline":
        return rng.choice(("Hút thuốc lá trong phòng làm việc.",
                           "Không cập nhật sổ theo dõi giải quyết hồ sơ theo quy định."))
    if code == "qd522-gifts-harassment":
        return (f"Yêu cầu công dân bổ sung giấy tờ ngoài thành phần hồ sơ {proc}, gây phiền hà;"
                " có biểu hiện gợi ý “bồi dưỡng”.")
    if code == "qd522-public-assets":
        return "Sử dụng xe ô tô công vào việc riêng ngoài giờ làm việc."
    if code == "dossier-overdue":
        low = rng.randint(1, 5)
        return (f"{rng.randint(2, 12)} hồ sơ {proc} giải quyết quá hạn từ {low} đến"
                f" {low + rng.randint(1, 10)} ngày làm việc, không có văn bản xin lỗi công dân.")
    if code == "dossier-wrong-procedure":
        return (f"Tiếp nhận hồ sơ {proc} không qua Bộ phận một cửa, không cập nhật trên Hệ thống"
                " thông tin giải quyết thủ tục hành chính.")
    if code == "official-duty-failure":
        return rng.choice(("Không hoàn thành nhiệm vụ kiểm tra, xử lý vi phạm trật tự xây dựng"
                           " được giao trên địa bàn.",
                           "Chậm triển khai nhiệm vụ được giao trong kế hoạch công tác quý."))
    if code == "complaint-citizen":
        return (f"Công dân phản ánh qua đường dây nóng về việc chậm giải quyết hồ sơ {proc};"
                " đã xác minh, phản ánh có căn cứ.")
    if code == "corruption":
        return ("Nhận tiền của công dân để “hỗ trợ” đẩy nhanh hồ sơ đề nghị cấp giấy phép xây"
                " dựng; đã xác minh, có căn cứ.")
    raise ValueError(code)


# --------------------------------------------------------------------------- resumable loads
#
# Every command is sent with an Idempotency-Key derived from (seed, officers, today, its
# sequence number), so re-running an interrupted load replays what was stored (the service
# answers with the first result and appends nothing) and appends only what is missing. Two
# markers, idempotency records of their own, bracket a load: "start" holds the day the load
# was made for (a resumed load must use the same day to send the same commands), "complete"
# holds the summary.


@dataclass(frozen=True)
class DemoState:
    """What a store holds of the demo city for one (seed, officers)."""

    today: date  # the 'today' the load was made for
    summary: dict[str, int] | None  # None while the load is incomplete


class Later:
    """A command argument computed only if the command is sent for the first time (the
    eligibility hash a board saw: a replay must not ask the read models again)."""

    def __init__(self, compute: Callable[[], Any]):
        self.compute = compute


def _marker_claim(seed: int, officers: int, what: str) -> IdempotencyClaim:
    return IdempotencyClaim.of(ADMIN, f"demo-data:{seed}:{officers}:{what}", b"demo-data")


def demo_state(app: AuditService, seed: int, officers: int) -> DemoState | None:
    """The demo load of this seed and size that the store holds, if any."""
    start, done = (_marker_claim(seed, officers, w).record_id for w in ("start", "complete"))
    found = app.existing_ids([start, done])
    if start not in found:
        return None
    today = date.fromisoformat(app.repository.get(start).extra["today"])
    summary = None
    if done in found:
        summary = {k: int(v) for k, v in app.repository.get(done).extra.items()}
    return DemoState(today, summary)


def _save_marker(app: AuditService, seed: int, officers: int, what: str,
                 extra: dict[str, Any]) -> int:
    """Save a marker (an idempotency record of the load); returns the events appended."""
    claim = _marker_claim(seed, officers, what)
    record = IdempotencyRecord(
        user_id=ADMIN.user_id, key_sha256=claim.key_sha256,
        request_sha256=claim.request_sha256, result_id=claim.record_id,
        extra={k: str(v) for k, v in extra.items()}, appended=[[str(claim.record_id), 1]],
        **ADMIN.kw)
    return len(app.save(record))


def _plain(value: Any) -> Any:
    """JSON for a command's arguments (the request fingerprint of its Idempotency-Key)."""
    if isinstance(value, Actor):
        return [value.user_id, value.role]
    if isinstance(value, (date, datetime, UUID)):
        return str(value)
    if isinstance(value, Later):
        return "later"
    raise TypeError(f"cannot fingerprint {value!r}")


# --------------------------------------------------------------------------- world model

@dataclass(eq=False)
class _Unit:
    code: str
    short: str
    level: str
    parent: "_Unit | None" = None
    id: UUID | None = None
    ratings: dict[int, str] = field(default_factory=dict)
    weak: bool = False

    @property
    def name(self) -> str:
        return {"city": "Thành phố Hà Nội", "department": DEPT_ISSUER,
                "district": f"Quận {self.short}", "ward": f"Phường {self.short}"}[self.level]

    @property
    def issuer(self) -> str:
        return {"city": CITY_ISSUER, "department": DEPT_ISSUER,
                "district": f"UBND quận {self.short}",
                "ward": f"UBND phường {self.short}"}[self.level]

    @property
    def district(self) -> "_Unit | None":
        if self.level == "district":
            return self
        return self.parent if self.level == "ward" else None


@dataclass(eq=False)
class _Decision:
    case: "_Case"
    form: str
    signed: date
    effective: date
    issuer: str
    ref: dict
    corruption: bool
    id: UUID | None = None
    voided_on: date | None = None  # annulled, or overturned on appeal
    voided_how: str | None = None
    appealed: bool = False


@dataclass(eq=False)
class _Case:
    officer: "_Officer"
    violations: list[dict]
    detected: date
    opened: date
    severity: int
    plan: str  # decide | dismiss | open | defer
    corruption: bool = False
    deferral: str | None = None
    form: str | None = None  # a fixed form, for the special cases
    id: UUID | None = None
    deferred_on: date | None = None
    until: date | None = None
    end: date | None = None  # the day it was decided or dismissed, if not after today
    effective: date | None = None  # when decided: the decision's effective date
    closed_on: date = date.max
    decision: _Decision | None = None


@dataclass(eq=False)
class _Officer:
    n: int
    code: str
    name: str
    female: bool
    category: str
    position: str
    joined_on: date
    quality: str  # good | normal | weak
    moves: list[tuple[date, _Unit]]
    id: UUID | None = None
    leader_post: str | None = None
    term_start: date | None = None
    role: str | None = None  # eligibility role of a leader: clean | khtnv | effect | open
    left_on: date | None = None
    forced_khtnv: list[int] = field(default_factory=list)
    cases: list[_Case] = field(default_factory=list)
    ratings: dict[int, str] = field(default_factory=dict)
    last_event: date | None = None

    def unit_on(self, day: date) -> _Unit | None:
        current = None
        for since, unit in self.moves:
            if since <= day:
                current = unit
        return current

    def active_on(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day < self.left_on)

    def leader_on(self, day: date) -> bool:
        return self.term_start is not None and self.term_start <= day

    def touch(self, day: date) -> None:
        if self.last_event is None or day > self.last_event:
            self.last_event = day

    def decisions(self) -> list[_Decision]:
        return [c.decision for c in self.cases if c.decision is not None]


# --------------------------------------------------------------------------- the loader

class _Demo:
    def __init__(self, app: AuditService, rng: random.Random, officers: int, seed: int,
                 progress: bool, resuming: bool = False):
        self.app = app
        self.resuming = resuming
        self.sequence = 0  # of the next command: its Idempotency-Key
        self.projector: Any = None  # brought up to date before each reappointment decision
        self.rng = rng
        self.seed = seed
        self.size = officers
        self.today = app.today()
        self.ref_data = app.reference
        self.counts: Counter[str] = Counter()
        self.events = 0
        self.numbers: dict[tuple[str, str, int], int] = {}
        self.key = f"demo-data:{seed}:{officers}:{self.today.isoformat()}"
        self.bar = tqdm(desc="demo data", unit=" cmd", disable=not progress, leave=True)
        self.units: list[_Unit] = []
        self.city: _Unit | None = None
        self.dept: _Unit | None = None
        self.districts: list[_Unit] = []
        self.wards: list[_Unit] = []
        self.officers: list[_Officer] = []
        self.cases: list[_Case] = []
        self.last_rating_year = min(LAST_RATING_YEAR, self.today.year - 1)

    # ---------------------------------------------------------------- helpers

    def run_cmd(self, count_as: str, method: Callable[..., CommandResult], /, *args: Any,
                **kwargs: Any) -> CommandResult:
        """Send one command (idempotently: a command an interrupted load stored is replayed,
        not sent again); any refusal propagates: it is a bug in this generator."""
        actor = args[0]  # every command takes the actor first
        fingerprint = json.dumps([method.__name__, args, kwargs], default=_plain,
                                 sort_keys=True, ensure_ascii=False)
        claim = IdempotencyClaim.of(actor, f"{self.key}:{self.sequence}", fingerprint.encode())
        self.sequence += 1
        later = any(isinstance(v, Later) for v in kwargs.values())
        result = self.app.replay(claim) if later and self.resuming else None
        if result is None:
            kwargs = {k: v.compute() if isinstance(v, Later) else v for k, v in kwargs.items()}
            result, _ = self.app.idempotent(claim, lambda: method(*args, **kwargs))
        self.events += len(result.positions)
        self.counts[count_as] += 1
        self.bar.update(1)
        return result

    def phase(self, name: str) -> None:
        self.bar.set_description_str(f"demo data: {name}")

    def day(self, lo: date, hi: date) -> date:
        """A random day in [lo, hi], never after today."""
        hi = min(hi, self.today)
        if hi < lo:
            raise ValueError(f"empty date range {lo}..{hi}")
        return lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    def workday(self, day: date, lo: date | None = None, hi: date | None = None) -> date:
        """The next working day from ``day`` if it is not after ``hi`` (default today), else
        the previous one if it is not before ``lo``; else ``day`` itself. The answer is never
        after ``max(day, hi)``, and with ``lo`` never before ``min(day, lo)``."""
        hi = self.today if hi is None else min(hi, self.today)
        forward = day
        while not is_working_day(forward):
            forward += timedelta(days=1)
        if forward <= hi:
            return forward
        back = day
        while not is_working_day(back):
            back -= timedelta(days=1)
        return back if lo is None or back >= lo else day

    def ref(self, issuer: str, signed_on: date, symbol: str = "QĐ-UBND") -> dict:
        """The next document number of this issuer, symbol and year (numbers restart yearly)."""
        key = (issuer, symbol, signed_on.year)
        if key not in self.numbers:
            self.numbers[key] = self.rng.randint(40, 400)
        self.numbers[key] += self.rng.randint(1, 30)
        return {"number": str(self.numbers[key]), "symbol": symbol, "issuer": issuer,
                "signed_on": signed_on}

    @staticmethod
    def ref_text(ref: dict) -> str:
        return f"số {ref['number']}/{ref['symbol']} ngày {ref['signed_on']:%d/%m/%Y}"

    def weighted(self, table: dict[str, int] | tuple) -> str:
        items = list(table.items()) if isinstance(table, dict) else list(table)
        return self.rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]

    # ---------------------------------------------------------------- run

    def run(self) -> dict[str, int]:
        self.load_units()
        self.load_unit_ratings()
        self.plan_officers()
        self.load_officers()
        self.plan_leaders()
        self.load_appointments()
        self.plan_leaving()
        self.load_transfers()
        self.load_reform()
        self.load_inspections()
        self.plan_cases()
        self.load_cases()
        self.load_appeals_and_annulments()
        self.load_dismissals_from_service()
        self.load_reappointments()
        self.load_annual_ratings()
        self.load_monthly_grades()
        self.phase("done")
        order = ("units", "unit_ratings", "unit_rating_corrections", "unit_merges", "officers",
                 "appointments", "reappointments", "transfers", "rotations", "leavings",
                 "inspections", "inspections_closed", "findings", "finding_corrections",
                 "findings_withdrawn", "proceedings", "deferrals", "dismissals", "decisions",
                 "appeals", "appeals_resolved", "annulments", "annual_ratings",
                 "annual_rating_corrections", "monthly_grades", "monthly_grade_corrections")
        summary = {k: self.counts.get(k, 0) for k in order}
        summary.update({k: v for k, v in self.counts.items() if k not in summary})
        summary["events"] = self.events
        return summary

    # ---------------------------------------------------------------- units

    def load_units(self) -> None:
        self.phase("units")
        self.city = _Unit("01", "Hà Nội", "city")
        self.dept = _Unit("01-SNV", "Sở Nội vụ", "department", self.city)
        self.units = [self.city, self.dept]
        for code, short, wards in DISTRICTS:
            district = _Unit(code, short, "district", self.city)
            self.districts.append(district)
            self.units.append(district)
            for ward_code, ward_short in wards:
                ward = _Unit(ward_code, ward_short, "ward", district)
                self.wards.append(ward)
                self.units.append(ward)
        for unit in self.units:
            result = self.run_cmd("units", self.app.register_unit, ADMIN, code=unit.code,
                                  name=unit.name, level=unit.level,
                                  parent_id=unit.parent.id if unit.parent else None)
            unit.id = result.id
        for ward in self.rng.sample(self.wards, 2):
            ward.weak = True

    def load_unit_ratings(self) -> None:
        self.phase("unit ratings")
        rated = [u for u in self.units if u.level in ("department", "district", "ward")]
        quality = {id(u): self.rng.choices(("strong", "average", "weak"), (3, 6, 1))[0]
                   for u in rated}
        sources: dict[tuple[str, int, bool], str] = {}  # one decision rates a set of units
        for year in range(FIRST_RATING_YEAR, LAST_RATING_YEAR + 1):
            for unit in rated:
                if unit.level == "district" and year >= REFORM_DAY.year:
                    continue  # abolished during 2025: never rated for it
                district = unit.district
                issuer = (district.issuer if unit.level == "ward" and year < REFORM_DAY.year
                          else CITY_ISSUER)
                key = (issuer, year, unit.level == "ward")
                if key not in sources:
                    signed = self.workday(date(year + 1, 1, 10) + timedelta(
                        days=self.rng.randint(0, 40)))
                    if signed > self.today:
                        sources[key] = ""
                    else:
                        what = ("xếp loại chính quyền cơ sở" if unit.level == "ward"
                                else "đánh giá, xếp loại mức độ hoàn thành nhiệm vụ")
                        ref = self.ref(issuer, signed)
                        sources[key] = (f"Quyết định {self.ref_text(ref)} của {issuer}"
                                        f" về {what} năm {year}")
                if not sources[key]:
                    continue
                if unit.weak:
                    rating = "weak"
                else:
                    rating = quality[id(unit)]
                    if self.rng.random() < 0.25:  # ratings drift a little from year to year
                        rating = self.rng.choice(("strong", "average", "average"))
                unit.ratings[year] = rating
                self.run_cmd("unit_ratings", self.app.rate_unit, ADMIN, unit.id, year=year,
                             rating=rating, source=sources[key])
        # one correction after a review by the Department of Home Affairs
        candidates = [(u, y) for u in rated if not u.weak for y, r in u.ratings.items()
                      if r == "strong"]
        if candidates:
            unit, year = self.rng.choice(candidates)
            unit.ratings[year] = "average"
            self.run_cmd("unit_rating_corrections", self.app.rate_unit, ADMIN, unit.id,
                         year=year, rating="average", source=f"Sở Nội vụ thẩm định lại năm {year}",
                         correction_reason="Điều chỉnh theo kết quả thẩm định của Sở Nội vụ:"
                                           " tiêu chí cải cách hành chính chưa đạt.")

    # ---------------------------------------------------------------- officers

    def person(self) -> tuple[str, bool]:
        rng = self.rng
        female = rng.random() < 0.5
        surname = self.weighted(SURNAMES)
        middle = self.weighted(MIDDLE_FEMALE if female else MIDDLE_MALE)
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        while given == middle:
            given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        if female and middle == "Thị" and rng.random() < 0.2:
            second = self.weighted(MIDDLE_FEMALE[1:])
            if second != given:
                middle = f"Thị {second}"
        return f"{surname} {middle} {given}", female

    def plan_officers(self) -> None:
        rng = self.rng
        n = self.size
        shares = [(self.dept, 5.0)] + [(d, 3.5) for d in self.districts] + \
                 [(w, 81.0 / len(self.wards)) for w in self.wards]
        total = sum(s for _, s in shares)
        exact = [(u, n * s / total) for u, s in shares]
        sizes = {id(u): int(x) for u, x in exact}
        rest = n - sum(sizes.values())
        by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] % 1), i))
        for i in by_remainder[:rest]:
            sizes[id(exact[i][0])] += 1
        slots = [u for u, _ in shares for _ in range(sizes[id(u)])]
        rng.shuffle(slots)
        can_bo_left = {id(w): list(WARD_CAN_BO[:3]) for w in self.wards}
        for i, unit in enumerate(slots, start=1):
            name, female = self.person()
            category, position = "cong_chuc", ""
            draw = rng.random()
            if unit.level == "ward":
                left = [p for p in can_bo_left[id(unit)]
                        if female or "Phụ nữ" not in p]
                if draw < 0.12 and left:
                    position = left[0]
                    can_bo_left[id(unit)].remove(position)
                    category = "can_bo"
                elif draw > 0.9:
                    category, position = "vien_chuc", rng.choice(WARD_VIEN_CHUC)
                else:
                    position = rng.choice(WARD_CONG_CHUC)
            elif unit.level == "district":
                if draw > 0.88:
                    category, position = "vien_chuc", rng.choice(DISTRICT_VIEN_CHUC)
                else:
                    position = rng.choice(DISTRICT_CONG_CHUC)
            else:
                if draw > 0.9:
                    category, position = "vien_chuc", rng.choice(DEPT_VIEN_CHUC)
                else:
                    position = rng.choice(DEPT_CONG_CHUC)
            joined = self.day(date(2005, 1, 1), date(2018, 12, 31))
            quality = rng.choices(("good", "normal", "weak"), (25, 60, 15))[0]
            self.officers.append(_Officer(i, f"HN-{i:06d}", name, female, category, position,
                                          joined, quality, [(joined, unit)]))

    def load_officers(self) -> None:
        self.phase("officers")
        for off in self.officers:
            unit = off.moves[0][1]
            result = self.run_cmd("officers", self.app.register_officer, ADMIN,
                                  personnel_code=off.code, full_name=off.name,
                                  category=off.category, unit_id=unit.id, position=off.position,
                                  joined_on=off.joined_on)
            off.id = result.id

    # ---------------------------------------------------------------- leaders

    def plan_leaders(self) -> None:
        rng = self.rng
        target = max(1, round(self.size * 0.15))
        units = [self.dept] + self.districts + self.wards
        rng.shuffle(units)
        chosen: list[_Officer] = []
        for rank in range(4):
            for unit in units:
                posts = LEADER_POSTS[unit.level]
                if len(chosen) >= target or rank >= len(posts):
                    continue
                pool = [o for o in self.officers if o.moves[0][1] is unit
                        and o.category == "cong_chuc" and o.leader_post is None]
                if not pool:
                    continue
                off = min(pool, key=lambda o: (o.joined_on, o.n))  # the most senior
                off.leader_post = posts[rank].format(unit.short)
                lo = max(date(2018, 1, 2), add_years(off.joined_on, 2))
                off.term_start = self.workday(self.day(lo, date(2022, 12, 30)))
                chosen.append(off)
        # leaders whose term ends within about 15 months: one of each eligibility case
        soon = [o for o in chosen
                if self.today < add_years(o.term_start, 5) <= self.today + timedelta(days=460)]
        soon.sort(key=lambda o: (add_years(o.term_start, 5), o.n))
        roles = ("clean", "khtnv", "effect", "open")
        for i, off in enumerate(soon[:2 * len(roles)]):
            off.role = roles[i % len(roles)]
        # leaders whose term has ended: some failed a year in the term
        ended = [o for o in chosen if add_years(o.term_start, 5) <= self.today]
        for i, off in enumerate(ended):
            if i % 4 == 1:
                off.role = "khtnv"
        for off in chosen:
            if off.role == "khtnv":
                end = add_years(off.term_start, 5)
                years = [y for y in range(max(off.term_start.year + 1, FIRST_RATING_YEAR),
                                          min(end.year - 1, self.last_rating_year) + 1)]
                if years:
                    off.forced_khtnv.append(rng.choice(years))
                else:
                    off.role = None

    def appointment_issuer(self, off: _Officer, day: date) -> str:
        unit = off.unit_on(day)
        if unit.level == "ward" and day < REFORM_DAY:
            return unit.parent.issuer
        if unit.level == "district" and "Trưởng phòng" in (off.leader_post or ""):
            return unit.issuer
        return CITY_ISSUER

    def load_appointments(self) -> None:
        self.phase("appointments")
        for off in self.officers:
            if off.term_start is None:
                continue
            signed = self.workday(off.term_start - timedelta(days=self.rng.randint(3, 20)))
            ref = self.ref(self.appointment_issuer(off, off.term_start), signed)
            self.run_cmd("appointments", self.app.appoint_officer, BOARD, off.id,
                         position=off.leader_post, term_start=off.term_start, decision_ref=ref)
            off.touch(off.term_start)

    # ---------------------------------------------------------------- leaving, transfers

    def plan_leaving(self) -> None:
        """Normal retirements of long-serving staff and moves out of the city (non-leaders)."""
        for off in self.officers:
            if off.term_start is None and off.joined_on.year <= 2007 and self.rng.random() < 0.04:
                off.left_on = self.workday(self.day(date(2023, 1, 2), date(2025, 5, 30)))
                off.left_reason = "Nghỉ hưu theo chế độ"

    def load_transfers(self) -> None:
        self.phase("transfers")
        rng = self.rng
        plans: list[tuple[date, int, _Officer, _Unit, str, str | None]] = []
        movers = [o for o in self.officers if o.term_start is None]
        for off in movers:
            home = off.moves[0][1]
            lo = max(date(2019, 1, 2), add_years(off.joined_on, 1))
            hi = min(date(2025, 6, 15), (off.left_on or date.max) - timedelta(days=30))
            if hi <= lo:
                continue
            draw = rng.random()
            if home.level == "ward" and draw < 0.07:
                others = [w for w in self.wards if w.parent is home.parent and w is not home]
                plans.append((self.workday(self.day(lo, hi)), off.n, off, rng.choice(others),
                              "transfer", None))
            elif home.level == "ward" and not home.weak and draw > 0.985:
                plans.append((self.workday(self.day(lo, hi)), off.n, off, home.parent,
                              "rotation", rng.choice(DISTRICT_CONG_CHUC)))
            elif home.level == "district" and draw < 0.05:
                ward = rng.choice([w for w in self.wards if w.parent is home])
                plans.append((self.workday(self.day(lo, hi)), off.n, off, ward, "rotation",
                              rng.choice(WARD_CONG_CHUC)))
        # rotations from a weak ward up to its district: what Hanoi said it would stop (2019)
        weak_staff = [o for o in self.officers if o.moves[0][1].weak and o.category == "cong_chuc"
                      and o.left_on is None and o.n not in {p[1] for p in plans}]
        weak_staff.sort(key=lambda o: (o.term_start is None, o.n))  # a leader first, if any
        for off in weak_staff[:2]:
            lo = max(date(2020, 3, 2), add_years(off.joined_on, 1), off.term_start or date.min)
            day = self.workday(self.day(lo, date(2024, 12, 20)))
            post = (f"Phó Trưởng phòng Quản lý đô thị quận {off.moves[0][1].parent.short}"
                    if off.term_start else rng.choice(DISTRICT_CONG_CHUC))
            plans.append((day, off.n, off, off.moves[0][1].parent, "rotation", post))
        plans.sort(key=lambda p: (p[0], p[1]))
        for day, _, off, target, kind, position in plans:
            source = off.unit_on(day)
            issuer = (source.district.issuer if source.district is target.district
                      and source.district is not None else CITY_ISSUER)
            ref = self.ref(issuer, self.workday(day - timedelta(days=rng.randint(5, 20))))
            # a rotation up to a district may breach the weak-ward rule: the demo records the
            # board's reasoned exception, which the service requires for such a move
            exception = ("Ngoại lệ do tập thể lãnh đạo quyết định: cần cán bộ có kinh nghiệm"
                         " địa bàn" if kind == "rotation" and target.level == "district"
                         else None)
            self.run_cmd("transfers" if kind == "transfer" else "rotations",
                         self.app.transfer_officer, BOARD, off.id, to_unit_id=target.id,
                         effective_on=day, decision_ref=ref, kind=kind, new_position=position,
                         rotation_exception_reason=exception)
            off.moves.append((day, target))
            if position:
                off.position = position
                if off.term_start is not None:
                    off.leader_post = position
            off.touch(day)

    def load_reform(self) -> None:
        """2025-07-01: district staff move to wards or retire (Decree 178/2024); merges."""
        self.phase("2025 reform")
        rng = self.rng
        signed = date(2025, 6, 26)
        for off in self.officers:
            unit = off.unit_on(REFORM_DAY - timedelta(days=1))
            if unit is None or unit.level != "district" or not off.active_on(REFORM_DAY):
                continue
            if off.term_start is None and rng.random() < 0.1:
                off.left_on = REFORM_DAY
                self.run_cmd("leavings", self.app.record_leaving, ADMIN, off.id,
                             left_on=REFORM_DAY,
                             reason="Nghỉ hưu trước tuổi theo Nghị định 178/2024/NĐ-CP khi sắp"
                                    " xếp tổ chức bộ máy")
                continue
            ward = rng.choice([w for w in self.wards if w.parent is unit])
            dept = rng.choice(WARD_NEW_DEPTS)
            if off.term_start is not None:
                position = (f"Trưởng phòng Kinh tế, Hạ tầng và Đô thị phường {ward.short}"
                            if dept != WARD_NEW_DEPTS[2] else
                            f"Chánh Văn phòng HĐND và UBND phường {ward.short}")
                off.leader_post = position
            else:
                position = f"Chuyên viên {dept} phường {ward.short}"
            off.position = position
            ref = self.ref(CITY_ISSUER, signed)
            self.run_cmd("transfers", self.app.transfer_officer, BOARD, off.id,
                         to_unit_id=ward.id, effective_on=REFORM_DAY, decision_ref=ref,
                         kind="transfer", new_position=position)
            off.moves.append((REFORM_DAY, ward))
            off.touch(REFORM_DAY)
        for off in self.officers:  # retirements planned earlier
            if off.left_on is not None and off.left_on < REFORM_DAY:
                self.run_cmd("leavings", self.app.record_leaving, ADMIN, off.id,
                             left_on=off.left_on, reason="Nghỉ hưu theo chế độ")
        for district in self.districts:
            self.run_cmd("unit_merges", self.app.merge_unit, ADMIN, district.id,
                         into_unit_id=self.city.id, effective_on=REFORM_DAY,
                         decision_ref=dict(REFORM_REF))

    # ---------------------------------------------------------------- inspections

    def load_inspections(self) -> None:
        self.phase("inspections")
        rng = self.rng
        plans: list[tuple[date, int, _Unit, bool, str]] = []
        plan_docs: dict[int, str] = {}
        for year in range(2018, self.today.year + 1):
            per_year = 5 if year == 2018 else 6
            for k in range(per_year):
                announced = rng.random() < 0.6
                lo = date(year, 2, 15) if announced else date(year, 1, 12)
                hi = min(date(year, 12, 15), self.today - timedelta(days=2))
                if hi < lo:
                    continue
                started = self.workday(self.day(lo, hi), lo=lo, hi=hi)
                candidates = [(w, 3 if w.weak else 1) for w in self.wards]
                if started < REFORM_DAY:
                    candidates += [(d, 1) for d in self.districts]
                unit = rng.choices([u for u, _ in candidates], [w for _, w in candidates])[0]
                if announced:
                    if year not in plan_docs:
                        ref = self.ref(CITY_ISSUER, self.workday(date(year, 1, 8)), "KH-UBND")
                        plan_docs[year] = (f"Kế hoạch {self.ref_text(ref)} của UBND thành phố"
                                           f" Hà Nội về kiểm tra công vụ năm {year}")
                    basis = plan_docs[year]
                else:
                    ref = self.ref(DEPT_ISSUER, self.workday(
                        started - timedelta(days=rng.randint(1, 5))), "QĐ-SNV")
                    basis = (f"Quyết định {self.ref_text(ref)} của Sở Nội vụ thành phố Hà Nội"
                             " về kiểm tra đột xuất công vụ")
                plans.append((started, len(plans), unit, announced, basis))
        # and one unannounced inspection still going on
        yesterday = self.today - timedelta(days=1)  # it has run for at least a day
        started = self.workday(self.day(self.today - timedelta(days=6), yesterday),
                               lo=self.today - timedelta(days=10), hi=yesterday)
        ref = self.ref(DEPT_ISSUER, started, "QĐ-SNV")
        plans.append((started, -1, rng.choice([w for w in self.wards if w.weak]), False,
                      f"Quyết định {self.ref_text(ref)} của Sở Nội vụ thành phố Hà Nội"
                      " về kiểm tra đột xuất công vụ"))
        plans.sort(key=lambda p: (p[0], p[1]))
        self.findings: list[dict] = []
        for number, (started, key, unit, announced, basis) in enumerate(plans, start=1):
            self.one_inspection(number, started, unit, announced, basis, ongoing=key < 0)

    def one_inspection(self, number: int, started: date, unit: _Unit, announced: bool,
                       basis: str, ongoing: bool = False) -> None:
        rng = self.rng
        team = rng.sample(INSPECTORS, rng.randint(2, 4))
        lead = Actor(team[0], "inspector")
        result = self.run_cmd("inspections", self.app.open_inspection, lead, unit_id=unit.id,
                              team=team, started_on=started, announced=announced,
                              basis_ref=basis)
        inspection_id = result.id
        span = rng.randint(2, 10) if announced else rng.randint(0, 3)
        closed = date.max if ongoing else self.workday(started + timedelta(days=span), lo=started)
        last_day = min(closed, self.today - timedelta(days=1))  # nothing observed "today"
        staff = [o for o in self.officers if o.active_on(started) and o.unit_on(started) is unit]
        # findings scale with the staff present: about one in ten is caught at something
        chance = 0.16 if unit.weak else (0.1 if unit.level == "ward" else 0.06)
        targets: list[_Officer | None] = []
        for off in staff:
            if rng.random() < chance:
                targets.append(off)
                if rng.random() < 0.15:
                    targets.append(off)  # a second breach by the same person
        targets += [None] * ((rng.random() < (0.5 if unit.weak else 0.3))
                             + (rng.random() < 0.15))
        recorded: list[dict] = []
        for k, off in enumerate(targets):
            observed_day = self.day(started, last_day)
            if off is not None:
                code = self.weighted({c: w for c, (w, _) in OFFICER_CODES.items()})
                description = _describe(rng, code)
            else:
                code = self.weighted(UNIT_CODES)
                description = _describe(rng, code, unit_only=True)
            if self.ref_data.conduct_code(code, observed_day) is None:
                continue  # not a clause in force that day
            if code == "qd522-late":
                moment = time(8, rng.randint(10, 55))
            else:
                moment = time(rng.randint(8, 16), rng.randint(0, 59))
            observed = datetime.combine(observed_day, moment, tzinfo=VIETNAM)
            evidence = [hashlib.sha256(f"demo-{self.seed}-{number}-{k}-{e}".encode()).hexdigest()
                        for e in range(rng.randint(1, 2))]
            author = Actor(rng.choice(team), "inspector")
            res = self.run_cmd("findings", self.app.record_finding, author, inspection_id,
                               conduct_code=code, description=description, observed_at=observed,
                               officer_id=off.id if off else None, evidence_sha256=evidence)
            finding = {"id": res.id, "inspection_id": inspection_id, "officer": off,
                       "code": code, "description": description, "day": observed_day,
                       "status": "active", "unit": unit}
            if off is not None:
                off.touch(observed_day)
            recorded.append(finding)
            self.findings.append(finding)
        for finding in recorded:
            draw = rng.random()
            author = Actor(rng.choice(team), "inspector")
            if draw < 0.05 and finding["officer"] is not None:
                if finding["code"] in ("qd522-absent", "qd522-late", "qd522-working-hours"):
                    reason = "Công chức xuất trình giấy đi công tác đã được lãnh đạo phê duyệt"
                elif finding["code"].startswith("dossier-"):
                    reason = ("Xác minh lại: hồ sơ chậm do lỗi Hệ thống thông tin giải quyết thủ"
                              " tục hành chính, không do cá nhân")
                else:
                    reason = "Xác minh lại: không đủ căn cứ xác định vi phạm"
                self.run_cmd("findings_withdrawn", self.app.withdraw_finding, author,
                             inspection_id, finding["id"], reason=reason)
                finding["status"] = "withdrawn"
            elif draw > 0.93:
                if finding["code"] == "qd522-late":
                    new_code = "qd522-working-hours"
                    changes = {"conduct_code": new_code}
                    reason = "Phân loại lại hành vi theo đúng nội dung Quy tắc ứng xử"
                    finding["code"] = new_code
                else:
                    changes = {"description": finding["description"]
                               + " Đã lập biên bản, có chữ ký của người vi phạm."}
                    reason = "Bổ sung nội dung biên bản kiểm tra"
                    finding["description"] = changes["description"]
                self.run_cmd("finding_corrections", self.app.correct_finding, author,
                             inspection_id, finding["id"], reason=reason, **changes)
        if closed <= self.today:
            ref = self.ref(DEPT_ISSUER, closed, "TB-SNV")
            self.run_cmd("inspections_closed", self.app.close_inspection, lead, inspection_id,
                         closed_on=closed,
                         conclusion_ref=f"Thông báo kết luận kiểm tra {self.ref_text(ref)}")

    # ---------------------------------------------------------------- proceedings

    def violation(self, code: str, description: str, occurred: date, detected: date,
                  finding: dict | None = None, source: str | None = None) -> dict:
        v = {"conduct_code": code, "description": description,
             "occurred_on": occurred, "detected_on": detected}
        if finding is not None:
            v.update(finding_id=finding["id"], inspection_id=finding["inspection_id"],
                     source="finding")
        else:
            v["source"] = source or "complaint"
        return v

    def schedule(self, case: _Case) -> None:
        """Fix a case's dates now: deferral, the decision or dismissal (if not after today)."""
        rng = self.rng
        case.deferred_on = case.until = case.end = case.effective = None
        if case.plan == "open":
            case.closed_on = date.max
            return
        if case.plan == "dismiss":
            day = self.workday(case.opened + timedelta(days=rng.randint(10, 40)), lo=case.opened)
        elif case.plan == "defer":
            deferred = self.workday(case.opened + timedelta(days=rng.randint(3, 15)),
                                    lo=case.opened)
            if deferred <= self.today:
                low, high = {"maternity": (180, 300), "serious_illness": (60, 150),
                             "prosecution": (120, 240)}[case.deferral]
                case.deferred_on = deferred
                case.until = deferred + timedelta(days=rng.randint(low, high))
                day = self.workday(case.until + timedelta(days=rng.randint(10, 40)),
                                   lo=case.until + timedelta(days=1))
            else:
                day = date.max
        else:
            day = self.workday(case.opened + timedelta(days=rng.randint(10, 45)), lo=case.opened)
        if day <= self.today:
            case.end = day
            if case.plan != "dismiss":
                case.effective = min(self.workday(day + timedelta(days=rng.randint(0, 5)), lo=day),
                                     self.today, date(day.year, 12, 31))
        case.closed_on = case.end or date.max

    @staticmethod
    def fits(case: _Case) -> bool:
        """In service throughout, and no other proceeding of the officer at the same time."""
        off = case.officer
        if not off.active_on(case.opened):
            return False
        if off.left_on is not None and case.closed_on >= off.left_on:
            return False
        return all(case.closed_on < c.opened or c.closed_on < case.opened
                   for c in off.cases if c is not case)

    def plan_cases(self) -> None:
        rng = self.rng
        today = self.today
        special: list[_Case] = []
        ordinary: list[_Case] = []
        # 1. from findings: one officer's findings in one inspection make one case
        groups: dict[tuple[int, UUID], list[dict]] = {}
        for f in self.findings:
            if f["officer"] is None or f["status"] != "active":
                continue
            groups.setdefault((f["officer"].n, f["inspection_id"]), []).append(f)
        for findings in groups.values():
            off = findings[0]["officer"]
            severity = max(OFFICER_CODES[f["code"]][1] for f in findings)
            if rng.random() >= PROCEEDING_CHANCE[severity] + 0.1 * (len(findings) - 1):
                continue  # ends in "kiểm điểm, rút kinh nghiệm": not discipline
            detected = max(f["day"] for f in findings)
            opened = self.workday(detected + timedelta(days=rng.randint(5, 30)), lo=detected)
            if opened > today:
                continue
            violations = []
            for f in findings:
                occurred = f["day"]
                if f["code"] == "dossier-overdue":
                    occurred = f["day"] - timedelta(days=rng.randint(5, 60))
                violations.append(self.violation(f["code"], f["description"], occurred,
                                                 f["day"], finding=f))
            ordinary.append(_Case(off, violations, detected, opened, severity, "decide"))
        # 2. from citizens' complaints
        for _ in range(max(3, self.size // 35)):
            detected = self.workday(self.day(date(2018, 6, 1), today - timedelta(days=20)))
            staff = [o for o in self.officers if o.active_on(detected)
                     and (o.unit_on(detected) or self.city).level == "ward"]
            if not staff:
                continue
            off = rng.choice(staff)
            code = self.weighted(COMPLAINT_CODES)
            occurred = detected - timedelta(days=rng.randint(3, 40))
            opened = self.workday(detected + timedelta(days=rng.randint(7, 25)), lo=detected)
            if opened > today or occurred < off.joined_on:
                continue
            ordinary.append(_Case(off, [self.violation(code, _describe(rng, code), occurred,
                                                       detected)],
                                  detected, opened, OFFICER_CODES[code][1], "decide"))
        # 3. corruption: a leader (demoted), and a civil servant prosecuted then dismissed
        leaders = [o for o in self.officers if o.term_start is not None and o.role is None
                   and o.left_on is None and o.term_start < date(2024, 1, 1)]
        if leaders:
            off = rng.choice(leaders)
            detected = self.workday(self.day(max(date(2021, 3, 1), off.term_start
                                                 + timedelta(days=200)), date(2024, 9, 30)))
            opened = self.workday(detected + timedelta(days=rng.randint(10, 30)), lo=detected)
            occurred = detected - timedelta(days=rng.randint(20, 120))
            special.append(_Case(off, [self.violation("corruption", _describe(rng, "corruption"),
                                                      occurred, detected, source="other")],
                                 detected, opened, 4, "decide", corruption=True))
        detected = self.workday(self.day(date(2021, 1, 4), date(2022, 6, 30)))
        ward_cc = [o for o in self.officers if o.term_start is None and o.left_on is None
                   and o.category == "cong_chuc" and o.moves[0][1].level == "ward"
                   and len(o.moves) == 1 and o.joined_on < detected - timedelta(days=400)
                   and (o.last_event is None or o.last_event < detected)]
        if ward_cc:
            off = rng.choice(ward_cc)
            opened = self.workday(detected + timedelta(days=rng.randint(7, 20)), lo=detected)
            occurred = detected - timedelta(days=rng.randint(30, 200))
            special.append(_Case(off, [self.violation("corruption", _describe(rng, "corruption"),
                                                      occurred, detected)],
                                 detected, opened, 4, "defer", corruption=True,
                                 deferral="prosecution", form="buoc_thoi_viec"))
        # 4. the leaders whose term ends soon: discipline in force, and an open proceeding
        for off in self.officers:
            if off.role == "effect":
                lo = max(today - timedelta(days=300), off.term_start + timedelta(days=30))
                detected = self.workday(self.day(lo, today - timedelta(days=60)))
                code = "qd522-manner-citizens"
                special.append(_Case(off, [self.violation(code, _describe(rng, code),
                                                          detected - timedelta(days=5),
                                                          detected)],
                                     detected,
                                     self.workday(detected + timedelta(days=7), lo=detected),
                                     1, "decide", form="canh_cao"))
            elif off.role == "open":
                detected = self.workday(self.day(today - timedelta(days=60),
                                                 today - timedelta(days=12)))
                code = "dossier-wrong-procedure"
                special.append(_Case(off, [self.violation(code, _describe(rng, code),
                                                          detected - timedelta(days=10),
                                                          detected)],
                                     detected,
                                     self.workday(detected + timedelta(days=3), lo=detected),
                                     2, "open"))
        # outcomes of the ordinary cases: some dismissed, a few deferred
        for case in ordinary:
            draw = rng.random()
            if draw < 0.12:
                case.plan = "dismiss"
            elif draw < 0.22:
                case.plan = "defer"
                case.deferral = ("maternity" if case.officer.female and rng.random() < 0.7
                                 else "serious_illness")
        ordinary.sort(key=lambda c: (c.opened, c.officer.n))
        accepted: list[_Case] = []
        for case in special + ordinary:
            if case in ordinary and case.officer.role in ("clean", "effect", "open"):
                continue  # those leaders must show exactly one state
            self.schedule(case)
            if not self.fits(case):
                continue
            case.officer.cases.append(case)
            accepted.append(case)
            if case.form == "buoc_thoi_viec" and case.effective is not None:
                case.officer.left_on = case.effective
        # at least one deferral for illness or maternity
        if not any(c.deferred_on is not None and not c.corruption for c in accepted):
            for case in accepted:
                if case.plan != "decide" or case.form is not None or case.corruption or \
                        case.opened > today - timedelta(days=30):
                    continue
                case.plan = "defer"
                case.deferral = "maternity" if case.officer.female else "serious_illness"
                self.schedule(case)
                if self.fits(case) and case.deferred_on is not None:
                    break
                case.plan = "decide"
                case.deferral = None
                self.schedule(case)
                if not self.fits(case):  # cannot happen often: drop the case
                    case.officer.cases.remove(case)
                    accepted.remove(case)
                    break
        accepted.sort(key=lambda c: (c.opened, c.officer.n))
        self.cases = accepted

    def pick_form(self, case: _Case, signed: date) -> str:
        off = case.officer
        forms = [f for f in self.ref_data.forms_for(off.category, signed)
                 if not f.elected_only and f.form != "buoc_thoi_viec"
                 and (not f.leaders_only or off.leader_on(signed))
                 and not (f.non_leaders_only and off.leader_on(signed))]
        if case.form == "buoc_thoi_viec" or case.form in [f.form for f in forms]:
            return case.form
        if case.corruption and off.leader_on(signed):
            best = [f for f in forms if f.severity <= 3]
        else:
            target = case.severity
            if target >= 2 and self.rng.random() < 0.45:
                target -= 1
            best = [f for f in forms if f.severity <= min(target, 3) and f.form != "cach_chuc"]
        if not best:
            return forms[0].form
        top = max(f.severity for f in best)
        return self.rng.choice([f.form for f in best if f.severity == top])

    def decision_issuer(self, off: _Officer, day: date) -> tuple[str, str]:
        unit = off.unit_on(day)
        leader = off.leader_on(day)
        if unit.level == "department":
            return (CITY_ISSUER, "QĐ-UBND") if leader else (DEPT_ISSUER, "QĐ-SNV")
        if unit.level == "district":
            return unit.issuer, "QĐ-UBND"
        if leader or off.category == "can_bo":
            return (unit.parent.issuer if day < REFORM_DAY else CITY_ISSUER), "QĐ-UBND"
        return unit.issuer, "QĐ-UBND"

    def load_cases(self) -> None:
        self.phase("discipline")
        rng = self.rng
        for case in self.cases:
            off = case.officer
            result = self.run_cmd("proceedings", self.app.open_proceeding, BOARD,
                                  officer_id=off.id, violations=case.violations,
                                  opened_on=case.opened)
            case.id = result.id
            if case.deferred_on is not None:
                self.run_cmd("deferrals", self.app.defer_proceeding, BOARD, case.id,
                             reason=case.deferral, until=case.until,
                             deferred_on=case.deferred_on)
            if case.end is None:
                continue  # still being handled
            if case.plan == "dismiss":
                self.run_cmd("dismissals", self.app.dismiss_proceeding, BOARD, case.id,
                             dismissed_on=case.end, reason=rng.choice((
                                 "Không đủ căn cứ kết luận vi phạm; chuyển kiểm điểm, rút kinh"
                                 " nghiệm.",
                                 "Hội đồng kỷ luật kết luận vi phạm chưa đến mức phải kỷ luật;"
                                 " yêu cầu kiểm điểm trước tập thể.")))
                continue
            form = self.pick_form(case, case.end)
            issuer, symbol = self.decision_issuer(off, case.end)
            ref = self.ref(issuer, case.end, symbol)
            result = self.run_cmd("decisions", self.app.decide_proceeding, BOARD, case.id,
                                  form=form, decision_ref=ref, effective_from=case.effective,
                                  corruption_related=case.corruption)
            case.decision = _Decision(case, form, case.end, case.effective, issuer, ref,
                                      case.corruption, id=result.id)
            off.touch(case.effective)

    # ---------------------------------------------------------------- appeals, annulments

    def higher_issuer(self, decision: _Decision) -> str:
        unit = decision.case.officer.unit_on(decision.signed)
        if unit.level == "ward" and decision.signed < REFORM_DAY and \
                decision.issuer == unit.issuer:
            return unit.parent.issuer
        return CITY_ISSUER

    def load_appeals_and_annulments(self) -> None:
        self.phase("appeals")
        rng = self.rng
        today = self.today
        decisions = [c.decision for c in self.cases if c.decision is not None]
        pool = [d for d in decisions if d.signed <= today - timedelta(days=40)
                and not d.corruption and d.case.officer.role is None]
        appeals = rng.sample(pool, min(len(pool), max(1, round(len(decisions) * 0.14))))
        appeals.sort(key=lambda d: (d.signed, d.case.officer.n))
        plans = []
        for d in appeals:
            lodged = self.workday(d.signed + timedelta(days=rng.randint(3, 25)), lo=d.signed)
            resolved = self.workday(lodged + timedelta(days=rng.randint(15, 45)), lo=lodged)
            plans.append([d, lodged, resolved if resolved <= today else None, "upheld"])
        # outcomes: mostly upheld; one form changed (where a lighter form exists), one overturned
        done = [p for p in plans if p[2] is not None]
        lighter = {id(p[0]): self.lighter_form(p[0]) for p in done}
        changeable = [p for p in done if lighter[id(p[0])]]
        if changeable:
            max(changeable, key=lambda p: self.severity_of(p[0]))[3] = "form_changed"
        rest = [p for p in done if p[3] == "upheld"]
        if len(done) >= 3 and rest:
            rng.choice(rest)[3] = "overturned"
        for plan in done:
            if plan[3] == "upheld" and rng.random() < 0.1:
                plan[3] = "overturned"
        for d, lodged, resolved, outcome in plans:
            result = self.run_cmd("appeals", self.app.lodge_appeal, BOARD, d.id,
                                  lodged_on=lodged, grounds=rng.choice((
                                      "Hình thức kỷ luật quá nặng so với tính chất vi phạm.",
                                      "Không được mời tham dự cuộc họp Hội đồng kỷ luật.",
                                      "Vi phạm do nguyên nhân khách quan, đề nghị xem xét lại.")))
            d.appealed = True
            if resolved is None:
                continue  # still pending
            new_form = lighter[id(d)] if outcome == "form_changed" else None
            ref = self.ref(self.higher_issuer(d), resolved)
            self.run_cmd("appeals_resolved", self.app.resolve_appeal, BOARD, d.id, result.id,
                         outcome=outcome, resolved_on=resolved, new_form=new_form,
                         decision_ref=ref)
            if outcome == "overturned":
                d.voided_on, d.voided_how = resolved, "overturned"
            elif new_form:
                d.form = new_form
        self.phase("annulments")
        pool = [d for d in decisions if not d.appealed and not d.corruption
                and d.case.officer.role is None and d.signed <= today - timedelta(days=45)]
        for d in rng.sample(pool, min(len(pool), max(1, len(decisions) // 20))):
            latest = min(150, (today - d.signed).days)
            annulled = self.workday(d.signed + timedelta(days=rng.randint(30, latest)),
                                    lo=d.signed)
            if annulled > today:
                continue
            ref = self.ref(d.issuer, annulled, d.ref["symbol"])
            self.run_cmd("annulments", self.app.annul_decision, BOARD, d.id,
                         annulled_on=annulled, decision_ref=ref, reason=rng.choice((
                             "Quyết định ban hành không đúng trình tự: chưa tổ chức họp kiểm"
                             " điểm theo quy định.",
                             "Phát hiện sai sót về thẩm quyền ban hành quyết định kỷ luật.")))
            d.voided_on, d.voided_how = annulled, "annulled"

    def lighter_form(self, d: _Decision) -> str | None:
        """The next lighter form for the officer's category under the decision's regime."""
        off = d.case.officer
        forms = [f.form for f in self.ref_data.forms_for(off.category, d.signed)
                 if f.severity < self.severity_of(d) and not f.elected_only
                 and (not f.leaders_only or off.leader_on(d.signed))
                 and not (f.non_leaders_only and off.leader_on(d.signed))]
        return forms[-1] if forms else None

    def severity_of(self, d: _Decision) -> int:
        entry = self.ref_data.discipline_form(d.form, d.case.officer.category, d.signed)
        return entry.severity

    def load_dismissals_from_service(self) -> None:
        self.phase("leaving")
        for case in self.cases:
            d = case.decision
            if d is not None and d.form == "buoc_thoi_viec" and d.voided_on is None:
                self.run_cmd("leavings", self.app.record_leaving, ADMIN, case.officer.id,
                             left_on=d.effective,
                             reason=f"Buộc thôi việc theo Quyết định {self.ref_text(d.ref)}"
                                    f" của {d.issuer}")

    # ---------------------------------------------------------------- reappointment

    def eligibility(self, off: _Officer, day: date, term_start: date) -> str:
        """'yes', 'no', or 'wait' (a proceeding is open: the authority decides later)."""
        for case in off.cases:
            if case.opened <= day < case.closed_on:
                return "wait"
        if any(term_start.year <= year < day.year for year in off.forced_khtnv):
            return "no"  # a failed (KHTNV) year in the term
        for d in off.decisions():
            if d.signed > day or (d.voided_on is not None and d.voided_on <= day):
                continue
            if d.corruption:
                return "no"  # corruption bars leadership posts
            months = 24 if d.form in ("giang_chuc", "cach_chuc") else 12
            if d.effective <= day < add_years(d.effective, months // 12):
                return "no"  # the discipline's effect is in force
            if d.signed >= term_start:
                return "no"  # disciplined during the term: that year is KHTNV
        return "yes"

    def board_saw(self, officer_id: Any, day: date) -> str:
        """The hash of the eligibility the board was shown just before deciding (what an
        auditor checks later): the read models brought up to date, then asked for ``day``."""
        from projections.projector import Projector
        from projections.queries import ReadModels

        if self.projector is None:
            self.projector = Projector(self.app)
        self.projector.catch_up()
        answer = ReadModels(self.projector.db, self.app.reference).eligibility(
            str(officer_id), on=day)
        return answer["hash"]

    def load_reappointments(self) -> None:
        self.phase("reappointments")
        rng = self.rng
        for off in self.officers:
            if off.term_start is None:
                continue
            end = add_years(off.term_start, 5)
            if end > self.today or rng.random() < 0.2:
                continue  # not due yet, or overdue with no decision recorded
            day = self.workday(end - timedelta(days=rng.randint(5, 45)))
            if not off.active_on(day) or off.left_on is not None:
                continue
            verdict = self.eligibility(off, day, off.term_start)
            if verdict == "wait":
                continue
            outcome = "reappointed" if verdict == "yes" else "not_reappointed"
            ref = self.ref(self.appointment_issuer(off, day), day)
            self.run_cmd("reappointments", self.app.decide_reappointment, BOARD, off.id,
                         outcome=outcome, decided_on=day, decision_ref=ref,
                         eligibility_hash=Later(lambda: self.board_saw(off.id, day)))
            if outcome == "reappointed":
                off.term_start = end
            else:
                off.term_start = None
                off.role = None

    # ---------------------------------------------------------------- evaluations

    def disciplined_years(self, off: _Officer) -> dict[int, _Decision]:
        """Years forced to KHTNV at rating time (mid-December) by a decision then in force."""
        out: dict[int, _Decision] = {}
        for d in off.decisions():
            rated_on = date(d.signed.year, 12, 15)
            if d.voided_on is not None and d.voided_on <= rated_on:
                continue
            out[d.signed.year] = d
        return out

    def load_annual_ratings(self) -> None:
        self.phase("annual ratings")
        rng = self.rng
        corrections: list[tuple[_Officer, int, str, str]] = []
        for off in self.officers:
            disciplined = self.disciplined_years(off)
            previous = None
            for year in range(FIRST_RATING_YEAR, self.last_rating_year + 1):
                if off.left_on is not None and off.left_on < date(year, 7, 1):
                    break  # under six months worked in the year: no rating
                third = "HTNV_HCNL" if year < 2020 else "HTNV"
                if year in disciplined or year in off.forced_khtnv:
                    rating = "KHTNV"
                else:
                    weights = {"good": (35, 60, 5, 0), "normal": (8, 67, 25, 0),
                               "weak": (0, 35, 57, 8)}[off.quality]
                    if year < 2020:  # the legacy third level (HTNV_HCNL) was given sparingly
                        weights = (weights[0], weights[1] + weights[2] * 0.7,
                                   weights[2] * 0.3, weights[3])
                    rating = rng.choices(("HTXSNV", "HTTNV", third, "KHTNV"), weights)[0]
                    if rating == "KHTNV" and (previous == "KHTNV" or off.role == "clean"
                                              or off.term_start is not None):
                        rating = third
                    if off.role == "clean" and rating == third:
                        rating = "HTTNV"
                if self.ref_data.annual_level(rating, year) is None:
                    raise AssertionError(f"{rating} is not a level for {year}")
                self.run_cmd("annual_ratings", self.app.record_annual_rating, BOARD,
                             officer_id=off.id, year=year, rating=rating)
                off.ratings[year] = rating
                previous = rating
                d = disciplined.get(year)
                if d is not None and d.voided_on is not None:
                    how = "bị hủy bỏ" if d.voided_how == "annulled" else \
                        "bị hủy theo kết quả giải quyết khiếu nại"
                    corrections.append((off, year, third,
                                        f"Quyết định kỷ luật {self.ref_text(d.ref)} đã {how}"
                                        f" ngày {d.voided_on:%d/%m/%Y}; đánh giá lại."))
        upgradable = [(o, y) for o in self.officers for y, r in o.ratings.items()
                      if r in ("HTTNV", "HTNV")]
        for off, year in rng.sample(upgradable, min(len(upgradable),
                                                    max(1, self.size // 100))):
            better = "HTXSNV" if off.ratings[year] == "HTTNV" else "HTTNV"
            corrections.append((off, year, better,
                                "Hội đồng thi đua – khen thưởng rà soát, điều chỉnh theo thành"
                                " tích đã được công nhận."))
        for off, year, rating, reason in corrections:
            if off.ratings[year] == rating:
                continue
            self.run_cmd("annual_rating_corrections", self.app.correct_annual_rating, BOARD,
                         officer_id=off.id, year=year, rating=rating, reason=reason)
            off.ratings[year] = rating

    def load_monthly_grades(self) -> None:
        self.phase("monthly grades")
        rng = self.rng
        months = []
        y, m = self.today.year, self.today.month
        for _ in range(6):
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
            months.append((y, m))
        months.reverse()
        recorded: list[tuple[_Officer, str, float]] = []
        for off in self.officers:
            mean = {"good": 91.0, "normal": 84.0, "weak": 74.0}[off.quality]
            for y, m in months:
                first = date(y, m, 1)
                last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
                if not off.active_on(first) or not off.active_on(last):
                    continue
                penalty = 0.0
                for case in off.cases:
                    d = case.decision
                    if d is not None and d.voided_on is None and \
                            d.effective <= last and first <= d.effective + timedelta(days=365):
                        penalty = max(penalty, 12.0)
                    elif case.opened <= last and case.closed_on > first:
                        penalty = max(penalty, 5.0)
                score = round(rng.gauss(mean - penalty, 5.0) * 2) / 2
                score = min(100.0, max(30.0, score))
                period = f"{y:04d}-{m:02d}"
                self.run_cmd("monthly_grades", self.app.record_monthly_grade, BOARD,
                             officer_id=off.id, period=period, score=score)
                recorded.append((off, period, score))
        for off, period, score in rng.sample(recorded, min(len(recorded),
                                                           max(1, self.size // 150))):
            new = score + rng.choice((-4.0, -2.5, 2.0, 3.5, 5.0))
            new = min(100.0, max(0.0, new))
            if new == score:
                continue
            self.run_cmd("monthly_grade_corrections", self.app.correct_monthly_grade, BOARD,
                         officer_id=off.id, period=period, score=new,
                         reason="Điều chỉnh điểm sau khi Hội đồng đánh giá rà soát minh chứng"
                                " kết quả công việc.")


def generate(app: AuditService, *, officers: int = 520, seed: int = 2026,
             progress: bool = True) -> dict[str, int]:
    """Load a deterministic demo city through ``app``'s commands; return counts by kind.

    The counts name what was created or recorded (``units``, ``officers``, ``inspections``,
    ``findings``, ``proceedings``, ``decisions``, ``appeals``, ``annulments``,
    ``monthly_grades``, ``annual_ratings``, ...); ``events`` is the number of events the load
    stored, with the idempotency records and the two markers that make it resumable.
    A refused command raises the service's error: that is a bug in this generator.

    Resumable: on a store holding an interrupted load of the same seed and size (made for
    the same 'today'), the commands already stored are replayed and only the rest appended;
    on a store holding the complete load, nothing is sent and its summary is returned.
    """
    if isinstance(officers, bool) or not isinstance(officers, int) or officers < 1:
        raise ValueError("officers must be a positive integer")
    if app.today() < EARLIEST_TODAY:
        raise ValueError(f"the demo city's history runs to the end of 2025; it needs a service"
                         f" 'today' on or after {EARLIEST_TODAY}, not {app.today()}")
    state = demo_state(app, seed, officers)
    if state is not None and state.today != app.today():
        raise ValueError(f"this store holds a demo load (seed {seed}, {officers} officers) made"
                         f" for {state.today}; finish it with the service's today set to that"
                         f" day (AUDIT_TODAY={state.today}), not {app.today()}")
    if state is not None and state.summary is not None:
        return state.summary
    demo = _Demo(app, random.Random(seed), officers, seed, progress, resuming=state is not None)
    try:
        if state is None:
            _save_marker(app, seed, officers, "start", {"today": app.today().isoformat()})
        summary = demo.run()
        summary["events"] += 2  # the start and complete markers
        _save_marker(app, seed, officers, "complete", summary)
        return summary
    finally:
        demo.bar.close()
        if demo.projector is not None:
            demo.projector.db.close()
