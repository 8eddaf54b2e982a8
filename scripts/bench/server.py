"""Running ``audit-service`` as a separate process: ``serve`` on a free port, tokens, and timed
child commands with their own peak memory (``os.wait4``)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from scripts.procmem import peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "scripts.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(env: dict) -> dict:
    return {**os.environ, **env, "PYTHONPATH": env.get("PYTHONPATH", str(ROOT))}


def cli(env: dict, *args: str, timeout: float = 120) -> str:
    out = subprocess.run([*CLI, *args], env=child_env(env), capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"audit-service {' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
    return out.stdout


def cli_available(command: str) -> bool:
    out = subprocess.run([*CLI, "--help"], capture_output=True, text=True, cwd=ROOT,
                         env=child_env({}))
    return any(line.split()[:1] == [command] for line in out.stdout.splitlines())


def token(env: dict, role: str, name: str = "bench") -> str:
    return json.loads(cli(env, "tokens", "create", "--role", role, "--name", name,
                          "--json"))["token"]


def timed_child(argv: list[str], env: dict, log: Path, stdout: Path | None = None) -> dict:
    """Run a command to completion: wall seconds, exit status and its own peak RSS (MB).
    Its stderr goes to ``log``, and so does its stdout unless ``stdout`` names a file.

    The peak is the child's ``VmHWM``, sampled every 20 ms while it runs, not its
    ``ru_maxrss`` (see ``scripts/procmem.py``)."""
    import threading

    peaks: list[float] = []
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(0.02):
            value = peak_rss_mb(pid)
            if value is not None:
                peaks.append(value)

    with open(log, "ab") as err, open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=child_env(env), stdout=out if stdout else err,
                                stderr=err, cwd=ROOT)
        sampler = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    peak = max(peaks) if peaks else usage.ru_maxrss / 1024
    return {"seconds": elapsed, "exit": proc.returncode, "peak_rss_mb": peak}


class Server:
    """``audit-service serve --no-projector --workers N`` on a free loopback port."""

    def __init__(self, env: dict, workers: int, log: Path, projector: bool = False):
        import requests

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--projector" if projector else "--no-projector"],
            env=child_env(env), stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"audit-service serve exited with {self.proc.returncode};"
                                   f" see {log}")
            try:
                if requests.get(self.base + "/healthz", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or too busy to answer
                time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"audit-service serve did not start; see {log}")
        # gunicorn answers /healthz as soon as one worker is up; wait for all of them.
        deadline = time.monotonic() + 30
        while len(self.workers()) < workers and time.monotonic() < deadline:
            time.sleep(0.2)

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
