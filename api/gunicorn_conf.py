"""gunicorn settings for audit-service (``gunicorn.conf.py`` at the repository root and
``audit-service serve`` both use this module).

Each worker calls ``api:create_app()`` after the fork (``preload_app`` is off), so every
worker builds its own eventsourcing application and database connections. Sized for a
small machine: CPU count + 1 workers of 4 threads each. Tables are not created here; run
``audit-service init-db`` once first.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys

wsgi_app = "api:create_app()"
bind = os.environ.get("AUDIT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("AUDIT_WORKERS", (os.cpu_count() or 1) + 1))
# Threaded workers keep client connections alive between requests (sync workers close
# every connection); each thread has its own read-model connection.
worker_class = os.environ.get("AUDIT_WORKER_CLASS", "gthread")
threads = int(os.environ.get("AUDIT_THREADS", "4"))
preload_app = False
timeout = int(os.environ.get("AUDIT_WORKER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("AUDIT_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
limit_request_line = 8190
accesslog = os.environ.get("AUDIT_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("AUDIT_LOG_LEVEL", "info")
proc_name = "audit-service"
# gunicorn ≥ 25's control socket lives at one path per user; several services on one host
# would fight over it, and nothing here uses it.
control_socket_disable = True

_projector: subprocess.Popen | None = None
_master_pid: int | None = None


def on_starting(server) -> None:
    """In the master only: clean up at its exit, however it exits (see ``_at_exit``)."""
    global _master_pid
    _master_pid = os.getpid()
    atexit.register(_at_exit)


def when_ready(server) -> None:
    """With AUDIT_SERVE_PROJECTOR=1 (``serve`` on SQLite), run the projector beside gunicorn;
    only now that the port is bound, so a server that cannot bind leaves no projector."""
    global _projector
    if os.environ.get("AUDIT_SERVE_PROJECTOR") == "1":
        _projector = subprocess.Popen([sys.executable, "-m", "scripts.cli", "project"])
        server.log.info("projector started (pid %s)", _projector.pid)


def on_exit(server) -> None:
    if _stop_projector():
        server.log.info("projector stopped")


def _stop_projector() -> bool:
    if _projector is None or _projector.poll() is not None:
        return False
    _projector.send_signal(signal.SIGTERM)
    try:
        _projector.wait(timeout=graceful_timeout)
    except subprocess.TimeoutExpired:
        _projector.kill()
    return True


def _at_exit() -> None:
    """The master's last act (also after a failed start, which skips ``on_exit``): stop the
    projector, and remove the Prometheus directory that ``serve`` made for this run.
    Workers are forks of the master and run atexit handlers too: they do nothing here."""
    if os.getpid() != _master_pid:
        return
    _stop_projector()
    made = os.environ.get("AUDIT_METRICS_DIR_MADE_BY_SERVE")
    if made and made == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(made, ignore_errors=True)


def child_exit(server, worker) -> None:
    """Let Prometheus forget a dead worker's live gauges (counters are kept)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
