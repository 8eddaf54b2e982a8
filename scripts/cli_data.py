"""``audit-service import``: bulk import of historical records from NDJSON."""
from __future__ import annotations

import json
import sys

import click


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Records per transaction.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(file, batch_size: int, as_json: bool) -> None:
    """Import FILE (NDJSON, one record per line; `-` for stdin) through the service's rules.

    Each batch is saved in one transaction. Bad records are reported with their line
    numbers and skipped; re-running the same file appends nothing twice. Exit status 1
    when any record was refused.
    """
    from tqdm import tqdm

    from audit_service.bootstrap import build_service
    from audit_service.config import Settings, check_reachable
    from audit_service.importing import import_records

    settings = Settings.from_env()
    check_reachable(settings.database)
    app = build_service(settings)
    try:
        with tqdm(unit="rec", desc="import", disable=None, file=sys.stderr) as bar:
            report = import_records(app, file, batch_size=batch_size, progress=bar.update)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({**report.as_dict(),
                               "bad": [b.as_dict() for b in report.bad]}, ensure_ascii=False))
    else:
        for bad in report.bad:
            click.echo(f"line {bad.line}: {bad.code}: {bad.message}"
                       + (f" {json.dumps(bad.details, ensure_ascii=False)}" if bad.details else ""),
                       err=True)
        summary = report.as_dict()
        click.echo(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items()))
    if report.bad:
        sys.exit(1)
