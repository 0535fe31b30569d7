"""Making a POST idempotent is one line on the route:

    @router.post("/things", status_code=201, dependencies=[Idempotent])

(`IdempotentAnonymous` for a route without a signed-in caller, such as sign-up). The router
must be built with `route_class=IdempotentRoute`, which stores the answer in the request's
transaction just before it commits; a route that forgets answers 500 in every test.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.dependencies import CurrentActor
from app.clock import Now
from app.db import SessionDep
from app.idempotency import service
from app.idempotency.service import ANONYMOUS, HEADER, REPLAYED_HEADERS, StoredAnswer

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="A unique value (e.g. a UUID) per logical request: a retry with the same "
        "key and body replays the first answer instead of acting twice. Kept 30 days.",
        # Documents the rule that `service` enforces (with its own 422), so that clients and
        # conformance tests know it.
        json_schema_extra={"pattern": "^[\\x21-\\x7e]{1,255}$"},
    ),
]


@dataclass
class _Pending:
    session: Session
    scope: str
    key: str
    fingerprint: str
    user_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    now: dt.datetime
    owner_from_body: bool

    def store(self, response: Response) -> None:
        headers = {k: response.headers[k] for k in REPLAYED_HEADERS if k in response.headers}
        body = bytes(response.body)
        user_id = self.user_id
        if self.owner_from_body:
            user_id = _id_in(body)
        service.store(
            self.session,
            scope=self.scope,
            key=self.key,
            fingerprint=self.fingerprint,
            user_id=user_id,
            patient_id=self.patient_id,
            answer=StoredAnswer(response.status_code, headers, body),
            now=self.now,
        )


def _id_in(body: bytes) -> uuid.UUID | None:
    import json

    try:
        return uuid.UUID(str(json.loads(body)["id"]))
    except (ValueError, KeyError, TypeError):
        return None


class _Replay(Exception):
    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replay")
        self.answer = answer


# Set (to a fresh dict) by IdempotentRoute for each request; the guard puts the answer to replay
# in it, the endpoint wrapper raises it. A dict, because dependencies and endpoints run in
# worker threads with copies of the context: the object is shared, a new value would not be.
_replay_holder: ContextVar[dict[str, StoredAnswer] | None] = ContextVar(
    "idempotency_replay", default=None
)


def _raise_replay() -> None:
    holder = _replay_holder.get()
    if holder and "answer" in holder:
        raise _Replay(holder["answer"])


def _replay_first(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            _raise_replay()
            return await endpoint(*args, **kwargs)

        return run_async

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        _raise_replay()
        return endpoint(*args, **kwargs)

    return run


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _guard(
    request: Request,
    session: Session,
    *,
    key: str | None,
    body: bytes,
    scope: str,
    user_id: uuid.UUID | None,
    patient_id: uuid.UUID | None = None,
    now: dt.datetime,
) -> None:
    if key is None:
        return
    if not isinstance(request.scope.get("route"), IdempotentRoute):
        raise RuntimeError("an idempotent route must belong to a router with IdempotentRoute")
    service.check_key(key)
    fp = service.fingerprint(request.method, request.url.path, body)
    answer = service.claim(session, scope=scope, key=key, fingerprint=fp, now=now)
    if answer is not None:
        # Replayed by the endpoint wrapper, i.e. only once every other dependency (the access
        # policy above all) has passed: a caller who has since lost access gets 404.
        holder = _replay_holder.get()
        assert holder is not None
        holder["answer"] = answer
        return
    request.state.idempotency = _Pending(
        session=session,
        scope=scope,
        key=key,
        fingerprint=fp,
        user_id=user_id,
        patient_id=patient_id,
        now=now,
        owner_from_body=user_id is None,
    )


async def _for_actor(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    body: RawBody,
    now: Now,
    key: KeyHeader = None,
) -> None:
    if key is None:  # nothing to claim: no threadpool hop
        return
    await run_in_threadpool(
        functools.partial(
            _guard,
            request,
            session,
            key=key,
            body=body,
            scope=str(actor.user_id),
            user_id=actor.user_id,
            # Only 2xx answers are stored, i.e. after the access policy let the caller at
            # `{pid}`.
            patient_id=actor.resolve_pid(request.path_params["pid"])
            if "pid" in request.path_params
            else None,
            now=now,
        )
    )


async def _for_anonymous(
    request: Request, session: SessionDep, body: RawBody, now: Now, key: KeyHeader = None
) -> None:
    if key is None:
        return
    await run_in_threadpool(
        functools.partial(
            _guard, request, session, key=key, body=body, scope=ANONYMOUS, user_id=None, now=now
        )
    )


Idempotent: Any = Depends(_for_actor)
IdempotentAnonymous: Any = Depends(_for_anonymous)
GUARDS = (_for_actor, _for_anonymous)


class IdempotentRoute(APIRoute):
    """Stores a 2xx answer of a request that claimed a key, inside its unit of work (the session
    commits after this handler returns), and replays a stored answer."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _replay_first(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            token = _replay_holder.set({})
            try:
                response = await handler(request)
            except _Replay as replay:
                a = replay.answer
                return Response(
                    content=a.body,
                    status_code=a.status_code,
                    headers={**a.headers, "Idempotent-Replayed": "true"},
                )
            finally:
                _replay_holder.reset(token)
            pending: _Pending | None = getattr(request.state, "idempotency", None)
            if pending is not None and 200 <= response.status_code < 300:
                await run_in_threadpool(pending.store, response)
            return response

        return handle
