"""app/responses.py: pre-serialised JSON keeps the headers dependencies set."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

from app.responses import json_response


def _sets_header(response: Response) -> None:
    response.headers["X-From-Dependency"] = "yes"


def test_json_response_keeps_dependency_headers_and_the_body() -> None:
    app = FastAPI()

    @app.get("/raw", dependencies=[Depends(_sets_header)])
    def raw(response: Response) -> Response:
        return json_response(b'{"a":[1,2.5,null]}', response, status_code=201)

    answer = TestClient(app).get("/raw")
    assert answer.status_code == 201
    assert answer.headers["x-from-dependency"] == "yes"
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"a": [1, 2.5, None]}
