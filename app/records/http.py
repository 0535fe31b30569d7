"""The HTTP side of versioned records: conditional request headers, the 412 they can
produce, and the ETag of a written version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Response

from app.openapi import PROBLEM_RESPONSES
from app.records.versioned import etag_of

# The longest conditional header taken (a longer one is a 422).
MAX_CONDITION = 1024
# A malformed If-Match lists no tag that could match: 412, as for a stale one.
IfMatch = Annotated[
    str | None,
    Header(description="Apply only if the ETag still matches", max_length=MAX_CONDITION),
]
IfNoneMatch = Annotated[
    str | None, Header(description="`*`: create only, never replace", max_length=MAX_CONDITION)
]


@dataclass(frozen=True)
class Preconditions:
    """The conditional headers of a create-or-replace."""

    if_match: str | None
    if_none_match: str | None


def preconditions(if_match: IfMatch = None, if_none_match: IfNoneMatch = None) -> Preconditions:
    return Preconditions(if_match, if_none_match)


Conditional = Annotated[Preconditions, Depends(preconditions)]
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: PROBLEM_RESPONSES[404] | {"description": "A precondition failed"}
}


def with_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


def answer_put(response: Response, version: int, outcome: str) -> None:
    """A create-or-replace answers 201 when it created the record, else 200, with the ETag."""
    response.status_code = 201 if outcome == "created" else 200
    with_etag(response, version)
