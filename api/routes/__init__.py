"""The ``/api/v1`` blueprints, and the helpers every route module shares."""
from __future__ import annotations

from typing import Any, Callable

from projections.timeline import jsonable

from ..auth import roles
from ..commands import IDEMPOTENCY_PARAMETER
from ..input import BoundedBlueprint as Blueprint, path_checked
from ..schemas import Created

PREFIX = "/api/v1"
PRIVATE = {"national_id", "national_id_hash", "_pending_events"}


def blueprint(name: str, description: str) -> Blueprint:
    return Blueprint(name, __name__, url_prefix=PREFIX, description=description)


def aggregate_json(aggregate: Any, id_name: str = "id") -> dict:
    """An aggregate's current state as JSON, without personal identifiers."""
    body = {id_name: str(aggregate.id), "version": aggregate.version,
            "created_on": jsonable(aggregate.created_on),
            "modified_on": jsonable(aggregate.modified_on)}
    for key, value in vars(aggregate).items():
        if not key.startswith("_") and key not in PRIVATE:
            body[key] = jsonable(value)
    return body


def instance(schema: Any) -> Any:
    """One schema object per route, built once: given a class, webargs would build a new
    one for every request (a tenth of a millisecond each). Loading keeps no state on it."""
    return schema() if isinstance(schema, type) else schema


def doc_roles(allowed: tuple[str, ...]) -> str:
    return "Roles: " + ", ".join(allowed) + "."


def write(blp: Blueprint, rule: str, schema: Any, allowed: tuple[str, ...], *,
          status: int = 201, summary: str = "") -> Callable:
    """A POST route: roles first, then the body, idempotent, answering with ``Created``."""

    def decorate(view: Callable) -> Callable:
        view = blp.doc(summary=summary, description=doc_roles(allowed),
                       parameters=[IDEMPOTENCY_PARAMETER])(view)
        view = blp.response(status, Created)(view)
        view = blp.arguments(instance(schema))(view)
        view = roles(*allowed)(path_checked(view))
        return blp.route(rule, methods=["POST"])(view)

    return decorate


def read(blp: Blueprint, rule: str, allowed: tuple[str, ...], *, query: Any = None,
         summary: str = "", schema: Any = None) -> Callable:
    """A GET route: roles first, then the query string."""

    def decorate(view: Callable) -> Callable:
        view = blp.doc(summary=summary, description=doc_roles(allowed))(view)
        if schema is not None:
            view = blp.response(200, schema)(view)
        else:
            view = blp.response(200)(view)
        if query is not None:
            view = blp.arguments(instance(query), location="query", as_kwargs=True)(view)
        view = roles(*allowed)(path_checked(view))
        return blp.route(rule, methods=["GET"])(view)

    return decorate
