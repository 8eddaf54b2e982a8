"""The ``audit-service`` command: operator and auditor tools.

Configuration comes from the environment (AUDIT_DATABASE_URL, AUDIT_CIPHER_KEY); a bad
or unreachable database gives one line on stderr and exit status 2.
"""
from __future__ import annotations

import sys

import click

from audit_service.errors import AuditError, ConfigurationError


class Group(click.Group):
    """Turns the service's own errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            click.echo(f"audit-service: {exc.message}", err=True)
            sys.exit(2)
        except AuditError as exc:
            click.echo(f"audit-service: {exc.code}: {exc.message}", err=True)
            sys.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Event-sourced audit and discipline tracking for public officials."""


@main.command("init-db")
def init_db() -> None:
    """Create the event store and read-model tables (idempotent; safe to run concurrently)."""
    from audit_service.bootstrap import init_database
    from audit_service.config import Settings

    settings = Settings.from_env()
    done = init_database(settings)
    click.echo(f"initialised {settings.database.display}: {', '.join(done)}")


@main.command("demo-data")
@click.option("--officers", default=520, show_default=True, help="How many officers to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds events.")
def demo_data(officers: int, seed: int, if_empty: bool) -> None:
    """Load a deterministic, realistic demo city: units, officers, inspections, discipline, ratings."""
    from audit_service.bootstrap import build_service
    from audit_service.config import Settings, check_reachable
    from scripts.demo_data import generate

    settings = Settings.from_env()
    check_reachable(settings.database)
    app = build_service(settings)
    try:
        if if_empty and app.recorder.max_notification_id():
            click.echo("the store already holds events; demo data not loaded")
            return
        summary = generate(app, officers=officers, seed=seed)
    finally:
        app.close()
    click.echo("demo data loaded: " + ", ".join(f"{v} {k}" for k, v in summary.items()))


@main.group()
def keys() -> None:
    """Key material: the cipher key for personal data at rest."""


@keys.command("cipher")
def keys_cipher() -> None:
    """Print a new random AUDIT_CIPHER_KEY (AES-256, base64)."""
    import base64
    import os

    click.echo(base64.b64encode(os.urandom(32)).decode())


if __name__ == "__main__":
    main()
