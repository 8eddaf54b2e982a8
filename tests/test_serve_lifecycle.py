"""`audit-service serve` leaves nothing behind: its Prometheus directory is removed when it
stops (SIGTERM or Ctrl-C), and a server that cannot bind its port starts no projector.

Processes are found by a marker in their environment (every process `serve` starts
inherits it), scanning /proc.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests

from scripts.load_test import CLI, free_port

pytestmark = pytest.mark.slow


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def serve_env(tmp_path):
    env = {**os.environ, "AUDIT_DATABASE_URL": f"sqlite:///{tmp_path}/audit.sqlite3",
           "TMPDIR": str(tmp_path / "tmp"), "AUDIT_TEST_MARKER": uuid.uuid4().hex,
           "AUDIT_ACCESS_LOG": ""}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (tmp_path / "tmp").mkdir()
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=60)
    yield env
    for pid in processes_with(env["AUDIT_TEST_MARKER"]):  # what a failed test left running
        os.kill(pid, signal.SIGKILL)


def metrics_dirs(env: dict) -> list[str]:
    return [d for d in os.listdir(env["TMPDIR"]) if d.startswith("audit-metrics-")]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_removes_its_metrics_directory_when_it_stops(serve_env, stop_signal, tmp_path):
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([*CLI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              env=serve_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert len(metrics_dirs(serve_env)) == 1
        server.send_signal(stop_signal)
        assert server.wait(timeout=40) == 0
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    assert metrics_dirs(serve_env) == []
    assert processes_with(serve_env["AUDIT_TEST_MARKER"]) == []  # projector and workers too


def test_serve_that_cannot_bind_its_port_leaves_no_projector(serve_env, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = subprocess.run([*CLI, "serve", "--bind", f"127.0.0.1:{port}", "--projector"],
                             env=serve_env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "Can't connect to" in out.stdout + out.stderr
    time.sleep(0.5)
    assert processes_with(serve_env["AUDIT_TEST_MARKER"]) == []
    assert metrics_dirs(serve_env) == []
