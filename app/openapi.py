"""OpenAPI pieces shared by every router."""

from __future__ import annotations

from typing import Any

from app.errors import Problem

_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "Missing or invalid credentials"},
    403: {**_PROBLEM, "description": "Authenticated, but not allowed (role or API key scope)"},
    404: {**_PROBLEM, "description": "Not found, or not yours to see (indistinguishable)"},
    422: {**_PROBLEM, "description": "Invalid input; `errors` names each field"},
    429: {**_PROBLEM, "description": "Rate limited; retry after `Retry-After` seconds"},
    503: {**_PROBLEM, "description": "Database unavailable; retry after `Retry-After` seconds"},
}

RATE_LIMITED: dict[int | str, dict[str, Any]] = {429: PROBLEM_RESPONSES[429]}
