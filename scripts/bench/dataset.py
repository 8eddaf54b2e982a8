"""A realistic NDJSON data set for ``audit-service import``, of a chosen size, generated fast.

The records use natural keys only (``unit_code``, ``personnel_code``), as an export from
another system would. Shape, for ``officers`` officers and about ``events`` events:

- units: one city (``01``), districts of ``WARDS_PER_DISTRICT`` wards, wards of
  ``OFFICERS_PER_WARD`` officers; every ward rated for 2024 and 2025;
- officers: Vietnamese names, mostly công chức (some viên chức and cán bộ), a joining date;
- per officer, evaluation records alternating annual ratings (2025, 2024, …) and monthly
  grades (2025-10, 2025-09, …), as many as the event budget allows (a fraction of officers
  get one more, so the total lands on the target);
- a few officers get a leadership appointment (5 %), a transfer to another ward (3 %), a past
  discipline case with its decision (2 % of công chức) or a leaving record (1 %);
- inspections with many findings: every ward is inspected once (about
  ``WARD_FINDINGS_PER_OFFICER`` findings per officer, a few against the ward itself), and
  every district once more, district-wide, with about one finding per officer of its wards
  (a thousand findings on one inspection at full size); both are closed.

Each imported record appends its own events plus one idempotency record (see
``audit_service/importing.py``); ``EVENTS_PER_RECORD`` holds those counts, so the number of
events a file appends is known before it is imported and a test can check it exactly.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

OFFICERS_PER_WARD = 50
WARDS_PER_DISTRICT = 20

# Events appended per imported record, the idempotency record included.
EVENTS_PER_RECORD = {
    "unit": 3,           # Unit.Registered, the unit-code index, idempotency record
    "unit_rating": 2,    # Unit.Rated, idempotency record
    "officer": 3,        # Officer.Registered, the personnel-code index, idempotency record
    "appointment": 3,    # Officer.Appointed, the decision-reference index, idempotency record
    "transfer": 2,       # Officer.Transferred, idempotency record
    "annual_rating": 2,  # AnnualRating.Recorded, idempotency record
    "monthly_grade": 2,  # MonthlyGrade.Recorded, idempotency record
    "discipline": 5,     # Proceeding opened and decided, Decision, its index, idempotency record
    "leaving": 2,        # Officer.Left, idempotency record
    "inspection": 3,     # Inspection opened and closed, idempotency record; + 1 per finding
}
WARD_FINDINGS_PER_OFFICER = 2
DISTRICT_FINDINGS_PER_OFFICER = 1
P_UNIT_FINDING = 0.05  # findings against the unit, no officer named
P_APPOINT, P_TRANSFER, P_DISCIPLINE, P_LEAVE = 0.05, 0.03, 0.02, 0.01
UNIT_RATING_YEARS = (2024, 2025)
ANNUAL_YEARS = tuple(range(2025, 2014, -1))  # newest first; levels checked per year
LAST_MONTH = (2025, 10)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quang", "Ngọc", "Thu", "Xuân")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương",
         "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phương", "Quân", "Sơn", "Thảo",
         "Trang", "Tuấn", "Việt", "Yến")
POSITIONS = ("Chuyên viên", "Cán sự", "Kế toán", "Địa chính - xây dựng", "Tư pháp - hộ tịch",
             "Văn hóa - xã hội", "Văn phòng - thống kê")
CATEGORIES = (("cong_chuc", 80), ("vien_chuc", 15), ("can_bo", 5))
RATINGS = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
RATING_WEIGHTS = (20, 60, 17, 3)
CONDUCT = ("qd522-late", "qd522-absent", "dossier-overdue", "qd522-manner-citizens")


@dataclass
class Plan:
    """What a generated file holds: records per type and the events they will append."""

    events_target: int
    officers: int
    districts: int = 0
    wards: int = 0
    records: Counter = field(default_factory=Counter)
    findings: int = 0

    @property
    def record_count(self) -> int:
        return sum(self.records.values())

    @property
    def events_expected(self) -> int:
        return sum(EVENTS_PER_RECORD[t] * n for t, n in self.records.items()) + self.findings

    def as_dict(self) -> dict:
        return {"events_target": self.events_target, "events_expected": self.events_expected,
                "officers": self.officers, "districts": self.districts, "wards": self.wards,
                "records": self.record_count, "records_by_type": dict(sorted(self.records.items())),
                "findings": self.findings}


def _ref(number: int, signed_on: str, issuer: str, symbol: str = "QĐ-UBND") -> dict:
    return {"number": str(number), "symbol": symbol, "issuer": issuer, "signed_on": signed_on}


def _month_back(k: int) -> str:
    """The k-th month before LAST_MONTH (k = 0 is LAST_MONTH), as YYYY-MM."""
    year, month = LAST_MONTH
    total = year * 12 + (month - 1) - k
    return f"{total // 12}-{total % 12 + 1:02d}"


def _annual_level(rnd: random.Random, year: int) -> str:
    level = rnd.choices(RATINGS, RATING_WEIGHTS)[0]
    return "HTNV_HCNL" if level == "HTNV" and year < 2020 else level


def _evaluation_slots(n: int) -> Iterator[tuple[str, object]]:
    """The first n evaluation records of an officer: annual and monthly alternating, newest first."""
    annual = iter(ANNUAL_YEARS)
    monthly = 0
    made = 0
    while made < n:
        year = next(annual, None)
        if year is not None:
            yield "annual_rating", year
            made += 1
            if made >= n:
                return
        yield "monthly_grade", _month_back(monthly)
        monthly += 1
        made += 1


FINDING_TEXT = {"qd522-late": "Đến muộn so với giờ làm việc",
                "qd522-absent": "Vắng mặt tại nơi làm việc không có lý do",
                "dossier-overdue": "Hồ sơ thủ tục hành chính giải quyết quá hạn",
                "qd522-manner-citizens": "Thái độ không đúng mực khi tiếp công dân"}


def _inspection(rnd: random.Random, unit_code: str, officers: list[str], per_officer: int,
                month: int, number: int, district: int) -> dict:
    """One closed inspection of ``unit_code`` in ``month`` of 2025 with about
    ``per_officer`` findings per officer of ``officers`` (a few against the unit itself)."""
    findings = []
    for _ in range(per_officer * len(officers)):
        code = rnd.choice(CONDUCT)
        finding = {"conduct_code": code, "description": FINDING_TEXT[code],
                   "observed_at": f"2025-{month:02d}-{rnd.randint(2, 27):02d}"
                                  f"T{rnd.randint(7, 16):02d}:{rnd.randint(0, 59):02d}:00+07:00"}
        if rnd.random() >= P_UNIT_FINDING:
            finding["personnel_code"] = rnd.choice(officers)
        findings.append(finding)
    return {"type": "inspection", "unit_code": unit_code, "started_on": f"2025-{month:02d}-02",
            "team": [f"kt-q{district:03d}-{k}" for k in (1, 2)], "announced": False,
            "basis_ref": f"{number}/QĐ-ĐKT", "findings": findings,
            "closed_on": f"2025-{month:02d}-28", "conclusion_ref": f"{number}/KL-ĐKT"}


def plan_size(events: int, officers: int) -> tuple[int, int, float]:
    """(districts, wards, evaluation records per officer) for the requested size."""
    if officers < 1:
        raise ValueError("need at least one officer")
    wards = -(-officers // OFFICERS_PER_WARD)
    districts = -(-wards // WARDS_PER_DISTRICT)
    unit_events = (1 + districts + wards) * EVENTS_PER_RECORD["unit"] \
        + wards * len(UNIT_RATING_YEARS) * EVENTS_PER_RECORD["unit_rating"] \
        + (wards + districts) * EVENTS_PER_RECORD["inspection"]
    per_officer = (events - unit_events) / officers
    extras = (P_APPOINT * EVENTS_PER_RECORD["appointment"]
              + P_TRANSFER * EVENTS_PER_RECORD["transfer"]
              + P_DISCIPLINE * 0.8 * EVENTS_PER_RECORD["discipline"]
              + P_LEAVE * EVENTS_PER_RECORD["leaving"]
              + WARD_FINDINGS_PER_OFFICER + DISTRICT_FINDINGS_PER_OFFICER)
    evaluations = (per_officer - EVENTS_PER_RECORD["officer"] - extras) / 2
    return districts, wards, max(0.0, evaluations)


def generate(events: int = 1_000_000, officers: int = 100_000, seed: int = 20261126,
             plan: Plan | None = None) -> Iterator[str]:
    """NDJSON lines (without newlines), in an order the import accepts; fills ``plan``."""
    rnd = random.Random(seed)
    plan = plan if plan is not None else Plan(events, officers)
    districts, wards, evaluations = plan_size(events, officers)
    plan.districts, plan.wards = districts, wards
    whole, frac = int(evaluations), evaluations - int(evaluations)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    records = plan.records
    decision_no = 0

    def emit(record: dict) -> str:
        records[record["type"]] += 1
        if record["type"] == "inspection":
            plan.findings += len(record["findings"])
        return dumps(record)

    yield emit({"type": "unit", "code": "01", "name": "Thành phố Hà Nội", "level": "city"})
    ward_codes: list[str] = []
    n = 0
    district_officers: list[str] = []
    for w in range(wards):
        if w % WARDS_PER_DISTRICT == 0:
            district_officers = []
            d = w // WARDS_PER_DISTRICT
            yield emit({"type": "unit", "code": f"Q{d:03d}", "name": f"Quận số {d}",
                        "level": "district", "parent_code": "01",
                        "established_on": "2008-08-01"})
        ward = f"Q{w // WARDS_PER_DISTRICT:03d}-P{w % WARDS_PER_DISTRICT:02d}"
        ward_name = f"UBND phường {w % WARDS_PER_DISTRICT + 1} quận số {w // WARDS_PER_DISTRICT}"
        yield emit({"type": "unit", "code": ward, "name": ward_name, "level": "ward",
                    "parent_code": f"Q{w // WARDS_PER_DISTRICT:03d}"})
        for year in UNIT_RATING_YEARS:
            yield emit({"type": "unit_rating", "unit_code": ward, "year": year,
                        "rating": rnd.choices(("strong", "average", "weak"), (30, 60, 10))[0]})
        ward_officers: list[str] = []
        for _ in range(min(OFFICERS_PER_WARD, officers - n)):
            code = f"HN-{n:07d}"
            ward_officers.append(code)
            category = rnd.choices([c for c, _ in CATEGORIES], [p for _, p in CATEGORIES])[0]
            name = f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
            joined = f"{rnd.randint(1995, 2018)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
            yield emit({"type": "officer", "personnel_code": code, "full_name": name,
                        "category": category, "unit_code": ward,
                        "position": rnd.choice(POSITIONS), "joined_on": joined})
            count = whole + (1 if rnd.random() < frac else 0)
            for kind, when in _evaluation_slots(count):
                if kind == "annual_rating":
                    yield emit({"type": kind, "personnel_code": code, "year": when,
                                "rating": _annual_level(rnd, when)})
                else:
                    yield emit({"type": kind, "personnel_code": code, "period": when,
                                "score": rnd.randint(55, 100)})
            if rnd.random() < P_APPOINT:
                decision_no += 1
                yield emit({"type": "appointment", "personnel_code": code,
                            "position": "Phó Chủ tịch UBND phường", "term_start": "2021-03-01",
                            "decision_ref": _ref(decision_no, "2021-02-20", ward_name)})
            if category == "cong_chuc" and rnd.random() < P_DISCIPLINE:
                decision_no += 1
                yield emit({"type": "discipline", "personnel_code": code,
                            "opened_on": "2024-03-10",
                            "violations": [{"conduct_code": rnd.choice(CONDUCT),
                                            "occurred_on": "2024-03-01",
                                            "detected_on": "2024-03-05",
                                            "description": "Vi phạm quy định giờ làm việc"}],
                            "form": rnd.choice(("khien_trach", "canh_cao")),
                            "decision_ref": _ref(decision_no, "2024-04-01", ward_name),
                            "effective_from": "2024-04-01"})
            if ward_codes and rnd.random() < P_TRANSFER:
                decision_no += 1
                yield emit({"type": "transfer", "personnel_code": code,
                            "to_unit_code": rnd.choice(ward_codes),
                            "effective_on": "2025-01-02",
                            "decision_ref": _ref(decision_no, "2024-12-20", ward_name,
                                                 "QĐ-UBND-ĐĐ")})
            if rnd.random() < P_LEAVE:
                yield emit({"type": "leaving", "personnel_code": code, "left_on": "2025-06-30",
                            "reason": "Nghỉ hưu theo chế độ"})
            n += 1
        ward_codes.append(ward)
        district = w // WARDS_PER_DISTRICT
        yield emit(_inspection(rnd, ward, ward_officers, WARD_FINDINGS_PER_OFFICER, 5, w + 1,
                               district))
        district_officers += ward_officers
        if w % WARDS_PER_DISTRICT == WARDS_PER_DISTRICT - 1 or w == wards - 1:
            yield emit(_inspection(rnd, f"Q{district:03d}", district_officers,
                                   DISTRICT_FINDINGS_PER_OFFICER, 6, 100_000 + district,
                                   district))


def write(path: Path, events: int, officers: int, seed: int = 20261126) -> Plan:
    """Write the data set to ``path`` (one record per line); returns its plan."""
    plan = Plan(events, officers)
    with open(path, "w", encoding="utf-8") as f:
        buffer: list[str] = []
        for line in generate(events, officers, seed, plan):
            buffer.append(line)
            if len(buffer) >= 10_000:
                f.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            f.write("\n".join(buffer) + "\n")
    return plan
