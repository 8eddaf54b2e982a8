"""The built wheel, installed into a fresh virtual environment outside the source tree, works:
its console script creates a database, loads demo data, serves, and answers a request.

A broken entry point, a module left out of ``packages`` or reference data left out of
``package_data`` fail here, where the rest of the suite (run from the source tree) would pass.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from scripts.load_test import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def tracked_copy(dest: Path) -> Path:
    """The tracked files only, so nothing untracked in the working copy gets into the wheel."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the installed environment's bin directory, the wheel)."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = tracked_copy(tmp / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("audit_service-*.whl")
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    bin_dir = tmp / "venv" / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=600, cwd=tmp)
    assert done.returncode == 0, done.stderr
    return bin_dir, wheel


def test_the_wheel_holds_every_package_and_the_reference_data(installed):
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    tomls = sorted(p.name for p in (ROOT / "audit_service" / "reference").glob("*.toml"))
    assert tomls and all(f"audit_service/reference/{t}" in names for t in tomls)
    for package in ("audit_service", "auditing", "audit_service/domain",
                    "projections", "api", "api/routes", "scripts", "scripts/bench"):
        assert f"{package}/__init__.py" in names, package
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "audit-service = scripts.cli:main" in zipfile.ZipFile(wheel).read(
        entry_points).decode()


def test_the_installed_console_script_inits_loads_serves_and_answers(installed, tmp_path):
    bin_dir, _ = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AUDIT_")}
    env["AUDIT_DATABASE_URL"] = f"sqlite:///{work}/audit.sqlite3"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    def cli(*args: str) -> str:
        out = subprocess.run([str(bin_dir / "audit-service"), *args], cwd=work, env=env,
                             capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, (args, out.stdout[-2000:], out.stderr[-2000:])
        return out.stdout

    where = subprocess.run([str(bin_dir / "python"), "-c",
                            "import audit_service.reference as r; print(r.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert str(bin_dir.parent) in where.stdout and str(ROOT) not in where.stdout
    cli("init-db")
    cli("demo-data", "--officers", "6", "--seed", "3")
    token = json.loads(cli("tokens", "create", "--role", "auditor", "--name", "packaging",
                           "--json"))["token"]
    port = free_port()
    log = open(work / "serve.log", "w")
    server = subprocess.Popen([str(bin_dir / "audit-service"), "serve", "--bind",
                               f"127.0.0.1:{port}", "--workers", "1"], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", server, timeout=60)
        request = urllib.request.Request(base + "/api/v1/reference/rules",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200
            rules = {rule["id"] for rule in json.load(r)["items"]}  # read from rules.toml
        assert {"term-failed-rating", "open-proceeding", "discipline-effect"} <= rules
        request = urllib.request.Request(base + "/api/v1/units",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200 and json.load(r)["items"]  # the demo city's units
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    assert server.returncode == 0, (work / "serve.log").read_text()[-2000:]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)  # polling interval, not a wait for a condition
    pytest.fail(f"{url} did not answer within {timeout} s")
