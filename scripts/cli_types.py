"""Argument types of ``audit-service``: a bad value is click's usage error (exit 2, "Error:
Invalid value for ..."), found while the command line is parsed, before any work is done."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate


class Day(click.ParamType):
    """A calendar date, YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


class Instant(click.ParamType):
    """An ISO 8601 date-time (UTC when it names no offset), returned as given."""

    name = "datetime"

    def convert(self, value: Any, param, ctx) -> str:
        text = str(value)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            self.fail(f"{value!r} is not an ISO 8601 date-time (e.g. 2026-01-05T09:00:00+07:00)",
                      param, ctx)
        return text


class NewFile(click.Path):
    """A file to write, in a folder that exists."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True)

    def convert(self, value: Any, param, ctx) -> str:
        path = super().convert(value, param, ctx)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            self.fail(f"the folder {folder!r} does not exist", param, ctx)
        return path


class _CheckpointSchema(Schema):
    """What `audit-service checkpoint` prints (or an export's checkpoint line)."""

    class Meta:
        unknown = INCLUDE

    position = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    head = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class CheckpointFile(click.ParamType):
    """A JSON file holding one checkpoint (a dict, without an export's "type"), or a
    directory of them (a mirror of the witness: a list)."""

    name = "checkpoint"

    def convert(self, value: Any, param, ctx) -> dict | list:
        if isinstance(value, (dict, list)):
            return value
        path = click.Path(exists=True, dir_okay=True).convert(value, param, ctx)
        if Path(path).is_dir():  # a mirror of the witness: every checkpoint it holds
            from auditing.witness import read_checkpoints

            try:
                found = read_checkpoints(path)
            except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
                self.fail(f"{path!r} holds a file that is not a checkpoint ({exc})", param, ctx)
            if not found:
                self.fail(f"{path!r} holds no checkpoint", param, ctx)
            return found
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.fail(f"{path!r} is not a JSON checkpoint ({type(exc).__name__})", param, ctx)
        if not isinstance(data, dict):
            self.fail(f"{path!r} is not a checkpoint: expected a JSON object", param, ctx)
        try:
            _CheckpointSchema().load(data)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(map(str, v))}"
                                 for k, v in sorted(exc.messages.items()))
            self.fail(f"{path!r} is not a checkpoint ({problems})", param, ctx)
        data.pop("type", None)
        return data
