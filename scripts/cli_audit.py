"""Auditor commands of ``audit-service``: keys, checkpoint, export, dossier, verify, replay.

Registered on the main group by ``scripts/cli.py``. Configuration comes from the
environment: AUDIT_DATABASE_URL, AUDIT_CIPHER_KEY, AUDIT_SIGNING_KEY_FILE or
AUDIT_SIGNING_KEY, AUDIT_CHECKPOINT_EVERY_EVENTS, AUDIT_CHECKPOINT_EVERY_SECONDS,
AUDIT_CHECKPOINT_WITNESS_DIR, AUDIT_TRUSTED_KEYS.
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


def _checkpoint_head(app, db):
    """Chain what is new and make a checkpoint at the head (signed if a key is set)."""
    follower = _follower(app, db)
    follower.catch_up()
    return follower.checkpoint_now()


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


@click.command("rotate")
@click.option("--to", "to", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The new private key's file (from: audit-service keys generate --out).")
def keys_rotate(to: str) -> None:
    """Name a new signing key as the configured one's successor, signed by both keys.

    The statement is stored (and written to the witness, and carried by exports), so that an
    auditor who pinned the old public key reaches the new one. Then point
    AUDIT_SIGNING_KEY_FILE at the new key and restart the projector.
    """
    from auditing.integrity import iso, store_rotation, utc_now
    from auditing.signing import AuditSettings, parse_key

    settings = AuditSettings.from_env()
    if settings.signer is None:
        raise click.ClickException("no signing key configured (AUDIT_SIGNING_KEY_FILE or"
                                   " AUDIT_SIGNING_KEY): the old key must sign the rotation")
    from auditing.bootstrap import check_initialised

    check_initialised()  # "keys" commands need no store; this one stores the statement
    new = parse_key(Path(to).read_bytes(), to)
    if new.key_id == settings.signer.key_id:
        raise click.BadParameter("this is the configured key already", param_hint="--to")
    statement = settings.signer.rotation_to(new, iso(utc_now()))
    app, db = _open()
    try:
        store_rotation(db, statement, settings.witness_dir)
    finally:
        db.close()
        app.close()
    click.echo(json.dumps(statement, indent=2))
    click.echo(f"now set AUDIT_SIGNING_KEY_FILE={to} and restart the projector", err=True)


# --------------------------------------------------------------------------- chain

@click.group("chain")
def chain_group() -> None:
    """The integrity chain itself."""


@chain_group.command("recreate")
@click.option("--reason", required=True, help="Why: recorded in the log, shown by every"
              " later verification.")
@click.option("--actor", default="operator", show_default=True,
              help="Who asks (recorded with the reason).")
def chain_recreate(reason: str, actor: str) -> None:
    """Throw the chain and its checkpoints away and chain the log again from genesis.

    The follower never does this by itself. This records an ChainRecreation.Recreated event
    first, so every later verification reports it; checkpoints already in the witness or in
    an auditor's mirror keep showing the old chain (a changed history shows as forked).
    """
    from audit_service.errors import ValidationFailed
    from auditing.integrity import recreate_chain
    from auditing.signing import AuditSettings

    settings = AuditSettings.from_env()
    app, db = _open()
    try:
        record = recreate_chain(app, db, reason, actor_id=actor,
                                witness_dir=settings.witness_dir)
    except ValidationFailed as exc:
        raise click.BadParameter(str(exc), param_hint="--reason") from None
    finally:
        db.close()
        app.close()
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    click.echo("the chain is empty: run audit-service project (or checkpoint) to chain the"
               " log again", err=True)


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
            _checkpoint_head(app, db)
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


# --------------------------------------------------------------------------- dossier

@click.command("dossier")
@click.option("--officer", "officer_id", required=True, type=click.UUID,
              help="The officer's id.")
@click.option("--on", "on", default=None, type=Day(),
              help="Date of the eligibility questions (default: today).")
@click.option("--out", "out", required=True, type=NewFile(), help="The dossier to write (JSON).")
@click.option("--no-catch-up", is_flag=True,
              help="Use the newest checkpoint as it is, without chaining new events first.")
def dossier(officer_id, on, out: str, no_catch_up: bool) -> None:
    """Write an officer's board dossier: every event on record about the officer, the proof
    that it is all of them as of a signed checkpoint, and the eligibility answers.

    Check it with scripts/verify_dossier.py FILE --trusted-key KEY.
    """
    from audit_service.errors import AuditError
    from auditing.dossier import build_dossier, dossier_bytes, dossier_hash

    app, db = _open()
    try:
        if not no_catch_up:
            _checkpoint_head(app, db)
        try:
            data = dossier_bytes(build_dossier(app, db, officer_id, on))
        except AuditError as exc:
            raise click.ClickException(f"{exc} ({exc.code})") from None
    finally:
        db.close()
        app.close()
    Path(out).write_bytes(data)
    click.echo(f"dossier {dossier_hash(data)} ({len(data)} bytes) written to {out}")


# --------------------------------------------------------------------------- verify

@click.command("verify")
@click.option("--trusted-checkpoint", "trusted", type=CheckpointFile(),
              help="A checkpoint you already hold (JSON), or a directory of them (a mirror of"
              " the witness: the newest is used): the log must extend it.")
@click.option("--trusted-key", "trusted_key", multiple=True, metavar="FILE|BASE64",
              help="A public key you trust (repeatable; also AUDIT_TRUSTED_KEYS). Only it, the"
              " service's own signing key, and keys they rotated to may sign checkpoints.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this long and report how far verification got.")
@click.option("--require-signatures", is_flag=True, help="Count unsigned checkpoints as faults.")
@click.option("--read-models", is_flag=True,
              help="Also replay the log into a scratch store and compare the read models with"
              " it: every table, or with --officer/--sample those officers' answers.")
@click.option("--officer", "officers", multiple=True, type=click.UUID,
              help="With --read-models: compare this officer's history, standing and"
              " eligibility (repeatable).")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="With --read-models: compare this many officers chosen at random.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(trusted: dict | list | None, trusted_key: tuple[str, ...],
           max_seconds: float | None, require_signatures: bool, read_models: bool,
           officers: tuple, sample: int | None, as_json: bool) -> None:
    """Check the live log against the hash chain, the checkpoints and the board's hashes.

    Exit status 0 when sound, 1 when a fault is found (the first bad position and its kind
    are printed), 3 when --max-seconds ran out first ("incomplete: checked N of M events").
    """
    from auditing.board import describe_board
    from auditing.chain import describe
    from audit_service.errors import ConfigurationError
    from auditing.readcheck import check_read_models, merge_read_models
    from auditing.signing import load_signer, pinned_keys
    from auditing.verify import verify_store

    if (officers or sample) and not read_models:
        raise click.UsageError("--officer and --sample go with --read-models")
    try:
        keys = pinned_keys(trusted_key)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-key") from None
    app, db = _open()
    try:
        deadline = time.monotonic() + max_seconds if max_seconds else None
        report = verify_store(app, db, deadline, trusted_checkpoint=trusted, trusted_keys=keys,
                              require_signatures=require_signatures)
        if read_models:
            merge_read_models(report, check_read_models(
                app, db, officers=[str(o) for o in officers], sample=sample,
                deadline=deadline))
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
        if "read_models" in report:
            rm = report["read_models"]
            click.echo(f"read models at position {rm['position']} against the log replayed:"
                       f" {rm['status']}" + (f"; first difference: {rm['first_difference']}"
                                              if rm.get("first_difference") else ""))
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
    keys.add_command(keys_rotate)
    for command in (checkpoint, export, dossier, verify, replay, chain_group):
        main.add_command(command)
