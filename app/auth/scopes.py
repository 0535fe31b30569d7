"""API key scopes: which scope an operation needs, written into its OpenAPI operation
(`x-api-key-scope`) at start-up and read back on every request."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

ALL_SCOPES = frozenset({"read", "write", "export"})
SCOPE_EXTENSION = "x-api-key-scope"


def required_scope(request: Request) -> str:
    """The API key scope a route needs: declared on the route (`x-api-key-scope` in its
    OpenAPI, e.g. `export`), otherwise `read` for GET/HEAD and `write` for everything else."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    declared = extra.get(SCOPE_EXTENSION)
    if isinstance(declared, str):
        return declared
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


def _calls(dependant: Dependant) -> set[Callable[..., object]]:
    calls: set[Callable[..., object]] = {dependant.call} if dependant.call else set()
    for sub in dependant.dependencies:
        calls |= _calls(sub)
    return calls


def mark_api_key_scopes(
    routes: Iterable[APIRoute],
    *,
    authenticated: Iterable[Callable[..., object]],
    export: Callable[..., object],
) -> None:
    """Write the API key scope of each authenticated operation (one that depends on any of
    `authenticated`) into its OpenAPI operation (`x-api-key-scope`), where `CurrentActor`
    reads it: `export` for routes that depend on `export` (care's `ExportablePatient`),
    otherwise `read` for GET and `write` for other methods."""
    for route in routes:
        calls = _calls(route.dependant)
        if not calls & set(authenticated):
            continue
        extra = route.openapi_extra or {}
        if export in calls:
            scope = "export"
        elif isinstance(extra.get(SCOPE_EXTENSION), str):
            continue
        else:
            scope = "write" if (route.methods or set()) - {"GET", "HEAD", "OPTIONS"} else "read"
        route.openapi_extra = {**extra, SCOPE_EXTENSION: scope}
