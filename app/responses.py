"""Pre-serialised JSON: the one way a route answers with JSON it wrote itself (a trend's
points, a sync batch's results), for the paths where building a Pydantic object per item
costs more than the work. The route still declares its `response_model`, so the OpenAPI
document is the same as for a model-built answer."""

from __future__ import annotations

from fastapi import Response


def json_response(body: bytes, response: Response, *, status_code: int = 200) -> Response:
    """`body` (JSON already) as the answer, with the headers that dependencies set on the
    route's injected `response` (FastAPI copies them only onto the answers it builds)."""
    out = Response(body, status_code=status_code, media_type="application/json")
    out.headers.raw.extend(response.headers.raw)
    return out
