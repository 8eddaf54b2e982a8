"""Auditor commands of ``audit-service``: keys generate/public, checkpoint, export, verify, replay.

Registered on the main group by ``scripts/cli.py``. Configuration comes from the
environment: AUDIT_DATABASE_URL, AUDIT_CIPHER_KEY, AUDIT_SIGNING_KEY_FILE or
AUDIT_SIGNING_KEY, AUDIT_CHECKPOINT_EVERY_EVENTS, AUDIT_CHECKPOINT_EVERY_SECONDS.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .cli_types import CheckpointFile, Day, Instant, NewFile


def _open():
    """(app, read-model db) for the configured store."""
    from audit_service.bootstrap import build_service
    from audit_service.config import Settings, check_reachable
    from projections.db import ReadModelDB

    settings = Settings.from_env()
    check_reachable(settings.database)
    app = build_service(settings)
    return app, ReadModelDB(settings.database)


def _follower(app, db):
    from auditing.integrity import IntegrityFollower

    return IntegrityFollower(app, db)


def follow_integrity_with(projector):
    """Advance the integrity chain in every turn of the projector's loop (``project``)."""
    from auditing.integrity import follow_with

    return follow_with(projector)


# --------------------------------------------------------------------------- keys

@click.command("generate")
@click.option("--out", type=NewFile(), default=None,
              help="Write the private key to this new file (mode 0600) instead of stdout.")
def keys_generate(out: str | None) -> None:
    """Make a new Ed25519 checkpoint-signing key (AUDIT_SIGNING_KEY_FILE / AUDIT_SIGNING_KEY).

    Prints the key id and the public key, which auditors should keep. Without --out the
    private key (base64) is printed on stdout: keep it out of the database and of logs.
    """
    from auditing.signing import Signer, write_key_file

    signer = Signer.generate()
    if out:
        try:
            write_key_file(out, signer)
        except FileExistsError:
            raise click.BadParameter(f"{out} exists; refusing to overwrite a key",
                                     param_hint="--out") from None
        click.echo(f"private key written to {out}; set AUDIT_SIGNING_KEY_FILE={out}", err=True)
    else:
        click.echo(signer.seed_b64())
    click.echo(f"key id: {signer.key_id}", err=True)
    click.echo(f"public key: {signer.public_b64}", err=True)


@click.command("public")
def keys_public() -> None:
    """Print the configured signing key's public record (JSON), to give to auditors."""
    from auditing.signing import load_signer

    signer = load_signer()
    if signer is None:
        raise click.ClickException("no signing key configured (AUDIT_SIGNING_KEY_FILE or"
                                   " AUDIT_SIGNING_KEY)")
    click.echo(json.dumps({"key_id": signer.key_id, "algorithm": "ed25519",
                           "public_key": signer.public_b64}))


# --------------------------------------------------------------------------- checkpoint

@click.command("checkpoint")
@click.option("--out", type=NewFile(), default=None,
              help="Also write the checkpoint (JSON) to this file.")
def checkpoint(out: str | None) -> None:
    """Bring the chain up to date and make a checkpoint at its head (signed if a key is set)."""
    app, db = _open()
    try:
        follower = _follower(app, db)
        follower.catch_up()
        cp = follower.checkpoint_now()
    finally:
        db.close()
        app.close()
    if cp is None:
        raise click.ClickException("the log is empty: nothing to checkpoint")
    text = json.dumps(cp, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    click.echo(text)
    if not cp["signature"]:
        click.echo("note: unsigned (no signing key configured)", err=True)


# --------------------------------------------------------------------------- export

@click.command("export")
@click.option("--out", "out", required=True, type=NewFile(),
              help="The bundle to write (NDJSON; gzip-compressed if it ends in .gz).")
@click.option("--from-position", type=click.IntRange(min=1), default=None,
              help="First log position to include.")
@click.option("--to-position", type=click.IntRange(min=1), default=None,
              help="Last log position to include (default: the chain's head).")
@click.option("--no-catch-up", is_flag=True,
              help="Export as chained now, without chaining new events or making a checkpoint.")
def export(out: str, from_position: int | None, to_position: int | None,
           no_catch_up: bool) -> None:
    """Write a self-describing export: manifest, public keys, checkpoints, events with their chain.

    Unless --no-catch-up, new events are chained first and a checkpoint is made at the
    head, so the whole export is covered by a (signed, if a key is set) checkpoint.
    """
    import gzip

    from tqdm import tqdm

    from auditing.export import export_stream

    app, db = _open()
    try:
        if not no_catch_up:
            follower = _follower(app, db)
            follower.catch_up()
            follower.checkpoint_now()
        from auditing.integrity import chain_position

        last = to_position if to_position is not None else chain_position(db)
        total = max(0, last - (from_position or 1) + 1)
        started = time.perf_counter()
        size = events = 0
        opener = gzip.open if out.endswith(".gz") else open
        with opener(out, "wb") as f, tqdm(total=total, unit="ev", desc="export",
                                          disable=None) as bar:
            def progress(n: int) -> None:
                nonlocal events
                events += n
                bar.update(n)

            for chunk in export_stream(app, db, from_position=from_position,
                                       to_position=to_position, progress=progress):
                f.write(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        db.close()
        app.close()
    click.echo(f"exported {events} events ({size / 1e6:.1f} MB) to {out} in {seconds:.1f} s")


# --------------------------------------------------------------------------- verify

@click.command("verify")
@click.option("--trusted-checkpoint", "trusted", type=CheckpointFile(),
              help="A checkpoint you already hold (JSON): the log must still contain it.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this long and report how far verification got.")
@click.option("--require-signatures", is_flag=True, help="Count unsigned checkpoints as faults.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(trusted: dict | None, max_seconds: float | None,
           require_signatures: bool, as_json: bool) -> None:
    """Check the live log against the hash chain, the checkpoints and the board's hashes.

    Exit status 0 when sound, 1 when a fault is found (the first bad position and its kind
    are printed), 3 when --max-seconds ran out first ("incomplete: checked N of M events").
    """
    from auditing.board import describe_board
    from auditing.chain import describe
    from auditing.signing import load_signer
    from auditing.verify import verify_store

    app, db = _open()
    try:
        deadline = time.monotonic() + max_seconds if max_seconds else None
        report = verify_store(app, db, deadline, trusted_checkpoint=trusted,
                              require_signatures=require_signatures)
    finally:
        db.close()
        app.close()
    if load_signer() is None:
        report["notes"].append("no signing key is configured for this service: new"
                               " checkpoints are not signed")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        for line in describe(report) + describe_board(report):
            click.echo(line)
    sys.exit({"ok": 0, "incomplete": 3}.get(report["status"], 1))


# --------------------------------------------------------------------------- replay

@click.command("replay")
@click.option("--officer", "officer_id", required=True, type=click.UUID,
              help="The officer's id.")
@click.option("--as-of", "as_of", required=True, type=Instant(),
              help="A recorded time (ISO 8601): answer as the service did then.")
@click.option("--on", "on", default=None, type=Day(),
              help="Date of the eligibility question (default: the Vietnamese day of --as-of).")
@click.option("--from-events", is_flag=True,
              help="Recompute from the log's events recorded up to --as-of, not the read models.")
def replay(officer_id, as_of: str, on, from_events: bool) -> None:
    """Print an officer's history and eligibility exactly as the service answered at a time."""
    officer_id = str(officer_id)
    from auditing.replay import answer_at, replay_live
    from projections.queries import ReadModels

    app, db = _open()
    try:
        if from_events:
            with replay_live(app, as_of) as store:
                answer = answer_at(store.models, officer_id, as_of, on)
        else:
            answer = answer_at(ReadModels(db, app.reference), officer_id, as_of, on)
    finally:
        db.close()
        app.close()
    answer["source"] = "events" if from_events else "read models"
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def register(main: click.Group, keys: click.Group) -> None:
    """Add the auditor commands to the ``audit-service`` group and its ``keys`` group."""
    keys.add_command(keys_generate)
    keys.add_command(keys_public)
    for command in (checkpoint, export, verify, replay):
        main.add_command(command)
