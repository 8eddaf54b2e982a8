"""``audit-service users``: accounts that sign in to the web pages with a password."""
from __future__ import annotations

import json
import sys

import click


def _accounts():
    from auditing.accounts import Accounts
    from audit_service.config import Settings, check_reachable
    from projections.db import ReadModelDB

    settings = Settings.from_env()
    check_reachable(settings.database)
    return Accounts(ReadModelDB(settings.database))


@click.group("users")
def users() -> None:
    """Web accounts: a user name, a role (and unit), a password kept as a scrypt hash."""


@users.command("set-password")
@click.argument("user_name")
@click.option("--role", type=click.Choice(["inspector", "board", "auditor", "admin"]),
              default=None, help="The role (required when the user is new).")
@click.option("--name", "display_name", default=None, help="The name shown on the pages.")
@click.option("--unit", "unit_id", default=None, help="The user's unit (id or code).")
def set_password(user_name: str, role: str | None, display_name: str | None,
                 unit_id: str | None) -> None:
    """Create USER_NAME or change its password; the password is read from stdin (asked
    twice, hidden, on a terminal), never from the command line."""
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if unit_id:
        from .cli_serve import _unit

        unit_id = str(_unit(unit_id).id)
    user = _accounts().set_password(user_name, password, role=role, display_name=display_name,
                                    unit_id=unit_id)
    click.echo(f"user {user.user_id} ({user.role}, {user.name}): password set")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_users(as_json: bool) -> None:
    """Every account with its role and whether it is disabled (never the hashes)."""
    rows = _accounts().list()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        state = f"disabled {r['disabled_at']}" if r["disabled_at"] else "active"
        click.echo(f"{r['user_name']:<22} {r['role']:<10} {state:<36} {r['display_name']}")


@users.command("disable")
@click.argument("user_name")
def disable(user_name: str) -> None:
    """Stop an account from signing in (setting a new password enables it again)."""
    _accounts().disable(user_name)
    click.echo(f"disabled {user_name}")


@users.command("demo")
@click.argument("user_name", default="demo.board")
@click.option("--role", type=click.Choice(["inspector", "board", "auditor", "admin"]),
              default="board", show_default=True)
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="Base URL printed for the sign-in page.")
def demo(user_name: str, role: str, url: str) -> None:
    """For demos only: give USER_NAME a new random password and print it with the URL."""
    import secrets

    password = secrets.token_urlsafe(12)
    user = _accounts().set_password(user_name, password, role=role,
                                    display_name=f"Demo {role}")
    click.echo(f"open {url.rstrip('/')}/login and sign in as {user.user_id} ({user.role})"
               f" with the password {password}   (demo only: printed, not for real use)")
