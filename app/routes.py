"""Walking the application's routes (shared by the OpenAPI hook, the 405 handler and tests)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route


def iter_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, including those of included routers (which recent FastAPI versions keep
    behind a lazy wrapper with an `original_router`)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from iter_routes(inner.routes)
        else:
            yield route


def iter_api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in iter_routes(routes):
        if isinstance(route, APIRoute):
            yield route


def allowed_methods(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """Every method some route serves at `path` (for the `Allow` header of a 405: RFC 9110
    §15.5.6 asks for all of them, where Starlette names only the first matching route's)."""
    methods: set[str] = set()
    for route in iter_routes(routes):
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)
