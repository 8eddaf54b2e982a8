"""``audit-service serve`` and ``audit-service tokens``: running the HTTP API and managing
who may call it."""
from __future__ import annotations

import json
import os
import sys
import tempfile

import click


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn workers (default: CPU count + 1).")
@click.option("--projector/--no-projector", default=None,
              help="Also run the projector (default: on for SQLite, off for PostgreSQL, where"
                   " it runs as its own `audit-service project` service).")
def serve(bind: str, workers: int | None, projector: bool | None) -> None:
    """Run the HTTP API under gunicorn on the configured database (loads no data)."""
    from auditing.bootstrap import check_initialised
    from audit_service.config import Settings
    from audit_service.errors import ConfigurationError

    settings = Settings.from_env()
    try:
        check_initialised(settings)
    except ConfigurationError as exc:
        if exc.code != "database_unreachable":
            raise
        # Workers start without their database and answer 503 until it is back.
        click.echo(f"audit-service: {exc.message}; serving anyway: /readyz and every request"
                   " that needs the database answer 503 until it answers", err=True)
    if projector is None:
        projector = settings.database.kind == "sqlite"
    env = dict(os.environ, AUDIT_BIND=bind, AUDIT_SERVE_PROJECTOR="1" if projector else "0")
    if workers:
        env["AUDIT_WORKERS"] = str(workers)
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # Removed by the gunicorn master when it exits (api/gunicorn_conf.py).
        env["PROMETHEUS_MULTIPROC_DIR"] = env["AUDIT_METRICS_DIR_MADE_BY_SERVE"] = \
            tempfile.mkdtemp(prefix="audit-metrics-")
    click.echo(f"serving {settings.database.display} on http://{bind}"
               f" ({'with' if projector else 'without'} the projector)", err=True)
    sys.stdout.flush()
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_conf"]
    os.execve(sys.executable, argv, env)


@click.group("tokens")
def tokens() -> None:
    """API tokens: each names a user and a role; only a hash of the token is stored."""


def _store():
    from auditing.access import TokenStore
    from audit_service.config import Settings, check_reachable
    from projections.db import ReadModelDB

    settings = Settings.from_env()
    check_reachable(settings.database)
    return TokenStore(ReadModelDB(settings.database))


def _unit(ref: str):
    """A unit by id or code; the service says which does not exist."""
    from uuid import UUID

    from audit_service.bootstrap import build_service

    app = build_service()
    try:
        try:
            return app.get_unit(UUID(ref))
        except ValueError:
            return app.find_unit(ref)
    finally:
        app.close()


@tokens.command("create")
@click.option("--role", required=True,
              type=click.Choice(["inspector", "board", "auditor", "admin"]))
@click.option("--name", required=True, help="Who holds the token (a person or a system).")
@click.option("--unit", "unit_id", default=None,
              help="The unit (id or code) the user belongs to; an inspector tied to a unit may"
                   " open inspections only in it and the units under it.")
@click.option("--json", "as_json", is_flag=True, help="Print {user_id, role, token} as JSON.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="Base URL used in the example curl line.")
def tokens_create(role: str, name: str, unit_id: str | None, as_json: bool, url: str) -> None:
    """Create a user and print its token once (it cannot be shown again)."""
    if unit_id:
        unit_id = str(_unit(unit_id).id)
    user, token = _store().create(role, name, unit_id)
    if as_json:
        click.echo(json.dumps({"user_id": user.user_id, "role": user.role, "name": user.name,
                               "token": token}, ensure_ascii=False))
        return
    click.echo(f"user {user.user_id} ({user.role}, {user.name})")
    click.echo(f"token (shown once): {token}")
    click.echo(f"try: curl -s -H 'Authorization: Bearer {token}' "
               f"'{url.rstrip('/')}/api/v1/officers?limit=3'")


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def tokens_list(as_json: bool) -> None:
    """Every user with its role and whether its token is revoked (never the tokens)."""
    rows = _store().list()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        click.echo(f"{r['user_id']:<22} {r['role']:<10} {state:<40} {r['name']}")


@tokens.command("revoke")
@click.argument("user_id")
def tokens_revoke(user_id: str) -> None:
    """Revoke a user's token; it stops working at once."""
    _store().revoke(user_id)
    click.echo(f"revoked {user_id}")
