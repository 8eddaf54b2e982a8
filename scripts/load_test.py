"""Mixed read/write load against a real `audit-service serve`, with faults on a schedule.

Usage (PostgreSQL; every run uses a fresh schema, dropped afterwards)::

    python -m scripts.load_test --seconds 60 --clients 8 \\
        [--kill-worker-at 20] [--kill-projector-at 30] [--restart-postgres-at 40]

It starts `audit-service serve --no-projector` (2 workers) and `audit-service project`,
registers a ward with officers, then runs client threads that mix writes (new officers,
monthly grades, annual ratings; each POST with an Idempotency-Key, retried on connection
errors and 503 like a real client) and reads (history with ``min_position`` of the client's
own last write, eligibility, officer lists). Faults: SIGKILL one gunicorn worker; SIGKILL
the projector (restarted 1 s later, as a supervisor would); stop PostgreSQL for a few
seconds and start it again (needs root and ``pg_ctlcluster``).

Afterwards it checks: no 5xx other than 503 (and 503 only while PostgreSQL was down or the
projector was catching up), every acknowledged write is in the store, and the projections
converge and equal a rebuild. Prints a JSON report; exit status 1 if a check failed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

CLI = [sys.executable, "-m", "scripts.cli"]
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict, *args: str) -> str:
    out = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"audit-service {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def pg_cluster(database_url: str) -> tuple[str, str]:
    """The local cluster (version, name) that serves ``database_url``: the one listening on
    its port, so a machine with several clusters restarts the one under test only."""
    from urllib.parse import urlsplit

    port = urlsplit(database_url).port or 5432
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        version, name, listening = line.split()[:3]
        if listening == str(port):
            return version, name
    raise RuntimeError(f"no local PostgreSQL cluster listens on port {port}")


@dataclass
class Report:
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    acknowledged: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, status: int) -> None:
        with self.lock:
            self.requests[kind] += 1
            self.statuses[status] += 1


class Stack:
    """`audit-service serve` and, unless ``own_projector`` is False (then ``serve`` runs its
    own on SQLite), `audit-service project`, started as separate processes."""

    def __init__(self, env: dict, workers: int = 2, log_dir: str = ".",
                 own_projector: bool = True, access_log: str = ""):
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, f"serve-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.server = subprocess.Popen(
            [*CLI, "serve", *(["--no-projector"] if own_projector else []),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
            env={**env, "AUDIT_ACCESS_LOG": access_log}, stdout=self.log,
            stderr=subprocess.STDOUT)
        self.projector = self._projector() if own_projector else None
        # A worker that is still booting (or a busy machine) may accept and answer late:
        # refused connections and slow answers both mean "not up yet", until the deadline.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=2).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start: " + open(self.log_path).read()[-2000:])

    def _projector(self) -> subprocess.Popen:
        return subprocess.Popen([*CLI, "project", "--poll-interval", "0.05"], env=self.env,
                                stdout=self.log, stderr=subprocess.STDOUT)

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.server.pid)], capture_output=True,
                             text=True)
        return [int(p) for p in out.stdout.split()]

    def kill_worker(self) -> int:
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_projector(self, restart_after: float = 1.0) -> None:
        self.projector.send_signal(signal.SIGKILL)
        self.projector.wait(timeout=10)
        time.sleep(restart_after)
        self.projector = self._projector()

    def stop(self) -> int | None:
        """SIGTERM both, wait; returns the server's exit status."""
        procs = [p for p in (self.server, self.projector) if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()
        return self.server.returncode


class Client(threading.Thread):
    def __init__(self, n: int, stack: Stack, headers: dict, ward: str, officers: list[str],
                 report: Report, until: float, outage: threading.Event):
        super().__init__(daemon=True)
        self.n, self.stack, self.headers, self.ward = n, stack, headers, ward
        self.officers, self.report, self.until, self.outage = officers, report, until, outage
        self.session = requests.Session()
        self.random = random.Random(n)
        self.last_position = 0
        self.counter = 0

    def post(self, role: str, path: str, body: dict) -> dict | None:
        """POST like a client on a bad network: same key on every retry."""
        key = str(uuid.uuid4())
        for _ in range(40):
            if time.monotonic() > self.until + 30:
                return None
            try:
                r = self.session.post(f"{self.stack.base}/api/v1{path}", json=body, timeout=30,
                                      headers={**self.headers[role], "Idempotency-Key": key})
            except requests.RequestException:
                with self.report.lock:
                    self.report.connection_errors += 1
                time.sleep(0.2)
                continue
            self.report.note("write", r.status_code)
            if r.status_code == 503:
                time.sleep(min(float(r.headers.get("Retry-After", "1")), 2.0))
                continue
            if r.status_code >= 500:
                self.report.unexpected.append((path, r.status_code, r.text[:200]))
                return None
            if r.status_code == 201:
                body = r.json()
                with self.report.lock:
                    self.report.acknowledged.append(body)
                self.last_position = max(self.last_position, body["position"])
                return body
            return None  # a 4xx (e.g. a grade already recorded): the client's own mistake
        return None

    def get(self, role: str, path: str, **params) -> None:
        try:
            r = self.session.get(f"{self.stack.base}/api/v1{path}", params=params,
                                 headers=self.headers[role], timeout=30)
        except requests.RequestException:
            with self.report.lock:
                self.report.connection_errors += 1
            return
        self.report.note("read", r.status_code)
        if r.status_code >= 500 and r.status_code != 503:
            self.report.unexpected.append((path, r.status_code, r.text[:200]))

    def run(self) -> None:
        while time.monotonic() < self.until:
            self.counter += 1
            choice = self.random.random()
            officer = self.random.choice(self.officers)
            if choice < 0.15:
                made = self.post("admin", "/officers", {
                    "personnel_code": f"L{self.n}-{self.counter}-{uuid.uuid4().hex[:6]}",
                    "full_name": f"Cán bộ tải {self.n}-{self.counter}", "category": "cong_chuc",
                    "unit_id": self.ward, "position": "Chuyên viên"})
                if made:
                    self.officers.append(made["id"])
            elif choice < 0.45:
                year, month = self.random.randint(2019, 2025), self.random.randint(1, 12)
                self.post("board", "/evaluations/monthly", {
                    "officer_id": officer, "period": f"{year}-{month:02d}",
                    "score": self.random.randint(40, 100)})
            elif choice < 0.5:
                self.post("board", "/evaluations/annual", {
                    "officer_id": officer, "year": self.random.randint(2015, 2025),
                    "rating": self.random.choice(("HTXSNV", "HTTNV", "HTNV", "KHTNV"))})
            elif choice < 0.8:
                self.get("board", f"/officers/{officer}/history",
                         min_position=self.last_position or None)
            elif choice < 0.95:
                self.get("board", f"/officers/{officer}/eligibility", on="2026-01-01")
            else:
                self.get("admin", "/officers", unit_id=self.ward, limit=20)


def run_load(database_url: str, seconds: float = 60, clients: int = 8,
             kill_worker_at: float | None = None, kill_projector_at: float | None = None,
             restart_postgres_at: float | None = None, postgres_down_for: float = 4.0,
             log_dir: str | None = None) -> dict:
    from auditing.bootstrap import init_database
    from audit_service.config import Settings
    from projections.db import ReadModelDB
    from projections.projector import PROJECTIONS, Projector
    from projections.readmodels import snapshot

    base = Settings.from_env({"AUDIT_DATABASE_URL": database_url})
    schema = None
    if base.database.kind == "postgresql":
        import psycopg

        schema = "load_" + uuid.uuid4().hex[:10]
        with psycopg.connect(base.database.conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        database_url = f"{database_url}{'&' if '?' in database_url else '?'}schema={schema}"
    env = {**os.environ, "AUDIT_DATABASE_URL": database_url}
    settings = Settings.from_env(env)
    init_database(settings)
    report = Report()
    import tempfile

    stack = Stack(env, log_dir=log_dir or tempfile.mkdtemp(prefix="audit-load-"))
    try:
        headers = {role: {"Authorization": "Bearer " + json.loads(cli(
            env, "tokens", "create", "--role", role, "--name", f"load {role}", "--json"))["token"]}
            for role in ("admin", "board")}
        s = requests.Session()
        city = s.post(f"{stack.base}/api/v1/units", headers=headers["admin"], json={
            "code": "01", "name": "Hà Nội", "level": "city"}).json()
        ward = s.post(f"{stack.base}/api/v1/units", headers=headers["admin"], json={
            "code": "W1", "name": "Phường Một", "level": "ward", "parent_id": city["id"]}).json()
        officers = []
        for n in range(40):
            officers.append(s.post(f"{stack.base}/api/v1/officers", headers=headers["admin"],
                                   json={"personnel_code": f"HN-{n:05d}",
                                         "full_name": f"Cán bộ {n}", "category": "cong_chuc",
                                         "unit_id": ward["id"], "position": "Chuyên viên"}
                                   ).json()["id"])
        started = time.monotonic()
        until = started + seconds
        outage = threading.Event()
        threads = [Client(n, stack, headers, ward["id"], officers, report, until, outage)
                   for n in range(clients)]
        for t in threads:
            t.start()
        schedule = sorted((at, name) for at, name in (
            (kill_worker_at, "kill_worker"), (kill_projector_at, "kill_projector"),
            (restart_postgres_at, "restart_postgres")) if at is not None)
        for at, name in schedule:
            time.sleep(max(0.0, started + at - time.monotonic()))
            if name == "kill_worker":
                report.faults.append({"at": round(time.monotonic() - started, 1),
                                      "fault": "SIGKILL gunicorn worker",
                                      "pid": stack.kill_worker()})
            elif name == "kill_projector":
                report.faults.append({"at": round(time.monotonic() - started, 1),
                                      "fault": "SIGKILL projector (restarted after 1 s)"})
                stack.kill_projector()
            else:
                version, cluster = pg_cluster(database_url)
                report.faults.append({"at": round(time.monotonic() - started, 1),
                                      "fault": f"PostgreSQL stopped for {postgres_down_for} s"})
                outage.set()
                subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster,
                                "stop", "-m", "fast"], check=True)
                time.sleep(postgres_down_for)
                subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster,
                                "start"], check=True)
                outage.clear()
        for t in threads:
            t.join(timeout=seconds + 120)
        # convergence: the projector catches up with the head, and equals a rebuild
        from audit_service.application import AuditService

        app = AuditService(settings)
        db = ReadModelDB(settings.database)
        try:
            head = app.recorder.max_notification_id() or 0
            deadline = time.monotonic() + 60
            projector = Projector(app, db=db)
            while time.monotonic() < deadline:
                positions = projector.positions()
                if min(v for k, v in positions.items() if k in {c.name for c in PROJECTIONS}) >= head:
                    break
                time.sleep(0.2)
            converged = min(v for k, v in projector.positions().items()
                            if k in {c.name for c in PROJECTIONS}) >= head
            stored = {n.id for n in app.recorder.select_notifications(start=1, limit=10_000_000)}
            acknowledged = {p for a in report.acknowledged for p in a["positions"]}
            lost = sorted(acknowledged - stored)
            stack.projector.send_signal(signal.SIGTERM)
            stack.projector.wait(timeout=30)

            live = snapshot(db)
            projector.rebuild()
            equal = snapshot(db) == live
        finally:
            db.close()
            app.close()
    finally:
        stack.stop()
        if schema:
            import psycopg

            for _ in range(30):
                try:
                    with psycopg.connect(base.database.conninfo(), autocommit=True) as conn:
                        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                    break
                except psycopg.OperationalError:
                    time.sleep(1)
    server_errors = {str(k): v for k, v in report.statuses.items() if k >= 500 and k != 503}
    result = {
        "seconds": seconds, "clients": clients, "requests": dict(report.requests),
        "statuses": {str(k): v for k, v in sorted(report.statuses.items())},
        "connection_errors": report.connection_errors,
        "acknowledged_writes": len(report.acknowledged), "events_in_store": len(stored),
        "lost_acknowledged_positions": lost, "server_errors": server_errors,
        "unexpected": report.unexpected[:10], "projections_converged": converged,
        "projections_equal_rebuild": equal, "faults": report.faults,
    }
    result["ok"] = bool(not lost and not server_errors and converged and equal
                        and not report.unexpected)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("AUDIT_LOAD_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-worker-at", type=float)
    parser.add_argument("--kill-projector-at", type=float)
    parser.add_argument("--restart-postgres-at", type=float)
    parser.add_argument("--postgres-down-for", type=float, default=4.0)
    args = parser.parse_args(argv)
    result = run_load(args.database_url, args.seconds, args.clients, args.kill_worker_at,
                      args.kill_projector_at, args.restart_postgres_at, args.postgres_down_for)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
