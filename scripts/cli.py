"""The ``audit-service`` command: operator and auditor tools.

Configuration comes from the environment (AUDIT_DATABASE_URL, AUDIT_CIPHER_KEY, and
AUDIT_TODAY as a testing aid); a bad setting or an unreachable database gives one line on
stderr and exit status 2.
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
    from auditing.bootstrap import init_database
    from audit_service.config import Settings

    settings = Settings.from_env()
    done = init_database(settings)
    click.echo(f"initialised {settings.database.display}: {', '.join(done)}")


@main.command("demo-data")
@click.option("--officers", default=520, show_default=True, type=click.IntRange(min=1),
              help="How many officers to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same data).")
@click.option("--if-empty", is_flag=True,
              help="Load only into an empty store (or finish an interrupted load of this demo).")
def demo_data(officers: int, seed: int, if_empty: bool) -> None:
    """Load a deterministic, realistic demo city: units, officers, inspections, discipline, ratings.

    Resumable: re-running after an interruption completes the same city, nothing twice; on a
    store holding the complete city it appends nothing. With --if-empty, a store holding
    other events is left alone (a message, exit status 0).
    """
    from audit_service.bootstrap import build_service
    from audit_service.config import Settings, check_reachable
    from scripts.demo_data import demo_state, generate

    settings = Settings.from_env()
    check_reachable(settings.database)
    app = build_service(settings)
    try:
        state = demo_state(app, seed, officers)
        what = f"seed {seed}, {officers} officers"
        if state is not None and state.summary is not None:
            click.echo(f"demo data already loaded ({what}, made for {state.today}); nothing to do")
            return
        if state is None and if_empty and app.recorder.max_notification_id():
            click.echo(f"the store already holds {app.recorder.max_notification_id()} events"
                       f" that are not the demo city ({what}); demo data not loaded", err=True)
            return
        if state is not None:
            click.echo(f"resuming an interrupted demo load ({what}, made for {state.today})",
                       err=True)
            if state.today != app.today():  # the same commands need the same day
                app.close()
                app = build_service(settings, today=lambda: state.today)
        summary = generate(app, officers=officers, seed=seed)
    finally:
        app.close()
    click.echo("demo data loaded: " + ", ".join(f"{v} {k}" for k, v in summary.items()))


def _projector():
    from audit_service.bootstrap import build_service
    from audit_service.config import Settings, check_reachable
    from projections.projector import Projector

    settings = Settings.from_env()
    check_reachable(settings.database)
    return Projector(build_service(settings))


@main.command("project")
@click.option("--until-caught-up", is_flag=True,
              help="Apply everything in the log, then exit instead of following it.")
@click.option("--poll-interval", default=0.1, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Seconds between polls of the log when idle.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Events applied per transaction.")
def project(until_caught_up: bool, poll_interval: float, batch_size: int) -> None:
    """Keep the read models current; runs until SIGTERM or SIGINT, then stops cleanly."""
    import signal

    projector = _projector()
    projector.batch_size = batch_size
    follow_integrity_with(projector)  # the hash chain and its checkpoints advance in each turn
    if until_caught_up:
        from auditing.integrity import ChainRestartRefused

        try:
            count = projector.catch_up()
        except ChainRestartRefused as exc:  # one line, exit 1: the operator must decide
            raise click.ClickException(str(exc)) from None
        click.echo(f"applied {count} events; at position {min(projector.positions().values())}")
        return

    def stop(signum, _frame):
        click.echo(f"received signal {signum}; stopping after the current batch", err=True)
        projector.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("projector running; Ctrl-C to stop", err=True)
    projector.run(poll_interval=poll_interval)
    click.echo("projector stopped", err=True)


@main.group()
def projections() -> None:
    """Read-model projections: status, rebuild, and retry of quarantined events."""


@projections.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def projections_status(as_json: bool) -> None:
    """Each projection's position against the head of the log, and how far behind it is."""
    import json

    rows = _projector().status()
    if as_json:
        click.echo(json.dumps([{"name": r.name, "position": r.position, "head": r.head,
                                "behind": r.behind, "updated_at": r.updated_at,
                                "quarantined": r.quarantined} for r in rows],
                              ensure_ascii=False))
        return
    click.echo(f"{'projection':<20} {'position':>10} {'head':>10} {'behind':>8}  updated at")
    for r in rows:
        click.echo(f"{r.name:<20} {r.position:>10} {r.head:>10} {r.behind:>8}  {r.updated_at}")
    for r in rows:
        for q in r.quarantined:
            click.echo(f"quarantined: {r.name} position {q['position']} since"
                       f" {q['quarantined_at']}: {q['error_type']}: {q['error']}")


@projections.command("retry")
@click.option("--projection", "name", default=None, help="Only this projection's events.")
@click.option("--position", type=click.IntRange(min=1), default=None,
              help="Only the event at this log position.")
def projections_retry(name: str | None, position: int | None) -> None:
    """Apply quarantined events again (after a fix), in log order, each in its own
    transaction; exits 1 if any still fails (it stays quarantined)."""
    try:
        results = _projector().retry(name, position)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--projection") from None
    if not results:
        click.echo("no quarantined events" + (" match" if name or position else ""))
        return
    for r in results:
        click.echo(f"{r['projection']} position {r['position']}: {r['outcome']}"
                   + (f" ({r['error']})" if r["error"] else ""))
    failed = sum(r["outcome"] != "applied" for r in results)
    click.echo(f"{len(results) - failed} applied, {failed} still quarantined")
    if failed:
        raise SystemExit(1)


@projections.command("rebuild")
@click.argument("name", required=False)
@click.option("--workers", type=click.IntRange(min=1, max=16), default=None,
              help="Processes that load the officer timeline, each its share of the log"
                   " (PostgreSQL; default: the CPUs this process may use, at most 4; each"
                   " process opens a few database connections). SQLite uses one.")
def projections_rebuild(name: str | None, workers: int | None) -> None:
    """Replay the log into fresh tables and swap them in (all projections, or NAME)."""
    import os

    from tqdm import tqdm

    projector = _projector()
    if workers is None:
        workers = max(1, min(4, len(os.sched_getaffinity(0))))
    head = projector.app.recorder.max_notification_id() or 0
    with tqdm(total=head, unit="ev", desc="rebuild", disable=None) as bar:
        def progress(position: int, total: int) -> None:
            bar.total = max(total, bar.total or 0)
            bar.update(position - bar.n)

        try:
            position = projector.rebuild([name] if name else None, progress=progress,
                                         workers=workers)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="NAME") from None
    click.echo(f"rebuilt {name or 'all projections'} up to position {position}")
    for q in projector.rebuild_quarantined:
        click.echo(f"quarantined: {q['projection']} position {q['position']}:"
                   f" {q['error_type']}: {q['error']}")


@main.group()
def keys() -> None:
    """Key material: the cipher key for personal data at rest, checkpoint-signing keys."""


@keys.command("cipher")
def keys_cipher() -> None:
    """Print a new random AUDIT_CIPHER_KEY (AES-256, base64)."""
    import base64
    import os

    click.echo(base64.b64encode(os.urandom(32)).decode())


from .cli_serve import serve, tokens  # noqa: E402

main.add_command(serve)
main.add_command(tokens)
from .cli_users import users  # noqa: E402

main.add_command(users)
from .cli_data import import_command  # noqa: E402

main.add_command(import_command)

from .cli_audit import follow_integrity_with, register as register_audit  # noqa: E402

register_audit(main, keys)


# Commands that never open the store. Every other command first checks that `init-db` has
# prepared it (one line and exit 2 if not, creating nothing); `serve` checks for itself.
STORELESS = {"init-db", "keys", "serve"}


def _check_store_first(group: click.Group) -> None:
    import functools

    from auditing.bootstrap import check_initialised

    for name, command in group.commands.items():
        if name in STORELESS and group is main:
            continue
        if isinstance(command, click.Group):
            _check_store_first(command)
            continue
        callback = command.callback

        @functools.wraps(callback)
        def checked(*args, _callback=callback, **kwargs):
            check_initialised()
            return _callback(*args, **kwargs)

        command.callback = checked


_check_store_first(main)

if __name__ == "__main__":
    main()
