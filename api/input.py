"""Untrusted request input, refused before any route sees it.

JSON bodies are parsed within bounds (``audit_service.safejson``): a body nested deeper
than ``MAX_DEPTH`` levels is a 422 ``json_too_deep``; an over-long integer reaches its
field as a value of the wrong type, so that field is named in the 422. Path parameters
hold no text that cannot be stored (the access log records them).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from audit_service import safejson
from audit_service.errors import ValidationFailed
from audit_service.validation import text_problem

MAX_DEPTH = safejson.MAX_DEPTH


class BoundedParser(FlaskParser):
    """webargs' Flask parser with JSON bodies parsed by ``safejson``."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return safejson.loads(req.get_data(cache=True))
        except safejson.TooDeep as exc:
            raise ValidationFailed(f"the JSON body nests deeper than {exc.limit} levels",
                                   code="json_too_deep",
                                   details={"_body": f"at most {exc.limit} levels of arrays"
                                                     " and objects"}) from None


class BoundedBlueprint(Blueprint):
    ARGUMENTS_PARSER = BoundedParser()


def path_checked(view: Callable) -> Callable:
    """Refuse path parameters holding text no field may store (422, the parameter named)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        bad = {f"path.{name}": problem for name, value in (request.view_args or {}).items()
               if isinstance(value, str) and (problem := text_problem(value))}
        if bad:
            raise ValidationFailed(f"invalid input: {', '.join(sorted(bad))}", details=bad)
        return view(*args, **kwargs)

    return checked
